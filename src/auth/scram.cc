// SCRAM (RFC 5802 §5-7, RFC 7677, RFC 9266): strict message parsing and the proof checks.
#include "auth/scram.h"

#include <openssl/crypto.h>

#include <charconv>
#include <utility>
#include <vector>

#include "auth/base64.h"
#include "util/log.h"

namespace parley::auth {
namespace {

constexpr std::size_t kNonceBytes = 18;  // 24 base64 characters
// Refuse iteration counts that would make a client spin for minutes.
constexpr uint32_t kMaxClientIterations = 10'000'000;

std::vector<std::string_view> splitAttributes(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    parts.push_back(text.substr(start, comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return parts;
}

bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// attr-val = ALPHA "=" value
bool isAttribute(std::string_view part, char name) {
  return part.size() >= 2 && part[0] == name && part[1] == '=';
}
bool isExtension(std::string_view part) {
  return part.size() >= 2 && isAlpha(part[0]) && part[1] == '=';
}

// printable = %x21-2B / %x2D-7E (RFC 5802 §7)
bool isValidNonce(std::string_view nonce) {
  if (nonce.empty()) return false;
  for (const char c : nonce) {
    if (c < 0x21 || c > 0x7E || c == ',') return false;
  }
  return true;
}

// saslname (RFC 5802 §5.1): "," and "=" are sent as "=2C" and "=3D"; any other "=" is an error.
std::optional<std::string> decodeSaslname(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '=') {
      out.push_back(text[i]);
      continue;
    }
    const std::string_view escape = text.substr(i + 1, 2);
    if (escape == "2C") {
      out.push_back(',');
    } else if (escape == "3D") {
      out.push_back('=');
    } else {
      return std::nullopt;
    }
    i += 2;
  }
  return out;
}

std::string encodeSaslname(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == ',') {
      out += "=2C";
    } else if (c == '=') {
      out += "=3D";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string xorBytes(std::string_view a, std::string_view b) {
  std::string out(a);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<char>(out[i] ^ b[i]);
  return out;
}

bool isSupportedChannelBindingType(std::string_view type) {
  return type == kTlsExporter || type == kTlsServerEndPoint;
}

std::string randomNonce() { return base64Encode(randomBytes(kNonceBytes)); }

}  // namespace

// ---- ScramServer

ScramServer::ScramServer(HashAlg alg, bool plus, ChannelBindingProvider channel_binding,
                         std::string server_nonce)
    : alg_(alg),
      plus_(plus),
      channel_binding_(std::move(channel_binding)),
      server_nonce_(server_nonce.empty() ? randomNonce() : std::move(server_nonce)) {
  PARLEY_CHECK(isValidNonce(server_nonce_));
}

Unexpected<SaslError> ScramServer::failWith(SaslError error) {
  state_ = State::Failed;
  return Unexpected(error);
}

// gs2-header = gs2-cbind-flag "," [ authzid ] ","   (RFC 5802 §7)
Result<void, SaslError> ScramServer::parseGs2Header(std::string_view message, std::size_t& end) {
  const std::size_t flag_end = message.find(',');
  if (flag_end == std::string_view::npos) return Unexpected(SaslError::MalformedRequest);
  const std::string_view flag = message.substr(0, flag_end);
  const std::size_t authzid_end = message.find(',', flag_end + 1);
  if (authzid_end == std::string_view::npos) return Unexpected(SaslError::MalformedRequest);
  const std::string_view authzid = message.substr(flag_end + 1, authzid_end - flag_end - 1);
  end = authzid_end + 1;

  if (!authzid.empty()) {
    if (!isAttribute(authzid, 'a')) return Unexpected(SaslError::MalformedRequest);
    auto decoded = decodeSaslname(authzid.substr(2));
    if (!decoded || decoded->empty()) return Unexpected(SaslError::MalformedRequest);
    authzid_ = std::move(*decoded);
  }

  if (flag == "n" || flag == "y") {
    // RFC 5802 §6: a client that picked -PLUS must bind.
    if (plus_) return Unexpected(SaslError::MalformedRequest);
    // "y": the client can bind but believes we cannot. We offered -PLUS, so someone
    // removed it on the way: RFC 5802 §6 says fail.
    if (flag == "y" && channel_binding_) return Unexpected(SaslError::NotAuthorized);
    return {};
  }
  if (!isAttribute(flag, 'p')) return Unexpected(SaslError::MalformedRequest);
  const std::string_view type = flag.substr(2);
  // "p=" belongs to -PLUS only; an unknown type or one this connection lacks is refused
  // (RFC 5802 §7 "unsupported-channel-binding-type"; XMPP has no finer condition).
  if (!plus_ || !isSupportedChannelBindingType(type) || !channel_binding_)
    return Unexpected(SaslError::MalformedRequest);
  auto data = channel_binding_(type);
  if (!data) return Unexpected(SaslError::MalformedRequest);
  channel_binding_type_ = type;
  channel_binding_data_ = std::move(*data);
  return {};
}

Result<std::string, SaslError> ScramServer::parseClientFirst(std::string_view message) {
  if (state_ != State::Start) return failWith(SaslError::MalformedRequest);
  std::size_t header_end = 0;
  if (auto header = parseGs2Header(message, header_end); !header) return failWith(header.error());
  gs2_header_ = message.substr(0, header_end);
  client_first_bare_ = message.substr(header_end);

  // client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
  const auto parts = splitAttributes(client_first_bare_);
  // RFC 5802 §5.1: "m" must make authentication fail; we know no extension it could carry.
  if (parts.size() < 2 || !isAttribute(parts[0], 'n') || !isAttribute(parts[1], 'r'))
    return failWith(SaslError::MalformedRequest);
  for (std::size_t i = 2; i < parts.size(); ++i) {
    if (!isExtension(parts[i])) return failWith(SaslError::MalformedRequest);
  }
  auto username = decodeSaslname(parts[0].substr(2));
  if (!username || username->empty()) return failWith(SaslError::MalformedRequest);
  // RFC 5802 §5.1: the server prepares the username with SASLprep too.
  auto prepared = saslprep(*username);
  if (!prepared || prepared->empty()) return failWith(SaslError::MalformedRequest);
  client_nonce_ = parts[1].substr(2);
  if (!isValidNonce(client_nonce_)) return failWith(SaslError::MalformedRequest);

  username_ = std::move(*prepared);
  state_ = State::ClientFirstParsed;
  return username_;
}

Result<std::string, SaslError> ScramServer::serverFirst(const ScramCredentials& credentials) {
  PARLEY_CHECK(state_ == State::ClientFirstParsed);
  PARLEY_CHECK(credentials.alg == alg_);
  // Damaged or missing stored keys are the operator's problem, not the client's; refuse
  // rather than run an exchange that cannot succeed.
  if (credentials.stored_key.size() != hashSize(alg_) ||
      credentials.server_key.size() != hashSize(alg_) || credentials.salt.empty() ||
      credentials.iterations == 0) {
    log::warn("SCRAM: unusable stored credentials for '", username_, "'");
    return failWith(SaslError::TemporaryAuthFailure);
  }
  credentials_ = credentials;
  nonce_ = client_nonce_ + server_nonce_;
  server_first_ = "r=" + nonce_ + ",s=" + base64Encode(credentials.salt) +
                  ",i=" + std::to_string(credentials.iterations);
  state_ = State::ServerFirstSent;
  return server_first_;
}

// client-final-message = channel-binding "," nonce ["," extensions] "," proof
Result<std::string, SaslError> ScramServer::clientFinal(std::string_view message) {
  if (state_ != State::ServerFirstSent) return failWith(SaslError::MalformedRequest);
  const auto parts = splitAttributes(message);
  if (parts.size() < 3 || !isAttribute(parts[0], 'c') || !isAttribute(parts[1], 'r') ||
      !isAttribute(parts.back(), 'p'))
    return failWith(SaslError::MalformedRequest);
  for (std::size_t i = 2; i + 1 < parts.size(); ++i) {
    if (!isExtension(parts[i])) return failWith(SaslError::MalformedRequest);
  }
  const auto cbind_input = base64Decode(parts[0].substr(2));
  const auto proof = base64Decode(parts.back().substr(2));
  if (!cbind_input || !proof) return failWith(SaslError::IncorrectEncoding);

  // RFC 5802 §6 / RFC 9266: c= must be our gs2 header plus the channel's binding data,
  // so a proof made on another TLS connection (a MITM) does not verify.
  if (!constantTimeEquals(*cbind_input, gs2_header_ + channel_binding_data_))
    return failWith(SaslError::NotAuthorized);
  if (parts[1].substr(2) != nonce_) return failWith(SaslError::NotAuthorized);
  if (proof->size() != hashSize(alg_)) return failWith(SaslError::NotAuthorized);

  const std::string_view without_proof =
      message.substr(0, message.size() - parts.back().size() - 1);
  std::string auth_message;
  auth_message.reserve(client_first_bare_.size() + server_first_.size() + without_proof.size() + 2);
  auth_message.append(client_first_bare_).append(",").append(server_first_).append(",");
  auth_message.append(without_proof);

  const std::string client_signature = hmacOf(alg_, credentials_.stored_key, auth_message);
  const std::string client_key = xorBytes(*proof, client_signature);
  if (!constantTimeEquals(hashOf(alg_, client_key), credentials_.stored_key))
    return failWith(SaslError::NotAuthorized);

  state_ = State::Done;
  return "v=" + base64Encode(hmacOf(alg_, credentials_.server_key, auth_message));
}

// ---- ScramClient

ScramClient::ScramClient(HashAlg alg, std::string_view username, std::string_view password,
                         ScramClientOptions options)
    : alg_(alg),
      username_(saslprep(username).value_or(std::string(username))),
      password_(password),
      options_(std::move(options)) {
  if (options_.nonce.empty()) options_.nonce = randomNonce();
  PARLEY_CHECK(isValidNonce(options_.nonce));
}

ScramClient::~ScramClient() { OPENSSL_cleanse(password_.data(), password_.size()); }

std::string ScramClient::clientFirst() {
  switch (options_.channel_binding) {
    case ChannelBindingFlag::NotSupported:
      gs2_header_ = "n,";
      break;
    case ChannelBindingFlag::NotOffered:
      gs2_header_ = "y,";
      break;
    case ChannelBindingFlag::Used:
      gs2_header_ = "p=" + options_.channel_binding_type + ",";
      break;
  }
  if (!options_.authzid.empty()) gs2_header_ += "a=" + encodeSaslname(options_.authzid);
  gs2_header_ += ",";
  client_first_bare_ = "n=" + encodeSaslname(username_) + ",r=" + options_.nonce;
  return gs2_header_ + client_first_bare_;
}

Result<std::string, SaslError> ScramClient::clientFinal(std::string_view server_first) {
  // server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count ["," extensions]
  const auto parts = splitAttributes(server_first);
  if (parts.size() < 3 || !isAttribute(parts[0], 'r') || !isAttribute(parts[1], 's') ||
      !isAttribute(parts[2], 'i'))
    return Unexpected(SaslError::MalformedRequest);
  const std::string_view nonce = parts[0].substr(2);
  if (!isValidNonce(nonce) || nonce.size() <= options_.nonce.size() ||
      nonce.substr(0, options_.nonce.size()) != options_.nonce)
    return Unexpected(SaslError::NotAuthorized);
  const auto salt = base64Decode(parts[1].substr(2));
  if (!salt || salt->empty()) return Unexpected(SaslError::IncorrectEncoding);
  const std::string_view count = parts[2].substr(2);
  uint32_t iterations = 0;
  const auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), iterations);
  if (ec != std::errc() || end != count.data() + count.size() || count.empty() || count[0] == '0' ||
      iterations > kMaxClientIterations)
    return Unexpected(SaslError::MalformedRequest);
  if (iterations < kMinIterations) return Unexpected(SaslError::MechanismTooWeak);

