// Unit tests for outgoing connections: Connector, client-side TLS (STARTTLS and direct), client
// certificates both ways, as an s2s stream uses them.
#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "net/connection.h"
#include "net/connector.h"
#include "net/listener.h"
#include "net/peer_identity.h"
#include "net/tls.h"
#include "net_test_support.h"

namespace parley::net {
namespace {

using namespace std::chrono_literals;

// One end of a test connection: records what it saw, echoes nothing.
struct Peer final : Connection::Handler {
  void onData(std::string_view bytes) override {
    received.append(bytes);
    if (on_data) on_data(bytes);
  }
  void onClosed(std::string_view reason) override {
    closed = true;
    closed_reason = reason;
    if (on_closed) on_closed();
  }
  void onTlsEstablished() override {
    established = true;
    if (on_tls) on_tls();
  }

  std::unique_ptr<Connection> conn;
  std::string received;
  bool established = false;
  bool closed = false;
  std::string closed_reason;
  std::function<void(std::string_view)> on_data;
  std::function<void()> on_tls;
  std::function<void()> on_closed;
};

struct Certs {
  Certs() {
    for (const char* domain : {"a.example", "b.example"}) {
      REQUIRE(generateSelfSigned(domain, cert(domain), key(domain)));
    }
  }
  std::string cert(const std::string& d) const { return (dir.path() / (d + ".crt")).string(); }
  std::string key(const std::string& d) const { return (dir.path() / (d + ".key")).string(); }
  test::TempDir dir;
};

TEST_CASE("Connector: connects, and the socket carries data", "[net][connector]") {
  Loop loop;
  Peer server;
  auto listener = Listener::open(
      loop, *SocketAddress::parse("127.0.0.1", 0), [&](Fd fd, const SocketAddress& from) {
        server.conn = std::make_unique<Connection>(loop, std::move(fd), from, server);
        server.conn->start();
      });
  REQUIRE(listener);
  Peer client;
  bool called_inside_start = true;
  auto target = *SocketAddress::parse("127.0.0.1", (*listener)->port());
  auto connector = Connector::start(loop, target, 2s, [&](Result<Fd, std::string> fd) {
    REQUIRE(fd);
    client.conn = std::make_unique<Connection>(loop, std::move(*fd), target, client);
    client.conn->start();
    client.conn->send("hello");
  });
  called_inside_start = client.conn != nullptr;
  server.on_data = [&](std::string_view) {
    if (server.received == "hello") loop.stop();
  };
  REQUIRE(test::runWithWatchdog(loop));
  CHECK_FALSE(called_inside_start);
  CHECK(server.received == "hello");
}

TEST_CASE("Connector: a refused connection is an error value", "[net][connector]") {
  Loop loop;
  uint16_t closed_port = 0;
  {
    auto listener = Listener::open(loop, *SocketAddress::parse("127.0.0.1", 0), [](Fd, auto&) {});
    REQUIRE(listener);
    closed_port = (*listener)->port();
  }
  std::string error;
  auto connector = Connector::start(loop, *SocketAddress::parse("127.0.0.1", closed_port), 2s,
                                    [&](Result<Fd, std::string> fd) {
                                      REQUIRE_FALSE(fd);
                                      error = fd.error();
                                      loop.stop();
                                    });
  REQUIRE(test::runWithWatchdog(loop));
  CHECK(error == "Connection refused");
}

TEST_CASE("Connector: destroying it cancels the callback", "[net][connector]") {
  Loop loop;
  auto listener = Listener::open(loop, *SocketAddress::parse("127.0.0.1", 0), [](Fd, auto&) {});
  REQUIRE(listener);
  bool called = false;
  auto connector = Connector::start(loop, *SocketAddress::parse("127.0.0.1", (*listener)->port()),
                                    2s, [&](Result<Fd, std::string>) { called = true; });
  connector.reset();
  loop.addTimer(100ms, [&] { loop.stop(); });
  REQUIRE(test::runWithWatchdog(loop));
  CHECK_FALSE(called);
}

// A server stream that asks for client certificates (s2s) and a client that presents one.
struct TlsPair {
  TlsPair(const Certs& certs, bool starttls) {
    auto server_ctx =
        TlsServerContext::create({"xmpp-server"}, TlsServerContext::ClientCertificates::Request);
    REQUIRE(server_ctx);
    server_tls = std::move(*server_ctx);
    REQUIRE(
        server_tls->addCertificate("b.example", certs.cert("b.example"), certs.key("b.example")));
    auto client_ctx =
        TlsClientContext::create({"xmpp-server"}, certs.cert("a.example"), certs.key("a.example"));
    REQUIRE(client_ctx);
    client_tls = std::move(*client_ctx);

    auto opened = Listener::open(
        loop, *SocketAddress::parse("127.0.0.1", 0), [this, starttls](Fd fd, auto& from) {
          server.conn = std::make_unique<Connection>(loop, std::move(fd), from, server);
          if (starttls) {
            server.conn->start();
          } else {
            server.conn->startServerTls(server_tls->defaultCtx());
          }
        });
    REQUIRE(opened);
    listener = std::move(*opened);
    target = *SocketAddress::parse("127.0.0.1", listener->port());
  }

