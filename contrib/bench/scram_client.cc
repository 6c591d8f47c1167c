// SCRAM-SHA-1 client with a salted-password cache (RFC 5802 §3, §5).
#include "scram_client.h"

#include <fstream>

#include "auth/base64.h"
#include "auth/credentials.h"

namespace parley::bench {
namespace {

using auth::HashAlg;

// The value of attribute `name` ("r", "s", "i", "v") in a SCRAM message, or nullopt.
std::optional<std::string> attribute(const std::string& message, char name) {
  size_t at = 0;
  while (at < message.size()) {
    size_t end = message.find(',', at);
    if (end == std::string::npos) end = message.size();
    if (end - at >= 2 && message[at] == name && message[at + 1] == '=') {
      return message.substr(at + 2, end - at - 2);
    }
    at = end + 1;
  }
  return std::nullopt;
}

}  // namespace

const std::string& SaltedPasswordCache::get(const std::string& user, const std::string& password,
                                            const std::string& salt, uint32_t iterations) {
  auto key = std::make_tuple(user, salt, iterations);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    ++derived_;
    it = entries_.emplace(key, auth::saltedPassword(HashAlg::Sha1, password, salt, iterations))
             .first;
  }
  return it->second;
}

bool SaltedPasswordCache::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return false;
  std::string user, salt, salted;
  uint32_t iterations = 0;
  while (in >> user >> salt >> iterations >> salted) {
    auto raw_salt = auth::base64Decode(salt);
    auto raw_salted = auth::base64Decode(salted);
    if (raw_salt && raw_salted) entries_[{user, *raw_salt, iterations}] = *raw_salted;
  }
  return true;
}

bool SaltedPasswordCache::save(const std::string& path) const {
  std::ofstream out(path, std::ios::trunc);
  for (const auto& [key, salted] : entries_) {
    const auto& [user, salt, iterations] = key;
    out << user << ' ' << auth::base64Encode(salt) << ' ' << iterations << ' '
        << auth::base64Encode(salted) << '\n';
  }
  return static_cast<bool>(out);
}

ScramSha1Client::ScramSha1Client(std::string user, std::string password, SaltedPasswordCache& cache)
    : user_(std::move(user)), password_(std::move(password)), cache_(cache) {}

std::string ScramSha1Client::clientFirst() {
  nonce_ = auth::randomToken(24);
  first_bare_ = "n=" + user_ + ",r=" + nonce_;  // bench user names need no escaping
  return "n,," + first_bare_;
}

std::optional<std::string> ScramSha1Client::clientFinal(const std::string& server_first) {
  auto nonce = attribute(server_first, 'r');
  auto salt = attribute(server_first, 's');
  auto iterations = attribute(server_first, 'i');
  if (!nonce || !salt || !iterations || nonce->rfind(nonce_, 0) != 0) return std::nullopt;
  auto raw_salt = auth::base64Decode(*salt);
  if (!raw_salt) return std::nullopt;
  uint32_t count = static_cast<uint32_t>(std::stoul(*iterations));
  const std::string& salted = cache_.get(user_, password_, *raw_salt, count);
  std::string without_proof = "c=biws,r=" + *nonce;  // biws = base64("n,,")
  std::string auth_message = first_bare_ + "," + server_first + "," + without_proof;
  std::string client_key = auth::hmacOf(HashAlg::Sha1, salted, "Client Key");
  std::string stored_key = auth::hashOf(HashAlg::Sha1, client_key);
  std::string signature = auth::hmacOf(HashAlg::Sha1, stored_key, auth_message);
  std::string proof = client_key;
  for (size_t i = 0; i < proof.size(); ++i) proof[i] = static_cast<char>(proof[i] ^ signature[i]);
  std::string server_key = auth::hmacOf(HashAlg::Sha1, salted, "Server Key");
  server_signature_ = auth::hmacOf(HashAlg::Sha1, server_key, auth_message);
  return without_proof + ",p=" + auth::base64Encode(proof);
}

bool ScramSha1Client::verify(const std::string& server_final) const {
  auto value = attribute(server_final, 'v');
  if (!value) return false;
  auto decoded = auth::base64Decode(*value);
  return decoded && *decoded == server_signature_;
}

}  // namespace parley::bench
