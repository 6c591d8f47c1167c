// SASL failure conditions (RFC 6120 §6.5), as returned by the mechanisms in src/auth/.
#pragma once

#include <string_view>

namespace parley::auth {

enum class SaslError {
  Aborted,
  AccountDisabled,
  CredentialsExpired,
  EncryptionRequired,
  IncorrectEncoding,
  InvalidAuthzid,
  InvalidMechanism,
  MalformedRequest,
  MechanismTooWeak,
  NotAuthorized,
  TemporaryAuthFailure,
};

// The element name inside <failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>:
// "not-authorized", "malformed-request", ...
std::string_view conditionName(SaslError error);

}  // namespace parley::auth
