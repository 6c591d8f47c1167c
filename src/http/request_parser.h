// HTTP/1.x request parsing (RFC 9112) on top of Debian's http_parser: bytes in, complete
// core::HttpRequest values out, or the precise status a bad request earns.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/http_route.h"
#include "util/result.h"

struct http_parser;

namespace parley::http {

// Why a request was refused: the status to answer with (then the connection closes) and a
// short reason for the log and the response body.
struct RequestError {
  int status = 400;
  std::string reason;
};

// One request taken from the parser.
struct ParsedRequest {
  core::HttpRequest request;
  bool keep_alive = true;  // HTTP/1.1 without "Connection: close", or 1.0 with keep-alive
  bool upgrade = false;    // asked for another protocol (Upgrade + Connection: upgrade)
};

// Decodes the path of a request-target: %XX escapes (a bad escape or %00: error), then the dot
// segments "." and ".." are removed (RFC 3986 §5.2.4); a ".." above the root is an error. The
// result starts with '/'. Exposed for the unit tests.
Result<std::string, RequestError> decodePath(std::string_view raw_path);

// Parses the requests of one connection, one at a time: feed() stops at the end of a request,
// so pipelined requests wait in the caller's buffer until the previous one was answered.
// Not thread-safe; lives with its connection.
class RequestParser {
 public:
  struct Limits {
    size_t max_header_bytes = 16384;  // all header field lines together: 431 beyond
    size_t max_target_bytes = 8192;   // the request-target: 414 beyond
  };
  // Called once a request's headers are complete (its body still empty): the largest body its
  // route takes. A larger Content-Length is refused with 413 before the body is read; a
  // chunked body is refused once it grows past the limit.
  using BodyLimit = std::function<size_t(const core::HttpRequest& head)>;
  // Called after BodyLimit accepted the headers: a response refuses the request (its route's
  // core::HttpRoute::check_head) before the body is read.
  using HeadCheck = std::function<std::optional<core::HttpResponse>(const core::HttpRequest& head)>;

  RequestParser(Limits limits, BodyLimit body_limit, HeadCheck head_check = {});
  ~RequestParser();
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Consumes bytes up to the end of one request at most and returns how many it used; the
  // caller keeps the rest for later. After an error the parser is unusable (the caller answers
  // with the status and closes the connection).
  Result<size_t, RequestError> feed(std::string_view bytes);

  // A request is complete: take it with takeRequest(), then feed() the bytes after it.
  bool hasRequest() const { return complete_.has_value(); }
  ParsedRequest takeRequest();

  // Some bytes of the next request arrived but it is not complete yet (for the timeouts).
  bool isMidRequest() const { return started_ && !complete_; }
  // The header section is complete and the body is still arriving.
  bool isInBody() const { return isMidRequest() && headers_done_; }
  // The current request's headers are complete, it asked for "Expect: 100-continue" and its
  // body has not been read yet: the caller sends "100 Continue" and calls continueSent().
  bool wantsContinue() const { return wants_continue_; }
  void continueSent() { wants_continue_ = false; }
  // After feed() failed because the HeadCheck refused the request: the route's own answer.
  const std::optional<core::HttpResponse>& routeRefusal() const { return route_refusal_; }

 private:
  static int onMessageBegin(http_parser* parser);
  static int onUrl(http_parser* parser, const char* at, size_t length);
  static int onHeaderField(http_parser* parser, const char* at, size_t length);
  static int onHeaderValue(http_parser* parser, const char* at, size_t length);
  static int onHeadersComplete(http_parser* parser);
  static int onBody(http_parser* parser, const char* at, size_t length);
  static int onMessageComplete(http_parser* parser);

  void reset();
  bool fail(int status, std::string reason);
  bool countHeaderBytes(size_t length);
  bool checkVersion();
  void finishHeader();
  bool headersComplete();
  bool checkTarget();
  bool checkHeaders();
  RequestError errorFromParser() const;

  Limits limits_;
  BodyLimit body_limit_;
  std::unique_ptr<http_parser> parser_;
  core::HttpRequest current_;
  std::optional<ParsedRequest> complete_;
  std::optional<RequestError> error_;
  HeadCheck head_check_;
  std::optional<core::HttpResponse> route_refusal_;
  std::string field_;  // the header name being read
  std::string value_;  // its value so far
  bool in_value_ = false;
  bool started_ = false;
  bool headers_done_ = false;  // later header lines are a chunked body's trailer
  bool wants_continue_ = false;
  size_t header_bytes_ = 0;
  size_t body_limit_bytes_ = 0;
};

}  // namespace parley::http
