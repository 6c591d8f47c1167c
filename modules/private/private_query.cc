// XEP-0049 private XML storage: query checks and the stored shape.
#include "private_query.h"

#include <algorithm>
#include <iterator>

namespace parley::modules::private_storage {
namespace {

using xmpp::StanzaError;
using Condition = xmpp::StanzaError::Condition;

std::vector<const xml::Element*> childElements(const xml::Element& query) {
  std::vector<const xml::Element*> children;
  for (const auto& node : query.children()) {
    if (node.isElement()) children.push_back(node.element.get());
  }
  return children;
}

StanzaError reserved(std::string_view xmlns) {
  return StanzaError::of(Condition::NotAcceptable,
                         "'" + std::string(xmlns) + "' is a reserved namespace");
}

}  // namespace

bool isReservedNamespace(std::string_view xmlns) {
  return xmlns.empty() || xmlns.starts_with("jabber:") || xmlns.starts_with("http://jabber.org/") ||
         xmlns == "vcard-temp";
}

Result<xml::Element, StanzaError> parseGet(const xml::Element& query) {
  auto children = childElements(query);
  if (children.empty()) {
    return Unexpected(StanzaError::of(Condition::NotAcceptable, "name the namespace to get"));
  }
  if (children.size() > 1) {
    return Unexpected(StanzaError::of(Condition::BadRequest, "get one namespace at a time"));
  }
  if (isReservedNamespace(children.front()->xmlns())) {
    return Unexpected(reserved(children.front()->xmlns()));
  }
  return *children.front();
}

Result<std::vector<std::pair<std::string, xml::Element>>, StanzaError> parseSet(
    const xml::Element& query) {
  auto children = childElements(query);
  if (children.empty()) {
    return Unexpected(StanzaError::of(Condition::NotAcceptable, "nothing to store"));
  }
  std::vector<std::pair<std::string, xml::Element>> entries;
  for (const auto* child : children) {
    if (isReservedNamespace(child->xmlns())) return Unexpected(reserved(child->xmlns()));
    auto it = std::find_if(entries.begin(), entries.end(),
                           [&](const auto& entry) { return entry.first == child->xmlns(); });
    if (it == entries.end()) {
      entries.emplace_back(child->xmlns(), xml::Element("stored", std::string(kStoredNs)));
      it = std::prev(entries.end());
    }
    it->second.addChild(*child);
  }
  return entries;
}

void appendStored(xml::Element& query, const xml::Element& stored) {
  for (const auto& node : stored.children()) {
    if (node.isElement()) query.addChild(*node.element);
  }
}

}  // namespace parley::modules::private_storage
