// The WebSocket handshake for XMPP clients, then a c2s session over the upgraded connection.
#include "http/websocket_route.h"

#include <strings.h>

#include <algorithm>

#include "http/websocket_frame.h"
#include "http/websocket_transport.h"
#include "util/log.h"

namespace parley::http {
namespace {

using core::HttpResponse;

// Whether a comma-separated header value lists `token` (case-insensitive).
bool hasToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    auto comma = value.find(',');
    auto item = value.substr(0, comma);
    auto first = item.find_first_not_of(" \t");
    auto last = item.find_last_not_of(" \t");
    if (first != std::string_view::npos) {
      item = item.substr(first, last - first + 1);
      if (item.size() == token.size() &&
          ::strncasecmp(item.data(), token.data(), token.size()) == 0) {
        return true;
      }
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

HttpResponse refuse(int status, std::string why) {
  return HttpResponse::text(status, std::move(why) + "\n");
}

// The response to a handshake, or the error to send instead (status != 101).
HttpResponse handshake(const core::HttpRequest& request,
                       const std::vector<std::string>& allowed_origins) {
  if (request.method != "GET") {
    auto response = refuse(405, "WebSocket handshakes use GET");
    response.set("Allow", "GET");
    return response;
  }
  auto upgrade = request.header("upgrade");
  auto connection = request.header("connection");
  if (request.version_minor < 1 || !upgrade || !hasToken(*upgrade, "websocket") || !connection ||
      !hasToken(*connection, "upgrade")) {
    auto response = refuse(426, "This is the XMPP WebSocket endpoint (RFC 7395)");
    response.set("Upgrade", "websocket");
    response.set("Connection", "Upgrade");
    return response;
  }
  if (request.header("sec-websocket-version").value_or("") != "13") {
    auto response = refuse(426, "Only WebSocket version 13 is supported");
    response.set("Sec-WebSocket-Version", "13");
    return response;
  }
  auto key = request.header("sec-websocket-key");
  if (!key || !ws::isValidClientKey(*key)) return refuse(400, "Missing or bad Sec-WebSocket-Key");
  if (!request.header("host")) return refuse(400, "Missing Host");
  auto protocols = request.header("sec-websocket-protocol");
  if (!protocols || !hasToken(*protocols, "xmpp")) {
    return refuse(400, "The WebSocket subprotocol must be xmpp (RFC 7395 §3.2)");
  }
  if (auto origin = request.header("origin");
      origin && !allowed_origins.empty() &&
      std::find(allowed_origins.begin(), allowed_origins.end(), *origin) == allowed_origins.end()) {
    return refuse(403, "Origin not allowed");
  }
  HttpResponse response;
  response.status = 101;
  response.set("Upgrade", "websocket");
  response.set("Connection", "Upgrade");
  response.set("Sec-WebSocket-Accept", ws::acceptKey(*key));
  response.set("Sec-WebSocket-Protocol", "xmpp");
  return response;
}

}  // namespace

Route websocketRoute(c2s::C2sShared& shared, std::vector<std::string> allowed_origins) {
  // Room for the framing of the largest stanza a TCP client may send.
  size_t max_message = shared.server.config().c2s.max_stanza_bytes + 1024;
  auto handler = [&shared, origins = std::move(allowed_origins),
                  max_message](const std::shared_ptr<Exchange>& exchange) {
    auto response = handshake(exchange->request(), origins);
    if (response.status != 101) return exchange->respond(std::move(response));
    auto& worker = exchange->worker();
    exchange->upgrade(std::move(response),
                      [&shared, &worker, max_message](std::unique_ptr<net::Connection> connection,
                                                      std::string leftover) {
                        auto transport = std::make_unique<WebSocketTransport>(
                            std::move(connection), std::move(leftover), max_message);
                        c2s::startClientSession(shared, worker, std::move(transport));
                      });
  };
  // The handshake is a GET without a body.
  return Route{kWebSocketPath, 0, std::move(handler)};
}

}  // namespace parley::http
