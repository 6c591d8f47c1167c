// SASL PLAIN (RFC 4616): strict parsing; checking a password against SCRAM credentials.
#include "auth/plain.h"

#include <cstdint>
#include <utility>

#include "util/utf8.h"

namespace parley::auth {

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
  if (!utf8::isValid(authzid) || !utf8::isValid(authcid) || !utf8::isValid(password))
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
