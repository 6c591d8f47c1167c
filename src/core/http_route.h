// The HTTP requests modules answer (XEP-0363 uploads, ...): request and response as a handler
// sees them, and the table of path prefixes the HTTP server (src/http) dispatches on. Lives in
// core so that modules, which see only core, can serve HTTP without knowing the server.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::core {

class Worker;

struct HttpHeader {
  std::string name;  // lowercase in requests; as written in responses
  std::string value;
};

struct HttpRequest {
  std::string method;          // as sent: "GET", "PUT", "OPTIONS", ...
  std::string target;          // the request-target as sent, e.g. "/upload/x/a%20b.png?v=1"
  std::string path;            // the target's path, percent-decoded; starts with '/'
  std::string query;           // after '?', not decoded; "" when none
  unsigned version_minor = 1;  // HTTP/1.<version_minor>
  std::vector<HttpHeader> headers;
  std::string body;
  bool tls = false;     // arrived on an HTTPS listener
  std::string peer_ip;  // the client's address, for per-address limits and logs

  // The first header of that name (case-insensitive), or nullopt.
  std::optional<std::string_view> header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::vector<HttpHeader> headers;  // Content-Length, Date and Connection are added by the server
  std::string body;

  // A response with a body and its type: `text(404, "Not found\n")`.
  static HttpResponse text(int status, std::string body,
                           std::string content_type = "text/plain; charset=utf-8");
  // Adds or replaces a header (case-insensitive name).
  HttpResponse& set(std::string_view name, std::string value);
  std::optional<std::string_view> header(std::string_view name) const;
};

// "Not Found" for 404; "" for a status without a standard reason phrase.
std::string_view reasonPhrase(int status);

// One request waiting for its response. Everything here runs on the worker thread of the
// connection that carries the request; a handler may keep the exchange and answer later
// (long polling, storage callbacks) from that thread.
class HttpExchange {
 public:
  virtual ~HttpExchange() = default;
  virtual const HttpRequest& request() const = 0;
  virtual Worker& worker() = 0;
  // Sends the response; only the first call counts. Ignored once the client went away.
  virtual void respond(HttpResponse response) = 0;
  // Whether the client still waits (the connection is open and nothing was sent yet).
  virtual bool isOpen() const = 0;
  // Called once if the connection closes before respond(); replaces an earlier callback.
  virtual void onAbort(std::function<void()> fn) = 0;
};

using HttpHandler = std::function<void(const std::shared_ptr<HttpExchange>& exchange)>;

struct HttpRoute {
  // "/upload/localhost/": a prefix ending in '/' matches every path under it; otherwise the
  // path must be equal. The longest matching prefix wins.
  std::string prefix;
  // Larger request bodies are refused with 413 before they are read.
  size_t max_body_bytes = 65536;
  HttpHandler handler;
  // Optional: sees a request's method, target and headers once they are in, before its body is
  // read (and before "100 Continue"). A response returned here is sent instead, the body is
  // never read and the connection closes: an upload PUT without the slot's authorization does
  // not get to send its 10 MiB first. Runs on the connection's worker.
  std::function<std::optional<HttpResponse>(const HttpRequest& head)> check_head;
  const void* owner = nullptr;  // who removes it (a ModuleContext)
};

// The routes modules registered. Read on every worker, changed at module (un)load: the
// handler found by match() is a copy, so a route removed meanwhile finishes its request.
class HttpRoutes {
 public:
  // Returns false (and changes nothing) if the prefix is taken.
  bool add(HttpRoute route);
  void removeAll(const void* owner);
  // The route for a decoded path, or nullopt.
  std::optional<HttpRoute> match(std::string_view path) const;

 private:
  mutable std::mutex mutex_;
  std::vector<HttpRoute> routes_;
};

}  // namespace parley::core
