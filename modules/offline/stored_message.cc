// Offline messages (XEP-0160): storability, XEP-0203 delay stamps, presence priority.
#include "stored_message.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>

#include "util/clock.h"

namespace parley::modules::offline {

bool isStorable(const xml::Element& message) {
  auto type = message.attr("type");
  return type != "headline" && type != "groupchat" && type != "error";
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
  delay.setAttr("stamp", clock::xmppTimestamp(when));
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
