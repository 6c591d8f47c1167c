// HTTP/1.1 responses on the wire (RFC 9112 §4, §6): the status line, the headers the server
// adds itself (Date, Server, Content-Length, Connection), and HTTP dates (RFC 9110 §5.6.7).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/http_route.h"

namespace parley::http {

struct ResponseFraming {
  bool head = false;           // answering HEAD: the headers of the GET response, no body
  bool close = false;          // "Connection: close"; the connection closes after it
  bool keep_alive_10 = false;  // an HTTP/1.0 client asked for keep-alive: say we keep it
  std::string_view date;       // the Date header value (httpDate())
};

// The response as bytes. Content-Length is the body's size (for HEAD the size of the body the
// handler gave, or its own Content-Length when it gave no body); none for 1xx, 204 and 304,
// which have no content (RFC 9110 §8.6). Date, Server, Content-Length, Connection and
// Transfer-Encoding set by the handler are replaced by the server's own.
std::string serializeResponse(const core::HttpResponse& response, const ResponseFraming& framing);

// "Sun, 06 Nov 1994 08:49:37 GMT" (IMF-fixdate).
std::string httpDate(std::chrono::system_clock::time_point when);
// Parses an IMF-fixdate (the only form a sender may generate); nullopt for anything else,
// including the obsolete RFC 850 and asctime forms, which a conditional request then ignores.
std::optional<std::chrono::system_clock::time_point> parseHttpDate(std::string_view text);

}  // namespace parley::http
