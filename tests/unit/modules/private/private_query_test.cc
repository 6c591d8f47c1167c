// Unit tests for XEP-0049 query checks: reserved namespaces, get and set shapes.
#include "private/private_query.h"

#include <catch2/catch.hpp>

#include "xml/stream_parser.h"

namespace parley::modules::private_storage {
namespace {

using Condition = xmpp::StanzaError::Condition;

xml::Element parse(std::string_view text) {
  auto element = xml::parseElement(text);
  REQUIRE(element);
  return std::move(*element);
}

TEST_CASE("private reserved namespaces", "[private]") {
  struct Case {
    const char* xmlns;
    bool reserved;
  };
  auto c = GENERATE(Case{"jabber:client", true}, Case{"jabber:iq:roster", true},
                    Case{"http://jabber.org/protocol/muc", true}, Case{"vcard-temp", true},
                    Case{"", true}, Case{"storage:bookmarks", false}, Case{"exodus:prefs", false},
                    Case{"urn:xmpp:bookmarks:1", false});
  INFO("xmlns '" << c.xmlns << "'");
  CHECK(isReservedNamespace(c.xmlns) == c.reserved);
}

TEST_CASE("private get asks for one namespace", "[private]") {
  struct Case {
    const char* query;
    std::optional<Condition> error;
  };
  auto c = GENERATE(
      Case{"<query xmlns='jabber:iq:private'><exodus xmlns='exodus:prefs'/></query>", std::nullopt},
      Case{"<query xmlns='jabber:iq:private'/>", Condition::NotAcceptable},
      Case{"<query xmlns='jabber:iq:private'><a xmlns='x:a'/><b xmlns='x:b'/></query>",
           Condition::BadRequest},
      Case{"<query xmlns='jabber:iq:private'><vCard xmlns='vcard-temp'/></query>",
           Condition::NotAcceptable},
      Case{"<query xmlns='jabber:iq:private'><foo/></query>", Condition::NotAcceptable});
  INFO(c.query);
  auto result = parseGet(parse(c.query));
  if (c.error) {
    REQUIRE_FALSE(result);
    CHECK(result.error().condition == *c.error);
  } else {
    REQUIRE(result);
    CHECK(result->is("exodus", "exodus:prefs"));
  }
}

TEST_CASE("private set groups elements by namespace", "[private]") {
  auto entries =
      parseSet(parse("<query xmlns='jabber:iq:private'><a xmlns='x:a'>1</a><b xmlns='x:b'/>"
                     "<a2 xmlns='x:a'>2</a2></query>"));
  REQUIRE(entries);
  REQUIRE(entries->size() == 2);
  CHECK((*entries)[0].first == "x:a");
  CHECK((*entries)[0].second.childElementCount() == 2);
  CHECK((*entries)[1].first == "x:b");

  xml::Element query("query", std::string(kPrivateNs));
  appendStored(query, (*entries)[0].second);
  REQUIRE(query.childElementCount() == 2);
  CHECK(query.child("a", "x:a")->text() == "1");
  CHECK(query.child("a2", "x:a")->text() == "2");

  SECTION("errors") {
    auto empty = parseSet(parse("<query xmlns='jabber:iq:private'/>"));
    REQUIRE_FALSE(empty);
    CHECK(empty.error().condition == Condition::NotAcceptable);
    auto reserved = parseSet(parse(
        "<query xmlns='jabber:iq:private'><a xmlns='x:a'/><q xmlns='jabber:iq:roster'/></query>"));
    REQUIRE_FALSE(reserved);
    CHECK(reserved.error().condition == Condition::NotAcceptable);
  }
}

}  // namespace
}  // namespace parley::modules::private_storage
