// HTTP/1.1 connections: parse, dispatch one request at a time, answer in order, time out.
#include "http/http_connection.h"

#include <exception>

#include "http/response_writer.h"
#include "util/log.h"

namespace parley::http {
namespace {

// Past this much unparsed input (pipelined requests waiting for a slow answer), stop reading
// until the answer went out: TCP backpressure then holds the client.
size_t maxBufferedInput(const RequestParser::Limits& limits) {
  return limits.max_header_bytes + limits.max_target_bytes + 65536;
}

}  // namespace

// ---- ConnectionExchange ----

HttpConnection* ConnectionExchange::connection() const {
  // Session ids are never reused, so the handle finds this exchange's connection or nothing.
  return static_cast<HttpConnection*>(worker_.find(connection_));
}

void ConnectionExchange::respond(core::HttpResponse response) {
  if (!isOpen()) return;
  if (auto* connection = this->connection()) connection->respond(*this, std::move(response));
}

void ConnectionExchange::upgrade(core::HttpResponse response, Takeover take) {
  if (!isOpen()) return;
  if (auto* connection = this->connection()) {
    connection->upgrade(*this, std::move(response), std::move(take));
  }
}

void ConnectionExchange::abort() {
  if (!isOpen()) return;
  aborted_ = true;
  if (auto fn = std::move(on_abort_)) fn();
}

// ---- HttpConnection ----

HttpConnection::HttpConnection(HttpShared& shared, core::Worker& worker, net::Fd fd,
                               net::SocketAddress peer, bool tls)
    : shared_(shared),
      worker_(worker),
      connection_(std::make_unique<net::Connection>(worker.loop(), std::move(fd), std::move(peer),
                                                    static_cast<net::Connection::Handler&>(*this))),
      parser_(shared.limits, shared.body_limit, shared.head_check),
      tls_(tls) {
  ip_ = connection_->peer().ip();
  counted_ = shared_.ip_limits.tryOpen(ip_);
}

HttpConnection::~HttpConnection() {
  worker_.loop().cancelTimer(request_timer_);
  worker_.loop().cancelTimer(idle_timer_);
  if (counted_) shared_.ip_limits.closed(ip_);
}

void HttpConnection::start() {
  if (tls_) {
    connection_->startServerTls(shared_.tls_ctx);
  } else {
    connection_->start();
  }
  updateTimers();  // the first request must arrive within request_timeout
}

std::string HttpConnection::logPrefix() const {
  return "http#" + std::to_string(ref().id) + " " + ip_;
}

void HttpConnection::onData(std::string_view bytes) {
  if (closing_ || closed_) return;
  if (!counted_) {
    return refuse({503, "too many connections from your address"});
  }
  // The header section must arrive within request_timeout; a body (an upload on a slow
  // uplink) only must not stall that long: each piece of it restarts the clock.
  bool body_progress = parser_.isInBody();
  input_.append(bytes);
  processInput();
  if (body_progress && parser_.isInBody() && request_timer_ != 0) {
    worker_.loop().cancelTimer(request_timer_);
    request_timer_ = 0;
    updateTimers();
  }
}

// Parses and dispatches what is buffered while no request is being answered. A handler that
// answers at once comes back through respond(), which continues here.
void HttpConnection::processInput() {
  // A client that pipelines requests but does not read the answers waits for them to drain
  // (onOutputDrained) before the next one is answered.
  while (!current_ && !closing_ && !closed_ && !input_.empty() &&
         !connection_->isOutputBacklogged()) {
    auto used = parser_.feed(input_);
    if (!used) return refuse(used.error());
    input_.erase(0, *used);
    if (parser_.wantsContinue()) {
      // RFC 9110 §10.1.1: the client waits for this before it sends the body.
      connection_->send("HTTP/1.1 100 Continue\r\n\r\n");
      parser_.continueSent();
    }
    if (!parser_.hasRequest()) break;
    dispatch(parser_.takeRequest());
  }
  if (!closed_ && connection_) {
    connection_->setReadPaused(current_ && input_.size() > maxBufferedInput(shared_.limits));
  }
  updateTimers();
}

void HttpConnection::dispatch(ParsedRequest parsed) {
  ++requests_;
  parsed.request.tls = tls_;
  parsed.request.peer_ip = ip_;
  current_keep_alive_ = parsed.keep_alive;
  current_upgrade_ = parsed.upgrade;
  log::debug(logPrefix(), ": ", parsed.request.method, " ", parsed.request.target);
  auto exchange = std::make_shared<ConnectionExchange>(worker_, ref(), std::move(parsed.request));
  current_ = exchange;
  updateTimers();  // the handler may take its time (long polling): no timeout while it runs
  dispatching_ = true;
  try {
    shared_.dispatch(exchange);
  } catch (const std::exception& e) {
    log::warn(logPrefix(), ": handler failed: ", e.what());
    exchange->respond(core::HttpResponse::text(500, "Internal Server Error\n"));
  }
  dispatching_ = false;
}

void HttpConnection::respond(const ConnectionExchange& exchange, core::HttpResponse response) {
  if (closed_ || current_.get() != &exchange) return;
  current_->markAnswered();
  const core::HttpRequest& request = current_->request();
  bool head = request.method == "HEAD";
  // A request that asked to switch protocols and got an ordinary answer may have sent bytes of
  // the other protocol after it: nothing after it can be read as HTTP.
  bool close = !current_keep_alive_ || current_upgrade_;
  if (auto connection = response.header("Connection")) {
    if (connection->find("close") != std::string_view::npos) close = true;
  }
  log::debug(logPrefix(), ": ", request.method, " ", request.target, " -> ", response.status);
  bool keep_alive_10 = request.version_minor == 0 && !close;
  current_.reset();
  ResponseFraming framing;
  framing.head = head;
  framing.close = close;
  framing.keep_alive_10 = keep_alive_10;
  std::string date = httpDate(std::chrono::system_clock::now());
  framing.date = date;
  connection_->send(serializeResponse(response, framing));
  if (close) return closeConnection();
  // Answered from inside dispatch(): processInput()'s loop goes on with the next request.
  // Answered later (long polling, another worker): the next request is taken at the end of
  // the turn, never inside the handler that is answering (a BOSH session walking its held
  // requests must not see a new one arrive in the middle).
  if (!dispatching_) continueLater();
}

void HttpConnection::continueLater() {
  auto ref = this->ref();
  auto& worker = worker_;
  worker_.loop().atEndOfTurn([&worker, ref] {
    if (auto* connection = static_cast<HttpConnection*>(worker.find(ref))) {
      if (!connection->closed_ && connection->connection_) connection->processInput();
    }
  });
}

void HttpConnection::onOutputDrained() {
  if (!closed_ && connection_) processInput();
}

void HttpConnection::upgrade(const ConnectionExchange& exchange, core::HttpResponse response,
                             Exchange::Takeover take) {
  if (closed_ || current_.get() != &exchange) return;
  current_->markAnswered();
  current_.reset();
  log::debug(logPrefix(), ": upgraded (", response.status, ")");
  ResponseFraming framing;
  std::string date = httpDate(std::chrono::system_clock::now());
  framing.date = date;
  connection_->send(serializeResponse(response, framing));
  closed_ = true;  // ours no longer: no timers, no callbacks
  worker_.loop().cancelTimer(request_timer_);
  worker_.loop().cancelTimer(idle_timer_);
  request_timer_ = idle_timer_ = 0;
  connection_->setReadPaused(false);
  std::unique_ptr<net::Connection> connection = std::move(connection_);
  std::string leftover = std::move(input_);
  worker_.release(ref());  // freed at the end of the turn
  take(std::move(connection), std::move(leftover));
}

// The request cannot be answered normally (the parser's error, a timeout, a limit): its status
// with "Connection: close", then close (RFC 9112 §9.6).
void HttpConnection::refuse(const RequestError& error) {
  if (closing_ || closed_) return;
  log::debug(logPrefix(), ": refused with ", error.status, ": ", error.reason);
  const auto& refusal = parser_.routeRefusal();
  auto response = refusal ? *refusal
                          : core::HttpResponse::text(
                                error.status, std::string(core::reasonPhrase(error.status)) + ": " +
                                                  error.reason + "\n");
  ResponseFraming framing;
  framing.close = true;
  std::string date = httpDate(std::chrono::system_clock::now());
  framing.date = date;
  connection_->send(serializeResponse(response, framing));
  closeConnection();
}

void HttpConnection::closeConnection() {
  if (closing_ || closed_) return;
  closing_ = true;
  abortExchange();
  updateTimers();
  connection_->close();
}

void HttpConnection::abortExchange() {
  if (!current_) return;
  auto exchange = std::move(current_);
  exchange->abort();
}

void HttpConnection::closeWithStreamError(xmpp::StreamErrorCondition /*condition*/,
                                          std::string_view /*text*/) {
  closeConnection();  // server shutdown: an open exchange is aborted
}

void HttpConnection::onClosed(std::string_view reason) {
  log::debug(logPrefix(), ": closed: ", reason);
  closed_ = true;
  abortExchange();
  worker_.loop().cancelTimer(request_timer_);
  worker_.loop().cancelTimer(idle_timer_);
  request_timer_ = idle_timer_ = 0;
  worker_.release(ref());
}

// Waiting for a request (the first since the connection opened, or one whose first bytes
// arrived): request_timeout. Idle between requests: keepalive_timeout. While a handler works,
// or once closing: no timer.
void HttpConnection::updateTimers() {
  auto& loop = worker_.loop();
  bool waiting_for_request = !current_ && !closing_ && !closed_ &&
                             (requests_ == 0 || parser_.isMidRequest() || !input_.empty());
  bool idle = !current_ && !closing_ && !closed_ && !waiting_for_request;
  if (!waiting_for_request && request_timer_ != 0) {
    loop.cancelTimer(request_timer_);
    request_timer_ = 0;
  }
  if (!idle && idle_timer_ != 0) {
    loop.cancelTimer(idle_timer_);
    idle_timer_ = 0;
  }
  auto ref = this->ref();
  auto& worker = worker_;
  if (waiting_for_request && request_timer_ == 0) {
    request_timer_ = loop.addTimer(shared_.request_timeout, [&worker, ref] {
      if (auto* connection = static_cast<HttpConnection*>(worker.find(ref))) {
        connection->request_timer_ = 0;
        connection->onRequestTimeout();
      }
    });
  }
  if (idle && idle_timer_ == 0) {
    idle_timer_ = loop.addTimer(shared_.keepalive_timeout, [&worker, ref] {
      if (auto* connection = static_cast<HttpConnection*>(worker.find(ref))) {
        connection->idle_timer_ = 0;
        log::debug(connection->logPrefix(), ": idle, closing");
        connection->closeConnection();
      }
    });
  }
}

// RFC 9110 §15.5.9: 408 for a request that did not arrive in time. A connection that sent
// nothing at all is closed without an answer (there is no request to answer).
void HttpConnection::onRequestTimeout() {
  if (!input_.empty() || parser_.isMidRequest()) {
    return refuse({408, "the request did not arrive in time"});
  }
  log::debug(logPrefix(), ": no request, closing");
  closeConnection();
}

void acceptHttp(HttpShared& shared, core::Worker& worker, net::Fd fd,
                const net::SocketAddress& peer, bool tls) {
  worker.emplace<HttpConnection>(shared, worker, std::move(fd), peer, tls).start();
}

}  // namespace parley::http
