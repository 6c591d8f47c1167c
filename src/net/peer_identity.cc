// Peer certificate checks for s2s: name matching (RFC 6125 §6.4) and chain verification.
#include "net/peer_identity.h"

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>

#include "net/tls.h"

namespace parley::net {
namespace {

// RFC 6120 §13.7.1.4 and RFC 4985: the otherName types an XMPP server certificate carries.
constexpr const char* kOidXmppAddr = "1.3.6.1.5.5.7.8.5";
constexpr const char* kOidDnsSrv = "1.3.6.1.5.5.7.8.7";
constexpr std::string_view kXmppServerService = "_xmpp-server.";

char asciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (asciiLower(a[i]) != asciiLower(b[i])) return false;
  }
  return true;
}

std::string_view withoutTrailingDot(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return name;
}

std::string_view view(const ASN1_STRING* text) {
  if (text == nullptr) return {};
  const int size = ASN1_STRING_length(text);
  if (size <= 0) return {};
  return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)), static_cast<size_t>(size)};
}

// RFC 6125 §6.4.1-3: exact, or "*." followed by the domain minus its complete first label.
// A wildcard anywhere else ("f*.example.com", "a.*.example.com") is taken literally and so
// never matches a valid domain; "*.com" (a wildcard over a single label) is refused.
bool dnsNameMatches(std::string_view presented, std::string_view domain) {
  presented = withoutTrailingDot(presented);
  if (presented.empty() || presented.find('\0') != std::string_view::npos) return false;
  if (equalsIgnoreCase(presented, domain)) return true;
  if (presented.size() < 3 || presented.substr(0, 2) != "*.") return false;
  const std::string_view parent = presented.substr(2);
  if (parent.find('.') == std::string_view::npos || parent.find('*') != std::string_view::npos) {
    return false;
  }
  const size_t dot = domain.find('.');
  if (dot == 0 || dot == std::string_view::npos) return false;
  return equalsIgnoreCase(parent, domain.substr(dot + 1));
}

// RFC 6125 §6.5.1: "_xmpp-server.example.com"; no wildcards in SRV-IDs.
bool srvNameMatches(std::string_view presented, std::string_view domain) {
  if (presented.size() <= kXmppServerService.size() ||
      !equalsIgnoreCase(presented.substr(0, kXmppServerService.size()), kXmppServerService)) {
    return false;
  }
  const std::string_view name = withoutTrailingDot(presented.substr(kXmppServerService.size()));
  return name.find('\0') == std::string_view::npos && equalsIgnoreCase(name, domain);
}

bool xmppAddrMatches(std::string_view presented, std::string_view domain) {
  return presented.find('\0') == std::string_view::npos &&
         equalsIgnoreCase(withoutTrailingDot(presented), domain);
}

struct NamesDeleter {
  void operator()(GENERAL_NAMES* names) const { GENERAL_NAMES_free(names); }
};
struct ObjectDeleter {
  void operator()(ASN1_OBJECT* object) const { ASN1_OBJECT_free(object); }
};
using ObjectPtr = std::unique_ptr<ASN1_OBJECT, ObjectDeleter>;

struct SanScan {
  bool has_identities = false;
  bool matched = false;
};

void scanOtherName(const OTHERNAME* other, std::string_view domain, const ASN1_OBJECT* xmpp_addr,
                   const ASN1_OBJECT* dns_srv, SanScan& scan) {
  if (other == nullptr || other->value == nullptr) return;
  if (OBJ_cmp(other->type_id, xmpp_addr) == 0) {
    scan.has_identities = true;
    if (other->value->type == V_ASN1_UTF8STRING &&
        xmppAddrMatches(view(other->value->value.utf8string), domain)) {
      scan.matched = true;
    }
  } else if (OBJ_cmp(other->type_id, dns_srv) == 0) {
    scan.has_identities = true;
    if (other->value->type == V_ASN1_IA5STRING &&
        srvNameMatches(view(other->value->value.ia5string), domain)) {
      scan.matched = true;
    }
  }
}

SanScan scanSubjectAltNames(X509* cert, std::string_view domain) {
  SanScan scan;
  std::unique_ptr<GENERAL_NAMES, NamesDeleter> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return scan;
  const ObjectPtr xmpp_addr(OBJ_txt2obj(kOidXmppAddr, 1));
  const ObjectPtr dns_srv(OBJ_txt2obj(kOidDnsSrv, 1));
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_DNS) {
      scan.has_identities = true;
      if (dnsNameMatches(view(name->d.dNSName), domain)) scan.matched = true;
    } else if (name->type == GEN_OTHERNAME) {
      scanOtherName(name->d.otherName, domain, xmpp_addr.get(), dns_srv.get(), scan);
    }
  }
  return scan;
}

