// Offline messages (XEP-0160): which messages are stored and how, as pure functions.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "xml/element.h"

namespace parley::modules::offline {

inline constexpr std::string_view kDelayNs = "urn:xmpp:delay";  // XEP-0203
inline constexpr std::string_view kFeature = "msgoffline";      // XEP-0160 §4

// XEP-0160 §3 and RFC 6121 §8.5.2.1.1: only messages of type normal (or none, or an
// unknown type, which RFC 6121 §5.2.2 treats as normal) and chat are stored; headline,
// groupchat and error never are.
bool isStorable(const xml::Element& message);

// The message with a XEP-0203 <delay from='DOMAIN' stamp='...'/> appended, unless it
// already carries one from DOMAIN (a message stored again after a failed delivery
// keeps its first stamp).
xml::Element withDelay(const xml::Element& message, std::string_view domain,
                       std::chrono::system_clock::time_point when);

// RFC 6121 §4.7.2.3: the priority of a presence, -128..127, 0 when absent or invalid.
int presencePriority(const xml::Element& presence);

}  // namespace parley::modules::offline
