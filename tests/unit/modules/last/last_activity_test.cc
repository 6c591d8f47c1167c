// Unit tests for XEP-0012 helpers: logout records, roster authorization, replies.
#include "last/last_activity.h"

#include <catch2/catch.hpp>

namespace parley::modules::last {
namespace {

TEST_CASE("last logout records round-trip", "[last]") {
  auto record = GENERATE(LogoutRecord{0, ""}, LogoutRecord{1700000000, "Heading Home"},
                         LogoutRecord{42, "<&'\"> \xC3\xA9"});
  auto decoded = decodeRecord(encodeRecord(record));
  REQUIRE(decoded);
  CHECK(*decoded == record);
}

TEST_CASE("last rejects what it did not write", "[last]") {
  auto text = GENERATE("", "garbage", "<logout xmlns='other' at='1'/>",
                       "<logout xmlns='urn:parley:last:0'/>",
                       "<logout xmlns='urn:parley:last:0' at='12x'/>");
  INFO(text);
  CHECK_FALSE(decodeRecord(text));
}

TEST_CASE("last follows roster subscription", "[last]") {
  struct Case {
    const char* item;
    bool allowed;
  };
  auto c = GENERATE(Case{"<item jid='a@b' subscription='from'/>", true},
                    Case{"<item jid='a@b' subscription='both'/>", true},
                    Case{"<item xmlns='jabber:iq:roster' jid='a@b' subscription='both'/>", true},
                    Case{"<item jid='a@b' subscription='to'/>", false},
                    Case{"<item jid='a@b' subscription='none' ask='subscribe'/>", false},
                    Case{"<item jid='a@b'/>", false}, Case{"not xml", false});
  INFO(c.item);
  CHECK(allowsPresence(c.item) == c.allowed);
}

TEST_CASE("last query element", "[last]") {
  auto query = lastQuery(903, "Heading Home");
  CHECK(query.is("query", kLastNs));
  CHECK(query.attr("seconds") == "903");
  CHECK(query.text() == "Heading Home");
  CHECK(lastQuery(-5).attr("seconds") == "0");
  CHECK(lastQuery(0).text().empty());
}

}  // namespace
}  // namespace parley::modules::last
