// Federation between two real parleyd (RFC 6120 s2s, RFC 6121 across domains): a.example and
// b.example found through SRV records of a DNS server in this process, with dialback and with
// certificates (SASL EXTERNAL), direct TLS (XEP-0368), bidi (XEP-0288), spoofing refused,
// unreachable peers bounced, a restarted peer catching up.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "harness/scenario.h"
#include "harness/test_pki.h"
#include "support/fake_dns_server.h"

namespace parley::integration {
namespace {

using net::test::DnsA;
using net::test::DnsAnswer;
using net::test::DnsSrv;
using net::test::FakeDnsServer;
using net::test::kDnsTypeA;
using net::test::kDnsTypeSrv;

constexpr const char* kEmoji = "\xF0\x9F\x98\x80 \xE2\x9D\xA4\xEF\xB8\x8F \xF0\x9F\x8C\xB9";

enum class Auth { Dialback, Certificates };

struct FederationOptions {
  Auth auth = Auth::Dialback;
  int queue_timeout_seconds = 20;
  // a.example also serves conf.a.example (a second host, for dialback multiplexing).
  bool second_host = false;
  // b.example reaches a.example's domains through [s2s] routes; its DNS server is dead.
  bool b_uses_routes = false;
  int idle_timeout_seconds = 600;
};

// Two servers, each with one host, that find each other through DNS:
//   a.example: _xmpp-server._tcp SRV -> a-host.example:<port_a> (STARTTLS)
//   b.example: _xmpps-server._tcp SRV -> b-host.example:<direct_b> (direct TLS, XEP-0368)
//              and _xmpp-server._tcp SRV -> b-host.example:<port_b> at a lower priority
//   down.example: SRV -> a port nothing listens on;  nx.example: NXDOMAIN.
struct Federation {
  explicit Federation(FederationOptions options = {}) {
    pki_dir = makeTempDir("parley-pki");
    REQUIRE(!pki_dir.empty());
    pki = std::make_unique<TestPki>(pki_dir);
    REQUIRE(pki->ok());
    port_a = pickFreePort();
    do {
      port_b = pickFreePort();
      direct_b = pickFreePort();
      closed_port = pickFreePort();
    } while (port_b == port_a || direct_b == port_a || direct_b == port_b ||
             closed_port == port_a || closed_port == port_b || closed_port == direct_b);
    auto srv = [](uint16_t port, const char* target, uint16_t priority = 0) {
      return DnsAnswer{DnsAnswer::Kind::Records, {DnsSrv{priority, 5, port, target}}};
    };
    auto a_record = DnsAnswer{DnsAnswer::Kind::Records, {DnsA{"127.0.0.1"}}};
    dns = std::make_unique<FakeDnsServer>(std::map<std::pair<std::string, uint16_t>, DnsAnswer>{
        {{"_xmpp-server._tcp.a.example", kDnsTypeSrv}, srv(port_a, "a-host.example")},
        {{"_xmpps-server._tcp.b.example", kDnsTypeSrv}, srv(direct_b, "b-host.example")},
        {{"_xmpp-server._tcp.b.example", kDnsTypeSrv}, srv(port_b, "b-host.example", 10)},
        {{"_xmpp-server._tcp.down.example", kDnsTypeSrv}, srv(closed_port, "a-host.example")},
        {{"_xmpp-server._tcp.conf.a.example", kDnsTypeSrv}, srv(port_a, "a-host.example")},
        {{"a-host.example", kDnsTypeA}, a_record},
        {{"b-host.example", kDnsTypeA}, a_record},
    });
    REQUIRE(dns->port() != 0);
    a = std::make_unique<ParleyServer>(serverOptions("a.example", options, "romeo"));
    b = std::make_unique<ParleyServer>(serverOptions("b.example", options, "juliet"));
  }
  ~Federation() {
    a.reset();
    b.reset();
    std::error_code ignored;
    if (!pki_dir.empty()) std::filesystem::remove_all(pki_dir, ignored);
  }

