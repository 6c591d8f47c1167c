// Time as XMPP writes it: XEP-0082 date-time stamps, always UTC.
#pragma once

#include <chrono>
#include <string>

namespace parley::clock {

// "2026-11-27T19:55:43.123Z" (XEP-0082 DateTime with milliseconds).
std::string xmppTimestamp(std::chrono::system_clock::time_point when);

}  // namespace parley::clock
