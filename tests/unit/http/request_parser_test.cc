// Unit tests for the HTTP request parser: requests, pipelining, limits and the status of each
// kind of bad request (RFC 9112).
#include "http/request_parser.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace parley::http {
namespace {

struct Outcome {
  std::vector<ParsedRequest> requests;
  int error = 0;  // the status, 0 = none
  bool continue_wanted = false;
};

// Feeds `bytes` in pieces of `step` bytes, taking every complete request.
Outcome parse(std::string_view bytes, size_t body_limit = 1024, size_t step = 0,
              RequestParser::Limits limits = {}) {
  RequestParser parser(limits, [body_limit](const core::HttpRequest&) { return body_limit; });
  Outcome outcome;
  std::string pending;
  size_t offset = 0;
  while (offset < bytes.size() || !pending.empty()) {
    size_t take = step == 0 ? bytes.size() - offset : std::min(step, bytes.size() - offset);
    pending.append(bytes.substr(offset, take));
    offset += take;
    bool progressed = false;
    while (!pending.empty()) {
      auto used = parser.feed(pending);
      if (!used) {
        outcome.error = used.error().status;
        return outcome;
      }
      pending.erase(0, *used);
      if (parser.wantsContinue()) {
        outcome.continue_wanted = true;
        parser.continueSent();
      }
      if (!parser.hasRequest()) break;
      outcome.requests.push_back(parser.takeRequest());
      progressed = true;
    }
    if (offset >= bytes.size() && !progressed) break;
  }
  return outcome;
}

int statusOf(std::string_view bytes, size_t body_limit = 1024) {
  return parse(bytes, body_limit).error;
}

TEST_CASE("http parser: a simple GET", "[http]") {
  auto outcome = parse(
      "GET /a/b%20c.txt?x=1&y=%20 HTTP/1.1\r\nHost: example.com\r\n"
      "User-Agent: test\r\nX-Spaced:   v  \r\n\r\n");
  REQUIRE(outcome.error == 0);
  REQUIRE(outcome.requests.size() == 1);
  const auto& r = outcome.requests[0].request;
  CHECK(r.method == "GET");
  CHECK(r.target == "/a/b%20c.txt?x=1&y=%20");
  CHECK(r.path == "/a/b c.txt");
  CHECK(r.query == "x=1&y=%20");
  CHECK(r.version_minor == 1);
  CHECK(r.header("host") == "example.com");
  CHECK(r.header("USER-AGENT") == "test");
  CHECK(r.header("x-spaced") == "v");
  CHECK(r.headers[1].name == "user-agent");  // names lowercased
  CHECK(r.body.empty());
  CHECK(outcome.requests[0].keep_alive);
  CHECK_FALSE(outcome.requests[0].upgrade);
}

TEST_CASE("http parser: byte by byte gives the same request", "[http]") {
  auto outcome = parse("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello", 1024, 1);
  REQUIRE(outcome.error == 0);
  REQUIRE(outcome.requests.size() == 1);
  CHECK(outcome.requests[0].request.method == "POST");
  CHECK(outcome.requests[0].request.body == "hello");
}

TEST_CASE("http parser: pipelined requests come out one at a time, in order", "[http]") {
  RequestParser parser({}, [](const core::HttpRequest&) { return size_t{1024}; });
  std::string bytes =
      "GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
      "POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
      "GET /three HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
  std::vector<std::string> paths;
  while (!bytes.empty()) {
    auto used = parser.feed(bytes);
    REQUIRE(used);
    REQUIRE(parser.hasRequest());
    bytes.erase(0, *used);
    // Nothing more is parsed until the request is taken.
    auto again = parser.feed(bytes);
    REQUIRE(again);
    CHECK(*again == 0);
    auto request = parser.takeRequest();
    paths.push_back(request.request.path);
    if (request.request.path == "/two") CHECK(request.request.body == "abc");
    if (request.request.path == "/three") CHECK_FALSE(request.keep_alive);
  }
  CHECK(paths == std::vector<std::string>{"/one", "/two", "/three"});
}

TEST_CASE("http parser: chunked bodies", "[http]") {
  auto outcome = parse(
      "PUT /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
      1024, 7);
  REQUIRE(outcome.error == 0);
  REQUIRE(outcome.requests.size() == 1);
  CHECK(outcome.requests[0].request.body == "hello world");
  CHECK_FALSE(outcome.requests[0].request.header("x-trailer"));  // trailers are not kept
}

TEST_CASE("http parser: keep-alive by version and Connection", "[http]") {
  struct Case {
    const char* request;
    bool keep_alive;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\nHost: h\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
  };
  for (const auto& c : cases) {
    INFO(c.request);
    auto outcome = parse(c.request);
    REQUIRE(outcome.requests.size() == 1);
    CHECK(outcome.requests[0].keep_alive == c.keep_alive);
  }
}

TEST_CASE("http parser: absolute-form and asterisk-form targets", "[http]") {
  auto absolute =
      parse("GET http://example.com:8080/x%2Fy?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
  REQUIRE(absolute.requests.size() == 1);
  CHECK(absolute.requests[0].request.path == "/x/y");
  CHECK(absolute.requests[0].request.query == "q=1");
  auto star = parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
  REQUIRE(star.requests.size() == 1);
  CHECK(star.requests[0].request.path == "*");
  CHECK(statusOf("GET * HTTP/1.1\r\nHost: h\r\n\r\n") == 400);
}

TEST_CASE("http parser: WebSocket upgrade requests are marked", "[http]") {
  auto outcome = parse(
      "GET /xmpp-websocket HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n\x81\x85");
  REQUIRE(outcome.requests.size() == 1);
  CHECK(outcome.requests[0].upgrade);
}

TEST_CASE("http parser: Expect: 100-continue", "[http]") {
  auto wants =
      parse("PUT /u HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
  CHECK(wants.continue_wanted);
  CHECK(wants.requests.empty());  // the body is still to come
  auto too_large =
      parse("PUT /u HTTP/1.1\r\nHost: h\r\nContent-Length: 3000\r\nExpect: 100-continue\r\n\r\n");
  CHECK(too_large.error == 413);
  CHECK_FALSE(too_large.continue_wanted);
  CHECK(statusOf("PUT /u HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: tea\r\n\r\nabc") ==
        417);
  // HTTP/1.0: the expectation is ignored (RFC 9110 §10.1.1).
  auto old = parse("PUT /u HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc");
  CHECK_FALSE(old.continue_wanted);
  CHECK(old.requests.size() == 1);
}

TEST_CASE("http parser: the status of each bad request", "[http]") {
  struct Case {
    std::string request;
    int status;
  };
  const std::string long_target = "/" + std::string(9000, 'a');
  const std::string big_header = "X-Big: " + std::string(17000, 'b') + "\r\n";
  std::string many_headers;
  for (int i = 0; i < 1000; ++i) many_headers += "X-H" + std::to_string(i) + ": 0123456789\r\n";
  const Case cases[] = {
      {"garbage\r\n\r\n", 400},
      {"GET /\r\n\r\n", 505},                                       // HTTP/0.9: not spoken
      {"GET / HTTP/1.1 extra\r\nHost: h\r\n\r\n", 400},             // junk after the version
      {"GET / HTTP/1.1\r\nBad Header: x\r\nHost: h\r\n\r\n", 400},  // space in a name
      {"GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},                  // space before ':'
      {"GET / HTTP/1.1\r\nHost: h\r\nX@Y: 1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\n\r\n", 400},                        // no Host
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},  // two Hosts
      {"GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n", 400},         // bad escape
      {"GET /a%00b HTTP/1.1\r\nHost: h\r\n\r\n", 400},        // NUL
      {"GET /../etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"GET /..%2f..%2fetc/passwd HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"GET /%2e%2e/x HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"GET " + long_target + " HTTP/1.1\r\nHost: h\r\n\r\n", 414},
      {"GET / HTTP/1.1\r\nHost: h\r\n" + big_header + "\r\n", 431},
      {"GET / HTTP/1.1\r\nHost: h\r\n" + many_headers + "\r\n", 431},
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2000\r\n\r\n", 413},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
       "800\r\n" +
           std::string(2048, 'x') + "\r\n0\r\n\r\n",
       413},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
       400},  // smuggling
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
      {"BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n", 501},  // unknown method
      {"CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n", 501},
      {"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
      {"GET / HTTP/3.0\r\n\r\n", 505},
      {"GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505},
  };
  for (const auto& c : cases) {
    INFO(c.request.substr(0, 80));
    CHECK(statusOf(c.request) == c.status);
  }
}

TEST_CASE("http parser: an error sticks", "[http]") {
  RequestParser parser({}, [](const core::HttpRequest&) { return size_t{0}; });
  auto first = parser.feed("GET / HTTP/2.0\r\nHost: h\r\n\r\n");
  REQUIRE_FALSE(first);
  CHECK(first.error().status == 505);
  auto second = parser.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  REQUIRE_FALSE(second);
  CHECK(second.error().status == 505);
}

TEST_CASE("http parser: the body limit comes from the request's head", "[http]") {
  RequestParser parser({}, [](const core::HttpRequest& head) {
    return head.path.starts_with("/upload/") ? size_t{100} : size_t{0};
  });
  auto ok = parser.feed("PUT /upload/x HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n" +
                        std::string(100, 'x'));
  REQUIRE(ok);
  REQUIRE(parser.hasRequest());
  CHECK(parser.takeRequest().request.body.size() == 100);
  auto refused = parser.feed("PUT /other HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().status == 413);
}

TEST_CASE("http parser: isMidRequest tracks a partial request", "[http]") {
  RequestParser parser({}, [](const core::HttpRequest&) { return size_t{0}; });
  CHECK_FALSE(parser.isMidRequest());
  REQUIRE(parser.feed("GET / HT"));
  CHECK(parser.isMidRequest());
  REQUIRE(parser.feed("TP/1.1\r\nHost: h\r\n\r\n"));
  CHECK(parser.hasRequest());
  parser.takeRequest();
  CHECK_FALSE(parser.isMidRequest());
}

TEST_CASE("http parser: decodePath", "[http]") {
  struct Case {
    const char* raw;
    const char* decoded;  // nullptr = 400
  };
  const Case cases[] = {
      {"/", "/"},
      {"/a/b", "/a/b"},
      {"/a/b/", "/a/b/"},
      {"/a%20b", "/a b"},
      {"/%41%62", "/Ab"},
      {"/a/./b", "/a/b"},
      {"/a/../b", "/b"},
      {"/a/b/..", "/a/"},
      {"/a/.", "/a/"},
      {"/a/%2e%2e/b", "/b"},
      {"/a%2fb", "/a/b"},
      {"/..", nullptr},
      {"/a/../..", nullptr},
      {"/..%2f", nullptr},
      {"/%00", nullptr},
      {"/%", nullptr},
      {"/%4", nullptr},
      {"/%g0", nullptr},
      {"relative", nullptr},
  };
  for (const auto& c : cases) {
    INFO(c.raw);
    auto decoded = decodePath(c.raw);
    if (c.decoded == nullptr) {
      REQUIRE_FALSE(decoded);
      CHECK(decoded.error().status == 400);
    } else {
      REQUIRE(decoded);
      CHECK(*decoded == c.decoded);
    }
  }
}

}  // namespace
}  // namespace parley::http
