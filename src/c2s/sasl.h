// SASL for client streams (RFC 6120 §6): which mechanisms a stream offers, and
// one authentication exchange (SCRAM-SHA-1/256 with and without -PLUS, PLAIN).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/sasl_error.h"
#include "core/config.h"
#include "storage/account_store.h"

namespace parley::c2s {

// Returns the channel binding data of the stream's TLS connection for a type
// ("tls-exporter", "tls-server-end-point"), or nothing.
using ChannelBindingSource = std::function<std::optional<std::string>(std::string_view type)>;

// The channel binding types we can offer on this connection (XEP-0440).
std::vector<std::string> channelBindingTypes(const ChannelBindingSource& source);

// The mechanisms to advertise, strongest first: PLAIN and -PLUS only over TLS,
// -PLUS only when a channel binding type is available, all filtered by config.
// On an anonymous host only ANONYMOUS (RFC 4505) is offered.
std::vector<std::string> offeredMechanisms(const core::C2sConfig& config, bool tls,
                                           bool channel_binding, bool anonymous_host);

// One SASL exchange on one stream. Lives on the session's thread.
class SaslNegotiation {
 public:
  struct Outcome {
    enum class Kind { Challenge, Success, Failure };
    Kind kind = Kind::Failure;
    std::string data;  // challenge or success additional data (raw bytes), or failure text
    auth::SaslError error = auth::SaslError::NotAuthorized;
    std::string username;    // the authenticated localpart, on success
    bool anonymous = false;  // SASL ANONYMOUS: username is a fresh random localpart
    // A failure because the password (or SCRAM proof) was wrong or the user unknown: a guess
    // that counts against c2s.failed_logins_per_ip. Protocol refusals (a malformed message,
    // a channel binding downgrade) do not: clients probing mechanisms make those.
    bool wrong_credentials = false;
  };

  SaslNegotiation(const storage::AccountStore& accounts, std::string domain,
                  std::vector<std::string> offered, ChannelBindingSource channel_binding);
  ~SaslNegotiation();
  SaslNegotiation(SaslNegotiation&&) noexcept;

  // <auth mechanism='…'>: the initial response already base64-decoded
  // (std::nullopt when the element was empty, "" for '=').
  Outcome start(std::string_view mechanism, std::optional<std::string_view> initial_response);
  // <response>: decoded.
  Outcome step(std::string_view response);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace parley::c2s
