// XEP-0012 last activity: logout records, roster authorization, reply elements.
#include "last_activity.h"

#include <charconv>

#include "xml/serializer.h"
#include "xml/stream_parser.h"

namespace parley::modules::last {

std::string encodeRecord(const LogoutRecord& record) {
  xml::Element element("logout", std::string(kRecordNs));
  element.setAttr("at", std::to_string(record.at));
  if (!record.status.empty()) element.addText(record.status);
  return xml::toString(element);
}

std::optional<LogoutRecord> decodeRecord(std::string_view text) {
  auto element = xml::parseElement(text);
  if (!element || !element->is("logout", kRecordNs)) return std::nullopt;
  auto at = element->attr("at");
  LogoutRecord record;
  auto [ptr, ec] = std::from_chars(at.data(), at.data() + at.size(), record.at);
  if (at.empty() || ec != std::errc() || ptr != at.data() + at.size()) return std::nullopt;
  record.status = element->text();
  return record;
}

bool allowsPresence(std::string_view roster_item) {
  auto item = xml::parseElement(roster_item, "jabber:iq:roster");
  if (!item) return false;
  auto subscription = item->attr("subscription");
  return subscription == "from" || subscription == "both";
}

xml::Element lastQuery(int64_t seconds, std::string_view status) {
  xml::Element query("query", std::string(kLastNs));
  query.setAttr("seconds", std::to_string(seconds < 0 ? 0 : seconds));
  if (!status.empty()) query.addText(status);
  return query;
}

}  // namespace parley::modules::last
