// SCRAM-SHA-1/-SHA-256 and their -PLUS variants (RFC 5802, RFC 7677, RFC 9266): server and client.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "auth/credentials.h"
#include "auth/sasl_error.h"
#include "util/result.h"

namespace parley::auth {

// Channel binding types we accept in "p=" (RFC 9266, RFC 5929 §4).
inline constexpr std::string_view kTlsExporter = "tls-exporter";
inline constexpr std::string_view kTlsServerEndPoint = "tls-server-end-point";

// Gives the channel binding data of the current TLS connection for a type, or
// nothing if that type is not available on it. Computed by the TLS layer.
using ChannelBindingProvider = std::function<std::optional<std::string>(std::string_view type)>;

// The server side of one SCRAM exchange. Lives on the session's worker thread.
// No key derivation happens here: the stored keys are used, so every step is cheap.
//
//   auto authcid = scram.parseClientFirst(initial_response);   // -> look up the user
//   auto first = scram.serverFirst(found ? creds : fakeCredentials(...));  // challenge
//   auto final = scram.clientFinal(response);  // success: send <success>final</success>
//
// Every error is final: once a step fails, later steps fail too.
class ScramServer {
 public:
  // `plus`: the client chose the -PLUS mechanism. `channel_binding`: empty when this
  // connection cannot do channel binding; set exactly when -PLUS mechanisms were
  // offered, since that is what a "y" flag is checked against. `server_nonce`: our
  // half of the nonce, empty for a random one (tests inject it); printable ASCII, no ','.
  ScramServer(HashAlg alg, bool plus, ChannelBindingProvider channel_binding,
              std::string server_nonce = {});

  // client-first-message (RFC 5802 §7) -> the authentication identity, with the
  // saslname escapes undone and SASLprep applied. Unknown or misplaced channel
  // binding -> MalformedRequest; "y" while we offered -PLUS (a downgrade) ->
  // NotAuthorized.
  Result<std::string, SaslError> parseClientFirst(std::string_view message);

  // server-first-message for these credentials (the user's, or fakeCredentials()
  // for an unknown user). Precondition: parseClientFirst succeeded, credentials.alg
  // matches the mechanism. Keys of the wrong size, an empty salt or zero iterations
  // (a damaged record) -> TemporaryAuthFailure, logged.
  Result<std::string, SaslError> serverFirst(const ScramCredentials& credentials);

  // client-final-message -> server-final-message ("v=..."), to send base64-encoded
  // in <success/>. Wrong proof, nonce or channel binding -> NotAuthorized.
  Result<std::string, SaslError> clientFinal(std::string_view message);

  const std::string& username() const { return username_; }
  // The "a=" authorization identity, unescaped; empty if absent. The caller must
  // check it (e.g. equal to the user's bare JID) and fail with InvalidAuthzid.
  const std::string& authzid() const { return authzid_; }
  // "tls-exporter", "tls-server-end-point", or empty without channel binding.
  const std::string& channelBindingType() const { return channel_binding_type_; }
  bool isComplete() const { return state_ == State::Done; }

 private:
  enum class State { Start, ClientFirstParsed, ServerFirstSent, Done, Failed };

  Unexpected<SaslError> failWith(SaslError error);
  Result<void, SaslError> parseGs2Header(std::string_view message, std::size_t& end);

  HashAlg alg_;
  bool plus_;
  ChannelBindingProvider channel_binding_;
  std::string server_nonce_;
  State state_ = State::Start;

  std::string gs2_header_;  // including the trailing ','
  std::string channel_binding_type_;
  std::string channel_binding_data_;
  std::string authzid_;
  std::string username_;
  std::string client_first_bare_;
  std::string client_nonce_;
  std::string nonce_;  // client nonce + server nonce
  std::string server_first_;
  ScramCredentials credentials_;
};

// How the client sets the gs2 channel binding flag (RFC 5802 §7).
enum class ChannelBindingFlag {
  NotSupported,  // "n": the client cannot do channel binding
  NotOffered,    // "y": the client could, but the server offered no -PLUS mechanism
  Used,          // "p=<type>": -PLUS, with the type and data below
};

struct ScramClientOptions {
  std::string authzid = {};  // sent as "a=" when not empty
  ChannelBindingFlag channel_binding = ChannelBindingFlag::NotSupported;
  std::string channel_binding_type = {};  // for Used
  std::string channel_binding_data = {};  // for Used
  std::string nonce = {};                 // empty: random (tests inject it)
};

// The client side, for tests and tools. clientFinal() runs PBKDF2: not for a loop thread.
class ScramClient {
 public:
  ScramClient(HashAlg alg, std::string_view username, std::string_view password,
              ScramClientOptions options = {});
  ~ScramClient();  // wipes the password
  ScramClient(const ScramClient&) = delete;
  ScramClient& operator=(const ScramClient&) = delete;

  std::string clientFirst();
  // server-first-message -> client-final-message. A nonce that does not extend ours,
  // or a silly iteration count -> NotAuthorized / MechanismTooWeak / MalformedRequest.
  Result<std::string, SaslError> clientFinal(std::string_view server_first);
  // Checks the server signature ("v="); "e=" or a wrong signature -> NotAuthorized.
  Result<void, SaslError> verifyServerFinal(std::string_view server_final);

 private:
  HashAlg alg_;
  std::string username_;
  std::string password_;
  ScramClientOptions options_;
  std::string gs2_header_;
  std::string client_first_bare_;
  std::string expected_server_signature_;
};

}  // namespace parley::auth