  ServerOptions serverOptions(const std::string& domain, const FederationOptions& options,
                              const std::string& user) {
    ServerOptions server;
    server.domain = domain;
    server.users = {{user, passwordFor(user)}};
    if (domain == "a.example" && options.second_host) {
      server.users.push_back({"mercutio@conf.a.example", passwordFor("mercutio")});
    }
    server.s2s_port = domain == "a.example" ? port_a : port_b;
    if (domain == "b.example") server.s2s_direct_tls_port = direct_b;
    std::ostringstream s2s;
    if (domain == "b.example" && options.b_uses_routes) {
      // Port 1 on loopback: no DNS server there, so only the routes can work.
      s2s << "dns_servers = [\"127.0.0.1:1\"]\n"
          << "routes = { \"a.example\" = \"127.0.0.1:" << port_a << "\", \"conf.a.example\" = "
          << "\"localhost:" << port_a << "\" }\n";
    } else {
      s2s << "dns_servers = [\"127.0.0.1:" << dns->port() << "\"]\n";
    }
    s2s << "connect_timeout = \"3s\"\n"
        << "queue_timeout = \"" << options.queue_timeout_seconds << "s\"\n"
        << "idle_timeout = \"" << options.idle_timeout_seconds << "s\"\n";
    if (domain == "a.example" && options.second_host) {
      server.extra_toml =
          "[hosts.\"conf.a.example\"]\ncert = \"certs/a.example.crt\"\n"
          "key = \"certs/a.example.key\"\nmodules = [\"disco\", \"ping\"]\n";
    }
    std::string peer = domain == "a.example" ? "b.example" : "a.example";
    if (options.auth == Auth::Certificates) {
      auto files = pki->issue(domain);
      REQUIRE(!files.cert.empty());
      server.cert_file = files.cert;
      server.key_file = files.key;
      s2s << "require_valid_certificates = true\n"
          << "trust = { \"" << peer << "\" = \"" << pki->caPath() << "\", \"evil.example\" = \""
          << pki->caPath() << "\" }\n";
    }
    server.s2s_extra = s2s.str();
    return server;
  }

  void start() {
    REQUIRE(a->start());
    REQUIRE(b->start());
  }

