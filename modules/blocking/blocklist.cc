// XEP-0191 item parsing and JID matching.
#include "blocklist.h"

#include <algorithm>

#include "xmpp/stanza.h"

namespace parley::modules::blocking {

std::vector<std::string> matchKeys(const xmpp::Jid& jid) {
  std::vector<std::string> keys;
  if (jid.hasResource()) keys.push_back(jid.toString());
  if (jid.hasLocalpart()) keys.push_back(jid.bare().toString());
  keys.emplace_back(jid.domainpart());
  return keys;
}

Result<std::vector<std::string>, xmpp::StanzaError::Condition> commandItems(
    const xml::Element& command, bool allow_empty) {
  using Condition = xmpp::StanzaError::Condition;
  std::vector<std::string> jids;
  for (const auto& node : command.children()) {
    if (!node.isElement() || !node.element->is("item", kNs)) continue;
    auto jid = xmpp::Jid::parse(node.element->attr("jid"));
    if (!jid) return Unexpected(Condition::JidMalformed);
    if (std::find(jids.begin(), jids.end(), jid->toString()) == jids.end()) {
      jids.push_back(jid->toString());
    }
  }
  if (jids.empty() && !allow_empty) return Unexpected(Condition::BadRequest);
  return jids;
}

xml::Element itemsElement(std::string_view name, const std::vector<std::string>& jids) {
  xml::Element element{std::string(name), std::string(kNs)};
  for (const auto& jid : jids) element.addChild("item", std::string(kNs)).setAttr("jid", jid);
  return element;
}

xml::Element blockedError(const xml::Element& stanza) {
  auto reply =
      xmpp::errorReply(stanza, xmpp::StanzaError::of(xmpp::StanzaError::Condition::NotAcceptable));
  // errorReply appends <error/> last.
  for (auto it = reply.children().rbegin(); it != reply.children().rend(); ++it) {
    if (it->isElement() && it->element->name() == "error") {
      it->element->addChild("blocked", std::string(kErrorsNs));
      break;
    }
  }
  return reply;
}

}  // namespace parley::modules::blocking
