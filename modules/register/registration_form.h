// XEP-0077 payloads: reading a jabber:iq:register <query/> and building the server's answers.
// Pure functions, so every refusal the XEP names is unit-tested without a server.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"
#include "xml/element.h"
#include "xmpp/stanza_error.h"

namespace parley::modules {

inline constexpr std::string_view kRegisterNs = "jabber:iq:register";
// Longest password accepted, in bytes: enough for any passphrase, short of abuse.
inline constexpr size_t kMaxPasswordBytes = 1024;

// What a client's <query xmlns='jabber:iq:register'/> carries: the legacy fields, or the same
// fields in a submitted XEP-0004 form (which takes precedence, XEP-0077 §6). Absent and empty
// are kept apart: an absent field is nullopt.
struct RegistrationFields {
  std::optional<std::string> username;
  std::optional<std::string> password;
  bool remove = false;  // <remove/>: cancel the registration (§3.2)
};
RegistrationFields readFields(const xml::Element& query);

// A sign-up that may go ahead: the username prepared (nodeprep) and the password.
struct Signup {
  std::string username;
  std::string password;
};
// Checks a sign-up (§3.1): not-acceptable for a missing or empty username or password (or an
// oversized password), jid-malformed for a username that is not a valid localpart.
Result<Signup, xmpp::StanzaError> checkSignup(const RegistrationFields& fields);

// Checks a password change by USER (§3.3): the new password, or bad-request when it is missing
// or empty, not-acceptable when oversized, not-allowed when the username names someone else.
// The username may be left out: it can only mean the sender.
Result<std::string, xmpp::StanzaError> checkPasswordChange(const RegistrationFields& fields,
                                                           std::string_view user);

// The answer to an unauthenticated iq get (§3.1): instructions, the legacy <username/> and
// <password/> fields and the same as a data form.
xml::Element registrationForm(std::string_view instructions);
// The answer to an authenticated iq get (§3.2): <registered/> and the username.
xml::Element registeredQuery(std::string_view user);

}  // namespace parley::modules
