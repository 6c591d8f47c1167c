// HTTP/1.x request parsing: http_parser callbacks collect one request; the limits and RFC 9112
// checks (Host, Transfer-Encoding, Expect, version) decide the status of a bad one.
#include "http/request_parser.h"

#include <http_parser.h>

#include <algorithm>
#include <vector>

namespace parley::http {
namespace {

RequestParser* self(http_parser* parser) { return static_cast<RequestParser*>(parser->data); }

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view trimOws(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 9110 §5.6.2 tchar.
bool isTokenChar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A request line that starts with a well-formed method token http_parser does not know
// ("BREW / HTTP/1.1") earns 501 (RFC 9110 §9.1); garbage earns 400.
bool startsWithUnknownMethod(std::string_view bytes) {
  while (!bytes.empty() && (bytes.front() == '\r' || bytes.front() == '\n')) bytes.remove_prefix(1);
  size_t space = bytes.find(' ');
  if (space == 0 || space == std::string_view::npos) return false;
  return std::all_of(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(space),
                     isTokenChar);
}

// Splits a comma-separated header value into trimmed, lowercased members.
std::vector<std::string> listMembers(std::string_view value) {
  std::vector<std::string> members;
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view member = trimOws(value.substr(0, comma));
    if (!member.empty()) members.push_back(lowercase(member));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return members;
}

}  // namespace

Result<std::string, RequestError> decodePath(std::string_view raw_path) {
  if (raw_path.empty() || raw_path.front() != '/') {
    return Unexpected(RequestError{400, "the path must start with '/'"});
  }
  std::string decoded;
  decoded.reserve(raw_path.size());
  for (size_t i = 0; i < raw_path.size(); ++i) {
    char c = raw_path[i];
    if (c != '%') {
      decoded += c;
      continue;
    }
    int high = i + 2 < raw_path.size() ? hexValue(raw_path[i + 1]) : -1;
    int low = high >= 0 ? hexValue(raw_path[i + 2]) : -1;
    if (low < 0) return Unexpected(RequestError{400, "bad percent-encoding in the path"});
    char byte = static_cast<char>(high * 16 + low);
    if (byte == '\0') return Unexpected(RequestError{400, "%00 in the path"});
    decoded += byte;
    i += 2;
  }
  // RFC 3986 §5.2.4, except that ".." above the root is refused rather than dropped.
  std::vector<std::string_view> segments;
  bool trailing_slash = false;
  std::string_view rest = std::string_view(decoded).substr(1);
  for (;;) {
    size_t slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    bool last = slash == std::string_view::npos;
    if (segment == ".") {
      trailing_slash = last;
    } else if (segment == "..") {
      if (segments.empty()) return Unexpected(RequestError{400, "the path leaves the root"});
      segments.pop_back();
      trailing_slash = last;
    } else {
      segments.push_back(segment);
      trailing_slash = false;
    }
    if (last) break;
    rest.remove_prefix(slash + 1);
  }
  std::string path = "/";
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) path += '/';
    path.append(segments[i]);
  }
  if (trailing_slash && path.back() != '/') path += '/';
  return path;
}

RequestParser::RequestParser(Limits limits, BodyLimit body_limit, HeadCheck head_check)
    : limits_(limits),
      body_limit_(std::move(body_limit)),
      parser_(new http_parser),
      head_check_(std::move(head_check)) {
  reset();
}

RequestParser::~RequestParser() = default;

void RequestParser::reset() {
  route_refusal_.reset();
  http_parser_init(parser_.get(), HTTP_REQUEST);
  parser_->data = this;
  current_ = {};
  field_.clear();
  value_.clear();
  in_value_ = false;
  started_ = false;
  headers_done_ = false;
  wants_continue_ = false;
  header_bytes_ = 0;
  body_limit_bytes_ = 0;
}

