// XEP-0191 JID matching and command parsing.
#include "blocking/blocklist.h"

#include <catch2/catch.hpp>

#include "xml/serializer.h"

namespace parley::modules::blocking {
namespace {

using Condition = xmpp::StanzaError::Condition;

TEST_CASE("blocklist keys that match a JID", "[blocking]") {
  struct Case {
    const char* jid;
    std::vector<std::string> keys;
  };
  const Case cases[] = {
      {"romeo@montague.lit/orchard",
       {"romeo@montague.lit/orchard", "romeo@montague.lit", "montague.lit"}},
      {"romeo@montague.lit", {"romeo@montague.lit", "montague.lit"}},
      {"montague.lit/orchard", {"montague.lit/orchard", "montague.lit"}},
      {"montague.lit", {"montague.lit"}},
      {"Romeo@Montague.LIT", {"romeo@montague.lit", "montague.lit"}},
  };
  for (const auto& c : cases) {
    INFO(c.jid);
    auto jid = xmpp::Jid::parse(c.jid);
    REQUIRE(jid);
    CHECK(matchKeys(*jid) == c.keys);
  }
}

xml::Element command(std::string_view name, std::vector<std::string> jids) {
  xml::Element element{std::string(name), std::string(kNs)};
  for (auto& jid : jids) element.addChild("item", std::string(kNs)).setAttr("jid", jid);
  return element;
}

TEST_CASE("block and unblock items", "[blocking]") {
  auto items = commandItems(
      command("block", {"Juliet@Capulet.lit", "juliet@capulet.lit", "nurse@capulet.lit/kitchen"}),
      false);
  REQUIRE(items);
  CHECK(*items == std::vector<std::string>{"juliet@capulet.lit", "nurse@capulet.lit/kitchen"});

  auto empty_block = commandItems(command("block", {}), false);
  REQUIRE_FALSE(empty_block);
  CHECK(empty_block.error() == Condition::BadRequest);

  auto empty_unblock = commandItems(command("unblock", {}), true);
  REQUIRE(empty_unblock);
  CHECK(empty_unblock->empty());

  for (const char* bad : {"", "@capulet.lit", "juliet@", "a@b@c/"}) {
    INFO(bad);
    auto result = commandItems(command("block", {bad}), false);
    REQUIRE_FALSE(result);
    CHECK(result.error() == Condition::JidMalformed);
  }
}

TEST_CASE("the blocked error carries the XEP-0191 condition", "[blocking]") {
  xml::Element message{"message", "jabber:client"};
  message.setAttr("from", "romeo@montague.lit/orchard");
  message.setAttr("to", "juliet@capulet.lit");
  message.setAttr("id", "m1");
  auto error = blockedError(message);
  CHECK(error.attr("type") == "error");
  CHECK(error.attr("to") == "romeo@montague.lit/orchard");
  CHECK(error.attr("from") == "juliet@capulet.lit");
  const auto* element = error.child("error");
  REQUIRE(element != nullptr);
  CHECK(element->child("not-acceptable", "urn:ietf:params:xml:ns:xmpp-stanzas") != nullptr);
  CHECK(element->child("blocked", kErrorsNs) != nullptr);
}

}  // namespace
}  // namespace parley::modules::blocking
