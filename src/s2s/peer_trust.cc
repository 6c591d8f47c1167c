// Peer certificate policy: chain against the domain's trust anchors, then the names.
#include "s2s/peer_trust.h"

#include "util/log.h"

namespace parley::s2s {

Result<std::unique_ptr<PeerTrust>> PeerTrust::create(const core::S2sConfig& config) {
  std::unique_ptr<PeerTrust> trust(new PeerTrust());
  if (auto system = net::TrustStore::system()) {
    trust->system_ = std::make_unique<net::TrustStore>(std::move(*system));
  } else {
    log::warn("s2s: ", system.error().message, "; only [s2s] trust entries are trusted");
  }
  for (const auto& [domain, path] : config.trust) {
    auto store = net::TrustStore::fromFile(path);
    if (!store) return fail("s2s.trust.", domain, ": ", store.error().message);
    trust->per_domain_.emplace(domain, std::move(*store));
  }
  return trust;
}

CertificateStatus PeerTrust::check(std::string_view domain, STACK_OF(X509) * chain) const {
  if (chain == nullptr || sk_X509_num(chain) == 0) return {false, "no certificate"};
  const net::TrustStore* anchors = system_.get();
  if (auto it = per_domain_.find(domain); it != per_domain_.end()) anchors = &it->second;
  if (anchors == nullptr) return {false, "no trust anchors"};
  if (auto verified = net::verifyPeerChain(chain, *anchors); !verified) {
    return {false, verified.error()};
  }
  switch (net::certificateMatchesDomain(sk_X509_value(chain, 0), domain)) {
    case net::IdentityResult::Match:
      return {true, {}};
    case net::IdentityResult::Mismatch:
      return {false, "the certificate is not valid for " + std::string(domain)};
    case net::IdentityResult::NoIdentities:
      return {false, "the certificate names no domain"};
  }
  return {false, "unknown"};
}

}  // namespace parley::s2s
