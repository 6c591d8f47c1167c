// Bulk messaging: a thousand UTF-8 messages each way arrive once, in order, byte-exact.
#include <catch2/catch.hpp>

#include "harness/scenario.h"

namespace parley::integration {
namespace {

// "héllo 😀 #N 🚀" spelled as UTF-8 bytes, so the source encoding cannot change it.
std::string emojiBody(const std::string& sender, int n) {
  return sender + ": h\xC3\xA9llo \xF0\x9F\x98\x80 #" + std::to_string(n) + " \xF0\x9F\x9A\x80";
}

// The bodies of all messages CLIENT received from FROM, in arrival order.
std::vector<std::string> bodiesFrom(const StropheClient& client, const std::string& from) {
  std::vector<std::string> out;
  for (const auto& stanza : client.received()) {
    if (stanza.name == "message" && stanza.from == from && stanza.has_body) {
      out.push_back(stanza.body);
    }
  }
  return out;
}

TEST_CASE("romeo and juliet exchange 1000 emoji messages each way", "[messages][utf8]") {
  constexpr int kCount = 1000;
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto juliet = login(*server, "juliet", "garden");

  // Both directions at once: all 2000 are queued before the first one is read.
  for (int i = 0; i < kCount; ++i) {
    romeo->sendMessage("juliet@localhost/garden", emojiBody("romeo", i), "chat",
                       "r" + std::to_string(i));
    juliet->sendMessage("romeo@localhost/balcony", emojiBody("juliet", i), "chat",
                        "j" + std::to_string(i));
  }
  // The sentinels go last; in-order delivery means everything else is in once they are.
  romeo->sendMessage("juliet@localhost/garden", "sentinel");
  juliet->sendMessage("romeo@localhost/balcony", "sentinel");
  REQUIRE(juliet->waitFor(messageWithBody("sentinel"), std::chrono::seconds(30)) != nullptr);
  REQUIRE(romeo->waitFor(messageWithBody("sentinel"), std::chrono::seconds(30)) != nullptr);

  for (auto [receiver, sender, sender_jid] :
       {std::tuple{juliet.get(), "romeo", "romeo@localhost/balcony"},
        std::tuple{romeo.get(), "juliet", "juliet@localhost/garden"}}) {
    INFO("messages from " << sender);
    auto bodies = bodiesFrom(*receiver, sender_jid);
    REQUIRE(bodies.size() == kCount + 1);
    CHECK(bodies.back() == "sentinel");
    int mismatches = 0;
    for (int i = 0; i < kCount; ++i) {
      if (bodies[static_cast<size_t>(i)] != emojiBody(sender, i) && ++mismatches <= 5) {
        CHECK(bodies[static_cast<size_t>(i)] == emojiBody(sender, i));
      }
    }
    CHECK(mismatches == 0);
  }
  juliet.reset();  // close both streams cleanly, then stop the server
  romeo.reset();
  CHECK(server->stop() == 0);
}

TEST_CASE("sessions quiet long enough to shed their parser carry on as before", "[messages]") {
  ServerOptions options;
  options.c2s_extra = "release_idle_after = 1\n";
  auto server = startServer(options);
  auto romeo = login(*server, "romeo", "balcony");
  auto juliet = login(*server, "juliet", "garden");
  romeo->sendPresence(0);
  juliet->sendPresence(0);
  REQUIRE(romeo->syncWithServer());
  REQUIRE(juliet->syncWithServer());
  // Quiet sessions free their XML parser after release_idle_after, checked every 5 s.
  StropheClient::pumpUntil(
      [&] {
        return server->logTail(200).find("romeo@localhost/balcony: idle, parser released") !=
               std::string::npos;
      },
      std::chrono::seconds(12));
  CHECK(server->logTail(200).find("romeo@localhost/balcony: idle, parser released") !=
        std::string::npos);
  romeo->sendMessage("juliet@localhost/garden", emojiBody("romeo", 1));
  REQUIRE(juliet->waitFor(messageWithBody(emojiBody("romeo", 1))) != nullptr);
  juliet->sendMessage("romeo@localhost/balcony", emojiBody("juliet", 1));
  REQUIRE(romeo->waitFor(messageWithBody(emojiBody("juliet", 1))) != nullptr);
  auto pong = romeo->request(
      "<iq type='get' id='after-rest' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>",
      "after-rest");
  REQUIRE(pong != nullptr);
  CHECK(pong->type == "result");
}

}  // namespace
}  // namespace parley::integration
