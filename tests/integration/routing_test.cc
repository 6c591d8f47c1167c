// Routing (RFC 6120 §8, RFC 6121 §8.5): bare and full JIDs, priorities, gone resources,
// resource conflicts and the server-stamped 'from'.
#include <catch2/catch.hpp>

#include "harness/scenario.h"

namespace parley::integration {
namespace {

constexpr const char* kStanzasNs = "urn:ietf:params:xml:ns:xmpp-stanzas";

// Every stanza a client sent before has reached the server's router once this returns.
void settle(StropheClient& client) { REQUIRE(client.syncWithServer()); }

// True if CLIENT has received (consumed or not) a message with BODY.
bool hasReceived(const StropheClient& client, const std::string& body) {
  for (const auto& stanza : client.received()) {
    if (stanza.name == "message" && stanza.body == body) return true;
  }
  return false;
}

TEST_CASE("a message to the bare JID goes to the highest-priority resources only", "[routing]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto juliet_low = login(*server, "juliet", "low");
  auto juliet_high = login(*server, "juliet", "high");
  auto juliet_hidden = login(*server, "juliet", "hidden");
  juliet_low->sendPresence(1);
  juliet_high->sendPresence(5);
  juliet_hidden->sendPresence(-1);  // RFC 6121 §4.7.2.3: negative = never gets bare messages
  settle(*juliet_low);
  settle(*juliet_high);
  settle(*juliet_hidden);

  romeo->sendMessage("juliet@localhost", "to the one who listens most");
  auto got = juliet_high->waitFor(messageWithBody("to the one who listens most"));
  REQUIRE(got != nullptr);
  CHECK(got->from == "romeo@localhost/balcony");

  // Romeo's later full-JID messages travel behind the first one; once they arrive, the first
  // would have arrived too if it had been routed there.
  romeo->sendMessage("juliet@localhost/low", "marker");
  romeo->sendMessage("juliet@localhost/hidden", "marker");
  REQUIRE(juliet_low->waitFor(messageWithBody("marker")) != nullptr);
  REQUIRE(juliet_hidden->waitFor(messageWithBody("marker")) != nullptr);
  CHECK_FALSE(hasReceived(*juliet_low, "to the one who listens most"));
  CHECK_FALSE(hasReceived(*juliet_hidden, "to the one who listens most"));

  SECTION("resources of equal highest priority all get it") {
    juliet_low->sendPresence(5);
    settle(*juliet_low);
    romeo->sendMessage("juliet@localhost", "to both of you");
    CHECK(juliet_high->waitFor(messageWithBody("to both of you")) != nullptr);
    CHECK(juliet_low->waitFor(messageWithBody("to both of you")) != nullptr);
    romeo->sendMessage("juliet@localhost/hidden", "marker 2");
    REQUIRE(juliet_hidden->waitFor(messageWithBody("marker 2")) != nullptr);
    CHECK_FALSE(hasReceived(*juliet_hidden, "to both of you"));
  }
}

TEST_CASE("a message to a full JID goes to that resource only", "[routing]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto juliet_a = login(*server, "juliet", "a");
  auto juliet_b = login(*server, "juliet", "b");
  juliet_a->sendPresence(0);
  juliet_b->sendPresence(10);  // priority does not matter for a full JID
  settle(*juliet_a);
  settle(*juliet_b);

  romeo->sendMessage("juliet@localhost/a", "just for a");
  auto got = juliet_a->waitFor(messageWithBody("just for a"));
  REQUIRE(got != nullptr);
  CHECK(got->from == "romeo@localhost/balcony");
  CHECK(got->to == "juliet@localhost/a");

  romeo->sendMessage("juliet@localhost/b", "marker");
  REQUIRE(juliet_b->waitFor(messageWithBody("marker")) != nullptr);
  CHECK_FALSE(hasReceived(*juliet_b, "just for a"));

  SECTION("a chat message to a resource that is gone falls back to the bare-JID rules") {
    // RFC 6121 §8.5.3.2.1: message of type chat/normal to an unavailable full JID.
    romeo->sendMessage("juliet@localhost/gone", "where did you go", "chat");
    CHECK(juliet_b->waitFor(messageWithBody("where did you go")) != nullptr);
  }
}

TEST_CASE("an iq to a resource that is gone gets service-unavailable", "[routing][iq]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  {
    auto juliet = login(*server, "juliet", "gone");
    juliet->sendPresence(1);
    settle(*juliet);
    juliet->disconnect();
    REQUIRE(juliet->isDisconnected());
  }
  // RFC 6121 §8.5.3.2.2 (and §8.5.2.2.1 for no resource at all): iq -> service-unavailable.
  auto reply = romeo->request(
      "<iq type='get' id='v1' to='juliet@localhost/gone'><query xmlns='jabber:iq:version'/></iq>",
      "v1");
  INFO("romeo received:\n" << romeo->transcript());
  REQUIRE(reply != nullptr);
  CHECK(reply->type == "error");
  CHECK(reply->from == "juliet@localhost/gone");
  const XmlNode* error = reply->tree.child("error");
  REQUIRE(error != nullptr);
  CHECK(error->attr("type") == "cancel");
  CHECK(error->child("service-unavailable", kStanzasNs) != nullptr);
}

TEST_CASE("a second login with the same resource replaces the first with <conflict/>",
          "[routing][session]") {
  auto server = startServer();
  auto first = login(*server, "romeo", "phone");
  auto second = login(*server, "romeo", "phone");  // RFC 6120 §7.7.2.2, "override" policy
  REQUIRE(first->waitDisconnected());
  CHECK(first->streamError() == "conflict");
  CHECK(second->isConnected());

  auto juliet = login(*server, "juliet", "garden");
  juliet->sendMessage("romeo@localhost/phone", "is that you?");
  CHECK(second->waitFor(messageWithBody("is that you?")) != nullptr);
  CHECK_FALSE(hasReceived(*first, "is that you?"));
}

TEST_CASE("the server replaces a forged 'from' with the sender's full JID", "[routing][from]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto juliet = login(*server, "juliet", "garden");
  const std::vector<std::string> forged = {"admin@localhost/console", "juliet@localhost/garden",
                                           "localhost", "romeo@localhost/other",
                                           "nurse@elsewhere.example"};
  int n = 0;
  for (const auto& from : forged) {
    std::string body = "forged #" + std::to_string(++n);
    INFO("romeo claims to be " << from);
    romeo->send("<message type='chat' to='juliet@localhost/garden' from='" + from + "'><body>" +
                body + "</body></message>");
    auto got = juliet->waitFor(messageWithBody(body));
    REQUIRE(got != nullptr);
    CHECK(got->from == "romeo@localhost/balcony");
  }
  // And a message with no 'from' at all is stamped too.
  romeo->send("<message type='chat' to='juliet@localhost/garden'><body>plain</body></message>");
  auto got = juliet->waitFor(messageWithBody("plain"));
  REQUIRE(got != nullptr);
  CHECK(got->from == "romeo@localhost/balcony");
}

}  // namespace
}  // namespace parley::integration
