// Offline messages (XEP-0160): stored while juliet is away, delivered at her initial
// presence with a XEP-0203 delay from the server, and the quota's resource-constraint.
#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "harness/scenario.h"

namespace parley::integration {
namespace {

StropheClient::Predicate errorWithId(const std::string& id) {
  return [id](const ReceivedStanza& s) { return s.type == "error" && s.id == id; };
}

TEST_CASE("a message to an offline user is delivered at initial presence with a delay stamp",
          "[offline]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  romeo->sendMessage("juliet@localhost", "first", "chat", "m1");
  romeo->sendMessage("juliet@localhost", "second", "normal", "m2");
  romeo->sendMessage("juliet@localhost", "news", "headline", "m3");  // XEP-0160: never stored
  REQUIRE(romeo->syncWithServer());
  CHECK(romeo->pending([](const ReceivedStanza& s) { return s.type == "error"; }).empty());

  auto juliet = login(*server, "juliet", "garden");
  // Nothing before the initial presence (RFC 6121 §8.5.2.1.1 needs an available resource).
  REQUIRE(juliet->syncWithServer());
  CHECK(juliet->pending(messageWithBody("first")).empty());

  juliet->sendPresence(0);
  auto first = juliet->waitFor(messageWithBody("first"));
  REQUIRE(first != nullptr);
  INFO(first->xml);
  CHECK(first->from == "romeo@localhost/balcony");
  CHECK(first->type == "chat");
  const XmlNode* delay = first->tree.child("delay", "urn:xmpp:delay");
  REQUIRE(delay != nullptr);
  CHECK(delay->attr("from") == "localhost");
  CHECK(delay->attr("stamp").size() >= 20);
  CHECK(delay->attr("stamp").back() == 'Z');
  REQUIRE(juliet->waitFor(messageWithBody("second")) != nullptr);
  // In the order they were sent.
  std::vector<std::string> bodies;
  for (const auto& s : juliet->received()) {
    if (s.name == "message" && s.has_body) bodies.push_back(s.body);
  }
  CHECK(bodies == std::vector<std::string>{"first", "second"});

  SECTION("delivered messages are gone from storage") {
    juliet.reset();
    auto again = login(*server, "juliet", "chamber");
    again->sendPresence(1);
    REQUIRE(again->syncWithServer());
    romeo->sendMessage("juliet@localhost/chamber", "sentinel");
    REQUIRE(again->waitFor(messageWithBody("sentinel")) != nullptr);
    CHECK(again->pending(messageWithBody("first")).empty());
    CHECK(again->pending(messageWithBody("news")).empty());
  }
  SECTION("a negative priority does not get them") {
    juliet.reset();
    romeo->sendMessage("juliet@localhost", "third", "chat");
    REQUIRE(romeo->syncWithServer());
    auto shy = login(*server, "juliet", "hidden");
    shy->sendPresence(-1);
    REQUIRE(shy->syncWithServer());
    romeo->sendMessage("juliet@localhost/hidden", "sentinel");
    REQUIRE(shy->waitFor(messageWithBody("sentinel")) != nullptr);
    CHECK(shy->pending(messageWithBody("third")).empty());
  }
}

// Whatever juliet's initial presence overtakes (a message being stored, one arriving as she
// becomes available), each message reaches her once: from storage or directly.
TEST_CASE("messages sent while the recipient comes online reach her exactly once", "[offline]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto juliet = login(*server, "juliet", "garden");  // bound, not available: messages are stored
  constexpr int kCount = 300;
  for (int i = 0; i < kCount; ++i) {
    romeo->sendMessage("juliet@localhost", "race " + std::to_string(i), "chat");
    if (i == kCount / 3) juliet->sendPresence(0);  // goes out in the same pump as the burst
  }
  REQUIRE(romeo->syncWithServer());
  auto bodies = [&] {
    std::multiset<std::string> seen;
    for (const auto& s : juliet->received()) {
      if (s.name == "message" && s.body.rfind("race ", 0) == 0) seen.insert(s.body);
    }
    return seen;
  };
  CHECK(StropheClient::pumpUntil([&] { return bodies().size() >= kCount; },
                                 std::chrono::seconds(10)));
  REQUIRE(juliet->syncWithServer());
  auto seen = bodies();
  CHECK(seen.size() == kCount);
  for (int i = 0; i < kCount; ++i) {
    INFO("race " << i);
    CHECK(seen.count("race " + std::to_string(i)) == 1);
  }
}

TEST_CASE("offline quota exceeded gives the sender resource-constraint", "[offline]") {
  ServerOptions options;
  options.host_extra = "offline = { quota = 2 }\n";
  auto server = startServer(options);
  auto romeo = login(*server, "romeo", "balcony");
  // Sent in one burst: the quota must count the writes still in flight.
  romeo->sendMessage("juliet@localhost", "one", "chat", "q1");
  romeo->sendMessage("juliet@localhost", "two", "chat", "q2");
  romeo->sendMessage("juliet@localhost", "three", "chat", "q3");
  auto error = romeo->waitFor(errorWithId("q3"));
  REQUIRE(error != nullptr);
  INFO(error->xml);
  CHECK(error->name == "message");
  CHECK(error->from == "juliet@localhost");
  CHECK(errorCondition(*error) == "resource-constraint");
  CHECK(error->tree.child("error")->attr("type") == "wait");
  REQUIRE(romeo->syncWithServer());
  CHECK(romeo->pending(errorWithId("q1")).empty());
  CHECK(romeo->pending(errorWithId("q2")).empty());

  auto juliet = login(*server, "juliet", "garden");
  juliet->sendPresence(0);
  REQUIRE(juliet->waitFor(messageWithBody("one")) != nullptr);
  REQUIRE(juliet->waitFor(messageWithBody("two")) != nullptr);
  REQUIRE(juliet->syncWithServer());
  romeo->sendMessage("juliet@localhost/garden", "sentinel");
  REQUIRE(juliet->waitFor(messageWithBody("sentinel")) != nullptr);
  CHECK(juliet->pending(messageWithBody("three")).empty());

  // Delivered messages free their room: the quota is about what is stored now.
  juliet->disconnect();
  romeo->sendMessage("juliet@localhost", "four", "chat", "q4");
  romeo->sendMessage("juliet@localhost", "five", "chat", "q5");
  REQUIRE(romeo->syncWithServer());
  auto again = login(*server, "juliet", "garden");
  again->sendPresence(0);
  REQUIRE(again->waitFor(messageWithBody("four")) != nullptr);
  REQUIRE(again->waitFor(messageWithBody("five")) != nullptr);
  CHECK(romeo->pending(errorWithId("q4")).empty());
  CHECK(romeo->pending(errorWithId("q5")).empty());
}

TEST_CASE("offline storage is advertised as msgoffline", "[offline]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto reply = romeo->request(
      "<iq type='get' id='d1' to='localhost'>"
      "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
      "d1");
  REQUIRE(reply != nullptr);
  const XmlNode* query = reply->tree.child("query", "http://jabber.org/protocol/disco#info");
  REQUIRE(query != nullptr);
  bool found = false;
  for (const XmlNode* feature : query->childrenNamed("feature")) {
    found = found || feature->attr("var") == "msgoffline";
  }
  CHECK(found);
}

}  // namespace
}  // namespace parley::integration
