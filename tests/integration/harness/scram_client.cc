// The client side of SCRAM (RFC 5802, RFC 7677) with channel binding, written for the tests
// from the RFCs alone so a shared mistake with src/auth cannot make both sides agree.
#include "harness/scram_client.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <map>

#include "harness/xml_text.h"

namespace parley::integration {
namespace {

const EVP_MD* mdFor(ScramHash hash) { return hash == ScramHash::Sha1 ? EVP_sha1() : EVP_sha256(); }

std::string randomNonce() {
  unsigned char bytes[18];
  RAND_bytes(bytes, sizeof bytes);
  return base64Encode(std::string(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

// Parses "k=v,k=v" (values may contain '=', never ',').
std::map<char, std::string> parseAttributes(const std::string& message) {
  std::map<char, std::string> out;
  size_t start = 0;
  while (start <= message.size()) {
    size_t end = message.find(',', start);
    if (end == std::string::npos) end = message.size();
    std::string part = message.substr(start, end - start);
    if (part.size() >= 2 && part[1] == '=') out[part[0]] = part.substr(2);
    start = end + 1;
  }
  return out;
}

}  // namespace

std::string scramEscapeName(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (c == '=') {
      out += "=3D";
    } else if (c == ',') {
      out += "=2C";
    } else {
      out += c;
    }
  }
  return out;
}

ScramClient::ScramClient(ScramHash hash, std::string user, std::string password,
                         std::string cb_type, std::string cb_data, bool claim_cb_support,
                         std::string nonce)
    : hash_(hash),
      user_(std::move(user)),
      password_(std::move(password)),
      cb_type_(std::move(cb_type)),
      cb_data_(std::move(cb_data)),
      claim_cb_support_(claim_cb_support),
      client_nonce_(nonce.empty() ? randomNonce() : std::move(nonce)) {
  client_first_bare_ = "n=" + scramEscapeName(user_) + ",r=" + client_nonce_;
}

std::string ScramClient::gs2Header() const {
  if (!cb_type_.empty()) return "p=" + cb_type_ + ",,";
  return claim_cb_support_ ? "y,," : "n,,";
}

std::string ScramClient::clientFirst() const { return gs2Header() + client_first_bare_; }

std::string ScramClient::hmac(const std::string& key, const std::string& data) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(mdFor(hash_), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &length);
  return std::string(reinterpret_cast<const char*>(out), length);
}

std::string ScramClient::digest(const std::string& data) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), out, &length, mdFor(hash_), nullptr);
  return std::string(reinterpret_cast<const char*>(out), length);
}

std::string ScramClient::clientFinal(const std::string& server_first) {
  auto attributes = parseAttributes(server_first);
  const std::string& nonce = attributes['r'];
  std::string salt;
  if (nonce.compare(0, client_nonce_.size(), client_nonce_) != 0 ||
      nonce.size() <= client_nonce_.size()) {
    error_ = "server nonce does not extend ours: " + server_first;
    return "";
  }
  if (!base64Decode(attributes['s'], salt) || salt.empty()) {
    error_ = "bad salt: " + server_first;
    return "";
  }
  int iterations = std::atoi(attributes['i'].c_str());
  if (iterations <= 0) {
    error_ = "bad iteration count: " + server_first;
    return "";
  }

  // RFC 5802 §3. The password is ASCII in the tests, so SASLprep is the identity.
  unsigned char salted[EVP_MAX_MD_SIZE];
  int key_length = EVP_MD_get_size(mdFor(hash_));
  PKCS5_PBKDF2_HMAC(password_.data(), static_cast<int>(password_.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), iterations, mdFor(hash_), key_length, salted);
  std::string salted_password(reinterpret_cast<const char*>(salted),
                              static_cast<size_t>(key_length));
  std::string client_key = hmac(salted_password, "Client Key");
  std::string stored_key = digest(client_key);
  std::string server_key = hmac(salted_password, "Server Key");

  std::string channel_binding = base64Encode(gs2Header() + cb_data_);
  std::string without_proof = "c=" + channel_binding + ",r=" + nonce;
  std::string auth_message = client_first_bare_ + "," + server_first + "," + without_proof;
  std::string client_signature = hmac(stored_key, auth_message);
  std::string proof = client_key;
  for (size_t i = 0; i < proof.size(); ++i) proof[i] ^= client_signature[i];
  server_signature_ = hmac(server_key, auth_message);
  return without_proof + ",p=" + base64Encode(proof);
}

bool ScramClient::verifyServerFinal(const std::string& server_final) {
  auto attributes = parseAttributes(server_final);
  if (attributes.count('e') != 0) {
    error_ = "server error: " + attributes['e'];
    return false;
  }
  std::string verifier;
  if (!base64Decode(attributes['v'], verifier) || verifier != server_signature_) {
    error_ = "server signature mismatch: " + server_final;
    return false;
  }
  return true;
}

}  // namespace parley::integration
