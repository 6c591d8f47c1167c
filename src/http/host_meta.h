// XEP-0156 discovery: /.well-known/host-meta (XRD) and /.well-known/host-meta.json tell web
// clients where the WebSocket and BOSH endpoints of this server are.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/exchange.h"

namespace parley::http {

// The endpoints under [http] public_url ("https://chat.example/"): ws(s)://.../xmpp-websocket
// and http(s)://.../http-bind.
std::string webSocketUrl(std::string_view public_url);
std::string boshUrl(std::string_view public_url);

// The two documents, for a public_url.
std::string hostMetaXml(std::string_view public_url);
std::string hostMetaJson(std::string_view public_url);

// The built-in routes serving them (GET, HEAD; OPTIONS for CORS preflight; 405 otherwise).
std::vector<Route> hostMetaRoutes(const std::string& public_url);

}  // namespace parley::http
