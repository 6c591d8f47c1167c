// SASL failure conditions: the RFC 6120 §6.5 element names.
#include "auth/sasl_error.h"

namespace parley::auth {

std::string_view conditionName(SaslError error) {
  switch (error) {
    case SaslError::Aborted:
      return "aborted";
    case SaslError::AccountDisabled:
      return "account-disabled";
    case SaslError::CredentialsExpired:
      return "credentials-expired";
    case SaslError::EncryptionRequired:
      return "encryption-required";
    case SaslError::IncorrectEncoding:
      return "incorrect-encoding";
    case SaslError::InvalidAuthzid:
      return "invalid-authzid";
    case SaslError::InvalidMechanism:
      return "invalid-mechanism";
    case SaslError::MalformedRequest:
      return "malformed-request";
    case SaslError::MechanismTooWeak:
      return "mechanism-too-weak";
    case SaslError::NotAuthorized:
      return "not-authorized";
    case SaslError::TemporaryAuthFailure:
      return "temporary-auth-failure";
  }
  return "not-authorized";
}

}  // namespace parley::auth