  Loop loop;
  std::unique_ptr<TlsServerContext> server_tls;
  std::unique_ptr<TlsClientContext> client_tls;
  std::unique_ptr<Listener> listener;
  SocketAddress target;
  Peer server, client;
};

TEST_CASE("Client TLS: direct TLS with SNI, ALPN and certificates both ways", "[net][tls]") {
  Certs certs;
  TlsPair pair(certs, /*starttls=*/false);
  auto connector = Connector::start(pair.loop, pair.target, 2s, [&](Result<Fd, std::string> fd) {
    REQUIRE(fd);
    pair.client.conn =
        std::make_unique<Connection>(pair.loop, std::move(*fd), pair.target, pair.client);
    pair.client.conn->startClientTls(pair.client_tls->ctx(), "b.example");
    pair.client.conn->send("queued before the handshake");
  });
  pair.server.on_data = [&](std::string_view) {
    if (pair.server.received == "queued before the handshake") pair.loop.stop();
  };
  REQUIRE(test::runWithWatchdog(pair.loop));
  REQUIRE(pair.client.established);
  REQUIRE(pair.server.established);
  CHECK(pair.server.conn->sniHostname() == "b.example");
  CHECK(pair.server.conn->alpnProtocol() == "xmpp-server");
  CHECK(pair.client.conn->alpnProtocol() == "xmpp-server");

  // Each side sees the other's certificate, leaf first, for the s2s checks.
  auto server_sees = pair.server.conn->peerCertificates();
  REQUIRE(sk_X509_num(server_sees.get()) == 1);
  CHECK(certificateMatchesDomain(sk_X509_value(server_sees.get(), 0), "a.example") ==
        IdentityResult::Match);
  auto client_sees = pair.client.conn->peerCertificates();
  REQUIRE(sk_X509_num(client_sees.get()) == 1);
  CHECK(certificateMatchesDomain(sk_X509_value(client_sees.get(), 0), "b.example") ==
        IdentityResult::Match);
  auto pinned = TrustStore::fromFile(certs.cert("b.example"));
  REQUIRE(pinned);
  CHECK(verifyPeerChain(client_sees.get(), *pinned));
  auto other = TrustStore::fromFile(certs.cert("a.example"));
  REQUIRE(other);
  CHECK_FALSE(verifyPeerChain(client_sees.get(), *other));
}

TEST_CASE("Client TLS: STARTTLS sends the plaintext first, then the ClientHello", "[net][tls]") {
  Certs certs;
  TlsPair pair(certs, /*starttls=*/true);
  pair.server.on_data = [&](std::string_view) {
    if (!pair.server.conn->isTls() && pair.server.received == "<starttls/>") {
      pair.server.received.clear();
      pair.server.conn->send("<proceed/>");
      pair.server.conn->startServerTls(pair.server_tls->defaultCtx());
    } else if (pair.server.received == "<stream>") {
      pair.loop.stop();
    }
  };
  pair.client.on_data = [&](std::string_view) {
    if (pair.client.received == "<proceed/>" && !pair.client.conn->isTls()) {
      pair.client.conn->startClientTls(pair.client_tls->ctx(), "127.0.0.1");  // no SNI for IPs
      pair.client.conn->send("<stream>");
    }
  };
  auto connector = Connector::start(pair.loop, pair.target, 2s, [&](Result<Fd, std::string> fd) {
    REQUIRE(fd);
    pair.client.conn =
        std::make_unique<Connection>(pair.loop, std::move(*fd), pair.target, pair.client);
    pair.client.conn->start();
    pair.client.conn->send("<starttls/>");
  });
  REQUIRE(test::runWithWatchdog(pair.loop));
  CHECK(pair.server.established);
  CHECK(pair.server.conn->sniHostname().empty());
  CHECK(sk_X509_num(pair.server.conn->peerCertificates().get()) == 1);
}

TEST_CASE("Client TLS: no certificates before the handshake or without TLS", "[net][tls]") {
  Certs certs;
  TlsPair pair(certs, /*starttls=*/true);
  auto connector = Connector::start(pair.loop, pair.target, 2s, [&](Result<Fd, std::string> fd) {
    REQUIRE(fd);
    pair.client.conn =
        std::make_unique<Connection>(pair.loop, std::move(*fd), pair.target, pair.client);
    pair.client.conn->start();
    auto chain = pair.client.conn->peerCertificates();
    REQUIRE(chain != nullptr);
    CHECK(sk_X509_num(chain.get()) == 0);
    pair.loop.stop();
  });
  REQUIRE(test::runWithWatchdog(pair.loop));
}

}  // namespace
}  // namespace parley::net
