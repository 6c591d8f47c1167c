// Durability across a crash: what clients stored (roster with subscription state, an offline
// message, a vCard, private XML, a blocklist entry) is all there after kill -9 and restart.
#include <catch2/catch.hpp>
#include <string>

#include "harness/scenario.h"

namespace parley::integration {
namespace {

constexpr const char* kRosterNs = "jabber:iq:roster";

// The subscription attribute of JID's item in USER's roster ("" when there is no item).
std::string subscriptionOf(StropheClient& client, const std::string& jid, const std::string& id) {
  auto roster =
      client.request("<iq type='get' id='" + id + "'><query xmlns='jabber:iq:roster'/></iq>", id);
  REQUIRE(roster != nullptr);
  INFO(roster->xml);
  REQUIRE(roster->type == "result");
  const XmlNode* query = roster->tree.child("query", kRosterNs);
  REQUIRE(query != nullptr);
  for (const XmlNode* item : query->childrenNamed("item")) {
    if (item->attr("jid") == jid) return item->attr("subscription");
  }
  return "";
}

StropheClient::Predicate presenceOfType(const std::string& type) {
  return [type](const ReceivedStanza& s) { return s.name == "presence" && s.type == type; };
}

TEST_CASE("stored data survives kill -9 and a restart", "[restart]") {
  auto server = startServer();  // romeo and juliet made by parleyctl adduser
  {
    auto romeo = login(*server, "romeo", "balcony");
    auto juliet = login(*server, "juliet", "garden");
    romeo->sendPresence(0);
    juliet->sendPresence(0);
    REQUIRE(romeo->syncWithServer());
    REQUIRE(juliet->syncWithServer());

    // Both fetch the roster first: roster pushes go to interested resources only.
    REQUIRE(subscriptionOf(*romeo, "juliet@localhost", "r00").empty());
    REQUIRE(subscriptionOf(*juliet, "romeo@localhost", "r01").empty());
    // Romeo subscribes to juliet; she approves: romeo "to", juliet "from".
    romeo->send("<presence to='juliet@localhost' type='subscribe'/>");
    REQUIRE(juliet->waitFor(presenceOfType("subscribe")) != nullptr);
    juliet->send("<presence to='romeo@localhost' type='subscribed'/>");
    auto push = romeo->waitFor([](const ReceivedStanza& s) {
      const XmlNode* query = s.tree.child("query", kRosterNs);
      const XmlNode* item = query ? query->child("item") : nullptr;
      return s.name == "iq" && s.type == "set" && item && item->attr("subscription") == "to";
    });
    INFO(romeo->transcript());
    REQUIRE(push != nullptr);
    REQUIRE(subscriptionOf(*juliet, "romeo@localhost", "r0") == "from");

    juliet->disconnect();
    REQUIRE(romeo->waitFor(presenceOfType("unavailable")) != nullptr);
    romeo->sendMessage("juliet@localhost", "written before the crash", "chat", "m1");
    // Acknowledged writes after the message: the store's single writer has it on disk too.
    auto vcard = romeo->request(
        "<iq type='set' id='v1'><vCard xmlns='vcard-temp'><FN>Romeo Montague</FN></vCard></iq>",
        "v1");
    REQUIRE(vcard != nullptr);
    REQUIRE(vcard->type == "result");
    auto stored = romeo->request(
        "<iq type='set' id='p1'><query xmlns='jabber:iq:private'>"
        "<prefs xmlns='romeo:prefs'><colour>red</colour></prefs></query></iq>",
        "p1");
    REQUIRE(stored != nullptr);
    REQUIRE(stored->type == "result");
    auto block = romeo->request(
        "<iq type='set' id='b1'><block xmlns='urn:xmpp:blocking'>"
        "<item jid='tybalt@localhost'/></block></iq>",
        "b1");
    REQUIRE(block != nullptr);
    REQUIRE(block->type == "result");
    CHECK(romeo->pending([](const ReceivedStanza& s) { return s.type == "error"; }).empty());

    REQUIRE(server->kill9());  // the clients see their sockets die; nothing is flushed
  }
  REQUIRE(server->start());

  auto juliet = login(*server, "juliet", "garden");
  juliet->sendPresence(0);
  auto message = juliet->waitFor(messageWithBody("written before the crash"));
  REQUIRE(message != nullptr);
  INFO(message->xml);
  CHECK(message->from == "romeo@localhost/balcony");
  CHECK(message->tree.child("delay", "urn:xmpp:delay") != nullptr);
  CHECK(subscriptionOf(*juliet, "romeo@localhost", "r1") == "from");

  auto romeo = login(*server, "romeo", "balcony");
  romeo->sendPresence(0);
  CHECK(subscriptionOf(*romeo, "juliet@localhost", "r2") == "to");

  auto vcard = romeo->request("<iq type='get' id='v2'><vCard xmlns='vcard-temp'/></iq>", "v2");
  REQUIRE(vcard != nullptr);
  INFO(vcard->xml);
  REQUIRE(vcard->type == "result");
  const XmlNode* card = vcard->tree.child("vCard", "vcard-temp");
  REQUIRE(card != nullptr);
  REQUIRE(card->child("FN") != nullptr);
  CHECK(card->child("FN")->text == "Romeo Montague");

  auto prefs = romeo->request(
      "<iq type='get' id='p2'><query xmlns='jabber:iq:private'>"
      "<prefs xmlns='romeo:prefs'/></query></iq>",
      "p2");
  REQUIRE(prefs != nullptr);
  INFO(prefs->xml);
  REQUIRE(prefs->type == "result");
  const XmlNode* query = prefs->tree.child("query", "jabber:iq:private");
  REQUIRE(query != nullptr);
  const XmlNode* stored_prefs = query->child("prefs", "romeo:prefs");
  REQUIRE(stored_prefs != nullptr);
  REQUIRE(stored_prefs->child("colour") != nullptr);
  CHECK(stored_prefs->child("colour")->text == "red");

  auto blocklist =
      romeo->request("<iq type='get' id='b2'><blocklist xmlns='urn:xmpp:blocking'/></iq>", "b2");
  REQUIRE(blocklist != nullptr);
  INFO(blocklist->xml);
  REQUIRE(blocklist->type == "result");
  const XmlNode* list = blocklist->tree.child("blocklist", "urn:xmpp:blocking");
  REQUIRE(list != nullptr);
  auto items = list->childrenNamed("item");
  REQUIRE(items.size() == 1);
  CHECK(items.front()->attr("jid") == "tybalt@localhost");

  // Romeo's subscription to juliet works again: her presence reaches him.
  juliet->sendPresence(1);
  CHECK(romeo->waitFor([](const ReceivedStanza& s) {
    return s.name == "presence" && s.from == "juliet@localhost/garden" && s.type.empty();
  }) != nullptr);
}

}  // namespace
}  // namespace parley::integration
