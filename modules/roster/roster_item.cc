// Roster items: stored form, XML form, and the syntax rules of a roster set (RFC 6121 §2).
#include "roster_item.h"

#include <algorithm>

#include "xml/serializer.h"
#include "xmpp/jid.h"

namespace parley::modules::roster {
namespace {

using Condition = xmpp::StanzaError::Condition;

Unexpected<xmpp::StanzaError> refuse(Condition condition, std::string text) {
  return Unexpected(xmpp::StanzaError::of(condition, std::move(text)));
}

}  // namespace

xml::Element toElement(const RosterItem& item) {
  xml::Element element("item", std::string(kRosterNs));
  element.setAttr("jid", item.jid);
  if (!item.name.empty()) element.setAttr("name", item.name);
  element.setAttr("subscription", std::string(subscriptionName(item.state.subscription)));
  if (item.state.pending_out) element.setAttr("ask", "subscribe");
  if (item.state.approved) element.setAttr("approved", "true");
  for (const auto& group : item.groups) {
    element.addChild("group", std::string(kRosterNs)).addText(group);
  }
  return element;
}

std::optional<RosterItem> fromElement(const xml::Element& element) {
  RosterItem item;
  item.jid = std::string(element.attr("jid"));
  if (item.jid.empty()) return std::nullopt;
  item.name = std::string(element.attr("name"));
  item.state.subscription =
      parseSubscription(element.attr("subscription")).value_or(Subscription::None);
  item.state.pending_out = element.attr("ask") == "subscribe";
  item.state.approved = element.attr("approved") == "true";
  for (const auto& node : element.children()) {
    if (node.isElement() && node.element->name() == "group") {
      item.groups.push_back(node.element->text());
    }
  }
  return item;
}

std::string serialize(const RosterItem& item) { return xml::toString(toElement(item), kRosterNs); }

std::optional<RosterItem> parseStored(std::string_view text) {
  auto element = xml::parseElement(text, kRosterNs);
  if (!element) return std::nullopt;
  return fromElement(*element);
}

Result<RosterSet, xmpp::StanzaError> parseRosterSet(const xml::Element& query,
                                                    std::string_view user_bare) {
  const xml::Element* item_element = nullptr;
  size_t items = 0;
  for (const auto& node : query.children()) {
    if (!node.isElement() || node.element->name() != "item") continue;
    ++items;
    item_element = node.element.get();
  }
  // §2.3.3: one and only one <item/>.
  if (items != 1) return refuse(Condition::BadRequest, "a roster set carries exactly one item");
  const auto* jid_attr = item_element->findAttr("jid");
  if (!jid_attr) return refuse(Condition::BadRequest, "the item has no 'jid'");
  auto jid = xmpp::Jid::parse(*jid_attr);
  if (!jid) return refuse(Condition::JidMalformed, "the item's 'jid' is not a valid JID");

  RosterSet set;
  set.item.jid = jid->toString();
  set.remove = item_element->attr("subscription") == "remove";
  if (set.item.jid == user_bare) {
    // One's own account is not a contact: the server manages that relation itself.
    return refuse(Condition::NotAllowed, "one's own JID cannot be a roster item");
  }
  if (set.remove) return set;

  set.item.name = std::string(item_element->attr("name"));
  if (set.item.name.size() > kMaxNameBytes) {
    return refuse(Condition::NotAcceptable, "the item's name is too long");
  }
  for (const auto& node : item_element->children()) {
    if (!node.isElement() || node.element->name() != "group") continue;
    auto group = node.element->text();
    if (group.empty()) return refuse(Condition::NotAcceptable, "a group name is empty");
    if (group.size() > kMaxNameBytes) {
      return refuse(Condition::NotAcceptable, "a group name is too long");
    }
    if (std::find(set.item.groups.begin(), set.item.groups.end(), group) != set.item.groups.end()) {
      return refuse(Condition::BadRequest, "a group is listed twice");
    }
    set.item.groups.push_back(std::move(group));
  }
  return set;
}

}  // namespace parley::modules::roster
