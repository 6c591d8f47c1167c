// Unit tests for offline storage helpers: which messages are stored, XEP-0203 stamps.
#include "offline/stored_message.h"

#include <catch2/catch.hpp>

#include "util/clock.h"
#include "xml/stream_parser.h"

namespace parley::modules::offline {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

xml::Element parse(std::string_view text) {
  auto element = xml::parseElement(text);
  REQUIRE(element);
  return std::move(*element);
}

TEST_CASE("offline stores only normal and chat messages", "[offline]") {
  struct Case {
    const char* type;
    bool stored;
  };
  auto c = GENERATE(Case{"", true}, Case{"normal", true}, Case{"chat", true}, Case{"bogus", true},
                    Case{"headline", false}, Case{"groupchat", false}, Case{"error", false});
  INFO("type " << c.type);
  auto message = parse(std::string("<message type='") + c.type + "'><body>x</body></message>");
  if (std::string_view(c.type).empty()) message.removeAttr("type");
  CHECK(isStorable(message) == c.stored);
}

TEST_CASE("offline UTC stamps follow XEP-0082", "[offline]") {
  struct Case {
    int64_t millis;
    const char* stamp;
  };
  auto c =
      GENERATE(Case{0, "1970-01-01T00:00:00.000Z"}, Case{1031699305123, "2002-09-10T23:08:25.123Z"},
               Case{-1, "1969-12-31T23:59:59.999Z"});
  CHECK(clock::xmppTimestamp(system_clock::time_point(milliseconds(c.millis))) == c.stamp);
}

TEST_CASE("offline adds one delay from the domain", "[offline]") {
  auto message = parse(
      "<message to='juliet@localhost' from='romeo@localhost/a'><body>hi</body>"
      "</message>");
  auto when = system_clock::time_point(milliseconds(1031699305000));
  auto stamped = withDelay(message, "localhost", when);
  const auto* delay = stamped.child("delay", kDelayNs);
  REQUIRE(delay != nullptr);
  CHECK(delay->attr("from") == "localhost");
  CHECK(delay->attr("stamp") == "2002-09-10T23:08:25.000Z");
  CHECK(stamped.childText("body") == "hi");
  CHECK(message.child("delay", kDelayNs) == nullptr);  // the original is untouched

  SECTION("stored again: keeps the first stamp") {
    auto again = withDelay(stamped, "localhost", when + std::chrono::hours(1));
    CHECK(again.childElementCount() == stamped.childElementCount());
    CHECK(again.child("delay", kDelayNs)->attr("stamp") == "2002-09-10T23:08:25.000Z");
  }
  SECTION("a delay from another entity does not count") {
    auto other = parse(
        "<message><delay xmlns='urn:xmpp:delay' from='elsewhere' "
        "stamp='2000-01-01T00:00:00Z'/></message>");
    CHECK(withDelay(other, "localhost", when).childElementCount() == 2);
  }
}

TEST_CASE("offline reads presence priority", "[offline]") {
  struct Case {
    const char* xml;
    int priority;
  };
  auto c = GENERATE(Case{"<presence/>", 0}, Case{"<presence><priority>5</priority></presence>", 5},
                    Case{"<presence><priority>-1</priority></presence>", -1},
                    Case{"<presence><priority>999</priority></presence>", 127},
                    Case{"<presence><priority>x</priority></presence>", 0});
  INFO(c.xml);
  CHECK(presencePriority(parse(c.xml)) == c.priority);
}

}  // namespace
}  // namespace parley::modules::offline
