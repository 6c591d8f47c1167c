// Server TLS context (SNI, ALPN, protocol floor) and self-signed certificate generation.
#include "net/tls.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "net/tls13_records.h"

namespace parley::net {
namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
struct ExtDeleter {
  void operator()(X509_EXTENSION* e) const { X509_EXTENSION_free(e); }
};

// Opens `path` for writing with `mode`, forcing the mode even if the file existed.
Result<std::unique_ptr<FILE, FileCloser>> openForWrite(const std::filesystem::path& path,
                                                       mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return fail("cannot write ", path.string(), ": ", std::strerror(errno));
  if (::fchmod(fd, mode) != 0) {
    ::close(fd);
    return fail("cannot chmod ", path.string(), ": ", std::strerror(errno));
  }
  FILE* f = ::fdopen(fd, "w");
  if (f == nullptr) {
    ::close(fd);
    return fail("cannot write ", path.string(), ": ", std::strerror(errno));
  }
  return std::unique_ptr<FILE, FileCloser>(f);
}

Result<void> addExtension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, ExtDeleter> ext(
      X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return fail("certificate extension ", OBJ_nid2sn(nid), "=", value, ": ", opensslErrors());
  }
  return {};
}

}  // namespace

std::string opensslErrors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

namespace {

std::string alpnWire(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const auto& proto : protocols) {
    wire.push_back(static_cast<char>(proto.size()));
    wire += proto;
  }
  return wire;
}

// The settings every context shares: TLS 1.2 at least, buffers released when idle, no
// compression or renegotiation. (net::Connection feeds OpenSSL through its own BIO: writes
// never block and the end of the socket is seen by the connection, not by OpenSSL.)
Result<void> applyCommonSettings(SSL_CTX* ctx) {
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    return fail("TLS minimum version: ", opensslErrors());
  }
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  return {};
}

// Verification happens after the handshake, where the stream knows which domain to check.
int acceptAnyCertificate(int /*preverify_ok*/, X509_STORE_CTX* /*ctx*/) { return 1; }

Result<void> checkAlpn(const std::vector<std::string>& protocols) {
  for (const auto& proto : protocols) {
    if (proto.empty() || proto.size() > 255) return fail("invalid ALPN protocol '", proto, "'");
  }
  return {};
}

}  // namespace

// ---- TlsClientContext ----

Result<std::unique_ptr<TlsClientContext>> TlsClientContext::create(
    const std::vector<std::string>& alpn, const std::filesystem::path& cert_chain_pem,
    const std::filesystem::path& key_pem) {
  if (auto ok = checkAlpn(alpn); !ok) return Unexpected(std::move(ok).error());
  std::unique_ptr<TlsClientContext> self(new TlsClientContext());
  ERR_clear_error();
  self->ctx_.reset(SSL_CTX_new(TLS_client_method()));
  SSL_CTX* ctx = self->ctx_.get();
  if (ctx == nullptr) return fail("SSL_CTX_new: ", opensslErrors());
  if (auto ok = applyCommonSettings(ctx); !ok) return Unexpected(std::move(ok).error());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  if (!alpn.empty()) {
    std::string wire = alpnWire(alpn);
    if (SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned>(wire.size())) != 0) {
      return fail("ALPN: ", opensslErrors());
    }
  }
  if (!cert_chain_pem.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_chain_pem.c_str()) != 1) {
      return fail("certificate ", cert_chain_pem.string(), ": ", opensslErrors());
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_pem.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      return fail("key ", key_pem.string(), ": ", opensslErrors());
    }
  }
  return self;
}

// ---- TlsServerContext ----

Result<std::unique_ptr<TlsServerContext>> TlsServerContext::create(
    std::vector<std::string> alpn, ClientCertificates client_certs) {
  std::unique_ptr<TlsServerContext> self(new TlsServerContext());
  self->client_certs_ = client_certs;
  if (auto ok = checkAlpn(alpn); !ok) return Unexpected(std::move(ok).error());
  self->alpn_wire_ = alpnWire(alpn);
  auto ctx = self->newCtx();
  if (!ctx) return Unexpected(std::move(ctx).error());
  self->default_ctx_ = std::move(*ctx);
  return self;
}

