// Invitation tokens (XEP-0401/XEP-0445 style): how they are made, stored and checked.
//
// Header-only on purpose: parleyd's register module consumes tokens and parleyctl issues
// them, and both must agree on this format. A token lives in the per-user store "invites"
// under the pseudo-user kInviteUser of its host: key = the token, value = its creation time
// in Unix seconds (decimal). kInviteUser holds an '@', so no account (whose localpart has
// passed nodeprep) can ever share it, and deleting an account never touches the tokens.
#pragma once

#include <openssl/rand.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::modules::invites {

inline constexpr std::string_view kStoreName = "invites";
inline constexpr std::string_view kInviteUser = "@invites";
// 32 characters of base62: about 190 bits, far beyond guessing.
inline constexpr size_t kTokenLength = 32;

// A fresh random token of kTokenLength characters from [A-Za-z0-9]. nullopt only if the
// system's random source fails.
inline std::optional<std::string> makeToken() {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string token;
  token.reserve(kTokenLength);
  while (token.size() < kTokenLength) {
    unsigned char bytes[64];
    if (RAND_bytes(bytes, sizeof bytes) != 1) return std::nullopt;
    for (unsigned char byte : bytes) {
      // Rejection sampling keeps every character equally likely: 248 = 4 * 62.
      if (byte >= 248 || token.size() == kTokenLength) continue;
      token.push_back(kAlphabet[byte % kAlphabet.size()]);
    }
  }
  return token;
}

// Whether TEXT could be a token we issued: the right length and alphabet. Checked before any
// storage lookup so a hostile client cannot make us look up arbitrary keys.
inline bool looksLikeToken(std::string_view text) {
  if (text.size() != kTokenLength) return false;
  for (char c : text) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum) return false;
  }
  return true;
}

// XEP-0401 §4: the URI a client opens to register on DOMAIN with TOKEN.
inline std::string inviteUri(std::string_view domain, std::string_view token) {
  std::string uri = "xmpp:";
  uri.append(domain).append("?register;preauth=").append(token);
  return uri;
}

// The stored value: the creation time in Unix seconds.
inline std::string encodeCreated(std::chrono::system_clock::time_point created) {
  auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(created.time_since_epoch()).count();
  return std::to_string(seconds);
}

inline std::optional<std::chrono::system_clock::time_point> decodeCreated(std::string_view value) {
  int64_t seconds = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (error != std::errc() || end != value.data() + value.size() || value.empty()) {
    return std::nullopt;
  }
  return std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
}

// Whether a token stored with VALUE may still be used at NOW. Unreadable values, and values
// from the future beyond a minute of clock skew, are not valid.
inline bool isValid(std::string_view value, std::chrono::system_clock::time_point now,
                    std::chrono::seconds ttl) {
  auto created = decodeCreated(value);
  if (!created) return false;
  if (*created > now + std::chrono::minutes(1)) return false;
  return now < *created + ttl;
}

}  // namespace parley::modules::invites
