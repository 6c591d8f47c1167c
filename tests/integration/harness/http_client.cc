// HttpClient: raw HTTP/1.1 over TCP or TLS for the integration tests.
#include "harness/http_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace parley::integration {
namespace {

int millisUntil(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (equalsIgnoreCase(key, name)) return value;
  }
  return std::nullopt;
}

HttpClient::~HttpClient() { closeSocket(); }

void HttpClient::closeSocket() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ssl_ctx_ != nullptr) SSL_CTX_free(ssl_ctx_);
  if (fd_ >= 0) ::close(fd_);
  ssl_ = nullptr;
  ssl_ctx_ = nullptr;
  fd_ = -1;
}

bool HttpClient::connect(uint16_t port) {
  closeSocket();
  buffer_.clear();
  cursor_ = 0;
  closed_ = false;
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    closeSocket();
    return false;
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
  return true;
}

bool HttpClient::connectTls(uint16_t port, const std::string& sni, const std::string& alpn) {
  if (!connect(port)) return false;
  ssl_ctx_ = SSL_CTX_new(TLS_client_method());
  if (ssl_ctx_ == nullptr) return false;
  SSL_CTX_set_verify(ssl_ctx_, SSL_VERIFY_NONE, nullptr);
  ssl_ = SSL_new(ssl_ctx_);
  if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1) return false;
  if (!sni.empty()) SSL_set_tlsext_host_name(ssl_, sni.c_str());
  if (!alpn.empty()) {
    std::string wire(1, static_cast<char>(alpn.size()));
    wire += alpn;
    SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>(wire.data()),
                        static_cast<unsigned>(wire.size()));
  }
  auto deadline = Clock::now() + kTimeout;
  for (;;) {
    ERR_clear_error();
    int r = SSL_connect(ssl_);
    if (r == 1) return true;
    int err = SSL_get_error(ssl_, r);
    short events = err == SSL_ERROR_WANT_READ ? POLLIN : err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (events == 0) return false;
    pollfd pfd{fd_, events, 0};
    if (poll(&pfd, 1, millisUntil(deadline)) <= 0) return false;
  }
}

bool HttpClient::send(std::string_view bytes) {
  auto deadline = Clock::now() + kTimeout;
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n;
    short wait_for = POLLOUT;
    if (ssl_ != nullptr) {
      ERR_clear_error();
      int r = SSL_write(ssl_, bytes.data() + done, static_cast<int>(bytes.size() - done));
      n = r;
      if (r <= 0) {
        int err = SSL_get_error(ssl_, r);
        if (err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ) return false;
        wait_for = err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        n = 0;
      }
    } else {
      n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
      if (n < 0) n = 0;
    }
    done += static_cast<size_t>(n);
    if (done < bytes.size() && n == 0) {
      pollfd pfd{fd_, wait_for, 0};
      if (poll(&pfd, 1, millisUntil(deadline)) <= 0) return false;
    }
  }
  return true;
}

bool HttpClient::fill(Clock::time_point deadline) {
  if (closed_ || fd_ < 0) return false;
  char chunk[16384];
  for (;;) {
    ssize_t n;
    if (ssl_ != nullptr) {
      ERR_clear_error();
      int r = SSL_read(ssl_, chunk, sizeof chunk);
      if (r > 0) {
        buffer_.append(chunk, static_cast<size_t>(r));
        return true;
      }
      int err = SSL_get_error(ssl_, r);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        closed_ = true;
        return false;
      }
    } else {
      n = ::read(fd_, chunk, sizeof chunk);
      if (n > 0) {
        buffer_.append(chunk, static_cast<size_t>(n));
        return true;
      }
      if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        closed_ = true;
        return false;
      }
    }
    pollfd pfd{fd_, POLLIN, 0};
    if (poll(&pfd, 1, millisUntil(deadline)) <= 0) return false;  // timeout
  }
}

bool HttpClient::waitFor(size_t bytes, Clock::time_point deadline) {
  while (buffer_.size() - cursor_ < bytes) {
    if (!fill(deadline)) return false;
  }
  return true;
}

std::optional<size_t> HttpClient::waitForText(std::string_view text, Clock::time_point deadline) {
  for (;;) {
    size_t at = buffer_.find(text, cursor_);
    if (at != std::string::npos) return at;
    if (!fill(deadline)) return std::nullopt;
  }
}

