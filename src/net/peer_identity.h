// Peer certificate checks for s2s: is a certificate valid for an XMPP domain, and does its
// chain lead to a trust anchor (RFC 6120 §13.7.1.2, RFC 6125 §6, XEP-0178).
#pragma once

#include <openssl/x509.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "util/result.h"

namespace parley::net {

enum class IdentityResult {
  Match,         // one presented identifier is valid for the domain
  Mismatch,      // the certificate names someone, but not this domain
  NoIdentities,  // no SAN of a type we use and no subject CN: nothing to compare
};

// Whether `cert` is valid for the XMPP domain `domain` (ASCII form: an IDN domain must be
// given as A-labels, as dNSName and SRV-ID carry them). Checked, in this order:
//  - SAN otherName id-on-xmppAddr (1.3.6.1.5.5.7.8.5, UTF8String) equal to the domain;
//  - SAN dNSName equal to the domain, or a wildcard in the complete left-most label only
//    ("*.example.com" matches "a.example.com", not "example.com" nor "a.b.example.com");
//  - SAN otherName id-on-dnsSRV (1.3.6.1.5.5.7.8.7, IA5String) "_xmpp-server.<domain>".
// The subject CN is used (with the dNSName rules) only when the certificate has no SAN of
// those three types (RFC 6125 §6.4.4). Comparisons are ASCII case-insensitive; one trailing
// dot on either side is ignored; names with embedded NULs never match.
// Does not check the chain or validity dates: that is verifyPeerChain().
IdentityResult certificateMatchesDomain(X509* cert, std::string_view domain);

// Trust anchors for verifying a peer's chain. Move-only; immutable once built, so one store
// can be shared by every worker thread.
class TrustStore {
 public:
  // The system CA store (OpenSSL's default paths).
  static Result<TrustStore> system();
  // Every certificate in a PEM file becomes a trust anchor, whether it is a CA or a leaf:
  // a CA bundle for a private federation, or the peer's own (self-signed) certificate,
  // pinned. Fails if the file cannot be read or holds no certificate.
  static Result<TrustStore> fromFile(const std::filesystem::path& path);

  X509_STORE* store() const { return store_.get(); }
  // True for fromFile(): chains may end at any certificate of the file (partial chains),
  // which is what lets a pinned leaf or intermediate stand alone.
  bool acceptsPartialChains() const { return partial_chains_; }

 private:
  struct StoreDeleter {
    void operator()(X509_STORE* store) const { X509_STORE_free(store); }
  };
  TrustStore(X509_STORE* store, bool partial_chains)
      : store_(store), partial_chains_(partial_chains) {}

  std::unique_ptr<X509_STORE, StoreDeleter> store_;
  bool partial_chains_ = false;
};

// Verifies a peer's chain (leaf first, then the intermediates it sent; not modified) against
// `trust`, at the current time. s2s certificates are used in both directions, so the leaf may
// be fit for TLS server or TLS client use: either purpose is accepted. The error is a line
// for the log ("certificate has expired (depth 0)"). Does not check names: see
// certificateMatchesDomain().
Result<void, std::string> verifyPeerChain(STACK_OF(X509) * chain, const TrustStore& trust);

}  // namespace parley::net
