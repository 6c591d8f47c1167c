// HTTP listeners, the TLS context with one certificate per host, and request dispatch.
#include "http/http_service.h"

#include "http/host_meta.h"
#include "util/log.h"

namespace parley::http {
namespace {

// What a request that no route takes (the web page, a 404) may carry as a body: read and
// dropped, so that the answer is the page's status rather than 413.
constexpr size_t kNoRouteBodyBytes = 65536;

constexpr const char* kStaticMethods = "GET, HEAD, OPTIONS";

bool matches(std::string_view prefix, std::string_view path) {
  if (!prefix.empty() && prefix.back() == '/') return path.starts_with(prefix);
  return path == prefix;
}

}  // namespace

HttpService::HttpService(core::Server& server, std::vector<Route> builtin_routes,
                         StaticFiles static_files)
    : server_(server),
      builtin_(std::move(builtin_routes)),
      static_files_(std::move(static_files)),
      shared_{server,
              nullptr,
              c2s::IpLimits(server.config().http.max_connections_per_ip, 0),
              RequestParser::Limits{server.config().http.max_header_bytes},
              server.config().http.request_timeout,
              server.config().http.keepalive_timeout,
              {},
              {},
              {}} {
  shared_.body_limit = [this](const core::HttpRequest& head) { return bodyLimit(head); };
  shared_.head_check = [this](const core::HttpRequest& head) { return checkHead(head); };
  shared_.dispatch = [this](const std::shared_ptr<Exchange>& exchange) { dispatch(exchange); };
}

HttpService::~HttpService() { stopListening(); }

Result<std::unique_ptr<HttpService>> HttpService::start(core::Server& server,
                                                        std::vector<Route> builtin_routes) {
  const auto& config = server.config();
  auto static_files = StaticFiles::open(config.http.web_root);
  if (!static_files) return Unexpected(std::move(static_files).error());
  for (auto& route : hostMetaRoutes(config.http.public_url)) {
    builtin_routes.push_back(std::move(route));
  }
  std::unique_ptr<HttpService> service(
      new HttpService(server, std::move(builtin_routes), std::move(*static_files)));
  if (!config.http.tls_listen.empty()) {
    auto tls = net::TlsServerContext::create({"http/1.1"});
    if (!tls) return Unexpected(std::move(tls).error());
    service->tls_ = std::move(*tls);
    for (const auto& host : config.hosts) {
      if (auto added = service->tls_->addCertificate(host.domain, host.cert, host.key); !added) {
        return fail("host ", host.domain, ": ", added.error().message,
                    " (create one with: parleyctl --config ", config.file.string(), " cert ",
                    host.domain, ")");
      }
    }
    service->shared_.tls_ctx = service->tls_->defaultCtx();
  }
  HttpShared* shared = &service->shared_;
  for (bool tls : {false, true}) {
    for (const auto& address : tls ? config.http.tls_listen : config.http.listen) {
      auto ok = service->listeners_.listen(
          server, address, "http", tls ? " (TLS)" : "",
          [shared, tls](core::Worker& worker, net::Fd fd, const net::SocketAddress& peer) {
            acceptHttp(*shared, worker, std::move(fd), peer, tls);
          });
      if (!ok) return Unexpected(std::move(ok).error());
    }
  }
  return service;
}

const Route* HttpService::builtinFor(std::string_view path) const {
  const Route* best = nullptr;
  for (const auto& route : builtin_) {
    if (matches(route.prefix, path) && (!best || route.prefix.size() > best->prefix.size())) {
      best = &route;
    }
  }
  return best;
}

size_t HttpService::bodyLimit(const core::HttpRequest& head) const {
  if (const Route* route = builtinFor(head.path)) return route->max_body_bytes;
  if (auto route = server_.httpRoutes().match(head.path)) return route->max_body_bytes;
  return kNoRouteBodyBytes;
}

std::optional<core::HttpResponse> HttpService::checkHead(const core::HttpRequest& head) const {
  if (builtinFor(head.path)) return std::nullopt;
  auto route = server_.httpRoutes().match(head.path);
  if (!route || !route->check_head) return std::nullopt;
  return route->check_head(head);
}

// Built-in routes first, then the modules' (which answer every method themselves, OPTIONS
// included: CORS preflight is the route's business), then the web page.
void HttpService::dispatch(const std::shared_ptr<Exchange>& exchange) const {
  const core::HttpRequest& request = exchange->request();
  if (request.path == "*") {  // OPTIONS * (RFC 9110 §9.3.7): about the server as a whole
    core::HttpResponse response;
    response.status = 204;
    response.set("Allow", kStaticMethods);
    return exchange->respond(std::move(response));
  }
  if (const Route* route = builtinFor(request.path)) return route->handler(exchange);
  if (auto route = server_.httpRoutes().match(request.path)) {
    return route->handler(std::static_pointer_cast<core::HttpExchange>(exchange));
  }
  serveStatic(exchange);
}

void HttpService::serveStatic(const std::shared_ptr<Exchange>& exchange) const {
  const core::HttpRequest& request = exchange->request();
  if (!static_files_.isEnabled()) {
    return exchange->respond(core::HttpResponse::text(404, "Not Found\n"));
  }
  if (request.method == "GET" || request.method == "HEAD") {
    return exchange->respond(static_files_.serve(request));
  }
  core::HttpResponse response;
  if (request.method == "OPTIONS") {
    response.status = 204;
  } else {
    response = core::HttpResponse::text(405, "Method Not Allowed\n");
  }
  response.set("Allow", kStaticMethods);
  exchange->respond(std::move(response));
}

}  // namespace parley::http