std::optional<HttpResponse> HttpClient::readResponse(Millis timeout, bool head) {
  auto deadline = Clock::now() + timeout;
  auto end_of_head = waitForText("\r\n\r\n", deadline);
  if (!end_of_head) return std::nullopt;
  std::string_view head_text =
      std::string_view(buffer_).substr(cursor_, *end_of_head - cursor_ + 2);
  HttpResponse response;
  size_t line_end = head_text.find("\r\n");
  std::string_view status_line = head_text.substr(0, line_end);
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12) return std::nullopt;
  response.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
  response.reason = std::string(status_line.size() > 13 ? status_line.substr(13) : "");
  std::string_view rest = head_text.substr(line_end + 2);
  while (!rest.empty()) {
    size_t end = rest.find("\r\n");
    std::string_view line = rest.substr(0, end);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    response.headers.emplace_back(std::string(line.substr(0, colon)),
                                  std::string(trim(line.substr(colon + 1))));
    rest.remove_prefix(end + 2);
  }
  cursor_ = *end_of_head + 4;
  bool no_body = head || response.status < 200 || response.status == 204 || response.status == 304;
  if (no_body) return response;
  auto coding = response.header("Transfer-Encoding");
  if (coding && coding->find("chunked") != std::string::npos) {
    for (;;) {
      auto size_end = waitForText("\r\n", deadline);
      if (!size_end) return std::nullopt;
      size_t size = std::strtoul(buffer_.substr(cursor_, *size_end - cursor_).c_str(), nullptr, 16);
      cursor_ = *size_end + 2;
      if (size == 0) {
        auto trailer_end = waitForText("\r\n", deadline);  // no trailers expected
        if (!trailer_end) return std::nullopt;
        cursor_ = *trailer_end + 2;
        return response;
      }
      if (!waitFor(size + 2, deadline)) return std::nullopt;
      response.body.append(buffer_, cursor_, size);
      cursor_ += size + 2;
    }
  }
  if (auto length = response.header("Content-Length")) {
    size_t size = std::strtoul(length->c_str(), nullptr, 10);
    if (!waitFor(size, deadline)) return std::nullopt;
    response.body = buffer_.substr(cursor_, size);
    cursor_ += size;
    return response;
  }
  while (fill(deadline)) {
  }
  if (!closed_) return std::nullopt;  // timed out before the close that ends the body
  response.body = buffer_.substr(cursor_);
  cursor_ = buffer_.size();
  return response;
}

bool HttpClient::waitClosed(Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (!closed_) {
    if (!fill(deadline) && !closed_) return false;
  }
  return true;
}

std::string HttpClient::alpn() const {
  if (ssl_ == nullptr) return "";
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_, &data, &length);
  return std::string(reinterpret_cast<const char*>(data), length);
}

std::string HttpClient::peerCertificateNames() const {
  if (ssl_ == nullptr) return "";
  X509* cert = SSL_get1_peer_certificate(ssl_);
  if (cert == nullptr) return "";
  char line[512];
  X509_NAME_oneline(X509_get_subject_name(cert), line, sizeof line);
  X509_free(cert);
  return line;
}

std::string httpRequest(std::string_view method, std::string_view target,
                        const std::vector<std::string>& headers, std::string_view body) {
  std::string out;
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: localhost\r\n");
  for (const auto& header : headers) out.append(header).append("\r\n");
  if (!body.empty()) out.append("Content-Length: ").append(std::to_string(body.size()));
  if (!body.empty()) out.append("\r\n");
  out.append("\r\n").append(body);
  return out;
}

std::optional<HttpResponse> httpFetch(uint16_t port, std::string_view method,
                                      std::string_view target,
                                      const std::vector<std::string>& headers, bool tls) {
  HttpClient client;
  if (!(tls ? client.connectTls(port) : client.connect(port))) return std::nullopt;
  std::vector<std::string> all = headers;
  all.push_back("Connection: close");
  if (!client.send(httpRequest(method, target, all))) return std::nullopt;
  return client.readResponse(HttpClient::kTimeout, method == "HEAD");
}

}  // namespace parley::integration
