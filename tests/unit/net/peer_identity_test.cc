// Tests for peer certificate checks: RFC 6125 name matching and chain verification.
#include "net/peer_identity.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace parley::net {
namespace {

struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct StackDeleter {
  void operator()(STACK_OF(X509) * chain) const { sk_X509_free(chain); }  // not the certs
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyDeleter>;
using ChainPtr = std::unique_ptr<STACK_OF(X509), StackDeleter>;

constexpr long kDay = 24 * 60 * 60;

enum class SanType { Dns, XmppAddr, Srv, Email };
struct San {
  SanType type;
  std::string value;
};

struct CertSpec {
  std::string common_name = {};
  std::vector<San> sans = {};
  bool is_ca = false;
  std::string extended_key_usage = {};  // "" = none, e.g. "serverAuth,clientAuth"
  long not_before = -kDay;              // seconds from now
  long not_after = 30 * kDay;
};

KeyPtr newKey() {
  KeyPtr key(EVP_EC_gen("P-256"));
  REQUIRE(key);
  return key;
}

GENERAL_NAME* otherName(const char* oid, int string_type, const std::string& value) {
  ASN1_STRING* text = ASN1_STRING_type_new(string_type);
  ASN1_STRING_set(text, value.data(), static_cast<int>(value.size()));
  ASN1_TYPE* typed = ASN1_TYPE_new();
  ASN1_TYPE_set(typed, string_type, text);
  GENERAL_NAME* name = GENERAL_NAME_new();
  GENERAL_NAME_set0_othername(name, OBJ_txt2obj(oid, 1), typed);
  return name;
}

GENERAL_NAME* generalName(const San& san) {
  switch (san.type) {
    case SanType::XmppAddr:
      return otherName("1.3.6.1.5.5.7.8.5", V_ASN1_UTF8STRING, san.value);
    case SanType::Srv:
      return otherName("1.3.6.1.5.5.7.8.7", V_ASN1_IA5STRING, san.value);
    case SanType::Dns:
    case SanType::Email:
      break;
  }
  ASN1_IA5STRING* text = ASN1_IA5STRING_new();
  ASN1_STRING_set(text, san.value.data(), static_cast<int>(san.value.size()));
  GENERAL_NAME* name = GENERAL_NAME_new();
  GENERAL_NAME_set0_value(name, san.type == SanType::Dns ? GEN_DNS : GEN_EMAIL, text);
  return name;
}

void addExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  REQUIRE(ext != nullptr);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// Signed by issuer/issuer_key, or self-signed when issuer is null.
X509Ptr makeCert(const CertSpec& spec, EVP_PKEY* key, X509* issuer = nullptr,
                 EVP_PKEY* issuer_key = nullptr) {
  static long serial = 1;
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), spec.not_before);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.not_after);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (!spec.common_name.empty()) {
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1,
                               -1, 0);
  } else {
    X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>("Parley tests"), -1, -1, 0);
  }
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : subject);
  X509* signer = issuer ? issuer : cert.get();
  if (spec.is_ca) {
    addExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    addExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  }
  addExtension(cert.get(), signer, NID_subject_key_identifier, "hash");
  if (!spec.extended_key_usage.empty()) {
    addExtension(cert.get(), signer, NID_ext_key_usage, spec.extended_key_usage.c_str());
  }
  if (!spec.sans.empty()) {
    GENERAL_NAMES* names = sk_GENERAL_NAME_new_null();
    for (const San& san : spec.sans) sk_GENERAL_NAME_push(names, generalName(san));
    X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT);
    GENERAL_NAMES_free(names);
  }
  REQUIRE(X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) > 0);
  return cert;
}

X509Ptr selfSigned(const CertSpec& spec) {
  KeyPtr key = newKey();
  return makeCert(spec, key.get());
}

ChainPtr chainOf(std::initializer_list<X509*> certs) {
  ChainPtr chain(sk_X509_new_null());
  for (X509* cert : certs) sk_X509_push(chain.get(), cert);
  return chain;
}

