// Account sign-up and account life: XEP-0077 in-band registration, password change, account
// removal, the per-IP sign-up limit and sign-up with a `parleyctl invite` token (XEP-0401/0445).
#include <catch2/catch.hpp>
#include <regex>
#include <sstream>

#include "harness/scenario.h"
#include "harness/xml_text.h"

namespace parley::integration {
namespace {

constexpr const char* kStanzasNs = "urn:ietf:params:xml:ns:xmpp-stanzas";

// An unauthenticated stream after STARTTLS: where a newcomer signs up.
class SignupStream {
 public:
  explicit SignupStream(const ParleyServer& server) {
    REQUIRE(raw_.connect(server.c2sPort()));
    REQUIRE(raw_.openStream());
    auto features = raw_.startTls();
    REQUIRE(features);
    features_ = *features;
  }

  const std::string& features() const { return features_; }

  // Sends XML (an iq with id=ID) and returns the server's iq answer with that id.
  std::string iq(const std::string& xml, const std::string& id) {
    REQUIRE(raw_.send(xml));
    std::string quoted_id = "['\"]" + regexLiteral(id) + "['\"]";
    std::string open_tag = "<iq\\b[^>]*\\bid=" + quoted_id + "[^>]*";
    auto reply = raw_.readUntilRegex(open_tag + "/>|" + open_tag + "[^/]>[\\s\\S]*?</iq>");
    INFO("received so far: " << raw_.received());
    REQUIRE(reply);
    auto start = reply->rfind("<iq");
    return reply->substr(start == std::string::npos ? 0 : start);
  }

  std::string signup(const std::string& user, const std::string& password,
                     const std::string& id = "reg") {
    return iq("<iq type='set' id='" + id + "'><query xmlns='jabber:iq:register'><username>" +
                  xmlEscape(user) + "</username><password>" + xmlEscape(password) +
                  "</password></query></iq>",
              id);
  }

  std::string presentToken(const std::string& token, const std::string& id = "pre") {
    return iq("<iq type='set' id='" + id +
                  "' to='localhost'><preauth xmlns='urn:xmpp:pars:0' token='" + xmlEscape(token) +
                  "'/></iq>",
              id);
  }