// RFC 6125 §6.4.4: the legacy fallback, every CN of the subject with the dNSName rules.
IdentityResult matchCommonNames(X509* cert, std::string_view domain) {
  const X509_NAME* subject = X509_get_subject_name(cert);
  if (subject == nullptr) return IdentityResult::NoIdentities;
  bool has_identities = false;
  for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) {
    unsigned char* utf8 = nullptr;
    const int size =
        ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i)));
    if (size < 0) continue;
    has_identities = true;
    const bool matched = dnsNameMatches(
        std::string_view(reinterpret_cast<const char*>(utf8), static_cast<size_t>(size)), domain);
    OPENSSL_free(utf8);
    if (matched) return IdentityResult::Match;
  }
  return has_identities ? IdentityResult::Mismatch : IdentityResult::NoIdentities;
}

struct StoreCtxDeleter {
  void operator()(X509_STORE_CTX* ctx) const { X509_STORE_CTX_free(ctx); }
};

// One verification attempt for one purpose; X509_V_OK or the OpenSSL error code.
int verifyForPurpose(X509* leaf, STACK_OF(X509) * untrusted, const TrustStore& trust, int purpose,
                     int& error_depth) {
  std::unique_ptr<X509_STORE_CTX, StoreCtxDeleter> ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), trust.store(), leaf, untrusted) != 1) {
    return X509_V_ERR_OUT_OF_MEM;
  }
  X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  if (trust.acceptsPartialChains()) {
    X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx.get()), X509_V_FLAG_PARTIAL_CHAIN);
  }
  if (X509_verify_cert(ctx.get()) == 1) return X509_V_OK;
  error_depth = X509_STORE_CTX_get_error_depth(ctx.get());
  const int error = X509_STORE_CTX_get_error(ctx.get());
  return error == X509_V_OK ? X509_V_ERR_UNSPECIFIED : error;
}

}  // namespace

IdentityResult certificateMatchesDomain(X509* cert, std::string_view domain) {
  domain = withoutTrailingDot(domain);
  if (cert == nullptr || domain.empty()) return IdentityResult::Mismatch;
  const SanScan scan = scanSubjectAltNames(cert, domain);
  if (scan.matched) return IdentityResult::Match;
  if (scan.has_identities) return IdentityResult::Mismatch;
  return matchCommonNames(cert, domain);
}

Result<TrustStore> TrustStore::system() {
  X509_STORE* store = X509_STORE_new();
  if (store == nullptr) return fail("X509_STORE_new: ", opensslErrors());
  TrustStore trust(store, false);
  if (X509_STORE_set_default_paths(store) != 1) {
    return fail("cannot load the system CA store: ", opensslErrors());
  }
  return trust;
}

Result<TrustStore> TrustStore::fromFile(const std::filesystem::path& path) {
  X509_STORE* store = X509_STORE_new();
  if (store == nullptr) return fail("X509_STORE_new: ", opensslErrors());
  TrustStore trust(store, true);
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "r"), &std::fclose);
  if (!file) return fail("cannot open trust file ", path.string());
  int count = 0;
  while (X509* cert = PEM_read_X509(file.get(), nullptr, nullptr, nullptr)) {
    const int added = X509_STORE_add_cert(store, cert);  // takes its own reference
    X509_free(cert);
    if (added != 1) return fail("trust file ", path.string(), ": ", opensslErrors());
    ++count;
  }
  ERR_clear_error();  // the loop ends on "no start line"
  if (count == 0) return fail("trust file ", path.string(), " holds no PEM certificate");
  return trust;
}

Result<void, std::string> verifyPeerChain(STACK_OF(X509) * chain, const TrustStore& trust) {
  if (chain == nullptr || sk_X509_num(chain) == 0) {
    return Unexpected(std::string("the peer sent no certificate"));
  }
  X509* leaf = sk_X509_value(chain, 0);
  int depth = 0;
  int error = verifyForPurpose(leaf, chain, trust, X509_PURPOSE_SSL_SERVER, depth);
  if (error == X509_V_ERR_INVALID_PURPOSE) {
    error = verifyForPurpose(leaf, chain, trust, X509_PURPOSE_SSL_CLIENT, depth);
  }
  ERR_clear_error();
  if (error == X509_V_OK) return {};
  return Unexpected(std::string(X509_verify_cert_error_string(error)) + " (depth " +
                    std::to_string(depth) + ")");
}

}  // namespace parley::net
