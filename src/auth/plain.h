// SASL PLAIN (RFC 4616): message parsing and password checks against stored SCRAM credentials.
#pragma once

#include <string>
#include <string_view>

#include "auth/credentials.h"
#include "auth/sasl_error.h"
#include "util/result.h"

namespace parley::auth {

// RFC 4616 §2: message = [authzid] NUL authcid NUL passwd.
struct PlainMessage {
  std::string authzid;   // empty if absent; the caller checks it (InvalidAuthzid)
  std::string authcid;   // SASLprep'd, like the SCRAM username
  std::string password;  // as sent; verifyPassword() applies SASLprep
};

// Each field at most this many octets (RFC 4616 requires accepting at least 255).
inline constexpr std::size_t kMaxPlainFieldSize = 1023;

// MalformedRequest when: not exactly two NULs, empty authcid or password, a field
// too long, not UTF-8, or an authcid that SASLprep refuses.
Result<PlainMessage, SaslError> parsePlain(std::string_view message);

// Whether `password` matches: derives with the stored salt and iteration count and
// compares StoredKey in constant time. Runs PBKDF2 (`iterations` HMACs): keep it off
// the event loop or budget for it.
bool verifyPassword(const ScramCredentials& credentials, std::string_view password);

}  // namespace parley::auth
