// SASL PLAIN (RFC 4616): strict parsing; checking a password against SCRAM credentials.
#include "auth/plain.h"

#include <cstdint>
#include <utility>

namespace parley::auth {
namespace {

// RFC 3629: no overlong forms, surrogates or code points past U+10FFFF.
bool isValidUtf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xE0) == 0xC0) {
      extra = 1, cp = lead & 0x1Fu, min = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      extra = 2, cp = lead & 0x0Fu, min = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      extra = 3, cp = lead & 0x07u, min = 0x10000;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (next & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

}  // namespace

Result<PlainMessage, SaslError> parsePlain(std::string_view message) {
  const std::size_t first = message.find('\0');
  if (first == std::string_view::npos) return Unexpected(SaslError::MalformedRequest);
  const std::size_t second = message.find('\0', first + 1);
  if (second == std::string_view::npos) return Unexpected(SaslError::MalformedRequest);
  if (message.find('\0', second + 1) != std::string_view::npos)
    return Unexpected(SaslError::MalformedRequest);

  const std::string_view authzid = message.substr(0, first);
  const std::string_view authcid = message.substr(first + 1, second - first - 1);
  const std::string_view password = message.substr(second + 1);
  if (authcid.empty() || password.empty()) return Unexpected(SaslError::MalformedRequest);
  for (const std::string_view field : {authzid, authcid, password}) {
    if (field.size() > kMaxPlainFieldSize) return Unexpected(SaslError::MalformedRequest);
  }
  // RFC 4616 §2: all three are UTF-8. The password need not pass SASLprep
  // (deriveCredentials falls back to the raw string, as at account creation).
  if (!isValidUtf8(authzid) || !isValidUtf8(authcid) || !isValidUtf8(password))
    return Unexpected(SaslError::MalformedRequest);
  auto prepared = saslprep(authcid);
  if (!prepared || prepared->empty()) return Unexpected(SaslError::MalformedRequest);

  PlainMessage out;
  out.authzid = authzid;
  out.authcid = std::move(*prepared);
  out.password = password;
  return out;
}

bool verifyPassword(const ScramCredentials& credentials, std::string_view password) {
  const ScramCredentials derived =
      deriveCredentials(credentials.alg, password, credentials.salt, credentials.iterations);
  return constantTimeEquals(derived.stored_key, credentials.stored_key);
}

}  // namespace parley::auth
