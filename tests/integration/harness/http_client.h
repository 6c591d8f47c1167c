// HttpClient: a byte-level HTTP/1.1 client for the integration tests. It sends whatever bytes
// a test writes (bad request lines, pipelined requests, partial requests) over TCP or TLS
// (OpenSSL, no certificate verification) and reads complete responses back.
#pragma once

#include <openssl/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::integration {

struct HttpResponse {
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent
  std::string body;                                          // de-chunked

  // The first header of that name (case-insensitive), or nullopt.
  std::optional<std::string> header(std::string_view name) const;
};

// One connection to 127.0.0.1. Not copyable, not thread-safe.
class HttpClient {
 public:
  using Millis = std::chrono::milliseconds;
  static constexpr Millis kTimeout = std::chrono::seconds(5);

  HttpClient() = default;
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Plain TCP.
  bool connect(uint16_t port);
  // TCP, then a TLS handshake with that SNI and ALPN ("" = none). No verification.
  bool connectTls(uint16_t port, const std::string& sni = "localhost",
                  const std::string& alpn = "http/1.1");
  bool send(std::string_view bytes);

  // Reads one response: status line, headers, then the body by Content-Length, chunked, or
  // up to the close (none for HEAD, 1xx, 204 and 304). A "100 Continue" is a response too.
  // nullopt on timeout, or a close or malformed bytes before the response is complete.
  std::optional<HttpResponse> readResponse(Millis timeout = kTimeout, bool head = false);
  // True once the server closed the connection (what it sent before is kept in received()).
  bool waitClosed(Millis timeout = kTimeout);
  bool isClosed() const { return closed_; }

  // Everything received so far, and what was not consumed by readResponse() yet.
  const std::string& received() const { return buffer_; }
  std::string unread() const { return buffer_.substr(cursor_); }
  bool isTls() const { return ssl_ != nullptr; }
  std::string alpn() const;                  // negotiated ALPN protocol, or ""
  std::string peerCertificateNames() const;  // the server certificate's subject, one line

 private:
  using Clock = std::chrono::steady_clock;
  bool fill(Clock::time_point deadline);  // reads what arrives; false on close or timeout
  bool waitFor(size_t bytes, Clock::time_point deadline);
  std::optional<size_t> waitForText(std::string_view text, Clock::time_point deadline);
  void closeSocket();

  int fd_ = -1;
  SSL_CTX* ssl_ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buffer_;
  size_t cursor_ = 0;
  bool closed_ = false;
};

// Builds a request: "METHOD TARGET HTTP/1.1", Host: localhost, the given header lines
// ("Name: value"), Content-Length when there is a body, then the body.
std::string httpRequest(std::string_view method, std::string_view target,
                        const std::vector<std::string>& headers = {}, std::string_view body = {});

// One request on a fresh connection (with Connection: close), its response or nullopt.
std::optional<HttpResponse> httpFetch(uint16_t port, std::string_view method,
                                      std::string_view target,
                                      const std::vector<std::string>& headers = {},
                                      bool tls = false);

}  // namespace parley::integration
