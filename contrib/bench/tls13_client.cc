// A TLS 1.3 client handshake for the load generator: RFC 8446 §4 (messages), §7.1 (the key
// schedule), §4.4.3 (CertificateVerify), §4.4.4 (Finished).
#include "tls13_client.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstring>

#include "auth/credentials.h"

namespace parley::bench {
namespace {

constexpr uint16_t kAes128GcmSha256 = 0x1301;
constexpr uint16_t kX25519 = 0x001d;
constexpr uint16_t kEcdsaSecp256r1Sha256 = 0x0403, kRsaPssRsaeSha256 = 0x0804, kEd25519 = 0x0807;
constexpr size_t kHashSize = 32, kKeySize = 16, kIvSize = 12, kTagSize = 16;
constexpr size_t kMaxCiphertext = (size_t{1} << 14) + 256;  // §5.2

enum HandshakeType : uint8_t {
  kClientHello = 1,
  kServerHello = 2,
  kEncryptedExtensions = 8,
  kCertificate = 11,
  kCertificateRequest = 13,
  kCertificateVerify = 15,
  kFinished = 20,
};
// Record content types (§5.1), as the record layer names them.
constexpr uint8_t kChangeCipherSpec = net::Tls13Records::kChangeCipherSpec;
constexpr uint8_t kAlert = net::Tls13Records::kAlert;
constexpr uint8_t kHandshake = net::Tls13Records::kHandshake;
constexpr uint8_t kData = net::Tls13Records::kApplicationData;

// §4.1.3: the ServerHello random of a HelloRetryRequest.
constexpr unsigned char kRetryRandom[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};

const EVP_MD* sha256() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

const EVP_CIPHER* aes128gcm() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  return cipher;
}

// SHA-256 and HMAC-SHA-256, the suite's hash (auth/credentials.h).
std::string hashOf(std::string_view data) { return auth::hashOf(auth::HashAlg::Sha256, data); }
std::string hmacOf(std::string_view key, std::string_view data) {
  return auth::hmacOf(auth::HashAlg::Sha256, key, data);
}

// §7.1: Derive-Secret(Secret, Label, Messages), given Transcript-Hash(Messages).
std::string deriveSecret(std::string_view secret, std::string_view label, std::string_view hash) {
  return net::Tls13Records::expandLabel(sha256(), secret, label, kHashSize, hash);
}

void put8(std::string& out, size_t value) { out.push_back(static_cast<char>(value & 0xff)); }
void put16(std::string& out, size_t value) {
  put8(out, value >> 8);
  put8(out, value);
}
void put24(std::string& out, size_t value) {
  put8(out, value >> 16);
  put16(out, value);
}

// Reads big-endian fields off the front of a message; any short read leaves it failed.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  size_t number(size_t bytes) {
    if (data_.size() < bytes) return fail();
    size_t value = 0;
    for (size_t i = 0; i < bytes; ++i) value = (value << 8) | static_cast<unsigned char>(data_[i]);
    data_.remove_prefix(bytes);
    return value;
  }
  std::string_view bytes(size_t size) {
    if (data_.size() < size) return fail(), std::string_view();
    auto out = data_.substr(0, size);
    data_.remove_prefix(size);
    return out;
  }
  std::string_view vector(size_t length_bytes) { return bytes(number(length_bytes)); }
  bool ok() const { return ok_; }
  bool empty() const { return data_.empty(); }

 private:
  size_t fail() {
    ok_ = false;
    data_ = {};
    return 0;
  }
  std::string_view data_;
  bool ok_ = true;
};

}  // namespace

// ---- ServerKeyCache ----

ServerKeyCache::~ServerKeyCache() {
  for (auto& [der, key] : keys_) EVP_PKEY_free(key);
}

EVP_PKEY* ServerKeyCache::keyFor(std::string_view der) {
  auto it = keys_.find(std::string(der));
  if (it != keys_.end()) return it->second;
  const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
  X509* cert = d2i_X509(nullptr, &cursor, static_cast<long>(der.size()));
  if (cert == nullptr) return nullptr;
  EVP_PKEY* key = X509_get_pubkey(cert);
  X509_free(cert);
  if (key != nullptr) keys_.emplace(std::string(der), key);
  return key;
}

// ---- record protection during the handshake (§5.2, §5.3) ----

struct Tls13ClientHandshake::Aead {
  unsigned char key[kKeySize];
  unsigned char iv[kIvSize];
  uint64_t seq = 0;
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();

