// XEP-0191 blocking: the blocklist and its pushes, and what a block does to messages, iqs
// and presence in both directions.
#include <catch2/catch.hpp>

#include "harness/scenario.h"

namespace parley::integration {
namespace {

constexpr const char* kBlockingNs = "urn:xmpp:blocking";

std::string blockIq(const std::string& id, const std::string& verb, const std::string& jid) {
  std::string items = jid.empty() ? "" : "<item jid='" + jid + "'/>";
  return "<iq type='set' id='" + id + "'><" + verb + " xmlns='urn:xmpp:blocking'>" + items + "</" +
         verb + "></iq>";
}

StropheClient::Predicate errorFor(const std::string& id) {
  return [id](const ReceivedStanza& s) { return s.type == "error" && s.id == id; };
}

StropheClient::Predicate pushOf(const std::string& verb) {
  return [verb](const ReceivedStanza& s) {
    return s.name == "iq" && s.type == "set" && s.tree.child(verb, kBlockingNs) != nullptr;
  };
}

std::vector<std::string> blocklist(StropheClient& client, const std::string& id) {
  auto reply = client.request(
      "<iq type='get' id='" + id + "'><blocklist xmlns='urn:xmpp:blocking'/></iq>", id);
  REQUIRE(reply != nullptr);
  INFO(reply->xml);
  REQUIRE(reply->type == "result");
  const XmlNode* list = reply->tree.child("blocklist", kBlockingNs);
  REQUIRE(list != nullptr);
  std::vector<std::string> jids;
  for (const XmlNode* item : list->childrenNamed("item")) jids.push_back(item->attr("jid"));
  return jids;
}

TEST_CASE("blocking cuts messages and iqs and presence both ways until unblocked", "[blocking]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto juliet = login(*server, "juliet", "garden");
  romeo->sendPresence(0);
  juliet->sendPresence(0);
  REQUIRE(romeo->syncWithServer());
  REQUIRE(juliet->syncWithServer());

  CHECK(blocklist(*romeo, "l1").empty());
  auto blocked = romeo->request(blockIq("b1", "block", "juliet@localhost"), "b1");
  REQUIRE(blocked != nullptr);
  INFO(blocked->xml);
  CHECK(blocked->type == "result");
  // XEP-0191 §3.3: the resource that asked for the list gets the push.
  const auto* push = romeo->waitFor(pushOf("block"));
  REQUIRE(push != nullptr);
  CHECK(push->tree.child("block", kBlockingNs)->child("item")->attr("jid") == "juliet@localhost");
  CHECK(blocklist(*romeo, "l2") == std::vector<std::string>{"juliet@localhost"});
  // Juliet saw romeo go away.
  CHECK(juliet->waitFor([](const ReceivedStanza& s) {
    return s.name == "presence" && s.type == "unavailable" && s.from == "romeo@localhost/balcony";
  }) != nullptr);

  SECTION("the blocked contact's message bounces with service-unavailable") {
    juliet->sendMessage("romeo@localhost", "hello?", "chat", "m1");
    const auto* error = juliet->waitFor(errorFor("m1"));
    REQUIRE(error != nullptr);
    INFO(error->xml);
    CHECK(error->name == "message");
    CHECK(errorCondition(*error) == "service-unavailable");
    // Also to the full JID, and iqs.
    juliet->sendMessage("romeo@localhost/balcony", "hello?", "chat", "m2");
    REQUIRE(juliet->waitFor(errorFor("m2")) != nullptr);
    auto ping = juliet->request(
        "<iq type='get' id='p1' to='romeo@localhost/balcony'><ping xmlns='urn:xmpp:ping'/></iq>",
        "p1");
    REQUIRE(ping != nullptr);
    CHECK(ping->type == "error");
    CHECK(errorCondition(*ping) == "service-unavailable");
    REQUIRE(romeo->syncWithServer());
    CHECK(romeo->pending(messageWithBody("hello?")).empty());
  }

  SECTION("writing to a blocked contact gets not-acceptable with <blocked/>") {
    romeo->sendMessage("juliet@localhost/garden", "psst", "chat", "m3");
    const auto* error = romeo->waitFor(errorFor("m3"));
    REQUIRE(error != nullptr);
    INFO(error->xml);
    CHECK(errorCondition(*error) == "not-acceptable");
    CHECK(error->tree.child("error")->child("blocked", "urn:xmpp:blocking:errors") != nullptr);
    auto ping = romeo->request(
        "<iq type='get' id='p2' to='juliet@localhost/garden'><ping xmlns='urn:xmpp:ping'/></iq>",
        "p2");
    REQUIRE(ping != nullptr);
    CHECK(errorCondition(*ping) == "not-acceptable");
    // Presence to her goes nowhere, silently.
    romeo->send("<presence to='juliet@localhost/garden'><status>hi</status></presence>");
    romeo->send("<presence/>");
    REQUIRE(romeo->syncWithServer());
    REQUIRE(juliet->syncWithServer());
    CHECK(romeo
              ->pending(
                  [](const ReceivedStanza& s) { return s.name == "presence" && s.type == "error"; })
              .empty());
    INFO(juliet->transcript());
    CHECK(juliet
              ->pending([](const ReceivedStanza& s) {
                return s.name == "presence" && s.type != "unavailable" &&
                       bareJid(s.from) == "romeo@localhost";
              })
              .empty());
    CHECK(juliet->pending(messageWithBody("psst")).empty());
  }

  SECTION("unblocking restores delivery and is pushed") {
    auto unblocked = romeo->request(blockIq("u1", "unblock", "juliet@localhost"), "u1");
    REQUIRE(unblocked != nullptr);
    CHECK(unblocked->type == "result");
    REQUIRE(romeo->waitFor(pushOf("unblock")) != nullptr);
    CHECK(blocklist(*romeo, "l3").empty());
    juliet->sendMessage("romeo@localhost/balcony", "back again");
    CHECK(romeo->waitFor(messageWithBody("back again")) != nullptr);
    romeo->sendMessage("juliet@localhost/garden", "welcome");
    CHECK(juliet->waitFor(messageWithBody("welcome")) != nullptr);
  }

  SECTION("unblock without items clears the list") {
    REQUIRE(romeo->request(blockIq("b2", "block", "mercutio@localhost"), "b2") != nullptr);
    auto cleared = romeo->request(blockIq("u2", "unblock", ""), "u2");
    REQUIRE(cleared != nullptr);
    CHECK(cleared->type == "result");
    CHECK(blocklist(*romeo, "l4").empty());
    juliet->sendMessage("romeo@localhost/balcony", "all clear");
    CHECK(romeo->waitFor(messageWithBody("all clear")) != nullptr);
  }

  SECTION("a domain item blocks everyone there") {
    REQUIRE(romeo->request(blockIq("u3", "unblock", ""), "u3") != nullptr);
    REQUIRE(juliet->request(blockIq("b3", "block", "localhost"), "b3") != nullptr);
    romeo->sendMessage("juliet@localhost/garden", "anyone?", "chat", "m4");
    const auto* error = romeo->waitFor(errorFor("m4"));
    REQUIRE(error != nullptr);
    CHECK(errorCondition(*error) == "service-unavailable");
  }
}

TEST_CASE("malformed block commands are refused", "[blocking]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto empty = romeo->request(blockIq("e1", "block", ""), "e1");
  REQUIRE(empty != nullptr);
  CHECK(empty->type == "error");
  CHECK(errorCondition(*empty) == "bad-request");
  auto malformed = romeo->request(blockIq("e2", "block", "@@bad"), "e2");
  REQUIRE(malformed != nullptr);
  CHECK(malformed->type == "error");
  CHECK(errorCondition(*malformed) == "jid-malformed");
  CHECK(blocklist(*romeo, "l5").empty());
}

TEST_CASE("the blocklist survives a restart", "[blocking]") {
  auto server = startServer();
  {
    auto romeo = login(*server, "romeo", "balcony");
    auto reply = romeo->request(blockIq("b1", "block", "tybalt@localhost"), "b1");
    REQUIRE(reply != nullptr);
    REQUIRE(reply->type == "result");
  }
  server->terminate();
  REQUIRE(server->waitExit(std::chrono::seconds(10)).has_value());
  REQUIRE(server->start());
  auto romeo = login(*server, "romeo", "balcony");
  CHECK(blocklist(*romeo, "l1") == std::vector<std::string>{"tybalt@localhost"});
}

}  // namespace
}  // namespace parley::integration
