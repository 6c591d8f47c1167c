// The load generator's own TLS 1.3 client handshake (RFC 8446): one full handshake per login,
// as a client without a session cache does, at a fraction of OpenSSL 3.0's client cost (which
// decodes the server's certificate through its provider decoders on every handshake, a fifth
// of the generator's CPU: CPU the server under test would otherwise have had).
//
// It offers TLS_AES_128_GCM_SHA256 with an X25519 key share, checks the server's
// CertificateVerify signature with the key of the server's certificate (parsed once per
// distinct certificate, see ServerKeyCache) and the server's Finished, and sends its own
// (after an empty Certificate if the server asked for one: ejabberd does).
// Like the OpenSSL client it replaces, it does not check the certificate chain: the servers
// under test have the self-signed certificate the benchmark made for them.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "net/tls13_records.h"
#include "util/result.h"

namespace parley::bench {

// The public keys of the certificates servers presented, by the certificate's DER bytes.
// One per generator process (single-threaded).
class ServerKeyCache {
 public:
  ServerKeyCache() = default;
  ~ServerKeyCache();
  ServerKeyCache(const ServerKeyCache&) = delete;
  ServerKeyCache& operator=(const ServerKeyCache&) = delete;

  // The key in the certificate `der`, or nullptr if it cannot be parsed. Owned by the cache.
  EVP_PKEY* keyFor(std::string_view der);

 private:
  std::unordered_map<std::string, EVP_PKEY*> keys_;
};

class Tls13ClientHandshake {
 public:
  Tls13ClientHandshake(std::string server_name, ServerKeyCache& keys);
  ~Tls13ClientHandshake();
  Tls13ClientHandshake(const Tls13ClientHandshake&) = delete;
  Tls13ClientHandshake& operator=(const Tls13ClientHandshake&) = delete;

  // The ClientHello record, to send first. Empty if no key share could be made.
  std::string start();

  // Takes the server's bytes. Appends to `out` what to send (our Finished). Returns true once
  // the handshake is complete: then records() holds the connection's record layer and
  // leftover() whatever the server sent after its Finished (records for that layer).
  Result<bool, std::string> receive(std::string_view bytes, std::string& out);

  std::unique_ptr<net::Tls13Records> takeRecords() { return std::move(records_); }
  std::string takeLeftover() { return std::move(input_); }

 private:
  struct Aead;
  enum class Expect {
    ServerHello,
    EncryptedExtensions,
    Certificate,
    CertificateVerify,
    Finished,
    Done
  };

  Result<void, std::string> onRecord(uint8_t type, std::string_view record, std::string& out);
  Result<void, std::string> onMessage(uint8_t type, std::string_view body, std::string_view whole,
                                      std::string& out);
  Result<void, std::string> onServerHello(std::string_view body);
  Result<void, std::string> onCertificate(std::string_view body);
  Result<void, std::string> onCertificateVerify(std::string_view body);
  Result<void, std::string> onFinished(std::string_view body, std::string& out);
  std::string transcriptHash() const;

  std::string server_name_;
  ServerKeyCache& keys_;
  EVP_PKEY* share_ = nullptr;  // our X25519 key
  Expect expect_ = Expect::ServerHello;
  std::string input_;       // server bytes not yet taken as a whole record
  std::string messages_;    // handshake bytes not yet taken as a whole message
  std::string transcript_;  // every handshake message so far (§4.4.1)
  std::string handshake_secret_, client_hs_secret_, server_hs_secret_;
  EVP_PKEY* server_key_ = nullptr;  // from the cache
  bool certificate_requested_ = false;
  std::string certificate_request_context_;
  std::unique_ptr<Aead> read_, write_;
  std::unique_ptr<net::Tls13Records> records_;
};

}  // namespace parley::bench
