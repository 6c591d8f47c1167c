// A roster item (RFC 6121 §2.1.2): its stored form, its XML, and the checks on a roster set.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "subscription.h"
#include "util/result.h"
#include "xml/element.h"
#include "xmpp/stanza_error.h"

namespace parley::modules::roster {

inline constexpr std::string_view kRosterNs = "jabber:iq:roster";
// RFC 6121 §2.3.3: a server-configured limit on the 'name' attribute and on group names.
inline constexpr size_t kMaxNameBytes = 1023;

struct RosterItem {
  std::string jid;  // the contact, prepared (the store key)
  std::string name;
  std::vector<std::string> groups;
  SubscriptionState state;  // pending_in is not part of the item; it is stored beside it

  bool operator==(const RosterItem&) const = default;
};

// <item jid=... name=... subscription=... ask=... approved=...><group/>...</item>.
xml::Element toElement(const RosterItem& item);
// The item from its element (stored form); nothing if it has no valid jid.
std::optional<RosterItem> fromElement(const xml::Element& element);
// The stored form of an item, and back.
std::string serialize(const RosterItem& item);
std::optional<RosterItem> parseStored(std::string_view text);

// A roster set's <item/>, checked as RFC 6121 §2.3.3 requires. `user_bare` is the
// sender's bare JID. Subscription, ask and approved from the client are ignored
// (§2.1.2); `remove` reports subscription='remove' (§2.5).
struct RosterSet {
  RosterItem item;  // jid, name and groups only
  bool remove = false;
};
Result<RosterSet, xmpp::StanzaError> parseRosterSet(const xml::Element& query,
                                                    std::string_view user_bare);

}  // namespace parley::modules::roster
