// TLS contexts: server (one SSL_CTX per certificate, picked by SNI) and client (outgoing s2s);
// TLS 1.2+, ALPN; self-signed cert helper.
#pragma once

#include <openssl/ssl.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "util/result.h"

namespace parley::net {

// RAII for OpenSSL handles (one header per handle family would be overkill here).
struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslDeleter {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
struct X509StackDeleter {
  void operator()(STACK_OF(X509) * stack) const { sk_X509_pop_free(stack, X509_free); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;
using SslPtr = std::unique_ptr<SSL, SslDeleter>;
// A certificate chain that owns a reference to each certificate in it.
using CertificateChain = std::unique_ptr<STACK_OF(X509), X509StackDeleter>;

// Drains OpenSSL's thread-local error queue into one line ("" if empty).
std::string opensslErrors();

// Built at start-up, then read-only: usable from every worker thread. Must outlive every
// SSL created from defaultCtx() (the SNI callback points back here).
//
// ALPN (XEP-0368): we select our protocol when the client offers it; a client that sends
// no ALPN is accepted (most XMPP clients over STARTTLS, and many over direct TLS); a client
// that offers ALPN without our protocol is also accepted, without ALPN. XEP-0368 says direct
// TLS must use ALPN, but clients vary and refusing them helps nobody.
// COMPAT: lenient ALPN for older Conversations/Gajim/Dino builds and libstrophe.
class TlsServerContext {
 public:
  enum class ClientCertificates {
    None,     // c2s: never asked for
    Request,  // s2s: asked for and accepted whatever they are; the stream checks them
              // afterwards (SASL EXTERNAL, XEP-0178). Session resumption is off, so every
              // handshake carries the peer's certificate.
  };
  // alpn: protocols we speak, e.g. {"xmpp-client"}; may be empty.
  static Result<std::unique_ptr<TlsServerContext>> create(
      std::vector<std::string> alpn, ClientCertificates client_certs = ClientCertificates::None);
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  // The first certificate added is the default (clients without SNI or with an unknown name).
  // SNI picks, in order: the domain given here, then any certificate whose names
  // (subjectAltName, wildcards included) match. Domain matching is case-insensitive.
  Result<void> addCertificate(const std::string& domain,
                              const std::filesystem::path& cert_chain_pem,
                              const std::filesystem::path& key_pem);
  // For SSL_new(). Has no certificate until addCertificate() succeeded once.
  SSL_CTX* defaultCtx() { return default_ctx_.get(); }
  bool hasCertificate() const { return !certs_.empty(); }

 private:
  struct DomainCert {
    std::string domain;  // lowercase
    SSL_CTX* ctx;        // owned by default_ctx_ or extra_ctxs_
  };

  TlsServerContext() = default;
  Result<SslCtxPtr> newCtx();
  SSL_CTX* select(const std::string& server_name) const;
  static int onServerName(SSL* ssl, int* alert, void* arg);
  static int onAlpn(SSL* ssl, const unsigned char** out, unsigned char* outlen,
                    const unsigned char* in, unsigned int inlen, void* arg);

  std::string alpn_wire_;  // length-prefixed protocol list
  ClientCertificates client_certs_ = ClientCertificates::None;
  SslCtxPtr default_ctx_;
  std::vector<SslCtxPtr> extra_ctxs_;
  std::vector<DomainCert> certs_;
};

// Client TLS for outgoing s2s streams. Built at start-up, then read-only (any thread).
// The handshake does not verify the peer: the stream checks the chain and the names afterwards
// (verifyPeerChain, certificateMatchesDomain), since which trust anchors apply and whether
// dialback may follow an untrusted certificate are decided per peer domain.
class TlsClientContext {
 public:
  // alpn: protocols we offer, e.g. {"xmpp-server"}. cert/key (optional, both or neither): the
  // certificate we present, so the peer can authenticate us with SASL EXTERNAL.
  static Result<std::unique_ptr<TlsClientContext>> create(
      const std::vector<std::string>& alpn, const std::filesystem::path& cert_chain_pem = {},
      const std::filesystem::path& key_pem = {});
  SSL_CTX* ctx() { return ctx_.get(); }

 private:
  TlsClientContext() = default;
  SslCtxPtr ctx_;
};

// Writes a self-signed certificate for `domain` (subjectAltName DNS:domain and DNS:*.domain,
// EC P-256, SHA-256, valid 10 years) and its key. Creates parent directories; the key file
// gets mode 0600. Overwrites existing files. Used by `parleyctl cert` and tests.
Result<void> generateSelfSigned(const std::string& domain, const std::filesystem::path& cert_path,
                                const std::filesystem::path& key_path);

}  // namespace parley::net