  std::string cbind_input = gs2_header_;
  if (options_.channel_binding == ChannelBindingFlag::Used)
    cbind_input += options_.channel_binding_data;
  const std::string without_proof = "c=" + base64Encode(cbind_input) + ",r=" + std::string(nonce);
  const std::string auth_message =
      client_first_bare_ + "," + std::string(server_first) + "," + without_proof;

  std::string salted = saltedPassword(alg_, password_, *salt, iterations);
  std::string client_key = hmacOf(alg_, salted, "Client Key");
  const std::string client_signature = hmacOf(alg_, hashOf(alg_, client_key), auth_message);
  const std::string proof = xorBytes(client_key, client_signature);
  expected_server_signature_ = hmacOf(alg_, hmacOf(alg_, salted, "Server Key"), auth_message);
  OPENSSL_cleanse(salted.data(), salted.size());
  OPENSSL_cleanse(client_key.data(), client_key.size());
  return without_proof + ",p=" + base64Encode(proof);
}

Result<void, SaslError> ScramClient::verifyServerFinal(std::string_view server_final) {
  if (!isAttribute(server_final, 'v')) return Unexpected(SaslError::NotAuthorized);
  const auto signature = base64Decode(server_final.substr(2));
  if (!signature) return Unexpected(SaslError::IncorrectEncoding);
  if (expected_server_signature_.empty() ||
      !constantTimeEquals(*signature, expected_server_signature_))
    return Unexpected(SaslError::NotAuthorized);
  return {};
}

}  // namespace parley::auth
