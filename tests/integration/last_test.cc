// Last activity (XEP-0012): the server's uptime, a user's time since logout with their last
// status, and who may ask.
#include <catch2/catch.hpp>

#include "harness/scenario.h"

namespace parley::integration {
namespace {

constexpr const char* kLastNs = "jabber:iq:last";

const ReceivedStanza* askLast(StropheClient& client, const std::string& to) {
  static int n = 0;
  std::string id = "l" + std::to_string(++n);
  return client.request(
      "<iq type='get' id='" + id + "' to='" + to + "'><query xmlns='jabber:iq:last'/></iq>", id);
}

bool isNumber(const std::string& text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
}

// Asks until the answer is a result (the logout record is written as the session ends,
// which the client does not wait for). Bounded; returns the last answer.
const ReceivedStanza* askLastUntilResult(StropheClient& client, const std::string& to) {
  const ReceivedStanza* reply = nullptr;
  StropheClient::pumpUntil(
      [&] {
        reply = askLast(client, to);
        return reply != nullptr && reply->type == "result";
      },
      std::chrono::seconds(3));
  return reply;
}

TEST_CASE("last activity of the server is its uptime", "[last]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto reply = askLast(*romeo, "localhost");
  REQUIRE(reply != nullptr);
  INFO(reply->xml);
  CHECK(reply->type == "result");
  CHECK(reply->from == "localhost");
  const XmlNode* query = reply->tree.child("query", kLastNs);
  REQUIRE(query != nullptr);
  CHECK(isNumber(query->attr("seconds")));
  CHECK(query->text.empty());
}

TEST_CASE("last activity of a user: logout time and status", "[last]") {
  auto server = startServer();
  auto juliet = login(*server, "juliet", "garden");
  juliet->sendPresence(0);
  juliet->send("<presence type='unavailable'><status>Heading Home</status></presence>");
  REQUIRE(juliet->syncWithServer());
  juliet.reset();

  // Her own account, asked from a new session that has sent no presence.
  auto again = login(*server, "juliet", "chamber");
  auto reply = askLastUntilResult(*again, "juliet@localhost");
  REQUIRE(reply != nullptr);
  INFO(reply->xml);
  REQUIRE(reply->type == "result");
  const XmlNode* query = reply->tree.child("query", kLastNs);
  REQUIRE(query != nullptr);
  CHECK(isNumber(query->attr("seconds")));
  CHECK(std::stoll(query->attr("seconds")) < 60);
  CHECK(query->text == "Heading Home");

  SECTION("online: zero seconds") {
    again->sendPresence(0);
    REQUIRE(again->syncWithServer());
    auto online = askLast(*again, "juliet@localhost");
    REQUIRE(online != nullptr);
    REQUIRE(online->type == "result");
    CHECK(online->tree.child("query", kLastNs)->attr("seconds") == "0");
  }
  SECTION("someone not subscribed to her presence is forbidden") {
    auto romeo = login(*server, "romeo", "balcony");
    auto forbidden = askLast(*romeo, "juliet@localhost");
    REQUIRE(forbidden != nullptr);
    INFO(forbidden->xml);
    CHECK(forbidden->type == "error");
    CHECK(errorCondition(*forbidden) == "forbidden");
  }
  SECTION("an account that does not exist") {
    auto nobody = askLast(*again, "nobody@localhost");
    REQUIRE(nobody != nullptr);
    CHECK(nobody->type == "error");
    CHECK(errorCondition(*nobody) == "service-unavailable");
  }
}

TEST_CASE("last activity is shown to a subscriber", "[last]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto juliet = login(*server, "juliet", "garden");
  romeo->sendPresence(0);
  juliet->sendPresence(0);
  // Romeo subscribes to juliet's presence and she approves: her roster says 'from'.
  romeo->send("<presence to='juliet@localhost' type='subscribe'/>");
  REQUIRE(juliet->waitFor([](const ReceivedStanza& s) {
    return s.name == "presence" && s.type == "subscribe";
  }) != nullptr);
  juliet->send("<presence to='romeo@localhost' type='subscribed'/>");
  REQUIRE(romeo->waitFor([](const ReceivedStanza& s) {
    return s.name == "presence" && s.type == "subscribed";
  }) != nullptr);

  auto online = askLast(*romeo, "juliet@localhost");
  REQUIRE(online != nullptr);
  INFO(online->xml);
  REQUIRE(online->type == "result");
  CHECK(online->tree.child("query", kLastNs)->attr("seconds") == "0");

  juliet->send("<presence type='unavailable'><status>Gone</status></presence>");
  REQUIRE(juliet->syncWithServer());
  juliet.reset();
  auto offline = askLastUntilResult(*romeo, "juliet@localhost");
  REQUIRE(offline != nullptr);
  INFO(offline->xml);
  REQUIRE(offline->type == "result");
  // After an unavailable presence she is not online; the record follows her logout.
  StropheClient::pumpUntil(
      [&] {
        offline = askLast(*romeo, "juliet@localhost");
        return offline && offline->tree.child("query", kLastNs) &&
               offline->tree.child("query", kLastNs)->text == "Gone";
      },
      std::chrono::seconds(3));
  REQUIRE(offline != nullptr);
  CHECK(offline->tree.child("query", kLastNs)->text == "Gone");
}

}  // namespace
}  // namespace parley::integration
