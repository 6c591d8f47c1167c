// Helpers for the net unit tests: temp dirs, blocking loopback clients, a loop watchdog.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "net/loop.h"

namespace parley::net::test {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "parley-net-XXXXXX").string();
    char* made = ::mkdtemp(pattern.data());
    if (made != nullptr) path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Stops the loop after `limit` so a broken test fails instead of hanging.
inline bool runWithWatchdog(Loop& loop,
                            std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  bool timed_out = false;
  auto id = loop.addTimer(limit, [&] {
    timed_out = true;
    loop.stop();
  });
  loop.run();
  loop.cancelTimer(id);
  return !timed_out;
}

// A blocking TCP connection to 127.0.0.1:port, or -1.
inline int connectLoopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{5, 0};  // no test waits forever
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

inline bool writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

inline std::string readExactly(int fd, size_t count) {
  std::string out;
  char buf[4096];
  while (out.size() < count) {
    ssize_t n = ::read(fd, buf, std::min(sizeof buf, count - out.size()));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// A blocking TLS client over an already connected socket (the test owns the fd).
class TlsTestClient {
 public:
  // trust_pem: certificate to trust ("" = no verification); sni/alpn empty = not sent.
  TlsTestClient(const std::string& trust_pem, const std::string& sni,
                const std::vector<std::string>& alpn, const std::string& verify_host = "") {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    if (!trust_pem.empty()) {
      SSL_CTX_load_verify_locations(ctx_, trust_pem.c_str(), nullptr);
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
      X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx_), X509_V_FLAG_PARTIAL_CHAIN);
    }
    ssl_ = SSL_new(ctx_);
    if (!sni.empty()) SSL_set_tlsext_host_name(ssl_, sni.c_str());
    if (!verify_host.empty()) SSL_set1_host(ssl_, verify_host.c_str());
    if (!alpn.empty()) {
      std::string wire;
      for (const auto& p : alpn) {
        wire.push_back(static_cast<char>(p.size()));
        wire += p;
      }
      SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>(wire.data()),
                          static_cast<unsigned>(wire.size()));
    }
  }
  ~TlsTestClient() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }
  void setMaxVersion(int version) { SSL_set_max_proto_version(ssl_, version); }

  bool handshake(int fd) {
    SSL_set_fd(ssl_, fd);
    if (SSL_connect(ssl_) != 1) {
      ERR_print_errors_fp(stderr);
      return false;
    }
    return true;
  }
  bool write(std::string_view data) {
    while (!data.empty()) {
      int n = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Each piece in a TLS record of its own, and all the records in one write(): they reach
  // the server together.
  bool writeRecordsAtOnce(int fd, const std::vector<std::string>& pieces) {
    BIO* socket_bio = SSL_get_wbio(ssl_);
    BIO_up_ref(socket_bio);
    BIO* memory = BIO_new(BIO_s_mem());
    SSL_set0_wbio(ssl_, memory);
    bool ok = true;
    for (const auto& piece : pieces) {
      ok = ok && SSL_write(ssl_, piece.data(), static_cast<int>(piece.size())) ==
                     static_cast<int>(piece.size());
    }
    char* data = nullptr;
    long len = BIO_get_mem_data(memory, &data);
    std::string records(data, static_cast<size_t>(len));
    SSL_set0_wbio(ssl_, socket_bio);  // frees the memory BIO
    return ok && writeAll(fd, records);
  }
  // TLS 1.3 session resumption: the session (with the server's ticket) after a read, and
  // offering it to the next connection.
  SSL_SESSION* session() { return SSL_get1_session(ssl_); }
  void resume(SSL_SESSION* session) { SSL_set_session(ssl_, session); }
  bool resumed() { return SSL_session_reused(ssl_) == 1; }
  // Our next record goes out under new keys, and asks the server to move to new keys too.
  bool requestKeyUpdate() { return SSL_key_update(ssl_, SSL_KEY_UPDATE_REQUESTED) == 1; }
  // One record of `data` with a byte of its ciphertext changed, straight to the socket.
  bool writeTampered(int fd, std::string_view data) {
    BIO* socket_bio = SSL_get_wbio(ssl_);
    BIO_up_ref(socket_bio);
    BIO* memory = BIO_new(BIO_s_mem());
    SSL_set0_wbio(ssl_, memory);
    bool ok = SSL_write(ssl_, data.data(), static_cast<int>(data.size())) ==
              static_cast<int>(data.size());
    char* bytes = nullptr;
    long len = BIO_get_mem_data(memory, &bytes);
    std::string record(bytes, static_cast<size_t>(len));
    SSL_set0_wbio(ssl_, socket_bio);  // frees the memory BIO
    if (record.size() > 8) record[8] ^= 0x20;
    return ok && writeAll(fd, record);
  }
  // After a failed read: OpenSSL's reason for it (an alert from the server: 1000 + its code).
  int readFailureReason() {
    char buf[64];
    int n = SSL_read(ssl_, buf, sizeof buf);
    if (n > 0) return 0;
    return ERR_GET_REASON(ERR_peek_error());
  }
  std::string read(size_t count) {
    std::string out;
    char buf[16384];
    while (out.size() < count) {
      int n = SSL_read(ssl_, buf, static_cast<int>(std::min(sizeof buf, count - out.size())));
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  std::string exporter() {
    std::string out(32, '\0');
    static constexpr char kLabel[] = "EXPORTER-Channel-Binding";
    SSL_export_keying_material(ssl_, reinterpret_cast<unsigned char*>(out.data()), out.size(),
                               kLabel, sizeof kLabel - 1, nullptr, 0, 1);
    return out;
  }
  // SHA-256 of the server's certificate (its signature hash for our P-256 certs).
  std::string peerCertSha256() {
    X509* cert = SSL_get1_peer_certificate(ssl_);
    if (cert == nullptr) return {};
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    X509_digest(cert, EVP_sha256(), md, &len);
    X509_free(cert);
    return std::string(reinterpret_cast<char*>(md), len);
  }
  bool peerCertMatches(const std::string& host) {
    X509* cert = SSL_get1_peer_certificate(ssl_);
    if (cert == nullptr) return false;
    bool ok =
        X509_check_host(cert, host.data(), host.size(), X509_CHECK_FLAG_NO_WILDCARDS, nullptr) == 1;
    X509_free(cert);
    return ok;
  }
  long verifyResult() { return SSL_get_verify_result(ssl_); }
  std::string alpn() {
    const unsigned char* data = nullptr;
    unsigned int len = 0;
    SSL_get0_alpn_selected(ssl_, &data, &len);
    return data ? std::string(reinterpret_cast<const char*>(data), len) : std::string();
  }
  void shutdown() { SSL_shutdown(ssl_); }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

}  // namespace parley::net::test