  explicit Aead(std::string_view secret) {
    auto k = net::Tls13Records::expandLabel(sha256(), secret, "key", kKeySize);
    auto i = net::Tls13Records::expandLabel(sha256(), secret, "iv", kIvSize);
    std::memcpy(key, k.data(), kKeySize);
    std::memcpy(iv, i.data(), kIvSize);
    OPENSSL_cleanse(k.data(), k.size());
    OPENSSL_cleanse(i.data(), i.size());
  }
  ~Aead() {
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(key, sizeof key);
  }
  Aead(const Aead&) = delete;
  Aead& operator=(const Aead&) = delete;

  void nonce(unsigned char out[kIvSize]) {
    std::memcpy(out, iv, kIvSize);
    for (int i = 0; i < 8; ++i) out[kIvSize - 1 - i] ^= static_cast<unsigned char>(seq >> (8 * i));
    ++seq;
  }

  // The inner plaintext (content, type, padding) of a whole record, or nullopt if it fails
  // authentication.
  std::optional<std::string> open(std::string_view record) {
    if (record.size() < 5 + kTagSize) return std::nullopt;
    unsigned char n[kIvSize];
    nonce(n);
    const auto* header = reinterpret_cast<const unsigned char*>(record.data());
    auto body = record.substr(5);
    size_t size = body.size() - kTagSize;
    std::string out(size, '\0');
    int len = 0;
    bool ok =
        EVP_DecryptInit_ex(ctx, aes128gcm(), nullptr, key, n) == 1 &&
        EVP_DecryptUpdate(ctx, nullptr, &len, header, 5) == 1 &&
        EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &len,
                          reinterpret_cast<const unsigned char*>(body.data()),
                          static_cast<int>(size)) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagSize,
                            const_cast<char*>(body.data() + size)) == 1 &&
        EVP_DecryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()) + len, &len) == 1;
    if (!ok) return std::nullopt;
    return out;
  }

  // A record of `type` holding `data` (one record: the handshake's messages are small).
  std::string seal(uint8_t type, std::string_view data) {
    std::string inner(data);
    inner.push_back(static_cast<char>(type));
    std::string record;
    put8(record, kData);
    put16(record, 0x0303);
    put16(record, inner.size() + kTagSize);
    unsigned char n[kIvSize];
    nonce(n);
    std::string body(inner.size() + kTagSize, '\0');
    int len = 0;
    auto* out = reinterpret_cast<unsigned char*>(body.data());
    EVP_EncryptInit_ex(ctx, aes128gcm(), nullptr, key, n);
    EVP_EncryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(record.data()), 5);
    EVP_EncryptUpdate(ctx, out, &len, reinterpret_cast<const unsigned char*>(inner.data()),
                      static_cast<int>(inner.size()));
    EVP_EncryptFinal_ex(ctx, out + len, &len);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagSize, out + inner.size());
    OPENSSL_cleanse(inner.data(), inner.size());
    return record + body;
  }
};

// ---- the handshake ----

Tls13ClientHandshake::Tls13ClientHandshake(std::string server_name, ServerKeyCache& keys)
    : server_name_(std::move(server_name)), keys_(keys) {}

Tls13ClientHandshake::~Tls13ClientHandshake() {
  EVP_PKEY_free(share_);
  for (auto* secret : {&handshake_secret_, &client_hs_secret_, &server_hs_secret_}) {
    OPENSSL_cleanse(secret->data(), secret->size());
  }
}