TlsServerContext::~TlsServerContext() = default;

Result<SslCtxPtr> TlsServerContext::newCtx() {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return fail("SSL_CTX_new: ", opensslErrors());
  if (auto ok = applyCommonSettings(ctx.get()); !ok) return Unexpected(std::move(ok).error());
  SSL_CTX_set_options(ctx.get(), SSL_OP_CIPHER_SERVER_PREFERENCE);
  static const unsigned char kSessionContext[] = "parley";
  SSL_CTX_set_session_id_context(ctx.get(), kSessionContext, sizeof kSessionContext - 1);
  // TLS 1.3 sends session tickets after the handshake, two by default, for clients that open
  // parallel connections later. Ours hold one stream (or one page) per account and use a ticket
  // once (RFC 8446 §C.4), getting a new one with each resumption: one is enough, and each costs
  // the handshake an encoded, encrypted and MACed session.
  SSL_CTX_set_num_tickets(ctx.get(), 1);
  if (client_certs_ == ClientCertificates::Request) {
    // SNI may switch the SSL to another of our contexts: each one asks the same.
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, &acceptAnyCertificate);
    // A resumed session carries no certificate; s2s streams need it every time.
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx.get(), 0);
  }
  // The SNI callback runs on the initial SSL_CTX, ALPN on the one SNI switched to: set both
  // on every context so they all behave the same.
  SSL_CTX_set_tlsext_servername_callback(ctx.get(), &TlsServerContext::onServerName);
  SSL_CTX_set_tlsext_servername_arg(ctx.get(), this);
  SSL_CTX_set_alpn_select_cb(ctx.get(), &TlsServerContext::onAlpn, this);
  // Established TLS 1.3 connections hand their records over to Tls13Records (connection.h).
  Tls13Handoff::enable(ctx.get());
  return ctx;
}

Result<void> TlsServerContext::addCertificate(const std::string& domain,
                                              const std::filesystem::path& cert_chain_pem,
                                              const std::filesystem::path& key_pem) {
  SslCtxPtr fresh;
  SSL_CTX* ctx = default_ctx_.get();
  if (!certs_.empty()) {
    auto made = newCtx();
    if (!made) return Unexpected(std::move(made).error());
    fresh = std::move(*made);
    ctx = fresh.get();
  }
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_chain_pem.c_str()) != 1) {
    return fail("certificate for ", domain, " (", cert_chain_pem.string(), "): ", opensslErrors());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_pem.c_str(), SSL_FILETYPE_PEM) != 1) {
    return fail("key for ", domain, " (", key_pem.string(), "): ", opensslErrors());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return fail("key ", key_pem.string(), " does not match certificate ", cert_chain_pem.string(),
                ": ", opensslErrors());
  }
  if (fresh) extra_ctxs_.push_back(std::move(fresh));
  certs_.push_back(DomainCert{lowercase(domain), ctx});
  return {};
}

SSL_CTX* TlsServerContext::select(const std::string& server_name) const {
  for (const auto& c : certs_) {
    if (c.domain == server_name) return c.ctx;
  }
  for (const auto& c : certs_) {
    X509* cert = SSL_CTX_get0_certificate(c.ctx);
    if (cert != nullptr &&
        X509_check_host(cert, server_name.data(), server_name.size(), 0, nullptr) == 1) {
      return c.ctx;
    }
  }
  return nullptr;
}

int TlsServerContext::onServerName(SSL* ssl, int* /*alert*/, void* arg) {
  const auto* self = static_cast<const TlsServerContext*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr || self->certs_.empty()) return SSL_TLSEXT_ERR_OK;
  SSL_CTX* ctx = self->select(lowercase(name));
  // Unknown name: keep the default certificate; the client decides whether it trusts it.
  if (ctx != nullptr && ctx != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, ctx);
  return SSL_TLSEXT_ERR_OK;
}

