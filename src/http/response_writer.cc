// HTTP/1.1 response serialization and HTTP dates.
#include "http/response_writer.h"

#include <strings.h>
#include <time.h>

#include <array>
#include <cstdio>

namespace parley::http {
namespace {

constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Headers the server writes itself. In a 101 the handler's "Connection: Upgrade" is the switch.
bool isServerHeader(std::string_view name, int status) {
  if (equalsIgnoreCase(name, "connection")) return status != 101;
  for (std::string_view own : {"date", "server", "content-length", "transfer-encoding"}) {
    if (equalsIgnoreCase(name, own)) return true;
  }
  return false;
}

bool hasNoContent(int status) { return status < 200 || status == 204 || status == 304; }

int parseNumber(std::string_view text) {
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return text.empty() ? -1 : value;
}

}  // namespace

std::string serializeResponse(const core::HttpResponse& response, const ResponseFraming& framing) {
  std::string out;
  out.reserve(256 + (framing.head ? 0 : response.body.size()));
  std::string_view reason = core::reasonPhrase(response.status);
  out.append("HTTP/1.1 ").append(std::to_string(response.status)).append(" ");
  out.append(reason.empty() ? "Unknown" : reason).append("\r\n");
  if (response.status != 101) {
    out.append("Date: ").append(framing.date).append("\r\nServer: Parley\r\n");
  }
  for (const auto& header : response.headers) {
    if (isServerHeader(header.name, response.status)) continue;
    out.append(header.name).append(": ").append(header.value).append("\r\n");
  }
  if (!hasNoContent(response.status)) {
    std::string length = std::to_string(response.body.size());
    if (framing.head && response.body.empty()) {
      if (auto given = response.header("Content-Length")) length = std::string(*given);
    }
    out.append("Content-Length: ").append(length).append("\r\n");
  }
  if (response.status != 101) {
    if (framing.close) {
      out.append("Connection: close\r\n");
    } else if (framing.keep_alive_10) {
      out.append("Connection: keep-alive\r\n");
    }
  }
  out.append("\r\n");
  if (!framing.head && !hasNoContent(response.status)) out.append(response.body);
  return out;
}

std::string httpDate(std::chrono::system_clock::time_point when) {
  time_t seconds = std::chrono::system_clock::to_time_t(when);
  struct tm tm {};
  gmtime_r(&seconds, &tm);
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                kDays[static_cast<size_t>(tm.tm_wday)].data(), tm.tm_mday,
                kMonths[static_cast<size_t>(tm.tm_mon)].data(), tm.tm_year + 1900, tm.tm_hour,
                tm.tm_min, tm.tm_sec);
  return buffer;
}

std::optional<std::chrono::system_clock::time_point> parseHttpDate(std::string_view text) {
  // "Sun, 06 Nov 1994 08:49:37 GMT": fixed positions.
  if (text.size() != 29 || text.substr(3, 2) != ", " || text[7] != ' ' || text[11] != ' ' ||
      text[16] != ' ' || text[19] != ':' || text[22] != ':' || text.substr(25) != " GMT") {
    return std::nullopt;
  }
  struct tm tm {};
  tm.tm_mday = parseNumber(text.substr(5, 2));
  tm.tm_mon = -1;
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (text.substr(8, 3) == kMonths[i]) tm.tm_mon = static_cast<int>(i);
  }
  tm.tm_year = parseNumber(text.substr(12, 4)) - 1900;
  tm.tm_hour = parseNumber(text.substr(17, 2));
  tm.tm_min = parseNumber(text.substr(20, 2));
  tm.tm_sec = parseNumber(text.substr(23, 2));
  if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_mon < 0 || tm.tm_year < 0 || tm.tm_hour < 0 ||
      tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60) {
    return std::nullopt;
  }
  time_t seconds = timegm(&tm);
  if (seconds == static_cast<time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(seconds);
}

}  // namespace parley::http
