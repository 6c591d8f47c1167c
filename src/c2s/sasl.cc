// SASL for client streams: mechanism offers and one exchange per <auth/> (RFC 6120 §6).
#include "c2s/sasl.h"

#include <algorithm>
#include <array>

#include "auth/credentials.h"
#include "auth/plain.h"
#include "auth/scram.h"
#include "xmpp/jid.h"

namespace parley::c2s {
namespace {

using auth::HashAlg;
using auth::SaslError;
using Outcome = SaslNegotiation::Outcome;
using Kind = SaslNegotiation::Outcome::Kind;

struct MechanismInfo {
  std::string_view name;
  bool needs_tls;
  bool needs_channel_binding;
};

// Strongest first, as clients pick the first they support in our order or their own.
constexpr std::array<MechanismInfo, 5> kMechanisms = {{
    {"SCRAM-SHA-256-PLUS", true, true},
    {"SCRAM-SHA-1-PLUS", true, true},
    {"SCRAM-SHA-256", false, false},
    {"SCRAM-SHA-1", false, false},
    {"PLAIN", true, false},
}};

Outcome failure(SaslError error, std::string text = {}) {
  return Outcome{Kind::Failure, std::move(text), error, {}};
}

// not-authorized because the credentials did not match (see Outcome::wrong_credentials).
Outcome wrongCredentials() {
  Outcome outcome = failure(SaslError::NotAuthorized);
  outcome.wrong_credentials = true;
  return outcome;
}

// Stand-in credentials for unknown users must look the same on every attempt
// within this process; one random secret per process does that.
const std::string& fakeSecret() {
  static const std::string secret = auth::randomBytes(32);
  return secret;
}

std::optional<auth::ScramCredentials> storedCredentials(const storage::AccountStore& accounts,
                                                        std::string_view domain,
                                                        std::string_view user, HashAlg alg) {
  auto record = accounts.get(domain, user);
  if (!record) return std::nullopt;
  const auto& secret = alg == HashAlg::Sha1 ? record->sha1 : record->sha256;
  return auth::ScramCredentials{alg, secret.salt, secret.iterations, secret.stored_key,
                                secret.server_key};
}

// The localpart a SASL authcid names: it must be a valid, prepared localpart.
std::optional<std::string> localpartOf(std::string_view authcid) {
  if (authcid.empty()) return std::nullopt;
  return xmpp::nodeprep(authcid);
}

// RFC 6120 §6.3.8: an authzid, if given, must be the account's own bare JID.
bool authzidAllowed(std::string_view authzid, std::string_view user, std::string_view domain) {
  if (authzid.empty()) return true;
  auto jid = xmpp::Jid::parse(authzid);
  return jid && jid->isBare() && jid->localpart() == user && jid->domainpart() == domain;
}

// A fresh localpart for an anonymous login: 20 random characters from [a-z0-9].
std::string anonymousLocalpart() {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  auto bytes = auth::randomBytes(20);
  for (auto& c : bytes) c = kAlphabet[static_cast<unsigned char>(c) % (sizeof kAlphabet - 1)];
  return bytes;
}

}  // namespace

struct SaslNegotiation::State {
  const storage::AccountStore& accounts;
  std::string domain;
  std::vector<std::string> offered;
  ChannelBindingSource channel_binding;
  std::optional<auth::ScramServer> scram;
  std::string user;
};

std::vector<std::string> channelBindingTypes(const ChannelBindingSource& source) {
  std::vector<std::string> types;
  for (auto type : {auth::kTlsExporter, auth::kTlsServerEndPoint}) {
    if (source(type)) types.emplace_back(type);
  }
  return types;
}

std::vector<std::string> offeredMechanisms(const core::C2sConfig& config, bool tls,
                                           bool channel_binding, bool anonymous_host) {
  std::vector<std::string> offered;
  if (anonymous_host) {
    offered.emplace_back("ANONYMOUS");
    return offered;
  }
  for (const auto& mechanism : kMechanisms) {
    if (mechanism.needs_tls && !tls) continue;
    if (mechanism.needs_channel_binding && !channel_binding) continue;
    const auto& allowed = config.sasl_mechanisms;
    if (!allowed.empty() &&
        std::find(allowed.begin(), allowed.end(), mechanism.name) == allowed.end()) {
      continue;
    }
    offered.emplace_back(mechanism.name);
  }
  return offered;
}

SaslNegotiation::SaslNegotiation(const storage::AccountStore& accounts, std::string domain,
                                 std::vector<std::string> offered,
                                 ChannelBindingSource channel_binding)
    : state_(std::make_unique<State>(State{
          accounts, std::move(domain), std::move(offered), std::move(channel_binding), {}, {}})) {}

SaslNegotiation::~SaslNegotiation() = default;
SaslNegotiation::SaslNegotiation(SaslNegotiation&&) noexcept = default;

Outcome SaslNegotiation::start(std::string_view mechanism,
                               std::optional<std::string_view> initial_response) {
  auto& s = *state_;
  if (std::find(s.offered.begin(), s.offered.end(), mechanism) == s.offered.end()) {
    return failure(SaslError::InvalidMechanism);
  }
  // Client-first mechanisms: an absent initial response gets an empty challenge.
  if (!initial_response && mechanism != "ANONYMOUS") {
    return Outcome{Kind::Challenge, {}, SaslError::NotAuthorized, {}};
  }

  if (mechanism == "ANONYMOUS") {
    // RFC 4505: the trace information is ignored; every login is a new user.
    Outcome outcome{Kind::Success, {}, SaslError::NotAuthorized, anonymousLocalpart()};
    outcome.anonymous = true;
    return outcome;
  }

  if (mechanism == "PLAIN") {
    auto message = auth::parsePlain(*initial_response);
    if (!message) return failure(message.error());
    auto user = localpartOf(message->authcid);
    if (!user) return wrongCredentials();
    auto creds = storedCredentials(s.accounts, s.domain, *user, HashAlg::Sha256);
    if (!creds || !auth::verifyPassword(*creds, message->password)) return wrongCredentials();
    if (!authzidAllowed(message->authzid, *user, s.domain)) {
      return failure(SaslError::InvalidAuthzid);
    }
    return Outcome{Kind::Success, {}, SaslError::NotAuthorized, *user};
  }

  bool plus = mechanism.ends_with("-PLUS");
  HashAlg alg = mechanism.starts_with("SCRAM-SHA-256") ? HashAlg::Sha256 : HashAlg::Sha1;
  // The provider is set exactly when -PLUS was offered, so a 'y' flag is caught as a downgrade.
  bool offered_plus = std::any_of(s.offered.begin(), s.offered.end(),
                                  [](const std::string& m) { return m.ends_with("-PLUS"); });
  s.scram.emplace(alg, plus, offered_plus ? s.channel_binding : auth::ChannelBindingProvider{});
  auto authcid = s.scram->parseClientFirst(*initial_response);
  if (!authcid) return failure(authcid.error());
  auto user = localpartOf(*authcid);
  std::optional<auth::ScramCredentials> creds;
  if (user) creds = storedCredentials(s.accounts, s.domain, *user, alg);
  if (creds) s.user = *user;
  // Unknown users get a full exchange with stand-in credentials that never match.
  auto first =
      s.scram->serverFirst(creds ? *creds : auth::fakeCredentials(alg, *authcid, fakeSecret()));
  if (!first) return failure(first.error());
  return Outcome{Kind::Challenge, std::move(*first), SaslError::NotAuthorized, {}};
}

Outcome SaslNegotiation::step(std::string_view response) {
  auto& s = *state_;
  if (!s.scram) return failure(SaslError::MalformedRequest);
  if (s.scram->isComplete()) {
    // Not reached: success carries the server-final message as additional data.
    return failure(SaslError::MalformedRequest);
  }
  auto final_message = s.scram->clientFinal(response);
  if (!final_message) {
    // A wrong proof (or nonce) is a wrong password; anything else is a broken message.
    if (final_message.error() == SaslError::NotAuthorized) return wrongCredentials();
    return failure(final_message.error());
  }
  if (s.user.empty()) return wrongCredentials();
  if (!authzidAllowed(s.scram->authzid(), s.user, s.domain)) {
    return failure(SaslError::InvalidAuthzid);
  }
  return Outcome{Kind::Success, std::move(*final_message), SaslError::NotAuthorized, s.user};
}

}  // namespace parley::c2s
