// Offline messages (XEP-0160): storability, XEP-0203 delay stamps, presence priority.
#include "stored_message.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>

namespace parley::modules::offline {

bool isStorable(const xml::Element& message) {
  auto type = message.attr("type");
  return type != "headline" && type != "groupchat" && type != "error";
}

std::string utcStamp(std::chrono::system_clock::time_point when) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  auto since_epoch = duration_cast<milliseconds>(when.time_since_epoch());
  auto seconds = static_cast<std::time_t>(since_epoch.count() / 1000);
  auto millis = static_cast<int>(since_epoch.count() % 1000);
  if (millis < 0) {  // before 1970: floor, not truncate
    millis += 1000;
    seconds -= 1;
  }
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  size_t size = std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &utc);
  std::string stamp(text, size);
  char fraction[8];
  std::snprintf(fraction, sizeof(fraction), ".%03dZ", millis);
  stamp += fraction;
  return stamp;
}

xml::Element withDelay(const xml::Element& message, std::string_view domain,
                       std::chrono::system_clock::time_point when) {
  xml::Element stamped = message;
  for (const auto& node : message.children()) {
    if (node.isElement() && node.element->is("delay", kDelayNs) &&
        node.element->attr("from") == domain) {
      return stamped;
    }
  }
  auto& delay = stamped.addChild("delay", std::string(kDelayNs));
  delay.setAttr("from", std::string(domain));
  delay.setAttr("stamp", utcStamp(when));
  return stamped;
}

int presencePriority(const xml::Element& presence) {
  auto text = presence.childText("priority");
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return 0;
  return std::clamp(value, -128, 127);
}

}  // namespace parley::modules::offline