 private:
  RawClient raw_;
  std::string features_;
};

bool isResult(const std::string& iq) {
  return std::regex_search(iq, std::regex("^<iq\\b[^>]*\\b" + attributePattern("type", "result")));
}

// Whether an iq error carries CONDITION (RFC 6120 §8.3.3).
bool hasCondition(const std::string& iq, const std::string& condition) {
  return std::regex_search(iq, std::regex(attributePattern("type", "error"))) &&
         std::regex_search(iq, std::regex(elementPattern(condition, kStanzasNs)));
}

bool canLogIn(const ParleyServer& server, const std::string& user, const std::string& password) {
  RawClient client;
  return client.loginRaw(server.c2sPort(), false, user, password, "SCRAM-SHA-256").success;
}

bool listsUser(ParleyServer& server, const std::string& user) {
  CommandResult users = server.ctl({"users", "localhost"});
  REQUIRE(users.exit_status == 0);
  std::istringstream lines(users.output);
  for (std::string line; std::getline(lines, line);) {
    if (line == user + "@localhost") return true;
  }
  return false;
}

ServerOptions openRegistration(const std::string& register_options = "") {
  ServerOptions options;
  options.host_extra = "registration = true";
  if (!register_options.empty()) {
    options.extra_toml = "[hosts.\"localhost\".register]\n" + register_options;
  }
  return options;
}

TEST_CASE("registration on a closed host is not-allowed", "[register]") {
  auto server = startServer();
  SignupStream stream(*server);
  INFO("features: " << stream.features());
  CHECK_FALSE(std::regex_search(
      stream.features(),
      std::regex(elementPattern("register", "http://jabber.org/features/iq-register"))));
  CHECK(std::regex_search(stream.features(),
                          std::regex(elementPattern("register", "urn:xmpp:ibr-token:0"))));

  auto form = stream.iq("<iq type='get' id='g1'><query xmlns='jabber:iq:register'/></iq>", "g1");
  INFO(form);
  CHECK(hasCondition(form, "not-allowed"));
  auto reply = stream.signup("mallory", "mallory-pass");
  INFO(reply);
  CHECK(hasCondition(reply, "not-allowed"));
  CHECK_FALSE(listsUser(*server, "mallory"));
}

TEST_CASE("open registration creates an account that can log in", "[register]") {
  auto server = startServer(openRegistration());
  SignupStream stream(*server);
  INFO("features: " << stream.features());
  CHECK(std::regex_search(
      stream.features(),
      std::regex(elementPattern("register", "http://jabber.org/features/iq-register"))));

  auto form = stream.iq("<iq type='get' id='g1'><query xmlns='jabber:iq:register'/></iq>", "g1");
  INFO(form);
  CHECK(isResult(form));
  CHECK(form.find("<username") != std::string::npos);
  CHECK(form.find("<password") != std::string::npos);

  auto created = stream.signup("benvolio", "benvolio-pass", "r1");
  INFO(created);
  REQUIRE(isResult(created));
  CHECK(listsUser(*server, "benvolio"));
  auto benvolio = login(*server, "benvolio", "street");
  CHECK(benvolio->isConnected());

  SECTION("the same username again: conflict") {
    auto again = stream.signup("benvolio", "other", "r2");
    INFO(again);
    CHECK(hasCondition(again, "conflict"));
    auto romeo = stream.signup("Romeo", "other", "r3");  // prepared to an existing account
    INFO(romeo);
    CHECK(hasCondition(romeo, "conflict"));
    CHECK(canLogIn(*server, "benvolio", "benvolio-pass"));
  }
  SECTION("a username that is not a localpart: jid-malformed") {
    for (const char* bad : {"bad@name", "bad/name", "bad name", "a:b"}) {
      auto reply = stream.signup(bad, "pass", "bad");
      INFO(bad << ": " << reply);
      CHECK(hasCondition(reply, "jid-malformed"));
    }
  }
  SECTION("a missing or empty field: not-acceptable") {
    auto no_password = stream.iq(
        "<iq type='set' id='m1'><query xmlns='jabber:iq:register'><username>tybalt</username>"
        "</query></iq>",
        "m1");
    INFO(no_password);
    CHECK(hasCondition(no_password, "not-acceptable"));
    auto empty_password = stream.signup("tybalt", "", "m2");
    INFO(empty_password);
    CHECK(hasCondition(empty_password, "not-acceptable"));
    auto empty_user = stream.signup("", "pass", "m3");
    INFO(empty_user);
    CHECK(hasCondition(empty_user, "not-acceptable"));
    CHECK_FALSE(listsUser(*server, "tybalt"));
  }
  SECTION("removal needs a login") {
    auto reply = stream.iq(
        "<iq type='set' id='x1'><query xmlns='jabber:iq:register'><remove/></query></iq>", "x1");
    INFO(reply);
    CHECK(hasCondition(reply, "not-allowed"));
    CHECK(listsUser(*server, "benvolio"));
  }
}

TEST_CASE("sign-ups per IP address are limited", "[register]") {
  auto server = startServer(openRegistration("signups_per_ip_per_hour = 2\n"));
  SignupStream stream(*server);
  // A refused sign-up does not count against the limit.
  CHECK(hasCondition(stream.signup("romeo", "x", "c0"), "conflict"));
  CHECK(isResult(stream.signup("sampson", "sampson-pass", "s1")));
  CHECK(isResult(stream.signup("gregory", "gregory-pass", "s2")));
  auto third = stream.signup("abram", "abram-pass", "s3");
  INFO(third);
  CHECK(hasCondition(third, "resource-constraint"));
  CHECK(std::regex_search(third, std::regex(attributePattern("type", "wait"))));
  SignupStream other(*server);  // the limit is per address, not per stream
  CHECK(hasCondition(other.signup("balthasar", "b-pass", "s4"), "resource-constraint"));
  CHECK_FALSE(listsUser(*server, "abram"));
  CHECK(listsUser(*server, "gregory"));
}

TEST_CASE("a logged-in user changes their password", "[register]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");

  auto info = romeo->request(
      "<iq type='get' id='i1' to='localhost'><query xmlns='jabber:iq:register'/></iq>", "i1");
  REQUIRE(info != nullptr);
  INFO(info->xml);
  CHECK(info->type == "result");
  const XmlNode* query = info->tree.child("query", "jabber:iq:register");
  REQUIRE(query != nullptr);
  CHECK(query->child("registered") != nullptr);
  REQUIRE(query->child("username") != nullptr);
  CHECK(query->child("username")->text == "romeo");

