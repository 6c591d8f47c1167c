// One simulated XMPP client of the load generator, as a real one behaves: TCP, STARTTLS,
// SASL SCRAM-SHA-1, resource binding, roster get, initial presence; or XEP-0077 sign-up.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "net/connection.h"
#include "net/connector.h"
#include "net/loop.h"
#include "net/tls13_records.h"
#include "scram_client.h"
#include "tls13_client.h"
#include "xml/stream_parser.h"

namespace parley::bench {

struct ClientSettings {
  net::SocketAddress server;
  std::string domain;
  SSL_CTX* tls = nullptr;  // client context, no verification (the servers' certificates are ours)
  ServerKeyCache* server_keys = nullptr;  // set: our own TLS 1.3 client instead of `tls`
  SaltedPasswordCache* cache = nullptr;
  std::chrono::milliseconds connect_timeout{10000};
};

class BenchClient;

// What a scenario hears from its clients; all on the loop thread.
struct ClientEvents {
  std::function<void(BenchClient&)> online;      // logged in, roster fetched, presence sent
  std::function<void(BenchClient&)> registered;  // signed up (or the account existed)
  std::function<void(BenchClient&, const std::string& why)> failed;
  std::function<void(BenchClient&, const xml::Element& message)> message;
  std::function<void(BenchClient&)> closed;  // the connection is gone (after failed, too)
};

// Lives on its loop thread. The scenario owns it; it may be destroyed only after closed().
class BenchClient final : net::Connection::Handler, xml::StreamHandler {
 public:
  enum class Goal { Login, Register };

  BenchClient(net::Loop& loop, const ClientSettings& settings, const ClientEvents& events,
              size_t index, std::string user, std::string password,
              const net::SocketAddress* source);
  ~BenchClient() override;

  void start(Goal goal);
  // Queues raw XML (written at the end of the loop turn).
  void send(std::string_view xml);
  // Ends the stream with </stream:stream>; closed() follows.
  void close();

  size_t index() const { return index_; }
  const std::string& user() const { return user_; }
  bool isOnline() const { return state_ == State::Online; }
  bool isClosed() const { return state_ == State::Closed; }
  // When start() was called and when the login completed (steady clock).
  std::chrono::steady_clock::time_point startedAt() const { return started_; }
  std::chrono::steady_clock::time_point onlineAt() const { return online_at_; }

 private:
  enum class State {
    Idle,
    Connecting,
    AwaitingHeader,
    AwaitingFeatures,
    StartingTls,
    Registering,
    Authenticating,
    Binding,
    FetchingRoster,
    Online,
    Closing,
    Closed,
  };

  // net::Connection::Handler
  void onData(std::string_view bytes) override;
  void onClosed(std::string_view reason) override;
  // xml::StreamHandler
  void onStreamOpen(const xml::Element& header) override;
  void onStanza(std::unique_ptr<xml::Element> stanza) override;
  void onStreamClose() override;

  void onConnected(net::Fd fd);
  void openStream();
  void onTlsBytes(std::string_view bytes);
  void onFeatures(const xml::Element& features);
  void onSasl(const xml::Element& element);
  void onIq(const xml::Element& iq);
  void fail(const std::string& why);

  net::Loop& loop_;
  const ClientSettings& settings_;
  const ClientEvents& events_;
  size_t index_;
  std::string user_, password_;
  const net::SocketAddress* source_;
  Goal goal_ = Goal::Login;
  State state_ = State::Idle;
  bool tls_ = false;
  bool authenticated_ = false;
  std::unique_ptr<net::Connector> connector_;
  std::unique_ptr<net::Connection> connection_;
  xml::StreamParser parser_;
  std::unique_ptr<ScramSha1Client> scram_;
  // Our own TLS (settings_.server_keys): the handshake, then the record layer over the plain
  // connection.
  std::unique_ptr<Tls13ClientHandshake> handshake_;
  std::unique_ptr<net::Tls13Records> records_;
  std::string tls_in_, sealed_, opened_;
  std::chrono::steady_clock::time_point started_, online_at_;
};

}  // namespace parley::bench
