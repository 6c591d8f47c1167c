// /config.json: what the web chat page (web/parley.js) needs to know about this server — the
// domain it signs in to, which hosts allow sign-up or anonymous login, and where the
// WebSocket and BOSH endpoints and the upload service are. A builtin route of HttpService.
#pragma once

#include <string>

#include "core/config.h"
#include "http/exchange.h"

namespace parley::core {
class Server;
}

namespace parley::http {

inline constexpr const char* kWebConfigPath = "/config.json";

// The JSON document served at kWebConfigPath, e.g.
//   {"domain":"localhost","hosts":[{"domain":"localhost","registration":true,
//    "anonymous":false}],"websocket_url":"/xmpp-websocket","bosh_url":"/http-bind",
//    "public_url":"https://localhost:5281/"}
// "domain" is the first host's; the endpoint URLs are relative to the page's origin.
std::string webConfigJson(const core::Config& config);

// GET or HEAD /config.json; other methods get 405 with Allow. The document is built once,
// from the configuration the server started with. `server` must outlive the route.
Route webConfigRoute(core::Server& server);

}  // namespace parley::http
