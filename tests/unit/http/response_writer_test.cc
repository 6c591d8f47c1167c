// Unit tests for HTTP response serialization and HTTP dates.
#include "http/response_writer.h"

#include <catch2/catch.hpp>

namespace parley::http {
namespace {

using namespace std::chrono_literals;

ResponseFraming framing(bool head = false, bool close = false) {
  ResponseFraming f;
  f.head = head;
  f.close = close;
  f.date = "Sun, 06 Nov 1994 08:49:37 GMT";
  return f;
}

TEST_CASE("http response: status line, server headers, body", "[http]") {
  auto response = core::HttpResponse::text(404, "Not Found\n");
  response.set("Content-Length", "999");  // the server's own value wins
  response.set("X-Extra", "1");
  CHECK(serializeResponse(response, framing()) ==
        "HTTP/1.1 404 Not Found\r\n"
        "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Server: Parley\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "X-Extra: 1\r\n"
        "Content-Length: 10\r\n"
        "\r\n"
        "Not Found\n");
}

TEST_CASE("http response: HEAD has the GET length and no body", "[http]") {
  auto response = core::HttpResponse::text(200, "hello");
  std::string head = serializeResponse(response, framing(true));
  CHECK(head.find("Content-Length: 5\r\n") != std::string::npos);
  CHECK(head.ends_with("\r\n\r\n"));
  // A handler answering HEAD without a body gives its own length.
  core::HttpResponse sized;
  sized.set("Content-Length", "1234");
  CHECK(serializeResponse(sized, framing(true)).find("Content-Length: 1234\r\n") !=
        std::string::npos);
}

TEST_CASE("http response: Connection and no-content statuses", "[http]") {
  core::HttpResponse not_modified;
  not_modified.status = 304;
  not_modified.set("ETag", "\"x\"");
  std::string out = serializeResponse(not_modified, framing(false, true));
  CHECK(out.find("Content-Length") == std::string::npos);
  CHECK(out.find("Connection: close\r\n") != std::string::npos);
  ResponseFraming ten = framing();
  ten.keep_alive_10 = true;
  CHECK(serializeResponse(core::HttpResponse::text(200, "x"), ten).find("Connection: keep-alive") !=
        std::string::npos);
}

TEST_CASE("http response: 101 keeps the handler's Connection: Upgrade", "[http]") {
  core::HttpResponse switching;
  switching.status = 101;
  switching.set("Upgrade", "websocket");
  switching.set("Connection", "Upgrade");
  CHECK(serializeResponse(switching, framing()) ==
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
}

TEST_CASE("http dates: format and parse IMF-fixdate", "[http]") {
  auto when = std::chrono::system_clock::from_time_t(784111777);  // 1994-11-06 08:49:37 UTC
  CHECK(httpDate(when) == "Sun, 06 Nov 1994 08:49:37 GMT");
  auto parsed = parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT");
  REQUIRE(parsed);
  CHECK(*parsed == when);
  CHECK_FALSE(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"));  // RFC 850: not generated
  CHECK_FALSE(parseHttpDate("Sun Nov  6 08:49:37 1994"));        // asctime
  CHECK_FALSE(parseHttpDate("Sun, 06 Foo 1994 08:49:37 GMT"));
  CHECK_FALSE(parseHttpDate("Sun, 06 Nov 1994 25:49:37 GMT"));
  CHECK_FALSE(parseHttpDate(""));
}

}  // namespace
}  // namespace parley::http