struct TempPem {
  std::filesystem::path path;
  explicit TempPem(std::initializer_list<X509*> certs) {
    path = std::filesystem::temp_directory_path() /
           ("parley-peer-identity-" + std::to_string(::getpid()) + "-" +
            std::to_string(counter()++) + ".pem");
    FILE* file = std::fopen(path.c_str(), "w");
    REQUIRE(file != nullptr);
    for (X509* cert : certs) PEM_write_X509(file, cert);
    std::fclose(file);
  }
  ~TempPem() { std::filesystem::remove(path); }
  static int& counter() {
    static int value = 0;
    return value;
  }
};

// A test CA and a leaf it signed, as a peer would present them.
struct TestPki {
  KeyPtr ca_key = newKey();
  X509Ptr ca = makeCert({.common_name = "Parley Test CA", .is_ca = true}, ca_key.get());
  KeyPtr leaf_key = newKey();
  X509Ptr sign(const CertSpec& spec) {
    return makeCert(spec, leaf_key.get(), ca.get(), ca_key.get());
  }
};

TEST_CASE("certificateMatchesDomain: SAN identities", "[net][peer_identity]") {
  struct Case {
    std::vector<San> sans;
    std::string domain;
    IdentityResult expected;
  };
  const std::vector<Case> cases = {
      // dNSName, exact and case-insensitive, trailing dots ignored.
      {{{SanType::Dns, "example.com"}}, "example.com", IdentityResult::Match},
      {{{SanType::Dns, "Example.COM"}}, "example.com", IdentityResult::Match},
      {{{SanType::Dns, "example.com"}}, "EXAMPLE.com", IdentityResult::Match},
      {{{SanType::Dns, "example.com."}}, "example.com", IdentityResult::Match},
      {{{SanType::Dns, "example.com"}}, "example.com.", IdentityResult::Match},
      {{{SanType::Dns, "example.com"}}, "example.org", IdentityResult::Mismatch},
      {{{SanType::Dns, "example.com"}}, "a.example.com", IdentityResult::Mismatch},
      {{{SanType::Dns, "other.example"}, {SanType::Dns, "example.com"}},
       "example.com",
       IdentityResult::Match},
      // Wildcards: the complete left-most label only.
      {{{SanType::Dns, "*.example.com"}}, "a.example.com", IdentityResult::Match},
      {{{SanType::Dns, "*.example.com"}}, "A.Example.Com", IdentityResult::Match},
      {{{SanType::Dns, "*.example.com"}}, "example.com", IdentityResult::Mismatch},
      {{{SanType::Dns, "*.example.com"}}, "a.b.example.com", IdentityResult::Mismatch},
      {{{SanType::Dns, "*.example.com"}}, ".example.com", IdentityResult::Mismatch},
      {{{SanType::Dns, "a*.example.com"}}, "ab.example.com", IdentityResult::Mismatch},
      {{{SanType::Dns, "a.*.example.com"}}, "a.b.example.com", IdentityResult::Mismatch},
      {{{SanType::Dns, "*.*.example.com"}}, "a.b.example.com", IdentityResult::Mismatch},
      {{{SanType::Dns, "*.com"}}, "example.com", IdentityResult::Mismatch},
      {{{SanType::Dns, "*"}}, "example", IdentityResult::Mismatch},
      // An embedded NUL never matches.
      {{{SanType::Dns, std::string("example.com\0.evil.org", 21)}},
       "example.com",
       IdentityResult::Mismatch},
      // id-on-xmppAddr.
      {{{SanType::XmppAddr, "example.com"}}, "example.com", IdentityResult::Match},
      {{{SanType::XmppAddr, "Example.com"}}, "example.com", IdentityResult::Match},
      {{{SanType::XmppAddr, "other.example"}}, "example.com", IdentityResult::Mismatch},
      {{{SanType::XmppAddr, "*.example.com"}}, "a.example.com", IdentityResult::Mismatch},
      // SRV-ID for the xmpp-server service only, no wildcards.
      {{{SanType::Srv, "_xmpp-server.example.com"}}, "example.com", IdentityResult::Match},
      {{{SanType::Srv, "_XMPP-Server.Example.com"}}, "example.com", IdentityResult::Match},
      {{{SanType::Srv, "_xmpp-client.example.com"}}, "example.com", IdentityResult::Mismatch},
      {{{SanType::Srv, "_xmpp-server.*.example.com"}}, "a.example.com", IdentityResult::Mismatch},
      {{{SanType::Srv, "_xmpp-server."}}, "example.com", IdentityResult::Mismatch},
      {{{SanType::Srv, "example.com"}}, "example.com", IdentityResult::Mismatch},
      // Other SAN types are not identities for us.
      {{{SanType::Email, "admin@example.com"}}, "example.com", IdentityResult::NoIdentities},
  };
  for (const Case& c : cases) {
    CAPTURE(c.sans.front().value, c.domain);
    X509Ptr cert = selfSigned({.sans = c.sans});
    CHECK(certificateMatchesDomain(cert.get(), c.domain) == c.expected);
  }
}

