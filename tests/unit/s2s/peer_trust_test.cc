// Unit tests for the s2s certificate policy: per-domain trust files, the system store, names.
#include "s2s/peer_trust.h"

#include <openssl/pem.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>

#include "net/tls.h"

namespace parley::s2s {
namespace {

struct TempDir {
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "parley-trust-XXXXXX");
    if (::mkdtemp(pattern.data()) != nullptr) path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::filesystem::path path;
};

net::CertificateChain chainFrom(const std::filesystem::path& pem) {
  net::CertificateChain chain(sk_X509_new_null());
  FILE* file = std::fopen(pem.c_str(), "r");
  REQUIRE(file != nullptr);
  X509* cert = PEM_read_X509(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  REQUIRE(cert != nullptr);
  sk_X509_push(chain.get(), cert);
  return chain;
}

TEST_CASE("PeerTrust: a pinned certificate is valid for its domain only", "[s2s][trust]") {
  TempDir dir;
  for (const char* domain : {"a.example", "b.example"}) {
    REQUIRE(net::generateSelfSigned(domain, dir.path / (std::string(domain) + ".crt"),
                                    dir.path / (std::string(domain) + ".key")));
  }
  core::S2sConfig config;
  config.trust["a.example"] = dir.path / "a.example.crt";
  config.trust["muc.a.example"] = dir.path / "a.example.crt";
  auto trust = PeerTrust::create(config);
  REQUIRE(trust);

  auto a = chainFrom(dir.path / "a.example.crt");
  auto b = chainFrom(dir.path / "b.example.crt");
  CHECK((*trust)->check("a.example", a.get()).valid);
  // The certificate generateSelfSigned makes also names *.a.example.
  CHECK((*trust)->check("muc.a.example", a.get()).valid);
  // b.example has no trust entry: the system store does not know its self-signed certificate.
  auto b_status = (*trust)->check("b.example", b.get());
  CHECK_FALSE(b_status.valid);
  CHECK(b_status.problem.find("self-signed") != std::string::npos);
  // a.example's entry does not make b.example's certificate good for a.example.
  CHECK_FALSE((*trust)->check("a.example", b.get()).valid);
  net::CertificateChain empty(sk_X509_new_null());
  CHECK((*trust)->check("a.example", empty.get()).problem == "no certificate");
}

TEST_CASE("PeerTrust: a trust file that cannot be read is an error", "[s2s][trust]") {
  core::S2sConfig config;
  config.trust["a.example"] = "/nonexistent/ca.pem";
  auto trust = PeerTrust::create(config);
  REQUIRE_FALSE(trust);
  CHECK(trust.error().message.find("s2s.trust.a.example") != std::string::npos);
}

}  // namespace
}  // namespace parley::s2s
