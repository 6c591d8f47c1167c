// XEP-0082 timestamps.
#include "util/clock.h"

#include <cstdio>
#include <ctime>

namespace parley::clock {

std::string xmppTimestamp(std::chrono::system_clock::time_point when) {
  auto millis_since_epoch =
      std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
  auto seconds = static_cast<std::time_t>(millis_since_epoch / 1000);
  auto millis = static_cast<int>(millis_since_epoch % 1000);
  if (millis < 0) {  // before 1970: floor, not truncate
    millis += 1000;
    seconds -= 1;
  }
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buffer;
}

}  // namespace parley::clock
