// Unit tests for net TLS: self-signed certs, direct TLS and STARTTLS, SNI, ALPN, channel binding.
#include "net/tls.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/connection.h"
#include "net/listener.h"
#include "net_test_support.h"

namespace parley::net {
namespace {

using namespace std::chrono_literals;

// What the server saw of one TLS connection.
struct TlsSession final : Connection::Handler {
  TlsSession(Loop& loop, Fd fd, const SocketAddress& peer, SSL_CTX* tls_ctx, bool starttls)
      : ctx(tls_ctx) {
    conn = std::make_unique<Connection>(loop, std::move(fd), peer, *this);
    if (starttls) {
      conn->start();
    } else {
      conn->startServerTls(ctx);
    }
  }
  void onData(std::string_view bytes) override {
    if (!conn->isTls() && bytes == "<starttls/>") {
      conn->send("<proceed/>");
      conn->startServerTls(ctx);
      return;
    }
    ++data_calls;
    if (data_calls == 1) reads_at_first_data = conn->stats().reads;
    conn->send(bytes);                             // echo
    if (release_idle) conn->releaseIdleBuffers();  // as a quiet c2s session does
  }
  void onTlsEstablished() override {
    established = true;
    reads_at_established = conn->stats().reads;
    sni = conn->sniHostname();
    alpn = conn->alpnProtocol();
    version = conn->tlsVersion();
    exporter = conn->channelBinding("tls-exporter");
    end_point = conn->channelBinding("tls-server-end-point");
    unique = conn->channelBinding("tls-unique");
  }
  void onClosed(std::string_view reason) override {
    closed_reason = reason;
    if (on_closed) on_closed();
  }

  SSL_CTX* ctx;
  std::unique_ptr<Connection> conn;
  bool established = false;
  std::string sni, alpn, version, closed_reason;
  std::optional<std::string> exporter, end_point, unique;
  std::function<void()> on_closed;
  int data_calls = 0;
  bool release_idle = false;
  uint64_t reads_at_established = 0, reads_at_first_data = 0;
};

// A loop with a listener whose sessions speak TLS; runs until `expected` sessions closed.
struct TlsServer {
  TlsServer(TlsServerContext& tls, bool starttls) {
    auto opened = Listener::open(loop, *SocketAddress::parse("127.0.0.1", 0),
                                 [this, &tls, starttls](Fd fd, const SocketAddress& peer) {
                                   sessions.push_back(std::make_unique<TlsSession>(
                                       loop, std::move(fd), peer, tls.defaultCtx(), starttls));
                                   sessions.back()->release_idle = release_idle;
                                   sessions.back()->on_closed = [this] {
                                     if (++closed == expected) loop.stop();
                                   };
                                 });
    REQUIRE(opened);
    listener = std::move(*opened);
  }
  uint16_t port() const { return listener->port(); }
  bool run(int sessions_expected) {
    expected = sessions_expected;
    return test::runWithWatchdog(loop);
  }

