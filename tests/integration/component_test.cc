// External components (XEP-0114): the handshake with the shared secret, stanzas both ways,
// and the errors for a wrong secret, an unknown domain, a forged 'from' and a second
// connection.
#include <openssl/evp.h>

#include <catch2/catch.hpp>
#include <regex>

#include "harness/scenario.h"

namespace parley::integration {
namespace {

constexpr const char* kComponentDomain = "echo.localhost";
constexpr const char* kSecret = "s3cret-for-echo";

std::string sha1Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha1(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0x0f]);
  }
  return out;
}

ServerOptions withComponent(uint16_t port) {
  ServerOptions options;
  options.extra_toml = "[components]\nlisten = [\"127.0.0.1:" + std::to_string(port) +
                       "\"]\nsecrets = { \"" + kComponentDomain + "\" = \"" + kSecret + "\" }\n";
  return options;
}

// Opens a component stream for DOMAIN and returns the stream id the server gave.
std::string openComponentStream(RawClient& component, uint16_t port,
                                const std::string& domain = kComponentDomain) {
  REQUIRE(component.connect(port));
  REQUIRE(
      component.send("<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' "
                     "xmlns:stream='http://etherx.jabber.org/streams' to='" +
                     domain + "'>"));
  std::vector<std::string> groups;
  auto header = component.readUntilRegex("<stream:stream[^>]* id=['\"]([^'\"]+)['\"][^>]*>",
                                         RawClient::kTimeout, &groups);
  if (!header) return {};
  return groups.at(1);
}

bool handshake(RawClient& component, const std::string& stream_id, const std::string& secret) {
  return component.send("<handshake>" + sha1Hex(stream_id + secret) + "</handshake>");
}

TEST_CASE("a component with the right secret exchanges stanzas with users", "[component]") {
  uint16_t port = pickFreePort();
  auto server = startServer(withComponent(port));
  auto romeo = login(*server, "romeo", "balcony");

  // Not connected yet: the component's domain is known but unavailable.
  romeo->sendMessage("bot@echo.localhost", "anyone?", "chat", "early");
  const auto* early =
      romeo->waitFor([](const ReceivedStanza& s) { return s.id == "early" && s.type == "error"; });
  REQUIRE(early != nullptr);
  CHECK(errorCondition(*early) == "service-unavailable");

  RawClient component;
  auto id = openComponentStream(component, port);
  REQUIRE(!id.empty());
  REQUIRE(handshake(component, id, kSecret));
  REQUIRE(component.readUntil("<handshake/>"));

  // (libstrophe writes when pumped: syncWithServer() sends and waits until it was handled.)
  romeo->sendMessage("bot@echo.localhost", "hello bot \xF0\x9F\xA4\x96", "chat", "m1");
  REQUIRE(romeo->syncWithServer());
  auto got = component.readUntil("</message>");
  REQUIRE(got);
  CHECK(got->find("to='bot@echo.localhost'") != std::string::npos);
  CHECK(got->find("from='romeo@localhost/balcony'") != std::string::npos);
  CHECK(got->find("hello bot \xF0\x9F\xA4\x96") != std::string::npos);
  CHECK(got->find("jabber:client") == std::string::npos);  // in the component's namespace

  REQUIRE(
      component.send("<message from='bot@echo.localhost' to='romeo@localhost/balcony' "
                     "type='chat'><body>beep</body></message>"));
  REQUIRE(romeo->waitFor(messageWithBody("beep")) != nullptr);
  // An iq from the component to the server is answered back to it.
  REQUIRE(
      component.send("<iq type='get' id='c-ping' from='echo.localhost' to='localhost'>"
                     "<ping xmlns='urn:xmpp:ping'/></iq>"));
  auto pong = component.readUntilRegex("<iq[^>]*'c-ping'[^>]*>");
  REQUIRE(pong);
  CHECK(pong->find("type='result'") != std::string::npos);

  // A second stream for the same domain is refused; the first one carries on.
  RawClient second;
  auto second_id = openComponentStream(second, port);
  REQUIRE(!second_id.empty());
  REQUIRE(handshake(second, second_id, kSecret));
  REQUIRE(second.readUntil("<conflict"));
  CHECK(second.waitClosed());
  romeo->sendMessage("bot@echo.localhost", "still there?");
  REQUIRE(romeo->syncWithServer());
  REQUIRE(component.readUntil("still there?"));

  // A component may only send from its own domain.
  REQUIRE(
      component.send("<message from='mallory@localhost' to='romeo@localhost/balcony'>"
                     "<body>forged</body></message>"));
  REQUIRE(component.readUntil("<invalid-from"));
  CHECK(component.waitClosed());
  REQUIRE(romeo->syncWithServer());
  CHECK(romeo->pending(messageWithBody("forged")).empty());
}

TEST_CASE("a component with a wrong secret or an unknown domain is refused", "[component]") {
  uint16_t port = pickFreePort();
  auto server = startServer(withComponent(port));
  RawClient wrong;
  auto id = openComponentStream(wrong, port);
  REQUIRE(!id.empty());
  REQUIRE(handshake(wrong, id, "not-the-secret"));
  REQUIRE(wrong.readUntil("<not-authorized"));
  CHECK(wrong.waitClosed());

  RawClient unknown;
  REQUIRE(unknown.connect(port));
  REQUIRE(
      unknown.send("<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' "
                   "xmlns:stream='http://etherx.jabber.org/streams' to='nobody.localhost'>"));
  REQUIRE(unknown.readUntil("<host-unknown"));
  CHECK(unknown.waitClosed());

  // Stanzas before the handshake are not accepted either.
  RawClient eager;
  REQUIRE(!openComponentStream(eager, port).empty());
  REQUIRE(eager.send("<message from='bot@echo.localhost' to='romeo@localhost'/>"));
  REQUIRE(eager.readUntil("<not-authorized"));

  // Users are unaffected.
  auto romeo = login(*server, "romeo", "balcony");
  REQUIRE(romeo->syncWithServer());
}

}  // namespace
}  // namespace parley::integration
