// Logging in: every SASL mechanism over STARTTLS and direct TLS, channel binding, failures.
#include <algorithm>
#include <catch2/catch.hpp>
#include <regex>

#include "harness/scenario.h"
#include "harness/xml_text.h"

namespace parley::integration {
namespace {

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

bool matches(const std::string& text, const std::string& pattern) {
  return std::regex_search(text, std::regex(pattern));
}

TEST_CASE("romeo logs in with SCRAM-SHA-1 or SCRAM-SHA-256 or PLAIN via libstrophe",
          "[login][sasl]") {
  for (const char* mechanism : {"SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN"}) {
    ServerOptions options;
    options.sasl_mechanisms = {mechanism};
    auto server = startServer(options);
    for (Transport transport : {Transport::StartTls, Transport::DirectTls}) {
      INFO("server offers only " << mechanism << ", transport " << transportName(transport));
      // The server offers exactly what it was configured with.
      RawClient probe;
      LoginResult raw =
          probe.loginRaw(portFor(*server, transport), transport == Transport::DirectTls, "romeo",
                         kRomeoPassword, mechanism, "", "probe");
      CHECK(saslMechanisms(raw.features) == std::vector<std::string>{mechanism});
      CHECK(raw.success);

      auto romeo = login(*server, "romeo", "balcony", transport);
      auto juliet = login(*server, "juliet", "garden", transport);
      romeo->sendMessage("juliet@localhost/garden", std::string("hello via ") + mechanism);
      auto got = juliet->waitFor(messageWithBody(std::string("hello via ") + mechanism));
      REQUIRE(got != nullptr);
      CHECK(got->from == "romeo@localhost/balcony");
    }
    CHECK(server->stop() == 0);
  }
}

TEST_CASE("SCRAM -PLUS logins with tls-exporter and tls-server-end-point channel binding",
          "[login][sasl][channel-binding]") {
  auto server = startServer();  // all mechanisms
  int attempt = 0;
  for (Transport transport : {Transport::StartTls, Transport::DirectTls}) {
    for (const char* mechanism : {"SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS"}) {
      for (const char* cb_type : {"tls-exporter", "tls-server-end-point"}) {
        INFO(mechanism << " with " << cb_type << " over " << transportName(transport));
        std::string resource = "plus-" + std::to_string(++attempt);
        RawClient client;
        LoginResult result =
            client.loginRaw(portFor(*server, transport), transport == Transport::DirectTls, "romeo",
                            kRomeoPassword, mechanism, cb_type, resource);
        INFO("features: " << result.features);
        CHECK(result.failure == "");
        CHECK(result.success);
        CHECK(result.jid == "romeo@localhost/" + resource);
        // XEP-0440: the binding types are advertised next to the mechanisms.
        CHECK(
            matches(result.features, elementPattern("sasl-channel-binding", "urn:xmpp:sasl-cb:0")));
        CHECK(matches(result.features,
                      "<channel-binding\\s+" + attributePattern("type", "tls-exporter")));
        CHECK(matches(result.features,
                      "<channel-binding\\s+" + attributePattern("type", "tls-server-end-point")));
      }
    }
  }
}

TEST_CASE("the server advertises every mechanism after TLS when none are configured",
          "[login][sasl]") {
  auto server = startServer();
  RawClient client;
  REQUIRE(client.connect(server->c2sPort()));
  REQUIRE(client.openStream());
  auto features = client.startTls();
  REQUIRE(features);
  auto mechanisms = saslMechanisms(*features);
  for (const char* expected :
       {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}) {
    INFO("features: " << *features);
    CHECK(contains(mechanisms, expected));
  }
}

TEST_CASE("channel binding that does not match the TLS session is refused", "[login][sasl]") {
  auto server = startServer();
  for (const char* cb_type : {"tls-exporter", "tls-server-end-point"}) {
    INFO("SCRAM-SHA-256-PLUS with corrupted " << cb_type << " data");
    RawClient client;
    REQUIRE(client.connect(server->c2sPort()));
    REQUIRE(client.openStream());
    REQUIRE(client.startTls());
    AuthResult result = client.authenticate("romeo", kRomeoPassword, "SCRAM-SHA-256-PLUS", cb_type,
                                            {.corrupt_channel_binding = true});
    CHECK_FALSE(result.success);
    CHECK(result.condition.rfind("harness:", 0) != 0);  // a real <failure/>, not a timeout
  }
  // RFC 5802 §6: the server advertised -PLUS, so a client saying "y" (I support binding
  // but think you do not) reveals a downgrade and must be refused.
  INFO("SCRAM-SHA-256 with GS2 flag 'y'");
  RawClient client;
  REQUIRE(client.connect(server->c2sPort()));
  REQUIRE(client.openStream());
  REQUIRE(client.startTls());
  AuthResult result =
      client.authenticate("romeo", kRomeoPassword, "SCRAM-SHA-256", "", {.claim_cb_support = true});
  CHECK_FALSE(result.success);
  CHECK(result.condition.rfind("harness:", 0) != 0);
}

TEST_CASE("a wrong password is not-authorized and a retry on the same stream succeeds",
          "[login][sasl]") {
  // One server per mechanism, so a per-IP failed-login limit is never what we measure.
  std::string mechanism =
      GENERATE(as<std::string>{}, "SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS", "PLAIN");
  auto server = startServer();
  {
    INFO("mechanism " << mechanism);
    RawClient romeo;
    REQUIRE(romeo.connect(server->c2sPort()));
    REQUIRE(romeo.openStream());
    REQUIRE(romeo.startTls());

    AuthResult wrong = romeo.authenticate("romeo", "not-the-password", mechanism);
    CHECK_FALSE(wrong.success);
    CHECK(wrong.condition == "not-authorized");

    // An unknown account fails the same way: no account enumeration.
    AuthResult nobody = romeo.authenticate("mercutio", "whatever", mechanism);
    CHECK_FALSE(nobody.success);
    CHECK(nobody.condition == "not-authorized");

    AuthResult right = romeo.authenticate("romeo", kRomeoPassword, mechanism);
    CHECK(right.condition == "");
    REQUIRE(right.success);
    auto jid = romeo.restartAndBind("retry");
    REQUIRE(jid);
    CHECK(*jid == "romeo@localhost/retry");
  }
}

TEST_CASE("failed logins per IP count wrong passwords, not mechanism probing", "[login][sasl]") {
  ServerOptions options;
  options.c2s_extra = "failed_logins_per_ip = 2\n";
  auto server = startServer(options);
  auto attempt = [&](const std::string& password, ScramTweaks tweaks) {
    RawClient client;
    REQUIRE(client.connect(server->c2sPort()));
    REQUIRE(client.openStream());
    REQUIRE(client.startTls());
    return client.authenticate("romeo", password, "SCRAM-SHA-256", "", tweaks);
  };
  // COMPAT: slixmpp 1.8 tries SCRAM-*-PLUS with tls-unique, then SCRAM with the 'y' flag,
  // then PLAIN, on every login. Those refusals are not password guesses.
  for (int i = 0; i < 4; ++i) {
    AuthResult probe = attempt(kRomeoPassword, {.claim_cb_support = true});
    CHECK(probe.condition == "not-authorized");
  }
  CHECK(attempt(kRomeoPassword, {}).success);
  // Two wrong passwords in a minute, and the address must wait.
  CHECK(attempt("wrong", {}).condition == "not-authorized");
  CHECK(attempt("wrong", {}).condition == "not-authorized");
  CHECK(attempt(kRomeoPassword, {}).condition == "temporary-auth-failure");
}

TEST_CASE("PLAIN is refused before TLS when encryption is required", "[login][sasl][tls]") {
  ServerOptions options;
  options.require_encryption = true;
  auto server = startServer(options);
  RawClient romeo;
  REQUIRE(romeo.connect(server->c2sPort()));
  auto features = romeo.openStream();
  REQUIRE(features);
  INFO("features before TLS: " << *features);
  // RFC 6120 §5.3.1: STARTTLS is mandatory-to-negotiate.
  CHECK(matches(*features, elementPattern("starttls", kTlsNs) + "[^>]*>\\s*<required\\s*/>"));
  CHECK_FALSE(contains(saslMechanisms(*features), "PLAIN"));

  romeo.send(std::string("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>") +
             base64Encode(std::string("\0romeo\0", 7) + kRomeoPassword) + "</auth>");
  auto reply = romeo.readUntilRegex("</failure>|<failure[^>]*/>|<success|</stream:stream>");
  REQUIRE(reply);
  INFO("reply: " << *reply);
  CHECK(reply->find("<success") == std::string::npos);
  CHECK(matches(*reply, elementPattern("failure", kSaslNs)));
  CHECK(saslFailureCondition(reply->substr(reply->find("<failure"))) == "encryption-required");
}

}  // namespace
}  // namespace parley::integration