  Loop loop;
  std::unique_ptr<Listener> listener;
  std::vector<std::unique_ptr<TlsSession>> sessions;
  int closed = 0;
  int expected = 1;
  bool release_idle = false;  // sessions free their idle buffers and cipher state after each echo
};

struct Certs {
  Certs() {
    for (const char* domain : {"a.example", "b.example"}) {
      auto r = generateSelfSigned(domain, cert(domain), key(domain));
      REQUIRE(r);
    }
  }
  std::string cert(const std::string& d) const {
    return (dir.path() / "certs" / (d + ".crt")).string();
  }
  std::string key(const std::string& d) const {
    return (dir.path() / "keys" / (d + ".key")).string();
  }
  test::TempDir dir;
};

std::unique_ptr<TlsServerContext> makeContext(const Certs& certs,
                                              std::vector<std::string> domains) {
  auto ctx = TlsServerContext::create({"xmpp-client"});
  REQUIRE(ctx);
  for (const auto& d : domains) {
    auto r = (*ctx)->addCertificate(d, certs.cert(d), certs.key(d));
    REQUIRE(r);
  }
  return std::move(*ctx);
}

TEST_CASE("generateSelfSigned writes a usable certificate and a private key file", "[net][tls]") {
  test::TempDir dir;
  auto cert = dir.path() / "deep" / "dir" / "example.org.crt";
  auto key = dir.path() / "keys" / "example.org.key";
  REQUIRE(generateSelfSigned("example.org", cert, key));
  struct stat st {};
  REQUIRE(::stat(key.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto ctx = TlsServerContext::create({});
  REQUIRE(ctx);
  CHECK((*ctx)->addCertificate("example.org", cert, key));
  CHECK((*ctx)->hasCertificate());

  X509* x = nullptr;
  FILE* f = std::fopen(cert.c_str(), "r");
  REQUIRE(f != nullptr);
  x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  REQUIRE(x != nullptr);
  CHECK(X509_check_host(x, "example.org", 0, 0, nullptr) == 1);
  CHECK(X509_check_host(x, "conference.example.org", 0, 0, nullptr) == 1);
  CHECK(X509_check_host(x, "example.com", 0, 0, nullptr) != 1);
  CHECK(X509_cmp_current_time(X509_get0_notAfter(x)) > 0);
  X509_free(x);
}

TEST_CASE("generateSelfSigned and addCertificate report errors", "[net][tls]") {
  test::TempDir dir;
  SECTION("bad domains") {
    auto domain = GENERATE(as<std::string>{}, "", "a,b", "a b", "../x");
    CHECK_FALSE(generateSelfSigned(domain, dir.path() / "c.crt", dir.path() / "c.key"));
  }
  SECTION("unwritable path") {
    std::ofstream(dir.path() / "file") << "x";
    auto r = generateSelfSigned("x.example", dir.path() / "file" / "c.crt", dir.path() / "c.key");
    CHECK_FALSE(r);
  }
  SECTION("missing files and mismatched keys") {
    REQUIRE(generateSelfSigned("a.example", dir.path() / "a.crt", dir.path() / "a.key"));
    REQUIRE(generateSelfSigned("b.example", dir.path() / "b.crt", dir.path() / "b.key"));
    auto ctx = TlsServerContext::create({"xmpp-client"});
    REQUIRE(ctx);
    auto missing =
        (*ctx)->addCertificate("a.example", dir.path() / "nope.crt", dir.path() / "a.key");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message.find("certificate for a.example") != std::string::npos);
    auto mismatch = (*ctx)->addCertificate("a.example", dir.path() / "a.crt", dir.path() / "b.key");
    REQUIRE_FALSE(mismatch);
    CHECK_FALSE((*ctx)->hasCertificate());
  }
  SECTION("bad ALPN") { CHECK_FALSE(TlsServerContext::create({""})); }
}

TEST_CASE("Direct TLS: handshake, echo, ALPN, channel bindings match the client's", "[net][tls]") {
  Certs certs;
  auto tls = makeContext(certs, {"a.example"});
  TlsServer server(*tls, /*starttls=*/false);
  std::string echoed, client_exporter, client_cert_hash, client_alpn;
  long verify = -1;
  std::thread client([&, port = server.port()] {
    int fd = test::connectLoopback(port);
    if (fd < 0) return;  // no Catch macros off the main thread
    test::TlsTestClient c(certs.cert("a.example"), "a.example", {"xmpp-client"}, "a.example");
    if (c.handshake(fd)) {
      verify = c.verifyResult();
      client_exporter = c.exporter();
      client_cert_hash = c.peerCertSha256();
      client_alpn = c.alpn();
      c.write("<stream:stream>");
      echoed = c.read(15);
      c.shutdown();
    }
    ::close(fd);
  });
  REQUIRE(server.run(1));
  client.join();
  REQUIRE(server.sessions.size() == 1);
  auto& s = *server.sessions[0];
  CHECK(verify == X509_V_OK);
  CHECK(echoed == "<stream:stream>");
  CHECK(s.established);
  CHECK(s.conn->isTlsEstablished());
  CHECK(s.version == "TLSv1.3");
  CHECK(s.conn->usesOwnTlsRecords());  // OpenSSL's SSL freed after the handshake
  CHECK(s.conn->tlsVersion() == "TLSv1.3");
  CHECK(s.sni == "a.example");
  CHECK(s.alpn == "xmpp-client");
  CHECK(client_alpn == "xmpp-client");
  REQUIRE(s.exporter);
  CHECK(s.exporter->size() == 32);
  CHECK(*s.exporter == client_exporter);
  REQUIRE(s.end_point);
  CHECK(*s.end_point == client_cert_hash);  // ecdsa-with-SHA256 -> SHA-256
  CHECK_FALSE(s.unique);
  CHECK_FALSE(s.conn->channelBinding("bogus"));
  CHECK(s.closed_reason == "peer closed the TLS stream");
}

TEST_CASE("TLS 1.2 with extended master secret also offers tls-exporter", "[net][tls]") {
  Certs certs;
  auto tls = makeContext(certs, {"a.example"});
  TlsServer server(*tls, false);
  std::string client_exporter;
  std::thread client([&, port = server.port()] {
    int fd = test::connectLoopback(port);
    if (fd < 0) return;  // no Catch macros off the main thread
    test::TlsTestClient c("", "a.example", {});
    c.setMaxVersion(TLS1_2_VERSION);
    if (c.handshake(fd)) {
      client_exporter = c.exporter();
      c.write("x");
      c.read(1);
    }
    ::close(fd);
  });
  REQUIRE(server.run(1));
  client.join();
  auto& s = *server.sessions[0];
  CHECK(s.version == "TLSv1.2");
  CHECK_FALSE(s.conn->usesOwnTlsRecords());  // TLS 1.2 stays with OpenSSL
  REQUIRE(s.exporter);
  CHECK(*s.exporter == client_exporter);
  CHECK(s.alpn.empty());  // client sent no ALPN: accepted anyway
}

TEST_CASE("SNI picks the certificate; ALPN is lenient", "[net][tls]") {
  struct Case {
    std::string sni;
    std::vector<std::string> alpn;
    std::string expect_cert;  // the name the served certificate must carry
    std::string expect_alpn;
  };
  const std::vector<Case> cases = {
      {"a.example", {"xmpp-client"}, "a.example", "xmpp-client"},
      {"b.example", {"xmpp-client"}, "b.example", "xmpp-client"},
      {"B.Example", {}, "b.example", ""},                                    // case-insensitive
      {"muc.b.example", {"h2", "xmpp-client"}, "b.example", "xmpp-client"},  // wildcard SAN
      {"", {"h2"}, "a.example", ""},                                         // no SNI: default
      {"unknown.org", {"xmpp-server"}, "a.example", ""},                     // unknown: default
  };
  Certs certs;
  auto tls = makeContext(certs, {"a.example", "b.example"});
  TlsServer server(*tls, false);
  std::vector<std::string> served(cases.size()), alpn(cases.size()), echo(cases.size());
  std::thread client([&, port = server.port()] {
    for (size_t i = 0; i < cases.size(); ++i) {
      int fd = test::connectLoopback(port);
      if (fd < 0) return;  // no Catch macros off the main thread
      test::TlsTestClient c("", cases[i].sni, cases[i].alpn);
      if (c.handshake(fd)) {
        for (const char* d : {"a.example", "b.example"}) {
          if (c.peerCertMatches(d)) served[i] = d;
        }
        alpn[i] = c.alpn();
        c.write("hi");
        echo[i] = c.read(2);
      }
      ::close(fd);
    }
  });
  REQUIRE(server.run(static_cast<int>(cases.size())));
  client.join();
  REQUIRE(server.sessions.size() == cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    CAPTURE(cases[i].sni);
    CHECK(served[i] == cases[i].expect_cert);
    CHECK(alpn[i] == cases[i].expect_alpn);
    CHECK(server.sessions[i]->alpn == cases[i].expect_alpn);
    CHECK(echo[i] == "hi");
    CHECK(server.sessions[i]->conn->usesOwnTlsRecords());  // whichever context SNI chose
    std::string lower = cases[i].sni;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    CHECK(server.sessions[i]->sni == lower);
  }
}

TEST_CASE("STARTTLS: <proceed/> goes out in plaintext, then the handshake", "[net][tls]") {
  Certs certs;
  auto tls = makeContext(certs, {"a.example"});
  TlsServer server(*tls, /*starttls=*/true);
  std::string proceed, echoed;
  bool handshake_ok = false;
  std::thread client([&, port = server.port()] {
    int fd = test::connectLoopback(port);
    if (fd < 0) return;  // no Catch macros off the main thread
    test::writeAll(fd, "<starttls/>");
    proceed = test::readExactly(fd, 10);
    test::TlsTestClient c(certs.cert("a.example"), "a.example", {}, "a.example");
    handshake_ok = c.handshake(fd);
    if (handshake_ok) {
      c.write("secret");
      echoed = c.read(6);
    }
    ::close(fd);
  });
  REQUIRE(server.run(1));
  client.join();
  CHECK(proceed == "<proceed/>");
  CHECK(handshake_ok);
  CHECK(echoed == "secret");
  CHECK(server.sessions[0]->established);
}

TEST_CASE("TLS: large transfers survive partial writes", "[net][tls]") {
  Certs certs;
  auto tls = makeContext(certs, {"a.example"});
  TlsServer server(*tls, false);
  std::string payload;
  for (size_t i = 0; i < 3 * 1024 * 1024; ++i) payload.push_back(static_cast<char>('a' + i % 26));
  std::string echoed;
  std::thread client([&, port = server.port()] {
    int fd = test::connectLoopback(port);
    if (fd < 0) return;  // no Catch macros off the main thread
    test::TlsTestClient c("", "a.example", {});
    if (c.handshake(fd)) {
      c.write(payload);  // the server buffers its echo meanwhile
      echoed = c.read(payload.size());
    }
    ::close(fd);
  });
  REQUIRE(server.run(1));
  client.join();
  CHECK(echoed.size() == payload.size());
  CHECK(echoed == payload);
}

TEST_CASE("TLS: records that arrive together take one read() and one onData", "[net][tls]") {
  Certs certs;
  auto tls = makeContext(certs, {"a.example"});
  TlsServer server(*tls, false);
  std::vector<std::string> stanzas;
  std::string all;
  for (int i = 0; i < 50; ++i) {
    stanzas.push_back("<message id='" + std::to_string(i) +
                      "'><body>hi \xF0\x9F\x98\x80</body></message>");
    all += stanzas.back();
  }
  std::string echoed;
  std::thread client([&, port = server.port()] {
    int fd = test::connectLoopback(port);
    if (fd < 0) return;  // no Catch macros off the main thread
    test::TlsTestClient c("", "a.example", {});
    if (c.handshake(fd) && c.writeRecordsAtOnce(fd, stanzas)) {
      echoed = c.read(all.size());
      c.shutdown();
    }
    ::close(fd);
  });
  REQUIRE(server.run(1));
  client.join();
  auto& s = *server.sessions[0];
  CHECK(echoed == all);
  CHECK(s.data_calls == 1);  // fifty records, decrypted into one piece
  // The client's Finished may come in the same read() as the records, or just before them.
  CHECK(s.reads_at_first_data - s.reads_at_established <= 1);
  CHECK(s.closed_reason == "peer closed the TLS stream");
}

TEST_CASE("TLS 1.3: KeyUpdate both ways, also after the session released its idle buffers",
          "[net][tls]") {
  Certs certs;
  auto tls = makeContext(certs, {"a.example"});
  TlsServer server(*tls, false);
  std::vector<std::string> echoed;
  bool updated = true;
  std::thread client([&, port = server.port()] {
    int fd = test::connectLoopback(port);
    if (fd < 0) return;  // no Catch macros off the main thread
    test::TlsTestClient c("", "a.example", {});
    if (c.handshake(fd)) {
      for (int i = 0; i < 3; ++i) {
        // The server reads with our next keys, answers with its own KeyUpdate, then echoes
        // under its next keys: a read succeeds only if every step was right.
        std::string ping = "<ping n='" + std::to_string(i) + "'/>";
        updated = updated && c.requestKeyUpdate();
        c.write(ping);
        echoed.push_back(c.read(ping.size()));
      }
      c.shutdown();
    }
    ::close(fd);
  });
  server.release_idle = true;
  REQUIRE(server.run(1));
  client.join();
  auto& s = *server.sessions[0];
  CHECK(updated);
  CHECK(echoed == std::vector<std::string>{"<ping n='0'/>", "<ping n='1'/>", "<ping n='2'/>"});
  CHECK(s.conn->usesOwnTlsRecords());
  CHECK(s.closed_reason == "peer closed the TLS stream");
}

TEST_CASE("TLS 1.3: a resumed session's records are ours too", "[net][tls]") {
  Certs certs;
  auto tls = makeContext(certs, {"a.example"});
  TlsServer server(*tls, false);
  std::vector<std::string> echoed(2);
  std::vector<bool> resumed(2);
  std::thread client([&, port = server.port()] {
    SSL_SESSION* session = nullptr;
    for (size_t i = 0; i < 2; ++i) {
      int fd = test::connectLoopback(port);
      if (fd < 0) break;  // no Catch macros off the main thread
      test::TlsTestClient c("", "a.example", {});
      if (session != nullptr) c.resume(session);
      if (c.handshake(fd)) {
        c.write("<r/>");
        echoed[i] = c.read(4);  // the ticket came before it
        resumed[i] = c.resumed();
        if (session == nullptr) session = c.session();
        c.shutdown();
      }
      ::close(fd);
    }
    SSL_SESSION_free(session);
  });
  REQUIRE(server.run(2));
  client.join();
  CHECK(echoed == std::vector<std::string>{"<r/>", "<r/>"});
  CHECK(resumed == std::vector<bool>{false, true});
  REQUIRE(server.sessions.size() == 2);
  CHECK(server.sessions[0]->conn->usesOwnTlsRecords());
  CHECK(server.sessions[1]->conn->usesOwnTlsRecords());
}

TEST_CASE("TLS 1.3: a tampered record ends the connection with bad_record_mac", "[net][tls]") {
  Certs certs;
  auto tls = makeContext(certs, {"a.example"});
  TlsServer server(*tls, false);
  std::string first;
  int reason = 0;
  std::thread client([&, port = server.port()] {
    int fd = test::connectLoopback(port);
    if (fd < 0) return;  // no Catch macros off the main thread
    test::TlsTestClient c("", "a.example", {});
    if (c.handshake(fd)) {
      c.write("<a/>");
      first = c.read(4);
      c.writeTampered(fd, "<b/>");
      reason = c.readFailureReason();
    }
    ::close(fd);
  });
  REQUIRE(server.run(1));
  client.join();
  CHECK(first == "<a/>");
  CHECK(reason == SSL_AD_REASON_OFFSET + SSL_AD_BAD_RECORD_MAC);  // the alert reached it
  CHECK(server.sessions[0]->data_calls == 1);
  CHECK(server.sessions[0]->closed_reason == "TLS error: record failed authentication");
}

TEST_CASE("TLS: a client that is not speaking TLS fails the handshake", "[net][tls]") {
  Certs certs;
  auto tls = makeContext(certs, {"a.example"});
  TlsServer server(*tls, false);
  std::thread client([port = server.port()] {
    int fd = test::connectLoopback(port);
    if (fd < 0) return;  // no Catch macros off the main thread
    test::writeAll(fd, "<?xml version='1.0'?><stream:stream to='a.example'>\n");
    char buf[256];
    while (::read(fd, buf, sizeof buf) > 0) {
    }
    ::close(fd);
  });
  REQUIRE(server.run(1));
  client.join();
  CHECK_FALSE(server.sessions[0]->established);
  CHECK(server.sessions[0]->closed_reason.rfind("TLS handshake failed", 0) == 0);
}

}  // namespace
}  // namespace parley::net