// §4.1.2, with the extensions §9.2 makes mandatory: supported_versions, signature_algorithms,
// supported_groups, key_share, and server_name.
std::string Tls13ClientHandshake::start() {
  share_ = EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519");
  unsigned char public_key[32];
  size_t public_size = sizeof public_key;
  if (share_ == nullptr || EVP_PKEY_get_raw_public_key(share_, public_key, &public_size) != 1) {
    return {};
  }
  std::string extensions;
  put16(extensions, 0);  // server_name (RFC 6066 §3)
  put16(extensions, server_name_.size() + 5);
  put16(extensions, server_name_.size() + 3);
  put8(extensions, 0);  // host_name
  put16(extensions, server_name_.size());
  extensions += server_name_;
  put16(extensions, 10);  // supported_groups
  put16(extensions, 4);
  put16(extensions, 2);
  put16(extensions, kX25519);
  put16(extensions, 13);  // signature_algorithms
  put16(extensions, 8);
  put16(extensions, 6);
  put16(extensions, kEcdsaSecp256r1Sha256);
  put16(extensions, kRsaPssRsaeSha256);
  put16(extensions, kEd25519);
  put16(extensions, 43);  // supported_versions
  put16(extensions, 3);
  put8(extensions, 2);
  put16(extensions, 0x0304);
  put16(extensions, 51);  // key_share
  put16(extensions, public_size + 6);
  put16(extensions, public_size + 4);
  put16(extensions, kX25519);
  put16(extensions, public_size);
  extensions.append(reinterpret_cast<const char*>(public_key), public_size);

  std::string body;
  put16(body, 0x0303);  // legacy_version
  unsigned char random[32];
  RAND_bytes(random, sizeof random);
  body.append(reinterpret_cast<const char*>(random), sizeof random);
  put8(body, 0);  // legacy_session_id: none, so no middlebox compatibility mode (§D.4)
  put16(body, 2);
  put16(body, kAes128GcmSha256);
  put8(body, 1);  // legacy_compression_methods: null
  put8(body, 0);
  put16(body, extensions.size());
  body += extensions;

  std::string message;
  put8(message, kClientHello);
  put24(message, body.size());
  message += body;
  transcript_ = message;
  std::string record;
  put8(record, kHandshake);
  put16(record, 0x0301);  // §5.1: legacy_record_version of a ClientHello
  put16(record, message.size());
  return record + message;
}

Result<bool, std::string> Tls13ClientHandshake::receive(std::string_view bytes, std::string& out) {
  input_.append(bytes);
  size_t offset = 0;
  while (expect_ != Expect::Done && input_.size() - offset >= 5) {
    const auto* header = reinterpret_cast<const unsigned char*>(input_.data() + offset);
    size_t length = (size_t{header[3]} << 8) | header[4];
    if (length > kMaxCiphertext) return Unexpected(std::string("record_overflow"));
    if (input_.size() - offset < 5 + length) break;
    auto record = std::string_view(input_).substr(offset, 5 + length);
    offset += 5 + length;
    if (auto done = onRecord(header[0], record, out); !done) return Unexpected(done.error());
  }
  input_.erase(0, offset);
  return expect_ == Expect::Done;
}

Result<void, std::string> Tls13ClientHandshake::onRecord(uint8_t type, std::string_view record,
                                                         std::string& out) {
  std::string_view content = record.substr(5);
  std::optional<std::string> opened;
  if (type == kChangeCipherSpec) return {};  // §5: ignored during the handshake
  if (type == kAlert) {
    return Unexpected("alert " +
                      std::to_string(record.size() > 6 ? static_cast<uint8_t>(record[6]) : 0));
  }
  if (type == kData) {
    if (!read_) return Unexpected(std::string("protected record before the ServerHello"));
    opened = read_->open(record);
    if (!opened) return Unexpected(std::string("bad_record_mac"));
    while (!opened->empty() && opened->back() == '\0') opened->pop_back();
    if (opened->empty()) return Unexpected(std::string("record without a content type"));
    type = static_cast<uint8_t>(opened->back());
    opened->pop_back();
    if (type == kAlert) {
      return Unexpected(
          "alert " + std::to_string(opened->size() > 1 ? static_cast<uint8_t>((*opened)[1]) : 0));
    }
    content = *opened;
  } else if (read_) {
    return Unexpected(std::string("an unprotected record after the ServerHello"));
  }
  if (type != kHandshake) return Unexpected("record of content type " + std::to_string(type));
  messages_.append(content);
  size_t offset = 0;
  while (messages_.size() - offset >= 4 && expect_ != Expect::Done) {
    const auto* header = reinterpret_cast<const unsigned char*>(messages_.data() + offset);
    size_t length = (size_t{header[1]} << 16) | (size_t{header[2]} << 8) | header[3];
    if (messages_.size() - offset < 4 + length) break;
    auto whole = std::string_view(messages_).substr(offset, 4 + length);
    offset += 4 + length;
    if (auto done = onMessage(header[0], whole.substr(4), whole, out); !done) return done;
  }
  messages_.erase(0, offset);
  if (opened) OPENSSL_cleanse(opened->data(), opened->size());
  return {};
}

