// SCRAM credentials: PBKDF2/HMAC/hash with OpenSSL 3, SASLprep with libidn.
#include "auth/credentials.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stringprep.h>

#include <climits>
#include <cstdlib>
#include <memory>

#include "util/log.h"

namespace parley::auth {
namespace {

const EVP_MD* digestOf(HashAlg alg) {
  switch (alg) {
    case HashAlg::Sha1:
      return EVP_sha1();
    case HashAlg::Sha256:
      return EVP_sha256();
  }
  PARLEY_CHECK(false);
  return nullptr;
}

const unsigned char* bytes(std::string_view data) {
  return reinterpret_cast<const unsigned char*>(data.data());
}

// Wipes a secret intermediate when it goes out of scope.
struct Cleansed {
  std::string value;
  ~Cleansed() { OPENSSL_cleanse(value.data(), value.size()); }
};

}  // namespace

std::size_t hashSize(HashAlg alg) { return alg == HashAlg::Sha1 ? 20 : 32; }

std::string_view scramMechanismName(HashAlg alg, bool plus) {
  if (alg == HashAlg::Sha1) return plus ? "SCRAM-SHA-1-PLUS" : "SCRAM-SHA-1";
  return plus ? "SCRAM-SHA-256-PLUS" : "SCRAM-SHA-256";
}

std::string hashOf(HashAlg alg, std::string_view data) {
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned int size = 0;
  PARLEY_CHECK(EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()),
                          &size, digestOf(alg), nullptr) == 1);
  out.resize(size);
  return out;
}

std::string hmacOf(HashAlg alg, std::string_view key, std::string_view data) {
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned int size = 0;
  PARLEY_CHECK(HMAC(digestOf(alg), key.data(), static_cast<int>(key.size()), bytes(data),
                    data.size(), reinterpret_cast<unsigned char*>(out.data()), &size) != nullptr);
  out.resize(size);
  return out;
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string randomBytes(std::size_t size) {
  std::string out(size, '\0');
  PARLEY_CHECK(size <= INT_MAX);
  PARLEY_CHECK(RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(size)) ==
               1);
  return out;
}

std::string hexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0x0f]);
  }
  return out;
}

std::string randomToken(std::size_t length) {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string token = randomBytes(length);
  // 256 is not a multiple of 62: a slight bias, harmless for identifiers of this length.
  for (auto& c : token) c = kAlphabet[static_cast<unsigned char>(c) % (sizeof kAlphabet - 1)];
  return token;
}

std::optional<std::string> saslprep(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  const std::string input(text);
  char* output = nullptr;
  const int rc = stringprep_profile(input.c_str(), &output, "SASLprep", Stringprep_profile_flags{});
  std::unique_ptr<char, decltype(&std::free)> owned(output, &std::free);
  if (rc != STRINGPREP_OK || output == nullptr) return std::nullopt;
  return std::string(output);
}

std::string saltedPassword(HashAlg alg, std::string_view password, std::string_view salt,
                           uint32_t iterations) {
  PARLEY_CHECK(iterations >= 1 && iterations <= INT_MAX);
  Cleansed normalized{saslprep(password).value_or(std::string(password))};
  if (normalized.value.empty()) normalized.value = password;
  std::string salted(hashSize(alg), '\0');
  PARLEY_CHECK(PKCS5_PBKDF2_HMAC(normalized.value.data(), static_cast<int>(normalized.value.size()),
                                 bytes(salt), static_cast<int>(salt.size()),
                                 static_cast<int>(iterations), digestOf(alg),
                                 static_cast<int>(salted.size()),
                                 reinterpret_cast<unsigned char*>(salted.data())) == 1);
  return salted;
}

ScramCredentials deriveCredentials(HashAlg alg, std::string_view password, std::string_view salt,
                                   uint32_t iterations) {
  const Cleansed salted{saltedPassword(alg, password, salt, iterations)};
  const Cleansed client_key{hmacOf(alg, salted.value, "Client Key")};
  ScramCredentials credentials;
  credentials.alg = alg;
  credentials.salt = salt;
  credentials.iterations = iterations;
  credentials.stored_key = hashOf(alg, client_key.value);
  credentials.server_key = hmacOf(alg, salted.value, "Server Key");
  return credentials;
}

ScramCredentials newCredentials(HashAlg alg, std::string_view password, uint32_t iterations) {
  return deriveCredentials(alg, password, randomBytes(kSaltSize), iterations);
}

ScramCredentials fakeCredentials(HashAlg alg, std::string_view username,
                                 std::string_view server_secret, uint32_t iterations) {
  // Domain-separated so the fake salt says nothing about the fake keys.
  const std::string context =
      std::string(scramMechanismName(alg, false)) + '\0' + std::string(username);
  ScramCredentials credentials;
  credentials.alg = alg;
  credentials.salt =
      hmacOf(HashAlg::Sha256, server_secret, "fake-salt:" + context).substr(0, kSaltSize);
  credentials.iterations = iterations;
  credentials.stored_key = hmacOf(alg, server_secret, "fake-stored-key:" + context);
  credentials.server_key = hmacOf(alg, server_secret, "fake-server-key:" + context);
  return credentials;
}

}  // namespace parley::auth
