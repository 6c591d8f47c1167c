// XEP-0012 last activity: the stored logout record, roster authorization and the reply
// element, as pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "xml/element.h"

namespace parley::modules::last {

inline constexpr std::string_view kLastNs = "jabber:iq:last";
inline constexpr std::string_view kRecordNs = "urn:parley:last:0";
inline constexpr std::string_view kStoreName = "last";
inline constexpr std::string_view kRecordKey = "logout";
// The roster module's store: key = contact bare JID, value = <item subscription='...'/>.
inline constexpr std::string_view kRosterStore = "roster";

// When the user's last resource went away (seconds since the Unix epoch) and the status
// text of their last unavailable presence.
struct LogoutRecord {
  int64_t at = 0;
  std::string status;
  bool operator==(const LogoutRecord&) const = default;
};

std::string encodeRecord(const LogoutRecord& record);
// Nothing when the text is not a record this version wrote.
std::optional<LogoutRecord> decodeRecord(std::string_view text);

// Whether a stored roster item lets the contact see the user's presence (RFC 6121 §3:
// subscription 'from' or 'both'). False for anything unreadable.
bool allowsPresence(std::string_view roster_item);

// <query xmlns='jabber:iq:last' seconds='N'>STATUS</query>; negative N is sent as 0
// (a clock that stepped back).
xml::Element lastQuery(int64_t seconds, std::string_view status = {});

}  // namespace parley::modules::last