Result<void, std::string> Tls13ClientHandshake::onMessage(uint8_t type, std::string_view body,
                                                          std::string_view whole,
                                                          std::string& out) {
  switch (expect_) {
    case Expect::ServerHello:
      if (type != kServerHello) break;
      transcript_.append(whole);
      return onServerHello(body);
    case Expect::EncryptedExtensions:
      if (type != kEncryptedExtensions) break;
      transcript_.append(whole);
      expect_ = Expect::Certificate;
      return {};
    case Expect::Certificate:
      if (type == kCertificateRequest && !certificate_requested_) {
        // §4.3.2: we have none and send an empty Certificate (§4.4.2) before our Finished.
        Reader in(body);
        certificate_request_context_ = std::string(in.vector(1));
        if (!in.ok()) return Unexpected(std::string("malformed CertificateRequest"));
        certificate_requested_ = true;
        transcript_.append(whole);
        return {};
      }
      if (type != kCertificate) break;
      transcript_.append(whole);
      return onCertificate(body);
    case Expect::CertificateVerify:
      if (type != kCertificateVerify) break;
      if (auto ok = onCertificateVerify(body); !ok) return ok;  // signs the transcript before it
      transcript_.append(whole);
      return {};
    case Expect::Finished:
      if (type != kFinished) break;
      return onFinished(body, out);  // appends itself: our Finished covers it
    case Expect::Done:
      break;
  }
  return Unexpected("unexpected handshake message " + std::to_string(type));
}

std::string Tls13ClientHandshake::transcriptHash() const { return hashOf(transcript_); }

Result<void, std::string> Tls13ClientHandshake::onServerHello(std::string_view body) {
  Reader in(body);
  in.number(2);  // legacy_version
  auto random = in.bytes(32);
  in.vector(1);  // legacy_session_id_echo
  size_t suite = in.number(2);
  size_t compression = in.number(1);
  Reader extensions(in.vector(2));
  if (!in.ok()) return Unexpected(std::string("malformed ServerHello"));
  if (random == std::string_view(reinterpret_cast<const char*>(kRetryRandom), 32)) {
    return Unexpected(std::string("a HelloRetryRequest (the server wants another group)"));
  }
  if (suite != kAes128GcmSha256 || compression != 0) {
    return Unexpected("the server chose cipher suite " + std::to_string(suite));
  }
  size_t version = 0;
  std::string_view peer_share;
  while (!extensions.empty() && extensions.ok()) {
    size_t kind = extensions.number(2);
    Reader data(extensions.vector(2));
    if (kind == 43) version = data.number(2);
    if (kind == 51 && data.number(2) == kX25519) peer_share = data.vector(2);
  }
  if (version != 0x0304) return Unexpected(std::string("the server did not choose TLS 1.3"));
  if (peer_share.size() != 32) return Unexpected(std::string("no X25519 key share"));

  EVP_PKEY* peer = EVP_PKEY_new_raw_public_key_ex(
      nullptr, "X25519", nullptr, reinterpret_cast<const unsigned char*>(peer_share.data()),
      peer_share.size());
  EVP_PKEY_CTX* derive = EVP_PKEY_CTX_new_from_pkey(nullptr, share_, nullptr);
  unsigned char shared[32];
  size_t shared_size = sizeof shared;
  bool ok = peer != nullptr && derive != nullptr && EVP_PKEY_derive_init(derive) == 1 &&
            EVP_PKEY_derive_set_peer(derive, peer) == 1 &&
            EVP_PKEY_derive(derive, shared, &shared_size) == 1;
  EVP_PKEY_CTX_free(derive);
  EVP_PKEY_free(peer);
  EVP_PKEY_free(share_);
  share_ = nullptr;
  if (!ok) return Unexpected(std::string("X25519 key agreement failed"));

  // §7.1, without a PSK: Early Secret = HKDF-Extract(0, 0).
  const std::string zeros(kHashSize, '\0');
  std::string early = hmacOf(zeros, zeros);
  std::string derived = deriveSecret(early, "derived", hashOf(""));
  handshake_secret_ =
      hmacOf(derived, std::string_view(reinterpret_cast<const char*>(shared), shared_size));
  OPENSSL_cleanse(shared, sizeof shared);
  OPENSSL_cleanse(early.data(), early.size());
  auto hash = transcriptHash();
  client_hs_secret_ = deriveSecret(handshake_secret_, "c hs traffic", hash);
  server_hs_secret_ = deriveSecret(handshake_secret_, "s hs traffic", hash);
  read_ = std::make_unique<Aead>(server_hs_secret_);
  write_ = std::make_unique<Aead>(client_hs_secret_);
  expect_ = Expect::EncryptedExtensions;
  return {};
}

