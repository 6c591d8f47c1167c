// SCRAM credentials (RFC 5802 §3): what we store instead of passwords, and the crypto behind them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::auth {

enum class HashAlg { Sha1, Sha256 };

std::size_t hashSize(HashAlg alg);  // 20 or 32 octets
// The SASL mechanism name: "SCRAM-SHA-1", "SCRAM-SHA-256-PLUS", ...
std::string_view scramMechanismName(HashAlg alg, bool plus);

// RFC 7677 §4: at least 4096 iterations. New accounts get kDefaultIterations.
inline constexpr uint32_t kMinIterations = 4096;
inline constexpr uint32_t kDefaultIterations = 10000;
inline constexpr std::size_t kSaltSize = 16;

// Everything a server needs to check a SCRAM or PLAIN login; all strings are raw bytes
// (base64 only on the wire and in exports). Knowing these does not reveal the
// password, but does allow impersonating the server to the user: keep them private.
struct ScramCredentials {
  HashAlg alg = HashAlg::Sha256;
  std::string salt;
  uint32_t iterations = 0;
  std::string stored_key;  // H(ClientKey)
  std::string server_key;  // HMAC(SaltedPassword, "Server Key")

  friend bool operator==(const ScramCredentials&, const ScramCredentials&) = default;
};

// RFC 5802 §3: SaltedPassword = Hi(Normalize(password), salt, i), then ClientKey,
// StoredKey and ServerKey. Normalize is SASLprep (RFC 4013) as a query string; a
// password SASLprep refuses is used as given. Costs `iterations` HMACs: call it at
// account creation, password change and PLAIN login, never per SCRAM step.
// Precondition: 1 <= iterations <= INT_MAX.
ScramCredentials deriveCredentials(HashAlg alg, std::string_view password, std::string_view salt,
                                   uint32_t iterations);

// Just the first step: SaltedPassword = Hi(Normalize(password), salt, i). Same cost.
std::string saltedPassword(HashAlg alg, std::string_view password, std::string_view salt,
                           uint32_t iterations);

// deriveCredentials with a fresh random salt of kSaltSize octets.
ScramCredentials newCredentials(HashAlg alg, std::string_view password,
                                uint32_t iterations = kDefaultIterations);

// Stand-in credentials for a user who does not exist, so that the SCRAM exchange
// looks the same (same salt on every try, same iteration count) whether or not the
// account exists. Derived from server_secret with HMACs only, so it is cheap; a
// proof never matches them in practice. `username` is the prepared authcid.
ScramCredentials fakeCredentials(HashAlg alg, std::string_view username,
                                 std::string_view server_secret,
                                 uint32_t iterations = kDefaultIterations);

// SASLprep (RFC 4013) with unassigned code points allowed; nothing if the input is
// not UTF-8 or has prohibited characters. May return an empty string.
std::optional<std::string> saslprep(std::string_view text);

// Cryptographically random bytes (OpenSSL's RAND_bytes); aborts if the generator fails.
std::string randomBytes(std::size_t size);
// `length` random letters and digits: stream ids, generated resources, dialback secrets.
std::string randomToken(std::size_t length);

std::string hashOf(HashAlg alg, std::string_view data);
// Lowercase hexadecimal, two digits per byte.
std::string hexEncode(std::string_view bytes);
std::string hmacOf(HashAlg alg, std::string_view key, std::string_view data);
// Compares without leaking the position of the first difference (CRYPTO_memcmp);
// the length is not secret.
bool constantTimeEquals(std::string_view a, std::string_view b);

}  // namespace parley::auth
