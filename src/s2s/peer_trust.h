// Which peer certificates we trust for which domain: the system CA store, or the file that
// [s2s] trust names for that domain (a private CA or a pinned certificate).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/config.h"
#include "net/peer_identity.h"
#include "net/tls.h"
#include "util/result.h"

namespace parley::s2s {

struct CertificateStatus {
  bool valid = false;   // the chain verifies and the certificate names the domain
  std::string problem;  // why not, for the log ("certificate has expired (depth 0)")
};

// Built at start-up, then read-only: shared by every worker.
class PeerTrust {
 public:
  // Loads every configured trust file and the system store. An unreadable trust file is an
  // error (the operator meant it); a system store that cannot be loaded only trusts nothing.
  static Result<std::unique_ptr<PeerTrust>> create(const core::S2sConfig& config);

  // RFC 6120 §13.7.2, RFC 6125: is `chain` (leaf first) a valid certificate for `domain`?
  // A domain with an [s2s] trust entry is checked against that file only.
  CertificateStatus check(std::string_view domain, STACK_OF(X509) * chain) const;

 private:
  PeerTrust() = default;

  std::unique_ptr<net::TrustStore> system_;
  std::map<std::string, net::TrustStore, std::less<>> per_domain_;
};

}  // namespace parley::s2s
