// TestPki: CA and leaf certificates with OpenSSL, for the federation tests.
#include "harness/test_pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <cstdio>
#include <memory>

namespace parley::integration {
namespace {

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

bool addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A v3 certificate for SUBJECT_CN with a random serial, valid from an hour ago for a year.
X509* newCertificate(const std::string& subject_cn, EVP_PKEY* key) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 365L * 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(subject_cn.c_str()), -1, -1, 0);
  return cert;
}

bool writePem(const std::string& path, X509* cert, EVP_PKEY* key) {
  std::unique_ptr<FILE, FileCloser> file(std::fopen(path.c_str(), "w"));
  if (!file) return false;
  if (cert != nullptr) return PEM_write_X509(file.get(), cert) == 1;
  return PEM_write_PrivateKey(file.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
}

}  // namespace

std::string makeTempDir(const std::string& prefix) {
  std::string pattern = "/tmp/" + prefix + "-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) return {};
  return pattern;
}

TestPki::TestPki(std::string dir) : dir_(std::move(dir)) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) return;
  X509* cert = newCertificate("Parley Test CA", key);
  X509_set_issuer_name(cert, X509_get_subject_name(cert));
  bool ok = addExtension(cert, cert, NID_basic_constraints, "critical,CA:TRUE") &&
            addExtension(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign") &&
            addExtension(cert, cert, NID_subject_key_identifier, "hash") &&
            X509_sign(cert, key, EVP_sha256()) != 0 && writePem(caPath(), cert, nullptr) &&
            writePem(dir_ + "/ca.key", nullptr, key);
  if (!ok) {
    X509_free(cert);
    EVP_PKEY_free(key);
    return;
  }
  ca_key_ = key;
  ca_cert_ = cert;
}

TestPki::~TestPki() {
  X509_free(ca_cert_);
  EVP_PKEY_free(ca_key_);
}

CertificateFiles TestPki::issue(const std::string& domain) { return write(domain, "", true); }

CertificateFiles TestPki::selfSigned(const std::string& domain) {
  return write(domain, "-self", false);
}

CertificateFiles TestPki::write(const std::string& domain, const std::string& suffix, bool by_ca) {
  CertificateFiles files{dir_ + "/" + domain + suffix + ".crt",
                         dir_ + "/" + domain + suffix + ".key"};
  if (by_ca && !ok()) return {};
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) return {};
  X509* cert = newCertificate(domain, key);
  X509* issuer = by_ca ? ca_cert_ : cert;
  X509_set_issuer_name(cert, X509_get_subject_name(issuer));
  bool ok =
      addExtension(cert, issuer, NID_subject_alt_name, "DNS:" + domain + ",DNS:*." + domain) &&
      addExtension(cert, issuer, NID_basic_constraints, "critical,CA:FALSE") &&
      addExtension(cert, issuer, NID_key_usage, "critical,digitalSignature") &&
      addExtension(cert, issuer, NID_ext_key_usage, "serverAuth,clientAuth") &&
      (!by_ca || addExtension(cert, issuer, NID_authority_key_identifier, "keyid")) &&
      X509_sign(cert, by_ca ? ca_key_ : key, EVP_sha256()) != 0 &&
      writePem(files.cert, cert, nullptr) && writePem(files.key, nullptr, key);
  X509_free(cert);
  EVP_PKEY_free(key);
  return ok ? files : CertificateFiles{};
}

}  // namespace parley::integration