// §4.4.2: the server's certificate is the first entry.
Result<void, std::string> Tls13ClientHandshake::onCertificate(std::string_view body) {
  Reader in(body);
  in.vector(1);  // certificate_request_context
  Reader list(in.vector(3));
  auto first = list.vector(3);
  if (!in.ok() || !list.ok() || first.empty()) return Unexpected(std::string("no certificate"));
  server_key_ = keys_.keyFor(first);
  if (server_key_ == nullptr) return Unexpected(std::string("unreadable server certificate"));
  expect_ = Expect::CertificateVerify;
  return {};
}

// §4.4.3: the signature covers 64 spaces, the context string, a zero byte and the transcript
// hash up to the Certificate.
Result<void, std::string> Tls13ClientHandshake::onCertificateVerify(std::string_view body) {
  Reader in(body);
  size_t scheme = in.number(2);
  auto signature = in.vector(2);
  if (!in.ok() || !in.empty()) return Unexpected(std::string("malformed CertificateVerify"));
  std::string signed_content(64, ' ');
  signed_content += "TLS 1.3, server CertificateVerify";
  signed_content.push_back('\0');
  signed_content += transcriptHash();

  const char* wanted = scheme == kEcdsaSecp256r1Sha256 ? "EC"
                       : scheme == kRsaPssRsaeSha256   ? "RSA"
                       : scheme == kEd25519            ? "ED25519"
                                                       : nullptr;
  if (wanted == nullptr || !EVP_PKEY_is_a(server_key_, wanted)) {
    return Unexpected("signature scheme " + std::to_string(scheme) + " does not fit the key");
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = EVP_DigestVerifyInit_ex(ctx, &pctx, scheme == kEd25519 ? nullptr : "SHA256", nullptr,
                                    nullptr, server_key_, nullptr) == 1;
  if (ok && scheme == kRsaPssRsaeSha256) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  }
  ok = ok && EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                              signature.size(),
                              reinterpret_cast<const unsigned char*>(signed_content.data()),
                              signed_content.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return Unexpected(std::string("the server's CertificateVerify signature is wrong"));
  expect_ = Expect::Finished;
  return {};
}

// §4.4.4: check the server's Finished, send ours, and go on with the application secrets.
Result<void, std::string> Tls13ClientHandshake::onFinished(std::string_view body,
                                                           std::string& out) {
  auto server_finished_key =
      net::Tls13Records::expandLabel(sha256(), server_hs_secret_, "finished", kHashSize);
  auto expected = hmacOf(server_finished_key, transcriptHash());
  if (body.size() != expected.size() ||
      CRYPTO_memcmp(body.data(), expected.data(), expected.size()) != 0) {
    return Unexpected(std::string("the server's Finished is wrong"));
  }
  std::string message;
  put8(message, kFinished);
  put24(message, body.size());
  message += body;
  transcript_ += message;
  auto hash = transcriptHash();  // ClientHello..server Finished

  std::string derived = deriveSecret(handshake_secret_, "derived", hashOf(""));
  std::string master = hmacOf(derived, std::string(kHashSize, '\0'));
  std::string client_secret = deriveSecret(master, "c ap traffic", hash);
  std::string server_secret = deriveSecret(master, "s ap traffic", hash);

  std::string ours;
  if (certificate_requested_) {
    std::string empty;  // the request's context, no certificate_list entries
    put8(empty, kCertificate);
    put24(empty, 1 + certificate_request_context_.size() + 3);
    put8(empty, certificate_request_context_.size());
    empty += certificate_request_context_;
    put24(empty, 0);
    transcript_ += empty;
    ours += empty;
  }
  auto client_finished_key =
      net::Tls13Records::expandLabel(sha256(), client_hs_secret_, "finished", kHashSize);
  put8(ours, kFinished);
  put24(ours, kHashSize);
  ours += hmacOf(client_finished_key, transcriptHash());  // ..our Certificate, if any
  out += write_->seal(kHandshake, ours);

  records_ = net::Tls13Records::create(kAes128GcmSha256, {server_secret, 0}, {client_secret, 0},
                                       net::Tls13Records::Role::Client);
  for (auto* secret :
       {&server_finished_key, &client_finished_key, &master, &client_secret, &server_secret}) {
    OPENSSL_cleanse(secret->data(), secret->size());
  }
  if (!records_) return Unexpected(std::string("cannot set up the record layer"));
  expect_ = Expect::Done;
  return {};
}

}  // namespace parley::bench