TEST_CASE("certificateMatchesDomain: the CN only without SAN identities", "[net][peer_identity]") {
  SECTION("CN only: used, with the dNSName rules") {
    X509Ptr cert = selfSigned({.common_name = "example.com"});
    CHECK(certificateMatchesDomain(cert.get(), "example.com") == IdentityResult::Match);
    CHECK(certificateMatchesDomain(cert.get(), "Example.Com") == IdentityResult::Match);
    CHECK(certificateMatchesDomain(cert.get(), "example.org") == IdentityResult::Mismatch);
    X509Ptr wildcard = selfSigned({.common_name = "*.example.com"});
    CHECK(certificateMatchesDomain(wildcard.get(), "a.example.com") == IdentityResult::Match);
    CHECK(certificateMatchesDomain(wildcard.get(), "example.com") == IdentityResult::Mismatch);
  }
  SECTION("a SAN dNSName hides the CN") {
    X509Ptr cert =
        selfSigned({.common_name = "example.com", .sans = {{SanType::Dns, "other.example"}}});
    CHECK(certificateMatchesDomain(cert.get(), "example.com") == IdentityResult::Mismatch);
    CHECK(certificateMatchesDomain(cert.get(), "other.example") == IdentityResult::Match);
  }
  SECTION("so do xmppAddr and SRV-ID") {
    X509Ptr xmpp =
        selfSigned({.common_name = "example.com", .sans = {{SanType::XmppAddr, "other.example"}}});
    CHECK(certificateMatchesDomain(xmpp.get(), "example.com") == IdentityResult::Mismatch);
    X509Ptr srv = selfSigned(
        {.common_name = "example.com", .sans = {{SanType::Srv, "_xmpp-server.other.example"}}});
    CHECK(certificateMatchesDomain(srv.get(), "example.com") == IdentityResult::Mismatch);
  }
  SECTION("an email SAN does not hide the CN") {
    X509Ptr cert =
        selfSigned({.common_name = "example.com", .sans = {{SanType::Email, "a@example.org"}}});
    CHECK(certificateMatchesDomain(cert.get(), "example.com") == IdentityResult::Match);
  }
  SECTION("no SAN and no CN: nothing to compare") {
    X509Ptr cert = selfSigned({});
    CHECK(certificateMatchesDomain(cert.get(), "example.com") == IdentityResult::NoIdentities);
  }
  SECTION("no certificate or no domain never matches") {
    X509Ptr cert = selfSigned({.sans = {{SanType::Dns, "example.com"}}});
    CHECK(certificateMatchesDomain(nullptr, "example.com") == IdentityResult::Mismatch);
    CHECK(certificateMatchesDomain(cert.get(), "") == IdentityResult::Mismatch);
    CHECK(certificateMatchesDomain(cert.get(), ".") == IdentityResult::Mismatch);
  }
}

