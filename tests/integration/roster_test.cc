// Rosters (RFC 6121 §2): get, set, pushes to interested resources, remove, versioning
// (XEP-0237) and the errors of a roster set.
#include <catch2/catch.hpp>

#include "harness/scenario.h"

namespace parley::integration {
namespace {

constexpr const char* kRosterNs = "jabber:iq:roster";

// Sends a roster get (with ver='VER' when VER is given) and returns the answer.
const ReceivedStanza* getRoster(StropheClient& client, const std::string& id,
                                const std::optional<std::string>& ver = std::nullopt) {
  std::string attr = ver ? " ver='" + *ver + "'" : "";
  return client.request(
      "<iq type='get' id='" + id + "'><query xmlns='jabber:iq:roster'" + attr + "/></iq>", id);
}

const ReceivedStanza* setRoster(StropheClient& client, const std::string& id,
                                const std::string& items) {
  return client.request(
      "<iq type='set' id='" + id + "'><query xmlns='jabber:iq:roster'>" + items + "</query></iq>",
      id);
}

std::vector<const XmlNode*> itemsOf(const ReceivedStanza& stanza) {
  const auto* query = stanza.tree.child("query", kRosterNs);
  return query ? query->childrenNamed("item") : std::vector<const XmlNode*>{};
}

// A roster push whose item is about JID.
StropheClient::Predicate pushFor(const std::string& jid) {
  return [jid](const ReceivedStanza& s) {
    if (s.name != "iq" || s.type != "set") return false;
    auto items = itemsOf(s);
    return items.size() == 1 && items.front()->attr("jid") == jid;
  };
}

TEST_CASE("the roster is empty at first and then lists what was added", "[roster]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto empty = getRoster(*romeo, "g1");
  REQUIRE(empty != nullptr);
  CHECK(empty->type == "result");
  REQUIRE(empty->tree.child("query", kRosterNs) != nullptr);
  CHECK(itemsOf(*empty).empty());

  auto set = setRoster(*romeo, "s1",
                       "<item jid='nurse@localhost' name='Nurse'><group>Servants</group>"
                       "<group>Verona</group></item>");
  REQUIRE(set != nullptr);
  CHECK(set->type == "result");

  auto full = getRoster(*romeo, "g2");
  REQUIRE(full != nullptr);
  auto items = itemsOf(*full);
  REQUIRE(items.size() == 1);
  CHECK(items[0]->attr("jid") == "nurse@localhost");
  CHECK(items[0]->attr("name") == "Nurse");
  CHECK(items[0]->attr("subscription") == "none");
  CHECK(items[0]->attr("ask").empty());
  CHECK(items[0]->childrenNamed("group").size() == 2);

  SECTION("an update keeps one item and replaces name and groups") {
    REQUIRE(setRoster(*romeo, "s2", "<item jid='nurse@localhost' name='Angelica'/>") != nullptr);
    auto again = getRoster(*romeo, "g3");
    REQUIRE(again != nullptr);
    auto updated = itemsOf(*again);
    REQUIRE(updated.size() == 1);
    CHECK(updated[0]->attr("name") == "Angelica");
    CHECK(updated[0]->childrenNamed("group").empty());
  }
}

TEST_CASE("a roster set is pushed to every interested resource", "[roster]") {
  auto server = startServer();
  auto balcony = login(*server, "romeo", "balcony");
  auto garden = login(*server, "romeo", "garden");
  auto street = login(*server, "romeo", "street");  // never asks for the roster
  REQUIRE(getRoster(*balcony, "g1") != nullptr);
  REQUIRE(getRoster(*garden, "g2") != nullptr);

  auto set = setRoster(*balcony, "s1", "<item jid='benvolio@localhost' name='Ben'/>");
  REQUIRE(set != nullptr);
  CHECK(set->type == "result");
  for (auto* client : {balcony.get(), garden.get()}) {
    auto push = client->waitFor(pushFor("benvolio@localhost"));
    INFO(client->transcript());
    REQUIRE(push != nullptr);
    CHECK((push->from.empty() || push->from == "romeo@localhost"));
    auto item = itemsOf(*push).front();
    CHECK(item->attr("name") == "Ben");
    CHECK(item->attr("subscription") == "none");
    CHECK_FALSE(push->tree.child("query", kRosterNs)->attr("ver").empty());
  }
  REQUIRE(street->syncWithServer());
  REQUIRE(balcony->syncWithServer());
  CHECK(street->pending(pushFor("benvolio@localhost")).empty());
}

TEST_CASE("a removed item is gone and pushed as subscription remove", "[roster]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  REQUIRE(getRoster(*romeo, "g1") != nullptr);
  REQUIRE(setRoster(*romeo, "s1", "<item jid='tybalt@localhost'/>") != nullptr);
  REQUIRE(romeo->waitFor(pushFor("tybalt@localhost")) != nullptr);

  auto removed = setRoster(*romeo, "s2", "<item jid='tybalt@localhost' subscription='remove'/>");
  REQUIRE(removed != nullptr);
  CHECK(removed->type == "result");
  auto push = romeo->waitFor(pushFor("tybalt@localhost"));
  REQUIRE(push != nullptr);
  CHECK(itemsOf(*push).front()->attr("subscription") == "remove");
  auto roster = getRoster(*romeo, "g2");
  REQUIRE(roster != nullptr);
  CHECK(itemsOf(*roster).empty());

  // RFC 6121 §2.5.3: removing what is not there.
  auto again = setRoster(*romeo, "s3", "<item jid='tybalt@localhost' subscription='remove'/>");
  REQUIRE(again != nullptr);
  CHECK(again->type == "error");
  CHECK(errorCondition(*again) == "item-not-found");
}

TEST_CASE("roster versioning answers an up-to-date client with an empty result", "[roster]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto first = getRoster(*romeo, "g1", "");
  REQUIRE(first != nullptr);
  REQUIRE(first->tree.child("query", kRosterNs) != nullptr);
  auto ver = first->tree.child("query", kRosterNs)->attr("ver");
  CHECK_FALSE(ver.empty());

  auto same = getRoster(*romeo, "g2", ver);
  REQUIRE(same != nullptr);
  CHECK(same->type == "result");
  CHECK(same->tree.child("query", kRosterNs) == nullptr);

  REQUIRE(setRoster(*romeo, "s1", "<item jid='mercutio@localhost'/>") != nullptr);
  auto push = romeo->waitFor(pushFor("mercutio@localhost"));
  REQUIRE(push != nullptr);
  auto pushed_ver = push->tree.child("query", kRosterNs)->attr("ver");
  CHECK(pushed_ver != ver);

  auto stale = getRoster(*romeo, "g3", ver);
  REQUIRE(stale != nullptr);
  REQUIRE(stale->tree.child("query", kRosterNs) != nullptr);
  CHECK(stale->tree.child("query", kRosterNs)->attr("ver") == pushed_ver);
  CHECK(itemsOf(*stale).size() == 1);
  auto current = getRoster(*romeo, "g4", pushed_ver);
  REQUIRE(current != nullptr);
  CHECK(current->tree.child("query", kRosterNs) == nullptr);
}

TEST_CASE("roster sets that break RFC 6121 2.3.3 are refused", "[roster]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  struct Case {
    const char* what;
    std::string items;
    const char* condition;
  };
  const std::vector<Case> cases = {
      {"one's own JID", "<item jid='romeo@localhost'/>", "not-allowed"},
      {"a malformed JID", "<item jid='juliet@local host@'/>", "jid-malformed"},
      {"two items", "<item jid='a@localhost'/><item jid='b@localhost'/>", "bad-request"},
      {"no item", "", "bad-request"},
      {"a duplicate group", "<item jid='a@localhost'><group>G</group><group>G</group></item>",
       "bad-request"},
      {"an empty group", "<item jid='a@localhost'><group/></item>", "not-acceptable"},
  };
  int n = 0;
  for (const auto& c : cases) {
    INFO(c.what);
    auto reply = setRoster(*romeo, "e" + std::to_string(++n), c.items);
    REQUIRE(reply != nullptr);
    CHECK(reply->type == "error");
    CHECK(errorCondition(*reply) == c.condition);
  }
  auto roster = getRoster(*romeo, "g1");
  REQUIRE(roster != nullptr);
  CHECK(itemsOf(*roster).empty());
}

TEST_CASE("another user's roster is forbidden", "[roster]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto reply = romeo->request(
      "<iq type='get' id='x1' to='juliet@localhost'><query xmlns='jabber:iq:roster'/></iq>", "x1");
  REQUIRE(reply != nullptr);
  CHECK(reply->type == "error");
  CHECK(errorCondition(*reply) == "forbidden");
}

}  // namespace
}  // namespace parley::integration
