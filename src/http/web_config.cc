// /config.json for the web chat page: the first host's domain, per-host sign-up and anonymous
// flags, and the WebSocket, BOSH and upload URLs.
#include "http/web_config.h"

#include <cstdio>
#include <memory>

#include "core/server.h"

namespace parley::http {
namespace {

constexpr const char* kWebSocketPath = "/xmpp-websocket";
constexpr const char* kBoshPath = "/http-bind";

// A JSON string literal (RFC 8259 §7): quotes, backslashes and control characters escaped.
std::string jsonString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

const char* jsonBool(bool value) { return value ? "true" : "false"; }

}  // namespace

std::string webConfigJson(const core::Config& config) {
  std::string json = "{\"domain\":";
  json += jsonString(config.hosts.empty() ? std::string() : config.hosts.front().domain);
  json += ",\"hosts\":[";
  for (size_t i = 0; i < config.hosts.size(); ++i) {
    const auto& host = config.hosts[i];
    if (i > 0) json += ',';
    json += "{\"domain\":" + jsonString(host.domain);
    json += ",\"registration\":";
    json += jsonBool(host.registration);
    json += ",\"anonymous\":";
    json += jsonBool(host.anonymous);
    json += '}';
  }
  json += "],\"websocket_url\":" + jsonString(kWebSocketPath);
  json += ",\"bosh_url\":" + jsonString(kBoshPath);
  json += ",\"public_url\":" + jsonString(config.http.public_url);
  json += "}\n";
  return json;
}

Route webConfigRoute(core::Server& server) {
  auto body = std::make_shared<const std::string>(webConfigJson(server.config()));
  Route route;
  route.prefix = kWebConfigPath;
  route.max_body_bytes = 0;
  route.handler = [body](const std::shared_ptr<Exchange>& exchange) {
    const auto& method = exchange->request().method;
    if (method != "GET" && method != "HEAD") {
      auto refused = core::HttpResponse::text(405, "Method Not Allowed\n");
      refused.set("Allow", "GET, HEAD");
      exchange->respond(std::move(refused));
      return;
    }
    auto response = core::HttpResponse::text(200, *body, "application/json");
    // The page reads it on every load; a changed configuration shows after a restart.
    response.set("Cache-Control", "no-cache");
    exchange->respond(std::move(response));
  };
  return route;
}

}  // namespace parley::http
