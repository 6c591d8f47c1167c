// The HTTP service: the [http] listen (plain) and tls_listen (TLS, per-host certificates by
// SNI, ALPN "http/1.1") sockets on every worker, and the dispatch of each request: built-in
// routes, then the routes modules registered, then the web page's static files.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "core/listener_set.h"
#include "core/server.h"
#include "http/exchange.h"
#include "http/http_connection.h"
#include "http/static_files.h"
#include "net/tls.h"

namespace parley::http {

// Created on the main thread before the workers start; destroyed after they stopped. The
// dispatch runs on every worker and only reads what start() built.
class HttpService {
 public:
  // builtin_routes: core endpoints (WebSocket, BOSH), matched before the modules' routes, by
  // the longest prefix as core::HttpRoute is. The host-meta documents (XEP-0156) are added here.
  static Result<std::unique_ptr<HttpService>> start(core::Server& server,
                                                    std::vector<Route> builtin_routes);
  ~HttpService();
  HttpService(const HttpService&) = delete;
  HttpService& operator=(const HttpService&) = delete;

  // Stops accepting: closes every listening socket on its own worker thread and waits for that.
  // Call while the workers still run, before Server::shutdown().
  void stopListening() { listeners_.close(); }

 private:
  HttpService(core::Server& server, std::vector<Route> builtin_routes, StaticFiles static_files);

  const Route* builtinFor(std::string_view path) const;
  size_t bodyLimit(const core::HttpRequest& head) const;
  std::optional<core::HttpResponse> checkHead(const core::HttpRequest& head) const;
  void dispatch(const std::shared_ptr<Exchange>& exchange) const;
  void serveStatic(const std::shared_ptr<Exchange>& exchange) const;

  core::Server& server_;
  std::vector<Route> builtin_;
  StaticFiles static_files_;
  std::unique_ptr<net::TlsServerContext> tls_;
  HttpShared shared_;
  core::ListenerSet listeners_;
};

}  // namespace parley::http
