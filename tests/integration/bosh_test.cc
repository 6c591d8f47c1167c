// BOSH (XEP-0124, XEP-0206) against the real server: session creation, SASL PLAIN and
// SCRAM-SHA-1, restart and bind, messages to and from a TCP client in held requests, hold,
// repeated and out-of-window rids, unknown sids, terminate, inactivity, malformed bodies (and
// everyone else carrying on), CORS.
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <random>
#include <regex>

#include "harness/http_client.h"
#include "harness/scenario.h"
#include "harness/scram_client.h"
#include "harness/xml_text.h"

namespace parley::integration {
namespace {

using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;

constexpr const char* kEmptyBody = "<body xmlns='http://jabber.org/protocol/httpbind'/>";

ServerOptions withHttp(const std::string& http_extra = "") {
  ServerOptions options;
  options.http_port = 0;
  options.https_port = 0;
  options.http_extra = http_extra;
  return options;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The value of NAME='...' in the first tag of a response body (the server quotes with ').
std::string attrOf(const std::string& body, const std::string& name) {
  auto tag_end = body.find('>');
  std::string tag = body.substr(0, tag_end);
  std::smatch match;
  if (!std::regex_search(tag, match, std::regex(" " + regexLiteral(name) + "='([^']*)'")))
    return "";
  return match[1].str();
}

// A BOSH client over two keep-alive HTTP connections ("lanes"), as browsers use them: one
// request held by the server, the other free to send.
class BoshClient {
 public:
  explicit BoshClient(const ParleyServer& server, bool tls = false)
      : port_(tls ? server.httpsPort() : server.httpPort()), tls_(tls) {
    std::random_device random;
    rid = 1'000'000 + random() % 1'000'000'000;
  }

  // POSTs BODY on LANE (reconnecting it if the server closed it), without waiting.
  bool post(int lane, const std::string& body,
            const std::vector<std::string>& headers = {"Content-Type: text/xml; charset=utf-8"}) {
    auto& client = lanes_[lane];
    if (!client || client->isClosed()) {
      client = std::make_unique<HttpClient>();
      if (!(tls_ ? client->connectTls(port_) : client->connect(port_))) return false;
    }
    return client->send(httpRequest("POST", "/http-bind", headers, body));
  }
  std::optional<HttpResponse> read(int lane, Millis timeout = 5s) {
    return lanes_[lane]->readResponse(timeout);
  }
  // POST and its response on LANE; the test stops unless it is 200.
  std::string exchange(const std::string& body, int lane = 0) {
    REQUIRE(post(lane, body));
    auto response = read(lane);
    REQUIRE(response);
    INFO(response->body);
    REQUIRE(response->status == 200);
    CHECK(response->header("Content-Type") == "text/xml; charset=utf-8");
    CHECK(response->header("Access-Control-Allow-Origin") == "*");
    return response->body;
  }

  // The next request's <body/>: the next rid, our sid, ATTRS, PAYLOADS.
  std::string next(const std::string& attrs = "", const std::string& payloads = "") {
    std::string body = "<body rid='" + std::to_string(rid++) + "'";
    if (!sid.empty()) body += " sid='" + sid + "'";
    if (!attrs.empty()) body += " " + attrs;
    body += " xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh'>" + payloads +
            "</body>";
    return body;
  }

  // The session creation request; returns the response body and keeps the sid.
  std::string create(const std::string& attrs = "wait='60' hold='1'") {
    auto body =
        exchange(next("to='localhost' xml:lang='en' ver='1.6' xmpp:version='1.0' " + attrs));
    sid = attrOf(body, "sid");
    return body;
  }

  // SASL (PLAIN or SCRAM-SHA-1), restart, bind. Returns the bound JID.
  std::string login(const std::string& user, const std::string& resource,
                    const std::string& mechanism = "PLAIN") {
    auto features = create();
    REQUIRE(contains(features, "<mechanism>" + mechanism + "</mechanism>"));
    const std::string sasl = "urn:ietf:params:xml:ns:xmpp-sasl";
    if (mechanism == "PLAIN") {
      std::string credentials =
          std::string(1, '\0') + user + std::string(1, '\0') + passwordFor(user);
      auto outcome = exchange(next("", "<auth xmlns='" + sasl + "' mechanism='PLAIN'>" +
                                           base64Encode(credentials) + "</auth>"));
      REQUIRE(contains(outcome, "<success xmlns='" + sasl + "'"));
    } else {
      ScramClient scram(ScramHash::Sha1, user, passwordFor(user));
      auto challenge = exchange(next("", "<auth xmlns='" + sasl + "' mechanism='" + mechanism +
                                             "'>" + base64Encode(scram.clientFirst()) + "</auth>"));
      std::smatch match;
      REQUIRE(std::regex_search(challenge, match, std::regex("<challenge[^>]*>([^<]+)<")));
      std::string server_first;
      REQUIRE(base64Decode(match[1].str(), server_first));
      auto final_message = scram.clientFinal(server_first);
      REQUIRE_FALSE(final_message.empty());
      auto outcome = exchange(next(
          "", "<response xmlns='" + sasl + "'>" + base64Encode(final_message) + "</response>"));
      REQUIRE(std::regex_search(outcome, match, std::regex("<success[^>]*>([^<]+)<")));
      std::string server_final;
      REQUIRE(base64Decode(match[1].str(), server_final));
      CHECK(scram.verifyServerFinal(server_final));
    }
    // XEP-0206 §5: the restart request; the new features come back in its response.
    auto restarted = exchange(next("to='localhost' xml:lang='en' xmpp:restart='true'"));
    REQUIRE(contains(restarted, "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"));
    auto bound = exchange(next("",
                               "<iq type='set' id='bind1' xmlns='jabber:client'><bind "
                               "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>" +
                                   resource + "</resource></bind></iq>"));
    std::smatch match;
    REQUIRE(std::regex_search(bound, match, std::regex("<jid>([^<]+)</jid>")));
    return match[1].str();
  }

  uint64_t rid = 0;  // the next rid to send
  std::string sid;

 private:
  uint16_t port_;
  bool tls_;
  std::unique_ptr<HttpClient> lanes_[2];
};

TEST_CASE("a BOSH session is created with the stream features", "[bosh]") {
  auto server = startServer(withHttp());
  BoshClient client(*server);
  auto body = client.create("wait='30' hold='1'");
  INFO(body);
  CHECK(std::regex_match(client.sid, std::regex("[0-9a-f]{32}")));
  CHECK(attrOf(body, "wait") == "30");
  CHECK(attrOf(body, "hold") == "1");
  CHECK(attrOf(body, "requests") == "2");
  CHECK(attrOf(body, "inactivity") == "60");
  CHECK(attrOf(body, "polling") == "2");
  CHECK(attrOf(body, "ver") == "1.6");
  CHECK(attrOf(body, "from") == "localhost");
  CHECK(attrOf(body, "xmpp:version") == "1.0");
  CHECK_FALSE(attrOf(body, "authid").empty());
  CHECK(contains(body, "xmlns:xmpp='urn:xmpp:xbosh'"));
  CHECK(contains(body, "xmlns:stream='http://etherx.jabber.org/streams'"));
  // Loopback counts as secure (as for WebSocket): SASL at once, no STARTTLS over HTTP.
  CHECK(contains(body, "<stream:features>"));
  CHECK(contains(body, "<mechanism>PLAIN</mechanism>"));
  CHECK_FALSE(contains(body, "starttls"));

  SECTION("over HTTPS too") {
    BoshClient secure(*server, true);
    auto created = secure.create();
    CHECK(attrOf(created, "secure") == "true");
    CHECK(contains(created, "<mechanism>SCRAM-SHA-1</mechanism>"));
  }
}

TEST_CASE("a BOSH client logs in and chats with a TCP client", "[bosh]") {
  auto mechanism = GENERATE(std::string("PLAIN"), std::string("SCRAM-SHA-1"));
  INFO(mechanism);
  auto server = startServer(withHttp());
  auto juliet = login(*server, "juliet", "garden");
  BoshClient romeo(*server);
  CHECK(romeo.login("romeo", "bosh", mechanism) == "romeo@localhost/bosh");

  // Presence and a message in one request; it stays held (nothing to say yet) until the
  // next request makes it return.
  REQUIRE(romeo.post(0, romeo.next("",
                                   "<presence xmlns='jabber:client'/>"
                                   "<message xmlns='jabber:client' to='juliet@localhost/garden' "
                                   "type='chat'><body>hello over BOSH 🌹</body></message>")));
  auto got = juliet->waitFor(messageWithBody("hello over BOSH 🌹"));
  REQUIRE(got != nullptr);
  CHECK(got->from == "romeo@localhost/bosh");
  REQUIRE(romeo.post(1, romeo.next()));
  auto first = romeo.read(0);
  REQUIRE(first);
  CHECK(first->status == 200);

  // The answer comes back in the request the server holds, with its own namespace.
  juliet->sendMessage("romeo@localhost/bosh", "hello, browser");
  REQUIRE(juliet->syncWithServer());
  std::string seen = first->body;
  auto held = romeo.read(1);
  REQUIRE(held);
  seen += held->body;
  // Own presence may come first; the message follows in the next held request.
  for (int lane = 0; !contains(seen, "hello, browser") && lane < 4; ++lane) {
    REQUIRE(romeo.post(lane % 2, romeo.next()));
    auto more = romeo.read(lane % 2);
    REQUIRE(more);
    seen += more->body;
  }
  INFO(seen);
  CHECK(std::regex_search(seen, std::regex("<message xmlns='jabber:client'[^>]*from='juliet@"
                                           "localhost/garden'")));
  CHECK(contains(seen, "<body>hello, browser</body>"));
}

TEST_CASE("BOSH: with hold=1 a second request returns the first empty", "[bosh]") {
  auto server = startServer(withHttp());
  BoshClient romeo(*server);
  romeo.login("romeo", "bosh");
  REQUIRE(romeo.post(0, romeo.next()));
  // Held: nothing comes back while there is nothing to say.
  CHECK_FALSE(romeo.read(0, 300ms));
  REQUIRE(romeo.post(1, romeo.next()));
  auto older = romeo.read(0);
  REQUIRE(older);
  CHECK(older->status == 200);
  CHECK(older->body == kEmptyBody);
  CHECK_FALSE(romeo.read(1, 300ms));  // the newer one is held now

  SECTION("a held request is answered empty after 'wait' seconds") {
    BoshClient quick(*server);
    quick.create("wait='1' hold='1'");
    auto start = std::chrono::steady_clock::now();
    REQUIRE(quick.post(0, quick.next()));
    auto answer = quick.read(0, 5s);
    REQUIRE(answer);
    CHECK(answer->body == kEmptyBody);
    CHECK(std::chrono::steady_clock::now() - start >= 900ms);
  }
}

TEST_CASE("BOSH: rids", "[bosh]") {
  auto server = startServer(withHttp());
  BoshClient romeo(*server);
  romeo.login("romeo", "bosh");

  SECTION("a repeated rid gets the same response again (§14.3)") {
    uint64_t rid = romeo.rid;
    auto first = romeo.exchange(romeo.next("",
                                           "<iq type='get' id='v1' xmlns='jabber:client'>"
                                           "<query xmlns='jabber:iq:version'/></iq>"));
    REQUIRE(contains(first, "id='v1'"));
    romeo.rid = rid;
    auto again = romeo.exchange(romeo.next("",
                                           "<iq type='get' id='v1' xmlns='jabber:client'>"
                                           "<query xmlns='jabber:iq:version'/></iq>"));
    CHECK(again == first);
    // The session carries on.
    auto next = romeo.exchange(romeo.next("",
                                          "<iq type='get' id='v2' xmlns='jabber:client'>"
                                          "<query xmlns='jabber:iq:version'/></iq>"));
    CHECK(contains(next, "id='v2'"));
  }
  SECTION("a rid beyond the window ends the session with item-not-found (§14.2)") {
    romeo.rid += 5;
    auto body = romeo.exchange(romeo.next());
    CHECK(attrOf(body, "type") == "terminate");
    CHECK(attrOf(body, "condition") == "item-not-found");
    auto after = romeo.exchange(romeo.next());
    CHECK(attrOf(after, "condition") == "item-not-found");
  }
  SECTION("a rid long gone ends the session with item-not-found") {
    romeo.rid -= 10;
    auto body = romeo.exchange(romeo.next());
    CHECK(attrOf(body, "condition") == "item-not-found");
  }
}

TEST_CASE("BOSH: requests arriving on another worker reach the session", "[bosh]") {
  auto server = startServer(withHttp());  // two workers
  BoshClient romeo(*server);
  romeo.login("romeo", "bosh");
  // Each request on a fresh connection: the kernel spreads them over both workers, so some
  // reach the worker the session does not live on and are handed over (and answered back).
  for (int i = 0; i < 16; ++i) {
    BoshClient lane(*server);
    lane.sid = romeo.sid;
    lane.rid = romeo.rid++;
    std::string id = "v" + std::to_string(i);
    auto body = lane.exchange(lane.next("", "<iq type='get' id='" + id +
                                                "' xmlns='jabber:client'><query "
                                                "xmlns='jabber:iq:version'/></iq>"));
    CHECK(contains(body, "id='" + id + "'"));
  }
  CHECK(contains(server->logTail(400), "handed to worker"));
}

TEST_CASE("BOSH: an unknown sid, an unknown host, no 'to'", "[bosh]") {
  auto server = startServer(withHttp());
  BoshClient client(*server);
  client.sid = "0123456789abcdef0123456789abcdef";
  auto unknown = client.exchange(client.next());
  CHECK(unknown ==
        "<body xmlns='http://jabber.org/protocol/httpbind' type='terminate' "
        "condition='item-not-found'/>");
  client.sid.clear();
  auto host = client.exchange(client.next("to='nowhere.example' ver='1.6' wait='60' hold='1'"));
  CHECK(attrOf(host, "condition") == "host-unknown");
  auto no_to = client.exchange(client.next("ver='1.6' wait='60' hold='1'"));
  CHECK(attrOf(no_to, "condition") == "improper-addressing");
}

TEST_CASE("BOSH: terminate logs the client out", "[bosh]") {
  auto server = startServer(withHttp());
  auto juliet = login(*server, "juliet", "garden");
  BoshClient romeo(*server);
  romeo.login("romeo", "bosh");
  auto bye = romeo.exchange(
      romeo.next("type='terminate'", "<presence type='unavailable' xmlns='jabber:client'/>"));
  CHECK(attrOf(bye, "type") == "terminate");
  CHECK_FALSE(contains(bye, "condition="));
  // The resource is gone: an iq to it bounces.
  auto reply = juliet->request(
      "<iq type='get' id='p1' to='romeo@localhost/bosh'><ping xmlns='urn:xmpp:ping'/></iq>", "p1");
  REQUIRE(reply != nullptr);
  CHECK(reply->type == "error");
  CHECK(errorCondition(*reply) == "service-unavailable");
  auto after = romeo.exchange(romeo.next());
  CHECK(attrOf(after, "condition") == "item-not-found");
}

TEST_CASE("BOSH: a session without requests ends after 'inactivity'", "[bosh]") {
  auto server = startServer(withHttp("bosh_inactivity = \"1s\""));
  auto juliet = login(*server, "juliet", "garden");
  BoshClient romeo(*server);
  auto created = romeo.create();
  CHECK(attrOf(created, "inactivity") == "1");
  romeo.sid.clear();
  romeo.login("romeo", "bosh");
  auto start = std::chrono::steady_clock::now();
  // Nothing held now: the server ends the session, as for a TCP client gone silent.
  bool ended = StropheClient::pumpUntil(
      [&] { return contains(server->logTail(200), "romeo@localhost/bosh: session ended"); }, 5s);
  INFO(server->logTail());
  REQUIRE(ended);
  CHECK(std::chrono::steady_clock::now() - start >= 900ms);
  auto after = romeo.exchange(romeo.next());
  CHECK(attrOf(after, "condition") == "item-not-found");
  auto reply = juliet->request(
      "<iq type='get' id='p2' to='romeo@localhost/bosh'><ping xmlns='urn:xmpp:ping'/></iq>", "p2");
  REQUIRE(reply != nullptr);
  CHECK(errorCondition(*reply) == "service-unavailable");
}

TEST_CASE("BOSH: bad requests get the right status or condition; others carry on", "[bosh]") {
  auto server = startServer(withHttp());
  auto juliet = login(*server, "juliet", "garden");
  BoshClient romeo(*server);
  romeo.login("romeo", "bosh");

  struct Case {
    const char* what;
    std::string body;
  };
  std::vector<Case> unreadable = {
      {"not XML", "hello"},
      {"unfinished", "<body rid='1' xmlns='http://jabber.org/protocol/httpbind'>"},
      {"wrong root", "<iq rid='1' xmlns='http://jabber.org/protocol/httpbind'/>"},
      {"no namespace", "<body rid='1'/>"},
      {"no rid", "<body xmlns='http://jabber.org/protocol/httpbind' to='localhost'/>"},
      {"rid not a number", "<body rid='x1' xmlns='http://jabber.org/protocol/httpbind'/>"},
      {"bad XML inside", "<body rid='5' sid='" + romeo.sid +
                             "' xmlns='http://jabber.org/protocol/httpbind'><message></body>"},
  };
  for (const auto& c : unreadable) {
    INFO(c.what);
    BoshClient other(*server);
    REQUIRE(other.post(0, c.body));
    auto response = other.read(0);
    REQUIRE(response);
    CHECK(response->status == 400);  // XEP-0124 §17.1
    CHECK(response->header("Access-Control-Allow-Origin") == "*");
  }
  {
    INFO("a body larger than twice c2s.max_stanza_bytes");
    BoshClient other(*server);
    std::string huge = other.next(
        "to='localhost'", "<message><body>" + std::string(140000, 'x') + "</body></message>");
    REQUIRE(other.post(0, huge));
    auto response = other.read(0);
    REQUIRE(response);
    CHECK(response->status == 413);
  }
  {
    INFO("a stanza the c2s session refuses ends that session with remote-stream-error");
    BoshClient mercutio(*server);
    mercutio.create();
    auto body = mercutio.exchange(
        mercutio.next("", "<message><body>" + std::string(70000, 'x') + "</body></message>"));
    CHECK(attrOf(body, "type") == "terminate");
    CHECK(attrOf(body, "condition") == "remote-stream-error");
    CHECK(std::regex_search(body, std::regex(streamErrorPattern("policy-violation"))));
  }

  // Romeo's session and Juliet's TCP stream are untouched.
  REQUIRE(romeo.post(0, romeo.next("",
                                   "<message xmlns='jabber:client' to='juliet@localhost/garden' "
                                   "type='chat'><body>still here</body></message>")));
  CHECK(juliet->waitFor(messageWithBody("still here")) != nullptr);
  REQUIRE(romeo.post(1, romeo.next()));
  auto answered = romeo.read(0);
  REQUIRE(answered);
  CHECK(answered->status == 200);
}

TEST_CASE("BOSH: CORS preflight and other methods", "[bosh]") {
  auto server = startServer(withHttp());
  auto preflight = httpFetch(server->httpPort(), "OPTIONS", "/http-bind",
                             {"Origin: https://chat.example", "Access-Control-Request-Method: POST",
                              "Access-Control-Request-Headers: content-type"});
  REQUIRE(preflight);
  CHECK(preflight->status == 200);
  CHECK(preflight->header("Access-Control-Allow-Origin") == "*");
  CHECK(contains(preflight->header("Access-Control-Allow-Methods").value_or(""), "POST"));
  CHECK(contains(preflight->header("Access-Control-Allow-Headers").value_or(""), "Content-Type"));
  CHECK(preflight->header("Access-Control-Max-Age"));

  auto page = httpFetch(server->httpPort(), "GET", "/http-bind");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(contains(page->header("Content-Type").value_or(""), "text/html"));
  CHECK(contains(page->body, "BOSH"));

  auto put = httpFetch(server->httpPort(), "PUT", "/http-bind");
  REQUIRE(put);
  CHECK(put->status == 405);
  CHECK(contains(put->header("Allow").value_or(""), "POST"));
}

}  // namespace
}  // namespace parley::integration
