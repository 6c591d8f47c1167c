// The stanza tree: an element with resolved namespace, attributes and children.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace parley::xml {

struct Attribute {
  std::string name;   // local name; "xml:lang" for the xml namespace; never an xmlns declaration
  std::string value;  // unescaped
};

class Element;

// A child is either an element or a run of character data (unescaped UTF-8).
struct Node {
  std::unique_ptr<Element> element;  // set for an element child
  std::string text;                  // set for a text child
  bool isElement() const { return element != nullptr; }
};

// An XML element with its namespace resolved (prefixes are not kept; the
// serializer writes default-namespace declarations where the namespace changes).
// Plain value type; a routed stanza is an immutable std::shared_ptr<const Element>.
class Element {
 public:
  Element() = default;
  Element(std::string name, std::string xmlns) : name_(std::move(name)), xmlns_(std::move(xmlns)) {}
  Element(const Element& other);
  Element& operator=(const Element& other);
  Element(Element&&) noexcept = default;
  Element& operator=(Element&&) noexcept = default;
  ~Element() = default;

  const std::string& name() const { return name_; }
  const std::string& xmlns() const { return xmlns_; }
  void setName(std::string name) { name_ = std::move(name); }
  void setXmlns(std::string xmlns) { xmlns_ = std::move(xmlns); }
  bool is(std::string_view name, std::string_view xmlns) const {
    return name_ == name && xmlns_ == xmlns;
  }

  // Attributes. attr() returns "" when absent; findAttr() distinguishes absent.
  const std::vector<Attribute>& attrs() const { return attrs_; }
  const std::string* findAttr(std::string_view name) const;
  std::string_view attr(std::string_view name) const;
  Element& setAttr(std::string_view name, std::string value);  // replaces; returns *this
  void removeAttr(std::string_view name);
  // Adds without looking for an existing one; for builders that know the name is new
  // (the parser: expat has already rejected duplicates).
  void appendAttr(std::string name, std::string value) {
    attrs_.push_back(Attribute{std::move(name), std::move(value)});
  }

  // Children.
  const std::vector<Node>& children() const { return children_; }
  std::vector<Node>& children() { return children_; }
  Element& addChild(Element child);  // returns the added child
  Element& addChild(std::string name, std::string xmlns) {
    return addChild(Element(std::move(name), std::move(xmlns)));
  }
  void addText(std::string_view text);  // merges with a trailing text node
  // The first child element with this name and namespace (xmlns "" = any), or nullptr.
  const Element* child(std::string_view name, std::string_view xmlns = {}) const;
  Element* child(std::string_view name, std::string_view xmlns = {});
  // The first child element of any name, or nullptr.
  const Element* firstChild() const;
  size_t childElementCount() const;
  void removeChildren(std::string_view name, std::string_view xmlns);
  // Moves this element and every descendant in namespace `from` into `to` (a stanza from an
  // s2s stream, jabber:server, becomes jabber:client as the server holds every stanza).
  void renameNamespace(std::string_view from, std::string_view to);
  // All character data directly inside this element, concatenated.
  std::string text() const;
  // Text of the first child element with this name, or "" (e.g. body, show, priority).
  std::string childText(std::string_view name, std::string_view xmlns = {}) const;

 private:
  std::string name_;
  std::string xmlns_;
  std::vector<Attribute> attrs_;
  std::vector<Node> children_;
};

}  // namespace parley::xml
