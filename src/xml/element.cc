// The stanza tree: attribute and child access, and the deep copy of an element.
#include "xml/element.h"

#include <algorithm>
#include <utility>

namespace parley::xml {

Element::Element(const Element& other)
    : name_(other.name_), xmlns_(other.xmlns_), attrs_(other.attrs_) {
  children_.reserve(other.children_.size());
  for (const Node& node : other.children_) {
    Node copy;
    if (node.element) {
      copy.element = std::make_unique<Element>(*node.element);
    } else {
      copy.text = node.text;
    }
    children_.push_back(std::move(copy));
  }
}

Element& Element::operator=(const Element& other) {
  if (this != &other) *this = Element(other);  // copy, then move-assign
  return *this;
}

const std::string* Element::findAttr(std::string_view name) const {
  for (const Attribute& attr : attrs_) {
    if (attr.name == name) return &attr.value;
  }
  return nullptr;
}

std::string_view Element::attr(std::string_view name) const {
  const std::string* value = findAttr(name);
  return value ? std::string_view(*value) : std::string_view();
}

Element& Element::setAttr(std::string_view name, std::string value) {
  for (Attribute& attr : attrs_) {
    if (attr.name == name) {
      attr.value = std::move(value);
      return *this;
    }
  }
  attrs_.push_back(Attribute{std::string(name), std::move(value)});
  return *this;
}

void Element::removeAttr(std::string_view name) {
  std::erase_if(attrs_, [name](const Attribute& attr) { return attr.name == name; });
}

Element& Element::addChild(Element child) {
  Node node;
  node.element = std::make_unique<Element>(std::move(child));
  children_.push_back(std::move(node));
  return *children_.back().element;
}

void Element::addText(std::string_view text) {
  if (text.empty()) return;
  if (!children_.empty() && !children_.back().isElement()) {
    children_.back().text.append(text);
    return;
  }
  Node node;
  node.text.assign(text);
  children_.push_back(std::move(node));
}

const Element* Element::child(std::string_view name, std::string_view xmlns) const {
  for (const Node& node : children_) {
    if (node.element && node.element->name_ == name &&
        (xmlns.empty() || node.element->xmlns_ == xmlns)) {
      return node.element.get();
    }
  }
  return nullptr;
}

Element* Element::child(std::string_view name, std::string_view xmlns) {
  return const_cast<Element*>(std::as_const(*this).child(name, xmlns));
}

const Element* Element::firstChild() const {
  for (const Node& node : children_) {
    if (node.element) return node.element.get();
  }
  return nullptr;
}

size_t Element::childElementCount() const {
  return static_cast<size_t>(std::count_if(children_.begin(), children_.end(),
                                           [](const Node& node) { return node.isElement(); }));
}

void Element::removeChildren(std::string_view name, std::string_view xmlns) {
  std::erase_if(children_, [&](const Node& node) {
    return node.element && node.element->name_ == name &&
           (xmlns.empty() || node.element->xmlns_ == xmlns);
  });
}

std::string Element::text() const {
  std::string out;
  for (const Node& node : children_) {
    if (!node.element) out.append(node.text);
  }
  return out;
}

std::string Element::childText(std::string_view name, std::string_view xmlns) const {
  const Element* found = child(name, xmlns);
  return found ? found->text() : std::string();
}

void Element::renameNamespace(std::string_view from, std::string_view to) {
  if (xmlns_ == from) xmlns_ = std::string(to);
  for (auto& node : children_) {
    if (node.element) node.element->renameNamespace(from, to);
  }
}

}  // namespace parley::xml