  std::string pki_dir;
  std::unique_ptr<TestPki> pki;
  uint16_t port_a = 0, port_b = 0, direct_b = 0, closed_port = 0;
  std::unique_ptr<FakeDnsServer> dns;
  std::unique_ptr<ParleyServer> a, b;
};

StropheClient::Predicate presenceFrom(const std::string& from, const std::string& type = "") {
  return [from, type](const ReceivedStanza& s) {
    return s.name == "presence" && bareJid(s.from) == from && s.type == type;
  };
}

StropheClient::Predicate rosterPush(const std::string& jid, const std::string& subscription) {
  return [=](const ReceivedStanza& s) {
    if (s.name != "iq" || s.type != "set") return false;
    const auto* query = s.tree.child("query", "jabber:iq:roster");
    if (!query) return false;
    auto items = query->childrenNamed("item");
    return items.size() == 1 && items[0]->attr("jid") == jid &&
           items[0]->attr("subscription") == subscription;
  };
}

void getRoster(StropheClient& client) {
  auto reply = client.request("<iq type='get' id='roster1'><query xmlns='jabber:iq:roster'/></iq>",
                              "roster1");
  REQUIRE(reply != nullptr);
}

size_t countLines(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

std::string wholeLog(const ParleyServer& server) {
  std::ifstream in(server.stderrPath());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The conversation the issue asks for, in both directions: chat with emoji, a presence
// subscription each way with presence flowing, and iqs answered across the federation.
void converse(StropheClient& romeo, StropheClient& juliet) {
  const std::string romeo_jid = "romeo@a.example";
  const std::string juliet_jid = "juliet@b.example";
  getRoster(romeo);
  getRoster(juliet);
  romeo.sendPresence(0);
  juliet.sendPresence(0);

  // Chat, both ways, byte-exact.
  romeo.sendMessage(juliet_jid, std::string("Hi juliet ") + kEmoji);
  const auto* hi =
      juliet.waitFor(messageWithBody(std::string("Hi juliet ") + kEmoji), std::chrono::seconds(15));
  INFO("juliet got:\n" << juliet.transcript());
  REQUIRE(hi != nullptr);
  CHECK(hi->from == romeo.boundJid());
  juliet.sendMessage(hi->from, std::string("Hi romeo ") + kEmoji);
  const auto* back =
      romeo.waitFor(messageWithBody(std::string("Hi romeo ") + kEmoji), std::chrono::seconds(15));
  INFO("romeo got:\n" << romeo.transcript());
  REQUIRE(back != nullptr);
  CHECK(back->from == juliet.boundJid());

  // RFC 6121 §3: romeo subscribes to juliet, juliet approves and subscribes back.
  romeo.send("<presence to='" + juliet_jid + "' type='subscribe'/>");
  REQUIRE(juliet.waitFor(presenceFrom(romeo_jid, "subscribe"), std::chrono::seconds(10)));
  juliet.send("<presence to='" + romeo_jid + "' type='subscribed'/>");
  REQUIRE(romeo.waitFor(rosterPush(juliet_jid, "to"), std::chrono::seconds(10)));
  // Subscribed: juliet's current presence reaches romeo.
  REQUIRE(romeo.waitFor(presenceFrom(juliet_jid), std::chrono::seconds(10)));
  juliet.send("<presence to='" + romeo_jid + "' type='subscribe'/>");
  REQUIRE(romeo.waitFor(presenceFrom(juliet_jid, "subscribe"), std::chrono::seconds(10)));
  romeo.send("<presence to='" + juliet_jid + "' type='subscribed'/>");
  REQUIRE(juliet.waitFor(rosterPush(romeo_jid, "both"), std::chrono::seconds(10)));
  REQUIRE(juliet.waitFor(presenceFrom(romeo_jid), std::chrono::seconds(10)));
  // Presence flows: a new status of each reaches the other.
  romeo.send("<presence><status>on the balcony</status></presence>");
  REQUIRE(juliet.waitFor(
      [](const ReceivedStanza& s) {
        return s.name == "presence" && s.xml.find("on the balcony") != std::string::npos;
      },
      std::chrono::seconds(10)));
  juliet.send("<presence><show>away</show></presence>");
  REQUIRE(romeo.waitFor(
      [](const ReceivedStanza& s) {
        return s.name == "presence" && s.xml.find("<show>away</show>") != std::string::npos;
      },
      std::chrono::seconds(10)));

  // Iqs: each pings the other's server and asks the other's client for its version.
  auto ping_b =
      romeo.request("<iq type='get' id='ping-b' to='b.example'><ping xmlns='urn:xmpp:ping'/></iq>",
                    "ping-b", std::chrono::seconds(10));
  REQUIRE(ping_b != nullptr);
  CHECK(ping_b->type == "result");
  CHECK(ping_b->from == "b.example");
  auto ping_a =
      juliet.request("<iq type='get' id='ping-a' to='a.example'><ping xmlns='urn:xmpp:ping'/></iq>",
                     "ping-a", std::chrono::seconds(10));
  REQUIRE(ping_a != nullptr);
  CHECK(ping_a->type == "result");
  auto version = romeo.request(
      "<iq type='get' id='ver-b' to='b.example'><query "
      "xmlns='jabber:iq:version'/></iq>",
      "ver-b", std::chrono::seconds(10));
  REQUIRE(version != nullptr);
  CHECK(version->type == "result");
  CHECK(version->tree.child("query", "jabber:iq:version")->child("name") != nullptr);
  // An iq to a resource that does not exist comes back as an error across the federation.
  auto gone = romeo.request(
      "<iq type='get' id='gone' to='juliet@b.example/nowhere'><ping "
      "xmlns='urn:xmpp:ping'/></iq>",
      "gone", std::chrono::seconds(10));
  REQUIRE(gone != nullptr);
  CHECK(gone->type == "error");
  CHECK(errorCondition(*gone) == "service-unavailable");
}

TEST_CASE("federation with dialback: chat, subscriptions, presence and iqs both ways",
          "[federation]") {
  Federation federation({Auth::Dialback});
  federation.start();
  auto romeo = login(*federation.a, "romeo", "balcony");
  auto juliet = login(*federation.b, "juliet", "chamber");
  converse(*romeo, *juliet);
  // romeo spoke first: a.example reached b.example over direct TLS (the _xmpps-server record)
  // and authenticated by dialback, which b.example verified with a.example over STARTTLS.
  // The stream is bidirectional (XEP-0288), so b.example answered over it.
  auto log_a = wholeLog(*federation.a);
  auto log_b = wholeLog(*federation.b);
  CHECK(log_a.find("out a.example -> b.example: a.example authenticated with dialback") !=
        std::string::npos);
  CHECK(log_b.find("a.example authenticated with dialback") != std::string::npos);
  CHECK(log_a.find(":" + std::to_string(federation.direct_b) + " (direct TLS)") !=
        std::string::npos);
  CHECK(log_b.find("connected to 127.0.0.1:" + std::to_string(federation.port_a) + "\n") !=
        std::string::npos);
  CHECK(log_b.find("b.example authenticated") == std::string::npos);
}

TEST_CASE("federation with certificates from a test CA: SASL EXTERNAL and one bidi stream",
          "[federation]") {
  Federation federation({Auth::Certificates});
  federation.start();
  auto romeo = login(*federation.a, "romeo", "balcony");
  auto juliet = login(*federation.b, "juliet", "chamber");
  converse(*romeo, *juliet);
  auto log_a = wholeLog(*federation.a);
  auto log_b = wholeLog(*federation.b);
  INFO("a.example log:\n" << log_a.substr(log_a.size() > 6000 ? log_a.size() - 6000 : 0));
  // Whoever connected first authenticated with its certificate and asked for bidi (XEP-0288),
  // so the other side needed no stream of its own: there is exactly one stream.
  size_t externals = countLines(log_a, "authenticated with SASL EXTERNAL") +
                     countLines(log_b, "authenticated with SASL EXTERNAL");
  CHECK(externals == 2);  // logged by the initiating and by the receiving side
  CHECK(log_a.find("with dialback") == std::string::npos);
  CHECK(log_b.find("with dialback") == std::string::npos);
  CHECK(countLines(log_a, " out ") + countLines(log_b, " out ") > 0);
  bool a_initiated = log_a.find("out a.example -> b.example") != std::string::npos;
  bool b_initiated = log_b.find("out b.example -> a.example") != std::string::npos;
  CHECK(a_initiated != b_initiated);
}

// A raw s2s stream to b.example that authenticates as evil.example with SASL EXTERNAL and its
// certificate (valid: federation in certificate mode trusts the test CA for evil.example).
bool connectAsEvil(RawClient& peer, uint16_t port, const CertificateFiles& evil) {
  const std::string header =
      "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
      "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' "
      "from='evil.example' to='b.example' version='1.0'>";
  if (!peer.connect(port) || !peer.send(header) || !peer.readUntil("</stream:features>")) {
    return false;
  }
  if (!peer.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>") ||
      !peer.readUntil("<proceed") ||
      !peer.handshakeWith("b.example", "xmpp-server", evil.cert, evil.key) || !peer.send(header)) {
    return false;
  }
  auto features = peer.readUntil("</stream:features>");
  if (!features || features->find("<mechanism>EXTERNAL</mechanism>") == std::string::npos) {
    return false;
  }
  return peer.send(
             "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>") &&
         peer.readUntil("<success") && peer.send(header) && peer.readUntil("</stream:features>");
}

TEST_CASE("stanzas from a domain the stream did not authenticate are refused", "[federation]") {
  Federation federation({Auth::Certificates});
  federation.start();
  auto juliet = login(*federation.b, "juliet", "chamber");
  juliet->sendPresence(0);
  REQUIRE(juliet->syncWithServer());
  auto evil = federation.pki->issue("evil.example");

  // A peer that authenticates as evil.example with a valid certificate (nothing it sends
  // before that is accepted: see the dialback test)...
  RawClient peer;
  REQUIRE(connectAsEvil(peer, federation.port_b, evil));
  // ...and then forges a stanza from a.example: a stream error, and juliet gets nothing.
  REQUIRE(
      peer.send("<message from='romeo@a.example/balcony' to='juliet@b.example' "
                "type='chat'><body>forged</body></message>"));
  REQUIRE(peer.readUntil("<invalid-from"));
  CHECK(peer.waitClosed());
  // What evil.example may send still arrives through a new, honest stream; the forged one
  // never does.
  RawClient honest;
  REQUIRE(connectAsEvil(honest, federation.port_b, evil));
  REQUIRE(
      honest.send("<message from='mallory@evil.example/x' to='juliet@b.example' "
                  "type='chat'><body>honest</body></message>"));
  REQUIRE(juliet->waitFor(messageWithBody("honest")) != nullptr);
  CHECK(juliet->pending(messageWithBody("forged")).empty());
  for (const auto& stanza : juliet->received()) CHECK(stanza.body != "forged");
}

TEST_CASE("a stanza over s2s.max_stanza_bytes from a peer is a policy-violation", "[federation]") {
  Federation federation({Auth::Certificates});
  federation.start();
  auto juliet = login(*federation.b, "juliet", "chamber");
  auto evil = federation.pki->issue("evil.example");
  RawClient peer;
  REQUIRE(connectAsEvil(peer, federation.port_b, evil));
  std::string body(600 * 1024, 'x');  // the default limit is 512 KiB
  REQUIRE(peer.send("<message from='mallory@evil.example/x' to='juliet@b.example'><body>" + body +
                    "</body></message>"));
  REQUIRE(peer.readUntil("<policy-violation"));
  CHECK(peer.waitClosed());
  REQUIRE(juliet->syncWithServer());  // b.example and its users carry on
}

TEST_CASE("a forged dialback key is refused by the authoritative server", "[federation]") {
  Federation federation({Auth::Dialback});
  federation.start();
  auto juliet = login(*federation.b, "juliet", "chamber");
  juliet->sendPresence(0);
  REQUIRE(juliet->syncWithServer());
  // Someone claims to be a.example with a key a.example never issued: b.example asks
  // a.example (the authoritative server, found in DNS), which says invalid.
  RawClient peer;
  REQUIRE(peer.connect(federation.port_b));
  const std::string header =
      "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
      "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' "
      "from='a.example' to='b.example' version='1.0'>";
  REQUIRE(peer.send(header));
  REQUIRE(peer.readUntil("</stream:features>"));
  REQUIRE(peer.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"));
  REQUIRE(peer.readUntil("<proceed"));
  REQUIRE(peer.handshakeWith("b.example", "xmpp-server"));
  REQUIRE(peer.send(header));
  auto features = peer.readUntil("</stream:features>");
  REQUIRE(features);
  CHECK(features->find("urn:xmpp:features:dialback") != std::string::npos);
  CHECK(features->find("EXTERNAL") == std::string::npos);  // no certificate, no EXTERNAL
  REQUIRE(
      peer.send("<db:result from='a.example' to='b.example'>"
                "0000000000000000000000000000000000000000000000000000000000000000"
                "</db:result>"));
  auto answer = peer.readUntil("/>", std::chrono::seconds(10));
  REQUIRE(answer);
  CHECK(answer->find("type='invalid'") != std::string::npos);
  REQUIRE(
      peer.send("<message from='romeo@a.example/x' to='juliet@b.example' type='chat'>"
                "<body>forged</body></message>"));
  REQUIRE(peer.readUntil("<not-authorized"));
  CHECK(peer.waitClosed());
  REQUIRE(juliet->syncWithServer());
  CHECK(juliet->pending(messageWithBody("forged")).empty());
}

TEST_CASE("unknown and unreachable domains bounce with the RFC conditions", "[federation]") {
  Federation federation({Auth::Dialback, /*queue_timeout_seconds=*/3});
  REQUIRE(federation.a->start());
  auto romeo = login(*federation.a, "romeo", "balcony");
  auto bounced = [&](const std::string& id) {
    return romeo->waitFor([id](const ReceivedStanza& s) { return s.id == id && s.type == "error"; },
                          std::chrono::seconds(12));
  };
  // No such domain in DNS: remote-server-not-found, at once.
  romeo->sendMessage("someone@nx.example", "hello?", "chat", "nx1");
  const auto* nx = bounced("nx1");
  REQUIRE(nx != nullptr);
  CHECK(errorCondition(*nx) == "remote-server-not-found");
  // Resolved, but nothing listens: remote-server-timeout once the queue window is over.
  romeo->sendMessage("someone@down.example", "anyone there?", "chat", "down1");
  const auto* down = bounced("down1");
  REQUIRE(down != nullptr);
  CHECK(errorCondition(*down) == "remote-server-timeout");
  // b.example is in DNS but not running: the same.
  auto ping = romeo->request(
      "<iq type='get' id='ping-down' to='b.example'><ping xmlns='urn:xmpp:ping'/></iq>",
      "ping-down", std::chrono::seconds(12));
  REQUIRE(ping != nullptr);
  CHECK(errorCondition(*ping) == "remote-server-timeout");
}

TEST_CASE("a peer restarted mid-conversation gets what was sent meanwhile, once", "[federation]") {
  Federation federation({Auth::Dialback, /*queue_timeout_seconds=*/30});
  federation.start();
  auto romeo = login(*federation.a, "romeo", "balcony");
  {
    auto juliet = login(*federation.b, "juliet", "chamber");
    juliet->sendPresence(0);
    REQUIRE(juliet->syncWithServer());  // available before the message arrives
    romeo->sendMessage("juliet@b.example", "before 1");
    REQUIRE(juliet->waitFor(messageWithBody("before 1"), std::chrono::seconds(15)));
    juliet->disconnect();
  }
  // b.example goes down; romeo keeps writing.
  REQUIRE(federation.b->stop() == 0);
  for (int i = 1; i <= 5; ++i)
    romeo->sendMessage("juliet@b.example", "during " + std::to_string(i));
  REQUIRE(romeo->syncWithServer());
  REQUIRE(federation.b->start());
  // The queued messages reach b.example once it is back: live if juliet is online by then,
  // else from offline storage at her login. Either way each exactly once.
  auto juliet = login(*federation.b, "juliet", "chamber");
  juliet->sendPresence(0);
  bool all_there = StropheClient::pumpUntil(
      [&] { return !juliet->pending(messageWithBody("during 5")).empty(); },
      std::chrono::seconds(25));
  INFO("juliet got:\n" << juliet->transcript());
  REQUIRE(all_there);
  REQUIRE(juliet->syncWithServer());
  for (int i = 1; i <= 5; ++i) {
    CHECK(juliet->pending(messageWithBody("during " + std::to_string(i))).size() == 1);
  }
  CHECK(juliet->pending(messageWithBody("before 1")).empty());
  // And the conversation goes on.
  romeo->sendMessage("juliet@b.example", "after");
  REQUIRE(juliet->waitFor(messageWithBody("after"), std::chrono::seconds(15)));
}

TEST_CASE(
    "two local hosts share one stream (dialback multiplexing); static routes; idle streams "
    "close and reopen",
    "[federation]") {
  FederationOptions options;
  options.second_host = true;
  options.b_uses_routes = true;
  options.idle_timeout_seconds = 2;
  Federation federation(options);
  federation.start();
  auto romeo = login(*federation.a, "romeo", "balcony");
  auto juliet = login(*federation.b, "juliet", "chamber");
  juliet->sendPresence(0);
  // romeo opens the stream a.example -> b.example...
  romeo->sendMessage("juliet@b.example", "first");
  REQUIRE(juliet->waitFor(messageWithBody("first"), std::chrono::seconds(15)));
  // ...and a user of a.example's second host writes to juliet too: conf.a.example is
  // authenticated on the same stream by a second db:result, which b.example verifies with
  // conf.a.example, found through its routes alone (its DNS server is dead).
  StropheClient mercutio;
  REQUIRE(mercutio.connect("mercutio@conf.a.example/street", passwordFor("mercutio"),
                           clientOptions(*federation.a)));
  mercutio.sendMessage("juliet@b.example", "from the second host");
  const auto* second =
      juliet->waitFor(messageWithBody("from the second host"), std::chrono::seconds(15));
  REQUIRE(second != nullptr);
  CHECK(bareJid(second->from) == "mercutio@conf.a.example");
  auto log_a = wholeLog(*federation.a);
  CHECK(countLines(log_a, "out a.example -> b.example: connected") == 1);
  CHECK(log_a.find("out a.example -> b.example: conf.a.example authenticated with dialback") !=
        std::string::npos);
  auto log_b = wholeLog(*federation.b);
  CHECK(log_b.find("conf.a.example authenticated with dialback") != std::string::npos);
  // juliet answers both; her answer to the second host rides back on the same stream (bidi).
  juliet->sendMessage(second->from, "hello mercutio");
  REQUIRE(mercutio.waitFor(messageWithBody("hello mercutio"), std::chrono::seconds(15)));

  // Two seconds without stanzas close the streams (whichever side notices first); the next
  // message opens a new one.
  bool closed = StropheClient::pumpUntil(
      [&] {
        return wholeLog(*federation.a).find("out a.example -> b.example: connection closed") !=
               std::string::npos;
      },
      std::chrono::seconds(10));
  CHECK((wholeLog(*federation.a) + wholeLog(*federation.b)).find("idle for 2 s, closing") !=
        std::string::npos);
  CHECK(closed);
  romeo->sendMessage("juliet@b.example", "after a pause");
  REQUIRE(juliet->waitFor(messageWithBody("after a pause"), std::chrono::seconds(15)));
  CHECK(countLines(wholeLog(*federation.a), "out a.example -> b.example: connected") == 2);
}

}  // namespace
}  // namespace parley::integration