  auto other = romeo->request(
      "<iq type='set' id='p0' to='localhost'><query xmlns='jabber:iq:register'>"
      "<username>juliet</username><password>stolen</password></query></iq>",
      "p0");
  REQUIRE(other != nullptr);
  INFO(other->xml);
  CHECK(other->type == "error");
  CHECK(other->xml.find("not-allowed") != std::string::npos);
  CHECK(canLogIn(*server, "juliet", kJulietPassword));

  auto empty = romeo->request(
      "<iq type='set' id='p1'><query xmlns='jabber:iq:register'><username>romeo</username>"
      "</query></iq>",
      "p1");
  REQUIRE(empty != nullptr);
  CHECK(empty->type == "error");
  CHECK(empty->xml.find("bad-request") != std::string::npos);

  auto changed = romeo->request(
      "<iq type='set' id='p2' to='localhost'><query xmlns='jabber:iq:register'>"
      "<username>romeo</username><password>wherefore</password></query></iq>",
      "p2");
  REQUIRE(changed != nullptr);
  INFO(changed->xml);
  CHECK(changed->type == "result");
  CHECK(canLogIn(*server, "romeo", "wherefore"));
  CHECK_FALSE(canLogIn(*server, "romeo", kRomeoPassword));
}

TEST_CASE("a user removes their account and every trace of it", "[register]") {
  auto server = startServer();
  auto juliet = login(*server, "juliet", "garden");
  auto bad = juliet->request(
      "<iq type='set' id='x0'><query xmlns='jabber:iq:register'><remove/>"
      "<username>juliet</username></query></iq>",
      "x0");
  REQUIRE(bad != nullptr);
  CHECK(bad->type == "error");
  CHECK(bad->xml.find("bad-request") != std::string::npos);

  auto removed = juliet->request(
      "<iq type='set' id='x1' to='localhost'><query xmlns='jabber:iq:register'><remove/>"
      "</query></iq>",
      "x1");
  REQUIRE(removed != nullptr);
  INFO(removed->xml);
  CHECK(removed->type == "result");
  CHECK(juliet->waitDisconnected());
  CHECK_FALSE(canLogIn(*server, "juliet", kJulietPassword));
  CHECK_FALSE(listsUser(*server, "juliet"));
  CHECK(listsUser(*server, "romeo"));
}

TEST_CASE("an invitation from parleyctl signs up one account on a closed host", "[register]") {
  auto server = startServer();
  CHECK(server->ctl({"invite", "example.org"}).exit_status == 1);

  CommandResult invite = server->ctl({"invite", "localhost"});
  INFO(invite.output);  // stdout (token, URI) and stderr (log lines) together
  REQUIRE(invite.exit_status == 0);
  std::smatch match;
  REQUIRE(std::regex_search(
      invite.output, match,
      std::regex(
          "(?:^|\\n)([A-Za-z0-9]{24,})\\nxmpp:localhost\\?register;preauth=([A-Za-z0-9]+)\\n")));
  const std::string token = match[1];
  CHECK(match[2] == token);

  {
    SignupStream stream(*server);
    CHECK(hasCondition(stream.presentToken(std::string(token.size(), 'x'), "bogus"), "forbidden"));
    CHECK(hasCondition(stream.signup("rosaline", "rosaline-pass", "r0"), "not-allowed"));
    auto accepted = stream.presentToken(token);
    INFO(accepted);
    REQUIRE(isResult(accepted));
    // A refused sign-up does not use the invitation up.
    CHECK(hasCondition(stream.signup("romeo", "x", "r1"), "conflict"));
    auto created = stream.signup("rosaline", "rosaline-pass", "r2");
    INFO(created);
    REQUIRE(isResult(created));
    // One account per invitation, even on the same stream.
    CHECK(hasCondition(stream.signup("rosaline2", "pass", "r3"), "not-allowed"));
  }
  CHECK(listsUser(*server, "rosaline"));
  CHECK(canLogIn(*server, "rosaline", "rosaline-pass"));

  SignupStream again(*server);
  auto reused = again.presentToken(token);
  INFO(reused);
  CHECK(hasCondition(reused, "forbidden"));
  CHECK(hasCondition(again.signup("paris", "paris-pass"), "not-allowed"));
  CHECK_FALSE(listsUser(*server, "paris"));
}

}  // namespace
}  // namespace parley::integration
