// The exchange the HTTP server's built-in routes (WebSocket, BOSH, host-meta) get: a module's
// core::HttpExchange plus the protocol upgrade (101 Switching Protocols) that only the core may
// use, and the table entry that routes a path prefix to such a handler.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "core/http_route.h"
#include "net/connection.h"

namespace parley::http {

// Lives on the worker thread of its connection, like core::HttpExchange.
class Exchange : public core::HttpExchange {
 public:
  // 101 Switching Protocols (WebSocket): sends `response`, then gives the TCP/TLS connection away:
  // `take` gets the net::Connection (the new owner calls setHandler on it) and the bytes already
  // read past this request. HTTP forgets the connection; it is not closed.
  using Takeover =
      std::function<void(std::unique_ptr<net::Connection> connection, std::string leftover)>;
  virtual void upgrade(core::HttpResponse response, Takeover take) = 0;
};

using Handler = std::function<void(const std::shared_ptr<Exchange>& exchange)>;

struct Route {
  std::string prefix;
  size_t max_body_bytes;
  Handler handler;
};  // same matching as core::HttpRoute

}  // namespace parley::http
