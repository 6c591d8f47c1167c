// RawClient: a byte-level XMPP client for what libstrophe cannot express (bad XML, SASL
// details, channel binding, stream-header errors), with TLS by OpenSSL.
#pragma once

#include <openssl/types.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace parley::integration {

inline constexpr const char* kStreamsNs = "http://etherx.jabber.org/streams";
inline constexpr const char* kSaslNs = "urn:ietf:params:xml:ns:xmpp-sasl";
inline constexpr const char* kTlsNs = "urn:ietf:params:xml:ns:xmpp-tls";

// Changes to a SCRAM exchange that must make the server refuse it.
struct ScramTweaks {
  bool corrupt_channel_binding = false;  // flip a bit of the cb data (-PLUS only)
  bool claim_cb_support = false;         // GS2 "y" flag on a non-PLUS mechanism
};

struct AuthResult {
  bool success = false;
  std::string condition;  // SASL failure condition ("not-authorized", ...) or harness error
};

struct LoginResult {
  bool success = false;
  std::string jid;       // the bound full JID
  std::string failure;   // SASL condition or a description of the step that failed
  std::string features;  // the stream features received after TLS, before SASL
};

// One TCP connection to 127.0.0.1. Everything read is kept in received(); reads consume
// from a cursor so a negotiation can be read step by step. Not copyable.
class RawClient {
 public:
  using Millis = std::chrono::milliseconds;
  static constexpr Millis kTimeout = std::chrono::seconds(5);

  RawClient() = default;
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // TCP connect; with DIRECT_TLS the TLS handshake follows at once (ALPN "xmpp-client").
  bool connect(uint16_t port, bool direct_tls = false);
  // TLS client handshake on the open socket (no certificate verification, SNI "localhost").
  bool handshake(bool send_alpn);
  // The same with a given SNI and ALPN ("" = none), presenting CERT_FILE/KEY_FILE if given
  // (an s2s peer authenticating with SASL EXTERNAL).
  bool handshakeWith(const std::string& sni, const std::string& alpn,
                     const std::string& cert_file = "", const std::string& key_file = "");
  bool send(const std::string& data);

  // Reads until LITERAL appears after the cursor; returns the text from the cursor through
  // the match and moves the cursor past it. nullopt on timeout or close.
  std::optional<std::string> readUntil(const std::string& literal, Millis timeout = kTimeout);
  // Same with an ECMAScript regex; GROUPS (optional) receives the capture groups of the
  // match (index 0 = whole match; "" for a group that did not take part).
  std::optional<std::string> readUntilRegex(const std::string& pattern, Millis timeout = kTimeout,
                                            std::vector<std::string>* groups = nullptr);
  // Waits until at least N bytes are unread; false on timeout or close. For binary framing
  // (WebSocket), with consume() to move the cursor past what was parsed.
  bool waitUnread(size_t n, Millis timeout = kTimeout);
  void consume(size_t n) { cursor_ = std::min(buffer_.size(), cursor_ + n); }
  // True once the server has closed the TCP connection (reads everything until then).
  bool waitClosed(Millis timeout = kTimeout);
  bool isClosed() const { return closed_; }
  // Everything received so far, and the part after the cursor.
  const std::string& received() const { return buffer_; }
  std::string unread() const { return buffer_.substr(cursor_); }

  bool isTls() const { return ssl_ != nullptr; }
  // RFC 9266: 32 bytes exported with label "EXPORTER-Channel-Binding", no context.
  std::string tlsExporter() const;
  // RFC 5929 §4.1: hash of the server certificate (SHA-256 unless its signature uses
  // a stronger hash).
  std::string tlsServerEndPoint() const;

  // --- XMPP steps ---
  // Sends the initial stream header and returns the <stream:features/> that follow.
  std::optional<std::string> openStream(const std::string& to = "localhost");
  // <starttls/>, <proceed/>, handshake, new stream; returns the new features.
  std::optional<std::string> startTls();
  // One SASL exchange with MECHANISM (PLAIN, SCRAM-SHA-1[-PLUS], SCRAM-SHA-256[-PLUS]).
  // CB_TYPE for -PLUS: "tls-exporter" (default) or "tls-server-end-point".
  AuthResult authenticate(const std::string& user, const std::string& password,
                          const std::string& mechanism, const std::string& cb_type = "",
                          ScramTweaks tweaks = {});
  // After SASL success: stream restart, bind RESOURCE, legacy session if offered.
  // Returns the bound JID or nullopt.
  std::optional<std::string> restartAndBind(const std::string& resource);

  // The whole login: stream header, STARTTLS (unless DIRECT_TLS), SASL, restart, bind.
  LoginResult loginRaw(uint16_t port, bool direct_tls, const std::string& user,
                       const std::string& password, const std::string& mechanism,
                       const std::string& cb_type = "", const std::string& resource = "raw");

 private:
  // Reads once (waiting until DEADLINE); false on timeout or close.
  bool fill(std::chrono::steady_clock::time_point deadline);
  bool waitFd(short events, std::chrono::steady_clock::time_point deadline) const;
  std::optional<std::string> readFeatures();
  std::optional<std::string> readSaslReply(std::string& kind, std::string& payload);
  void closeSocket();

  int fd_ = -1;
  SSL_CTX* ssl_ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buffer_;
  size_t cursor_ = 0;
  bool closed_ = false;
};

// The SASL failure condition inside a <failure/> element, or "" if none.
std::string saslFailureCondition(const std::string& failure_xml);
// Mechanism names listed in a features block.
std::vector<std::string> saslMechanisms(const std::string& features);

}  // namespace parley::integration
