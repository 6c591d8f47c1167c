// TestPki: a throwaway certificate authority for federation tests, and certificates from it
// (or self-signed ones nobody trusts), written as PEM files.
#pragma once

#include <openssl/types.h>

#include <string>

namespace parley::integration {

struct CertificateFiles {
  std::string cert;  // PEM certificate (for a CA-issued one: the leaf only)
  std::string key;   // PEM private key
};

// Not thread-safe. The files live in DIR, which the caller owns and removes.
class TestPki {
 public:
  // Creates the CA ("Parley Test CA", EC P-256) in DIR/ca.crt and DIR/ca.key.
  explicit TestPki(std::string dir);
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  bool ok() const { return ca_key_ != nullptr; }
  std::string caPath() const { return dir_ + "/ca.crt"; }

  // A certificate for DOMAIN signed by the CA: subjectAltName DNS:DOMAIN and DNS:*.DOMAIN,
  // extendedKeyUsage serverAuth and clientAuth (s2s certificates serve both ends).
  CertificateFiles issue(const std::string& domain);
  // A self-signed certificate for DOMAIN, trusted by no one.
  CertificateFiles selfSigned(const std::string& domain);

 private:
  CertificateFiles write(const std::string& domain, const std::string& suffix, bool by_ca);

  std::string dir_;
  EVP_PKEY* ca_key_ = nullptr;
  X509* ca_cert_ = nullptr;
};

// A fresh directory under /tmp (mkdtemp with PREFIX), or "" on failure.
std::string makeTempDir(const std::string& prefix);

}  // namespace parley::integration