Result<size_t, RequestError> RequestParser::feed(std::string_view bytes) {
  if (error_) return Unexpected(*error_);
  if (complete_ || bytes.empty()) return size_t{0};
  static const http_parser_settings settings = [] {
    http_parser_settings s;
    http_parser_settings_init(&s);
    s.on_message_begin = &RequestParser::onMessageBegin;
    s.on_url = &RequestParser::onUrl;
    s.on_header_field = &RequestParser::onHeaderField;
    s.on_header_value = &RequestParser::onHeaderValue;
    s.on_headers_complete = &RequestParser::onHeadersComplete;
    s.on_body = &RequestParser::onBody;
    s.on_message_complete = &RequestParser::onMessageComplete;
    return s;
  }();
  size_t used = http_parser_execute(parser_.get(), &settings, bytes.data(), bytes.size());
  auto code = HTTP_PARSER_ERRNO(parser_.get());
  if (error_) {
    complete_.reset();
    return Unexpected(*error_);
  }
  if (code == HPE_PAUSED && complete_) return used;  // paused at the end of a request
  if (code != HPE_OK) {
    if (code == HPE_INVALID_METHOD && startsWithUnknownMethod(bytes)) {
      error_ = RequestError{501, "unknown method"};
    } else {
      error_ = errorFromParser();
    }
    return Unexpected(*error_);
  }
  return used;
}

ParsedRequest RequestParser::takeRequest() {
  ParsedRequest request = std::move(*complete_);
  complete_.reset();
  reset();
  return request;
}

RequestError RequestParser::errorFromParser() const {
  auto code = HTTP_PARSER_ERRNO(parser_.get());
  std::string reason = http_errno_description(code);
  switch (code) {
    case HPE_HEADER_OVERFLOW:
      return {431, "header fields too large"};
    case HPE_INVALID_TRANSFER_ENCODING:
      // RFC 9112 §6.3: chunked is not the final coding, so the length is unknowable.
      return {400, reason};
    default:
      return {400, reason};
  }
}

bool RequestParser::fail(int status, std::string reason) {
  if (!error_) error_ = RequestError{status, std::move(reason)};
  return false;
}

bool RequestParser::countHeaderBytes(size_t length) {
  header_bytes_ += length;
  if (header_bytes_ > limits_.max_header_bytes) return fail(431, "header fields too large");
  return true;
}

// RFC 9110 §6.2: we speak HTTP/1.x; the major version is known once the request line is read.
bool RequestParser::checkVersion() {
  if (parser_->http_major != 1) return fail(505, "only HTTP/1.x is supported");
  return true;
}

void RequestParser::finishHeader() {
  // RFC 9112 §5.1: a field name is a token, and no whitespace may precede the colon (both
  // let through by http_parser outside its strict mode).
  if (field_.empty() || !std::all_of(field_.begin(), field_.end(), isTokenChar)) {
    fail(400, "bad header field name");
  }
  current_.headers.push_back({lowercase(field_), std::string(trimOws(value_))});
  header_bytes_ += 4;  // ": " and CRLF
  field_.clear();
  value_.clear();
  in_value_ = false;
}

int RequestParser::onMessageBegin(http_parser* parser) {
  self(parser)->started_ = true;
  return 0;
}

int RequestParser::onUrl(http_parser* parser, const char* at, size_t length) {
  RequestParser& me = *self(parser);
  me.current_.target.append(at, length);
  if (me.current_.target.size() > me.limits_.max_target_bytes) {
    return me.fail(414, "request-target too long") ? 0 : 1;
  }
  return 0;
}

int RequestParser::onHeaderField(http_parser* parser, const char* at, size_t length) {
  RequestParser& me = *self(parser);
  if (!me.checkVersion() || !me.countHeaderBytes(length)) return 1;
  if (me.headers_done_) return 0;  // a chunked body's trailer fields: read, not kept
  if (me.in_value_) me.finishHeader();
  if (me.error_) return 1;
  me.field_.append(at, length);
  return 0;
}

int RequestParser::onHeaderValue(http_parser* parser, const char* at, size_t length) {
  RequestParser& me = *self(parser);
  if (!me.countHeaderBytes(length)) return 1;
  if (me.headers_done_) return 0;
  me.in_value_ = true;
  me.value_.append(at, length);
  return 0;
}

int RequestParser::onHeadersComplete(http_parser* parser) {
  // Not 1: from on_headers_complete that means "no body follows"; any other value is an error.
  return self(parser)->headersComplete() ? 0 : -1;
}

bool RequestParser::headersComplete() {
  if (in_value_ || !field_.empty()) finishHeader();
  if (error_) return false;
  if (header_bytes_ > limits_.max_header_bytes) return fail(431, "header fields too large");
  if (!checkVersion()) return false;
  headers_done_ = true;
  current_.version_minor = parser_->http_minor;
  current_.method = http_method_str(static_cast<http_method>(parser_->method));
  if (parser_->method == HTTP_CONNECT) return fail(501, "CONNECT is not supported");
  if (!checkTarget() || !checkHeaders()) return false;
  body_limit_bytes_ = body_limit_ ? body_limit_(current_) : 0;
  if ((parser_->flags & F_CONTENTLENGTH) && parser_->content_length > body_limit_bytes_) {
    return fail(413, "request body too large");
  }
  if (head_check_) {
    if (auto refusal = head_check_(current_)) {
      route_refusal_ = std::move(refusal);
      return fail(route_refusal_->status, "refused by its route");
    }
  }
  return true;
}

