// Anonymous hosts (issue 3): SASL ANONYMOUS (RFC 4505) gives each login a fresh JID whose
// data lives in memory and is gone with the session.
#include <catch2/catch.hpp>

#include "harness/scenario.h"

namespace parley::integration {
namespace {

ServerOptions anonymousHost() {
  ServerOptions options;
  options.users = {};
  options.host_extra = "anonymous = true";
  return options;
}

std::unique_ptr<StropheClient> loginAnonymously(const ParleyServer& server) {
  auto client = std::make_unique<StropheClient>();
  // libstrophe uses SASL ANONYMOUS for a JID without a localpart.
  REQUIRE(client->connect(ParleyServer::kDomain, "", clientOptions(server)));
  REQUIRE(!client->boundJid().empty());
  return client;
}

std::string bareOf(const std::string& full) { return full.substr(0, full.find('/')); }

TEST_CASE("an anonymous host offers only ANONYMOUS", "[anonymous]") {
  auto server = startServer(anonymousHost());
  RawClient raw;
  REQUIRE(raw.connect(server->c2sPort()));
  REQUIRE(raw.openStream());
  auto features = raw.startTls();
  REQUIRE(features);
  CHECK(features->find("<mechanism>ANONYMOUS</mechanism>") != std::string::npos);
  CHECK(features->find("SCRAM") == std::string::npos);
  CHECK(features->find("PLAIN") == std::string::npos);
}

TEST_CASE("anonymous users get fresh JIDs, chat, and vanish with their session", "[anonymous]") {
  auto server = startServer(anonymousHost());
  auto first = loginAnonymously(*server);
  auto second = loginAnonymously(*server);
  auto first_jid = first->boundJid();
  auto second_jid = second->boundJid();
  INFO("anonymous JIDs: " << first_jid << " and " << second_jid);
  CHECK(bareOf(first_jid) != bareOf(second_jid));
  CHECK(bareOf(first_jid).size() > std::string("@localhost").size());

  first->sendPresence(0);
  second->sendPresence(0);
  first->send("<message to='" + bareOf(second_jid) + "' type='chat'><body>hi 👋</body></message>");
  REQUIRE(second->waitFor(messageWithBody("hi 👋")) != nullptr);

  // Private XML storage works for anonymous users (kept in memory).
  auto stored = first->request(
      "<iq type='set' id='p1'><query xmlns='jabber:iq:private'>"
      "<prefs xmlns='urn:example:prefs'>dark</prefs></query></iq>",
      "p1");
  REQUIRE(stored != nullptr);
  CHECK(stored->type == "result");
  auto fetched = first->request(
      "<iq type='get' id='p2'><query xmlns='jabber:iq:private'>"
      "<prefs xmlns='urn:example:prefs'/></query></iq>",
      "p2");
  REQUIRE(fetched != nullptr);
  CHECK(fetched->xml.find("dark") != std::string::npos);

  // Once the first session ends, its user no longer exists.
  first->disconnect();
  first.reset();
  auto gone = [&](const ReceivedStanza& s) {
    return s.name == "message" && s.type == "error" &&
           s.xml.find("service-unavailable") != std::string::npos;
  };
  bool bounced = false;
  for (int attempt = 0; attempt < 20 && !bounced; ++attempt) {
    second->send("<message to='" + bareOf(first_jid) + "' type='chat'><body>still there?</body>" +
                 "</message>");
    bounced = second->waitFor(gone, std::chrono::milliseconds(250)) != nullptr;
  }
  CHECK(bounced);
}

}  // namespace
}  // namespace parley::integration
