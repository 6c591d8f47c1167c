// /xmpp-websocket: the WebSocket opening handshake (RFC 6455 §4.2, RFC 7395 §3.2) that turns an
// HTTP request into a client stream.
#pragma once

#include <string>
#include <vector>

#include "c2s/client_session.h"
#include "http/exchange.h"

namespace parley::http {

inline constexpr const char* kWebSocketPath = "/xmpp-websocket";

// Answers a valid handshake for the "xmpp" subprotocol with 101 and starts a client session
// on the connection; anything else gets the HTTP status RFC 6455 names (400, 403 for an
// Origin not in `allowed_origins` when that is not empty, 405, 426 with the supported
// version). `shared` must outlive the route.
Route websocketRoute(c2s::C2sShared& shared, std::vector<std::string> allowed_origins);

}  // namespace parley::http