// origin-form "/p?q" (RFC 9112 §3.2.1), absolute-form "http://h/p?q" (§3.2.2), and "*" for
// OPTIONS (§3.2.4), whose path is "*".
bool RequestParser::checkTarget() {
  std::string_view target = current_.target;
  if (target == "*") {
    if (current_.method != "OPTIONS") return fail(400, "'*' is only for OPTIONS");
    current_.path = "*";
    return true;
  }
  std::string_view raw_path;
  if (!target.empty() && target.front() == '/') {
    size_t end = target.find_first_of("?#");
    raw_path = target.substr(0, end);
    if (end != std::string_view::npos && target[end] == '?') {
      std::string_view query = target.substr(end + 1);
      current_.query = std::string(query.substr(0, query.find('#')));
    }
  } else {
    http_parser_url url;
    http_parser_url_init(&url);
    if (http_parser_parse_url(target.data(), target.size(), 0, &url) != 0 ||
        !(url.field_set & (1 << UF_SCHEMA)) || !(url.field_set & (1 << UF_HOST))) {
      return fail(400, "bad request-target");
    }
    auto field = [&](int which) {
      return target.substr(url.field_data[which].off, url.field_data[which].len);
    };
    raw_path = (url.field_set & (1 << UF_PATH)) ? field(UF_PATH) : std::string_view("/");
    if (url.field_set & (1 << UF_QUERY)) current_.query = std::string(field(UF_QUERY));
  }
  auto path = decodePath(raw_path);
  if (!path) return fail(path.error().status, path.error().reason);
  current_.path = std::move(*path);
  return true;
}

bool RequestParser::checkHeaders() {
  size_t hosts = 0;
  std::vector<std::string> codings;
  std::string_view expect;
  bool has_expect = false;
  for (const auto& header : current_.headers) {
    if (header.name == "host") ++hosts;
    if (header.name == "transfer-encoding") {
      auto members = listMembers(header.value);
      codings.insert(codings.end(), members.begin(), members.end());
    }
    if (header.name == "expect") {
      expect = header.value;
      has_expect = true;
    }
  }
  // RFC 9112 §3.2: exactly one Host in HTTP/1.1 (at most one in 1.0).
  if (hosts > 1 || (hosts == 0 && current_.version_minor >= 1)) {
    return fail(400, hosts > 1 ? "more than one Host header" : "no Host header");
  }
  // RFC 9112 §6.1: the only transfer coding we implement is chunked.
  for (const auto& coding : codings) {
    if (coding != "chunked") return fail(501, "transfer coding '" + coding + "' not implemented");
  }
  if (has_expect) {
    // RFC 9110 §10.1.1: 100-continue is the only expectation; ignored in HTTP/1.0.
    if (lowercase(trimOws(expect)) != "100-continue") return fail(417, "unknown expectation");
    bool has_body = (parser_->flags & F_CHUNKED) ||
                    ((parser_->flags & F_CONTENTLENGTH) && parser_->content_length > 0);
    wants_continue_ = current_.version_minor >= 1 && has_body;
  }
  return true;
}

int RequestParser::onBody(http_parser* parser, const char* at, size_t length) {
  RequestParser& me = *self(parser);
  me.wants_continue_ = false;  // the client did not wait for it
  if (me.current_.body.size() + length > me.body_limit_bytes_) {
    return me.fail(413, "request body too large") ? 0 : 1;
  }
  me.current_.body.append(at, length);
  return 0;
}

int RequestParser::onMessageComplete(http_parser* parser) {
  RequestParser& me = *self(parser);
  me.wants_continue_ = false;
  ParsedRequest done;
  done.request = std::move(me.current_);
  done.keep_alive = http_should_keep_alive(parser) != 0;
  done.upgrade = parser->upgrade != 0;
  me.complete_ = std::move(done);
  // Stop here: the bytes after this request wait until it was answered.
  http_parser_pause(parser, 1);
  return 0;
}

}  // namespace parley::http