TEST_CASE("verifyPeerChain: a leaf signed by the trusted test CA", "[net][peer_identity]") {
  TestPki pki;
  X509Ptr leaf = pki.sign({.sans = {{SanType::Dns, "a.example"}}});
  TempPem ca_file({pki.ca.get()});
  auto trust = TrustStore::fromFile(ca_file.path);
  REQUIRE(trust);
  CHECK(verifyPeerChain(chainOf({leaf.get()}).get(), *trust));
  CHECK(verifyPeerChain(chainOf({leaf.get(), pki.ca.get()}).get(), *trust));

  SECTION("the system store does not know the test CA") {
    auto system = TrustStore::system();
    REQUIRE(system);
    auto result = verifyPeerChain(chainOf({leaf.get(), pki.ca.get()}).get(), *system);
    REQUIRE_FALSE(result);
    CHECK_FALSE(result.error().empty());
  }
  SECTION("another CA's leaf is refused") {
    TestPki other;
    X509Ptr stranger = other.sign({.sans = {{SanType::Dns, "a.example"}}});
    auto result = verifyPeerChain(chainOf({stranger.get(), other.ca.get()}).get(), *trust);
    REQUIRE_FALSE(result);
    CHECK(result.error().find("depth") != std::string::npos);
  }
  SECTION("either TLS purpose is enough; another purpose is not") {
    X509Ptr server = pki.sign({.extended_key_usage = "serverAuth"});
    X509Ptr client = pki.sign({.extended_key_usage = "clientAuth"});
    X509Ptr both = pki.sign({.extended_key_usage = "serverAuth,clientAuth"});
    X509Ptr email = pki.sign({.extended_key_usage = "emailProtection"});
    CHECK(verifyPeerChain(chainOf({server.get()}).get(), *trust));
    CHECK(verifyPeerChain(chainOf({client.get()}).get(), *trust));
    CHECK(verifyPeerChain(chainOf({both.get()}).get(), *trust));
    CHECK_FALSE(verifyPeerChain(chainOf({email.get()}).get(), *trust));
  }
  SECTION("an expired leaf is refused") {
    X509Ptr expired = pki.sign(
        {.sans = {{SanType::Dns, "a.example"}}, .not_before = -30 * kDay, .not_after = -kDay});
    auto result = verifyPeerChain(chainOf({expired.get()}).get(), *trust);
    REQUIRE_FALSE(result);
    CHECK(result.error().find("expired") != std::string::npos);
  }
  SECTION("a leaf that is not valid yet is refused") {
    X509Ptr future = pki.sign({.not_before = kDay, .not_after = 30 * kDay});
    CHECK_FALSE(verifyPeerChain(chainOf({future.get()}).get(), *trust));
  }
  SECTION("an empty chain is refused") {
    CHECK_FALSE(verifyPeerChain(chainOf({}).get(), *trust));
    CHECK_FALSE(verifyPeerChain(nullptr, *trust));
  }
}

TEST_CASE("verifyPeerChain: a pinned self-signed certificate", "[net][peer_identity]") {
  X509Ptr pinned = selfSigned({.sans = {{SanType::Dns, "b.example"}}});
  TempPem pin_file({pinned.get()});
  auto trust = TrustStore::fromFile(pin_file.path);
  REQUIRE(trust);
  CHECK(verifyPeerChain(chainOf({pinned.get()}).get(), *trust));

  X509Ptr impostor = selfSigned({.sans = {{SanType::Dns, "b.example"}}});
  CHECK_FALSE(verifyPeerChain(chainOf({impostor.get()}).get(), *trust));

  auto system = TrustStore::system();
  REQUIRE(system);
  CHECK_FALSE(verifyPeerChain(chainOf({pinned.get()}).get(), *system));

  X509Ptr expired = selfSigned({.not_before = -30 * kDay, .not_after = -kDay});
  TempPem expired_file({expired.get()});
  auto expired_trust = TrustStore::fromFile(expired_file.path);
  REQUIRE(expired_trust);
  CHECK_FALSE(verifyPeerChain(chainOf({expired.get()}).get(), *expired_trust));
}

TEST_CASE("verifyPeerChain: a pinned CA-signed leaf needs no CA", "[net][peer_identity]") {
  TestPki pki;
  X509Ptr leaf = pki.sign({.sans = {{SanType::Dns, "a.example"}}});
  TempPem pin_file({leaf.get()});
  auto trust = TrustStore::fromFile(pin_file.path);
  REQUIRE(trust);
  CHECK(verifyPeerChain(chainOf({leaf.get()}).get(), *trust));
}

TEST_CASE("TrustStore::fromFile reports unusable files", "[net][peer_identity]") {
  CHECK_FALSE(TrustStore::fromFile("/nonexistent/parley/ca.pem"));
  TempPem empty({});
  auto result = TrustStore::fromFile(empty.path);
  REQUIRE_FALSE(result);
  CHECK(result.error().message.find("no PEM certificate") != std::string::npos);
}

}  // namespace
}  // namespace parley::net
