// Roster items: stored form round trip and the roster set rules of RFC 6121 §2.3.3.
#include "roster/roster_item.h"

#include <catch2/catch.hpp>

#include "xml/serializer.h"

namespace parley::modules::roster {
namespace {

using Condition = xmpp::StanzaError::Condition;

xml::Element query(const std::string& items) {
  auto parsed = xml::parseElement("<query xmlns='jabber:iq:roster'>" + items + "</query>");
  REQUIRE(parsed);
  return *parsed;
}

TEST_CASE("a roster item survives storage", "[roster]") {
  RosterItem item{"juliet@example.com", "Juliet", {"Friends", "Lovers"}, {}};
  item.state.subscription = Subscription::From;
  item.state.pending_out = true;
  item.state.approved = true;
  auto back = parseStored(serialize(item));
  REQUIRE(back);
  CHECK(*back == item);
  auto element = toElement(item);
  CHECK(element.attr("ask") == "subscribe");
  CHECK(element.attr("subscription") == "from");
  CHECK(element.attr("approved") == "true");
}

TEST_CASE("roster set items are checked as RFC 6121 2.3.3 says", "[roster]") {
  struct Case {
    std::string items;
    std::optional<Condition> error;
  };
  const std::string long_name(kMaxNameBytes + 1, 'x');
  const std::vector<Case> cases = {
      {"<item jid='nurse@example.com' name='Nurse'><group>Servants</group></item>", {}},
      {"<item jid='nurse@example.com' subscription='both' ask='subscribe'/>", {}},
      {"", Condition::BadRequest},
      {"<item jid='a@example.com'/><item jid='b@example.com'/>", Condition::BadRequest},
      {"<item name='no jid'/>", Condition::BadRequest},
      {"<item jid='@example.com'/>", Condition::JidMalformed},
      {"<item jid='romeo@example.com'/>", Condition::NotAllowed},
      {"<item jid='romeo@example.com' subscription='remove'/>", Condition::NotAllowed},
      {"<item jid='a@example.com'><group>G</group><group>G</group></item>", Condition::BadRequest},
      {"<item jid='a@example.com'><group></group></item>", Condition::NotAcceptable},
      {"<item jid='a@example.com' name='" + long_name + "'/>", Condition::NotAcceptable},
      {"<item jid='a@example.com'><group>" + long_name + "</group></item>",
       Condition::NotAcceptable},
  };
  for (const auto& c : cases) {
    INFO(c.items);
    auto result = parseRosterSet(query(c.items), "romeo@example.com");
    if (c.error) {
      REQUIRE_FALSE(result);
      CHECK(result.error().condition == *c.error);
    } else {
      CHECK(result);
    }
  }
}

TEST_CASE("a roster set ignores the client's subscription state", "[roster]") {
  auto result = parseRosterSet(
      query("<item jid='Nurse@Example.com' subscription='both' ask='subscribe' approved='true'/>"),
      "romeo@example.com");
  REQUIRE(result);
  CHECK(result->item.jid == "nurse@example.com");
  CHECK(result->item.state == SubscriptionState{});
  CHECK_FALSE(result->remove);
  auto remove = parseRosterSet(query("<item jid='nurse@example.com' subscription='remove'/>"),
                               "romeo@example.com");
  REQUIRE(remove);
  CHECK(remove->remove);
}

}  // namespace
}  // namespace parley::modules::roster
