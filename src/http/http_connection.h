// One HTTP/1.1 client connection (plain or TLS) on its worker: keep-alive, pipelined requests
// answered in order and one at a time, the request and keep-alive timeouts, 100-continue, and
// the hand-over of the connection on a protocol upgrade (WebSocket).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "c2s/ip_limits.h"
#include "core/server.h"
#include "core/session.h"
#include "http/exchange.h"
#include "http/request_parser.h"
#include "net/connection.h"

namespace parley::http {

// What every HTTP connection of the server shares. Built by HttpService before the workers
// start, then read-only (ip_limits is thread-safe).
struct HttpShared {
  core::Server& server;
  SSL_CTX* tls_ctx = nullptr;  // per-host certificates by SNI; owned by the service
  c2s::IpLimits ip_limits;     // http.max_connections_per_ip
  RequestParser::Limits limits;
  std::chrono::milliseconds request_timeout;
  std::chrono::milliseconds keepalive_timeout;
  // The body limit of the route a request goes to, and the dispatch itself (HttpService). Both
  // run on the connection's worker.
  RequestParser::BodyLimit body_limit;
  RequestParser::HeadCheck head_check;
  std::function<void(const std::shared_ptr<Exchange>& exchange)> dispatch;
};

class ConnectionExchange;

// Lives on its worker thread; never shared. Owned by the worker's session table, as a
// core::Session without a JID (the router never delivers to it), so Server::shutdown closes it.
class HttpConnection final : public core::Session, private net::Connection::Handler {
 public:
  HttpConnection(HttpShared& shared, core::Worker& worker, net::Fd fd, net::SocketAddress peer,
                 bool tls);
  ~HttpConnection() override;

  void start();

  // core::Session: nothing is routed to an HTTP connection; shutdown closes it.
  bool deliver(const xmpp::StanzaPtr& /*stanza*/) override { return false; }
  void sendStanza(const xml::Element& /*stanza*/) override {}
  void closeWithStreamError(xmpp::StreamErrorCondition condition,
                            std::string_view text = {}) override;
  const xmpp::FullJid* jid() const override { return nullptr; }
  std::string peerIp() const override { return ip_; }

  // For the exchange of the request being answered (same thread). Ignored for any other.
  void respond(const ConnectionExchange& exchange, core::HttpResponse response);
  void upgrade(const ConnectionExchange& exchange, core::HttpResponse response,
               Exchange::Takeover take);

 private:
  // net::Connection::Handler
  void onData(std::string_view bytes) override;
  void onClosed(std::string_view reason) override;
  void onOutputDrained() override;
  void continueLater();

  void processInput();
  void dispatch(ParsedRequest parsed);
  void refuse(const RequestError& error);
  void send(const core::HttpResponse& response, bool head, bool close);
  void closeConnection();
  void abortExchange();
  void updateTimers();
  void onRequestTimeout();
  std::string logPrefix() const;

  HttpShared& shared_;
  core::Worker& worker_;
  std::unique_ptr<net::Connection> connection_;
  RequestParser parser_;
  std::string input_;  // bytes read but not parsed yet (pipelined requests wait here)
  std::shared_ptr<ConnectionExchange> current_;  // the request being answered
  bool current_keep_alive_ = true;
  bool current_upgrade_ = false;
  bool closing_ = false;  // a final response went out, or the connection is closing
  bool closed_ = false;   // onClosed ran, or the connection was handed over
  bool tls_ = false;
  bool counted_ = false;      // counts against http.max_connections_per_ip
  bool dispatching_ = false;  // inside the handler called by dispatch()
  unsigned requests_ = 0;
  net::Loop::TimerId request_timer_ = 0;
  net::Loop::TimerId idle_timer_ = 0;
  std::string ip_;
};

// The exchange for one request on an HttpConnection; what handlers get.
class ConnectionExchange final : public Exchange {
 public:
  ConnectionExchange(core::Worker& worker, core::SessionRef connection, core::HttpRequest request)
      : worker_(worker), connection_(connection), request_(std::move(request)) {}

  const core::HttpRequest& request() const override { return request_; }
  core::Worker& worker() override { return worker_; }
  void respond(core::HttpResponse response) override;
  bool isOpen() const override { return !answered_ && !aborted_; }
  void onAbort(std::function<void()> fn) override { on_abort_ = std::move(fn); }
  void upgrade(core::HttpResponse response, Takeover take) override;

  // HttpConnection: the answer went out, or the client went away first.
  void markAnswered() { answered_ = true; }
  void abort();

 private:
  HttpConnection* connection() const;

  core::Worker& worker_;
  core::SessionRef connection_;
  core::HttpRequest request_;
  std::function<void()> on_abort_;
  bool answered_ = false;
  bool aborted_ = false;
};

// Creates the connection for an accepted socket and hands it to its worker.
void acceptHttp(HttpShared& shared, core::Worker& worker, net::Fd fd,
                const net::SocketAddress& peer, bool tls);

}  // namespace parley::http
