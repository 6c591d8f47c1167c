// Bad input on a client stream (RFC 6120 §4.9): the precise stream error, the close, and
// everyone else carrying on.
#include <catch2/catch.hpp>
#include <regex>

#include "harness/scenario.h"
#include "harness/xml_text.h"

namespace parley::integration {
namespace {

bool matches(const std::string& text, const std::string& pattern) {
  return std::regex_search(text, std::regex(pattern));
}

// Reads the stream error with one of CONDITIONS, then expects </stream:stream> and the TCP
// close. Returns the condition seen.
std::string expectStreamError(RawClient& client, const std::vector<std::string>& conditions) {
  std::string alternatives;
  for (const auto& condition : conditions) {
    alternatives += (alternatives.empty() ? "" : "|") + streamErrorPattern(condition);
  }
  auto error = client.readUntilRegex(alternatives);
  INFO("expected one of: " << alternatives);
  INFO("received: " << client.received());
  REQUIRE(error);
  CHECK(matches(*error, "<stream:error>"));
  CHECK(client.readUntil("</stream:stream>"));
  CHECK(client.waitClosed());
  for (const auto& condition : conditions) {
    if (matches(*error, streamErrorPattern(condition))) return condition;
  }
  return "";
}

void expectStreamError(RawClient& client, const std::string& condition) {
  expectStreamError(client, std::vector<std::string>{condition});
}

// Romeo logs in with the raw client (so he can then misbehave byte by byte).
void rawLogin(RawClient& client, const ParleyServer& server, const std::string& resource) {
  LoginResult result = client.loginRaw(server.c2sPort(), false, "romeo", kRomeoPassword,
                                       "SCRAM-SHA-256", "", resource);
  INFO("login failure: " << result.failure);
  REQUIRE(result.success);
}

TEST_CASE("malformed XML ends that stream with not-well-formed and others carry on",
          "[stream-errors][xml]") {
  // Each input is broken XML once it follows an open stream. An undefined entity is also
  // a restricted XML feature (RFC 6120 §11.1), so either condition is right for it.
  using Case = std::pair<std::string, std::vector<std::string>>;
  const std::vector<std::string> kNotWellFormed = {"not-well-formed"};
  auto [input, conditions] = GENERATE_REF(values<Case>({
      {"<message to='juliet@localhost'><body>oops</message>", kNotWellFormed},    // end tag
      {"<message to=juliet@localhost><body>x</body></message>", kNotWellFormed},  // quotes
      {"<message a='1' a='2'/>", kNotWellFormed},                                 // duplicate
      {"<message><body>\xFF\xFE</body></message>", kNotWellFormed},               // bad UTF-8
      {"<message to='juliet@localhost'><body>&bogus;</body></message>",
       {"not-well-formed", "restricted-xml"}},
  }));
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto juliet = login(*server, "juliet", "garden");

  RawClient mercutio_like;  // romeo's second, misbehaving connection
  rawLogin(mercutio_like, *server, "raw");
  INFO("sending: " << input);
  REQUIRE(mercutio_like.send(input));
  expectStreamError(mercutio_like, conditions);

  romeo->sendMessage("juliet@localhost/garden", "still there?");
  auto got = juliet->waitFor(messageWithBody("still there?"));
  REQUIRE(got != nullptr);
  juliet->sendMessage("romeo@localhost/balcony", "still here");
  CHECK(romeo->waitFor(messageWithBody("still here")) != nullptr);
}

TEST_CASE("restricted XML features end the stream with restricted-xml", "[stream-errors][xml]") {
  // RFC 6120 §11.1: no comments, processing instructions, DTDs or entity declarations.
  auto input = GENERATE(as<std::string>{},
                        "<message to='juliet@localhost'><!-- hello --><body>x</body></message>",
                        "<message to='juliet@localhost'><?pi data?><body>x</body></message>");
  auto server = startServer();
  auto juliet = login(*server, "juliet", "garden");
  RawClient romeo;
  rawLogin(romeo, *server, "raw");
  INFO("sending: " << input);
  REQUIRE(romeo.send(input));
  expectStreamError(romeo, "restricted-xml");
  CHECK(juliet->syncWithServer());  // the server carries on
}

TEST_CASE("malformed XML before authentication gets not-well-formed too", "[stream-errors][xml]") {
  auto server = startServer();
  RawClient client;
  REQUIRE(client.connect(server->c2sPort()));
  REQUIRE(client.openStream());
  REQUIRE(client.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'></wrong>"));
  expectStreamError(client, "not-well-formed");
}

TEST_CASE("a stanza over max_stanza_bytes is a policy-violation", "[stream-errors][limits]") {
  ServerOptions options;
  options.max_stanza_bytes = 4096;
  auto server = startServer(options);
  auto juliet = login(*server, "juliet", "garden");

  RawClient romeo;
  rawLogin(romeo, *server, "raw");
  // Just under the limit still goes through.
  std::string fits(2000, 'a');
  REQUIRE(romeo.send("<message type='chat' to='juliet@localhost/garden'><body>" + fits +
                     "</body></message>"));
  auto got = juliet->waitFor(messageWithBody(fits));
  REQUIRE(got != nullptr);
  CHECK(got->from == "romeo@localhost/raw");

  std::string too_big(10000, 'b');
  REQUIRE(romeo.send("<message type='chat' to='juliet@localhost/garden'><body>" + too_big +
                     "</body></message>"));
  expectStreamError(romeo, "policy-violation");
  CHECK(juliet->pending(messageWithBody(too_big)).empty());
}

TEST_CASE("stream header errors: unknown host and bad namespaces", "[stream-errors][header]") {
  auto server = startServer();
  SECTION("unknown 'to' host -> host-unknown") {
    RawClient client;
    REQUIRE(client.connect(server->c2sPort()));
    REQUIRE(
        client.send("<?xml version='1.0'?><stream:stream to='nosuch.example' version='1.0' "
                    "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"));
    expectStreamError(client, "host-unknown");
  }
  SECTION("wrong stream namespace -> invalid-namespace") {
    RawClient client;
    REQUIRE(client.connect(server->c2sPort()));
    REQUIRE(
        client.send("<?xml version='1.0'?><stream:stream to='localhost' version='1.0' "
                    "xmlns='jabber:client' xmlns:stream='http://wrong.example/streams'>"));
    expectStreamError(client, "invalid-namespace");
  }
  SECTION("server content namespace on a client port -> invalid-namespace") {
    RawClient client;
    REQUIRE(client.connect(server->c2sPort()));
    REQUIRE(
        client.send("<?xml version='1.0'?><stream:stream to='localhost' version='1.0' "
                    "xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'>"));
    expectStreamError(client, "invalid-namespace");
  }
  SECTION("unknown host over direct TLS -> host-unknown") {
    RawClient client;
    REQUIRE(client.connect(server->directTlsPort(), /*direct_tls=*/true));
    REQUIRE(
        client.send("<?xml version='1.0'?><stream:stream to='nosuch.example' version='1.0' "
                    "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"));
    expectStreamError(client, "host-unknown");
  }
}

TEST_CASE("an unauthenticated stream is closed after auth_timeout", "[stream-errors][limits]") {
  ServerOptions options;
  options.auth_timeout_seconds = 1;
  auto server = startServer(options);
  auto romeo = login(*server, "romeo", "balcony");  // authenticated: the limit is not his

  RawClient idle;
  REQUIRE(idle.connect(server->c2sPort()));
  REQUIRE(idle.openStream());
  auto error =
      idle.readUntilRegex(streamErrorPattern("connection-timeout"), std::chrono::seconds(3));
  INFO("received: " << idle.received());
  REQUIRE(error);
  CHECK(idle.readUntil("</stream:stream>"));
  CHECK(idle.waitClosed(std::chrono::seconds(1)));

  // A TCP connection that never even opens a stream is dropped as well.
  RawClient silent;
  REQUIRE(silent.connect(server->c2sPort()));
  CHECK(silent.waitClosed(std::chrono::seconds(3)));

  // Romeo, logged in for longer than auth_timeout by now, is still served.
  CHECK(romeo->isConnected());
  CHECK(romeo->syncWithServer());
}

}  // namespace
}  // namespace parley::integration