int TlsServerContext::onAlpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
                             const unsigned char* in, unsigned int inlen, void* arg) {
  const auto* self = static_cast<const TlsServerContext*>(arg);
  const auto* ours = reinterpret_cast<const unsigned char*>(self->alpn_wire_.data());
  size_t ours_len = self->alpn_wire_.size();
  // Our preference order; the client's list is only searched.
  for (size_t i = 0; i < ours_len; i += 1 + ours[i]) {
    for (unsigned int j = 0; j < inlen; j += 1u + in[j]) {
      if (j + 1u + in[j] > inlen) break;  // malformed client list
      if (in[j] == ours[i] && std::memcmp(in + j + 1, ours + i + 1, ours[i]) == 0) {
        *out = ours + i + 1;
        *outlen = ours[i];
        return SSL_TLSEXT_ERR_OK;
      }
    }
  }
  return SSL_TLSEXT_ERR_NOACK;  // lenient: go on without ALPN (see the class comment)
}

// ---- self-signed certificates ----

Result<void> generateSelfSigned(const std::string& domain, const std::filesystem::path& cert_path,
                                const std::filesystem::path& key_path) {
  if (domain.empty() || std::any_of(domain.begin(), domain.end(), [](unsigned char c) {
        return c == ',' || c <= ' ' || c == '/' || c == '\\' || c >= 0x7f;
      })) {
    return fail("invalid domain for a certificate: '", domain, "'");
  }
  ERR_clear_error();
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key(EVP_EC_gen("P-256"));
  if (!key) return fail("key generation failed: ", opensslErrors());
  std::unique_ptr<X509, X509Deleter> cert(X509_new());
  if (!cert) return fail("X509_new: ", opensslErrors());

  X509_set_version(cert.get(), 2);  // v3
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) return fail("RAND_bytes failed");
  serial_bytes[0] &= 0x7f;  // positive
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr);
  bool serial_ok =
      serial != nullptr && BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get())) != nullptr;
  BN_free(serial);
  if (!serial_ok) return fail("certificate serial: ", opensslErrors());

  constexpr long kTenYears = 10L * 365 * 24 * 3600;
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);  // tolerate small clock skew
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), kTenYears);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(domain.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "DNS:" + domain + ",DNS:*." + domain},
                            std::pair{NID_basic_constraints, std::string("critical,CA:FALSE")},
                            std::pair{NID_key_usage, std::string("critical,digitalSignature")},
                            std::pair{NID_ext_key_usage, std::string("serverAuth,clientAuth")},
                            std::pair{NID_subject_key_identifier, std::string("hash")}}) {
    if (auto r = addExtension(cert.get(), nid, value); !r) return r;
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    return fail("signing the certificate: ", opensslErrors());
  }

  std::error_code ec;
  for (const auto& path : {cert_path, key_path}) {
    if (path.has_parent_path()) {
      std::filesystem::create_directories(path.parent_path(), ec);
      if (ec) return fail("cannot create ", path.parent_path().string(), ": ", ec.message());
    }
  }
  auto key_file = openForWrite(key_path, 0600);
  if (!key_file) return Unexpected(std::move(key_file).error());
  if (PEM_write_PrivateKey(key_file->get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1 ||
      std::fflush(key_file->get()) != 0) {
    return fail("writing ", key_path.string(), ": ", opensslErrors());
  }
  auto cert_file = openForWrite(cert_path, 0644);
  if (!cert_file) return Unexpected(std::move(cert_file).error());
  if (PEM_write_X509(cert_file->get(), cert.get()) != 1 || std::fflush(cert_file->get()) != 0) {
    return fail("writing ", cert_path.string(), ": ", opensslErrors());
  }
  return {};
}

}  // namespace parley::net
