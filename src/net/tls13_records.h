// TLS 1.3 record protection (RFC 8446 §5, §7.1-7.3) for server connections OpenSSL shook
// hands for: once established, a session keeps ~250 bytes of keys instead of an SSL object.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "util/result.h"

namespace parley::net {

// The record layer of one established TLS 1.3 connection: application data, alerts and
// KeyUpdate (§4.6.3). Nothing else is legal after the handshake on a server without
// post-handshake authentication, so anything else ends the connection with the alert §6 names.
// A session holds only its keys: each record is protected with a cipher context of the thread's,
// keyed for it (so an object is used on one thread at a time, as a Connection is).
class alignas(64) Tls13Records {
 public:
  static constexpr size_t kHeaderSize = 5;
  static constexpr size_t kMaxPlaintext = size_t{1} << 14;         // §5.1
  static constexpr size_t kMaxInnerPlaintext = kMaxPlaintext + 1;  // §5.4, padding included
  static constexpr size_t kTagSize = 16;                           // every suite we take
  // The largest record we accept, header included: §5.2 caps the ciphertext at 2^14 + 256
  // bytes, §5.4 what it protects at 2^14 + 1.
  static constexpr size_t kMaxRecordSize = kHeaderSize + kMaxInnerPlaintext + kTagSize;

  enum ContentType : uint8_t {
    kChangeCipherSpec = 20,
    kAlert = 21,
    kHandshake = 22,
    kApplicationData = 23,
  };
  // Alert descriptions (§6.2) we send.
  enum AlertDescription : uint8_t {
    kCloseNotify = 0,
    kUnexpectedMessage = 10,
    kBadRecordMac = 20,
    kRecordOverflow = 22,
    kIllegalParameter = 47,
    kDecodeError = 50,
    kInternalError = 80,
  };
  static constexpr uint8_t kNoAlert = 255;  // the peer sent a fatal alert: answer nothing

  struct Failure {
    uint8_t alert;  // to send with sealAlert, or kNoAlert
    std::string message;
  };
  enum class Content {
    Data,         // application bytes in `out`
    Control,      // a KeyUpdate (answered into `reply` if asked) or user_canceled: nothing to do
    CloseNotify,  // the peer's end of the stream
  };
  struct Opened {
    Content content;
    size_t size = 0;  // application bytes written to `out`
  };

  // One direction: the current application traffic secret and the next record's number.
  struct Direction {
    std::string_view secret;  // copied into the keys; the caller wipes its own
    uint64_t seq = 0;
  };

  // Which end we are. A client also takes the server's NewSessionTicket messages (§4.6.1),
  // and ignores them: it never resumes.
  enum class Role : uint8_t { Server, Client };

  // cipher_suite is the IANA number: 0x1301 (AES-128-GCM), 0x1302 (AES-256-GCM) or 0x1303
  // (ChaCha20-Poly1305); nullptr for any other, or secrets of the wrong length.
  static std::unique_ptr<Tls13Records> create(uint16_t cipher_suite, const Direction& read,
                                              const Direction& write, Role role = Role::Server);
  ~Tls13Records();
  Tls13Records(const Tls13Records&) = delete;
  Tls13Records& operator=(const Tls13Records&) = delete;

  // The size of the record that starts `input` (header included), or 0 while fewer than
  // kHeaderSize bytes are there. May exceed input.size(): the rest has not arrived.
  static size_t recordSize(std::string_view input);

  // Decrypts one whole record (recordSize() bytes) into `out`, which has room for
  // record.size() bytes. A KeyUpdate that asks for ours gets it appended to `reply`, protected
  // with our current keys, before our keys change.
  Result<Opened, Failure> open(std::string_view record, char* out, std::string& reply);
  // Appends `data` to `out` as application data records of at most kMaxPlaintext bytes.
  Result<void, Failure> seal(std::string_view data, std::string& out) {
    return sealRecords(kApplicationData, data, out);
  }
  // Any content type, for alerts and KeyUpdate (and tests that build bad records).
  Result<void, Failure> sealRecords(ContentType type, std::string_view data, std::string& out);
  // close_notify is a warning; everything else ends the connection (§6).
  void sealAlert(uint8_t description, std::string& out);

  // HKDF-Expand-Label(secret, label, context, length), §7.1.
  static std::string expandLabel(const EVP_MD* md, std::string_view secret, std::string_view label,
                                 size_t length, std::string_view context = {});

 private:
  struct Suite;
  // What every record of one direction reads.
  struct Keys {
    unsigned char key[32];
    unsigned char iv[12];
    uint64_t seq = 0;
  };
  enum Which : uint8_t { kRead, kWrite };

  static const Suite* suiteFor(uint16_t id);
  Tls13Records(const Suite& suite, Role role) : suite_(suite), role_(role) {}
  Keys& keys(Which which) { return which == kRead ? read_ : write_; }
  void install(Which which, std::string_view secret, uint64_t seq);
  void update(Which which);  // the next generation of traffic secret (§7.2)
  // The thread's context for our suite, keyed for one record of `keys`.
  EVP_CIPHER_CTX* cipherFor(const Keys& keys, const unsigned char (&nonce)[12], bool encrypt) const;
  Result<Opened, Failure> onHandshake(const char* data, size_t size, std::string& reply);
  Result<Opened, Failure> onAlert(const char* data, size_t size);

  // Laid out by cache line (with 10,000 sessions each record finds its keys cold): opening a
  // record reads only the first line, sealing one the first two.
  Keys read_;
  const Suite& suite_;
  Keys write_;
  Role role_;
  unsigned char secrets_[2][EVP_MAX_MD_SIZE];  // by Which: only a KeyUpdate needs them
};

// Collects, during a server handshake, what Tls13Records needs from OpenSSL: the application
// traffic secrets (the key log callback) and how many records each side has protected with
// them (the message callback: the records after each side's Finished). Lives from SSL_new to
// the end of the handshake.
class Tls13Handoff {
 public:
  // Every server SSL_CTX: SSLs made from it report their secrets to their Tls13Handoff.
  static void enable(SSL_CTX* ctx);

  explicit Tls13Handoff(SSL* ssl);
  ~Tls13Handoff();
  Tls13Handoff(const Tls13Handoff&) = delete;
  Tls13Handoff& operator=(const Tls13Handoff&) = delete;

  // Right after the handshake completed (before any SSL_read): the record layer to go on
  // with, or nullptr where OpenSSL must keep the connection (TLS 1.2, another cipher suite,
  // a peer certificate someone will ask for, state we did not see). Detaches from `ssl`.
  std::unique_ptr<Tls13Records> take(SSL* ssl);

 private:
  static void onKeyLog(const SSL* ssl, const char* line);
  static void onMessage(int write_p, int version, int content_type, const void* buf, size_t len,
                        SSL* ssl, void* arg);

  std::string client_secret_, server_secret_;
  uint64_t read_records_ = 0, write_records_ = 0;
  bool read_finished_ = false, write_finished_ = false;
  bool unusable_ = false;  // something we do not follow happened (a KeyUpdate mid-handshake)
};

}  // namespace parley::net
