// SCRAM-SHA-1 client (RFC 5802) for the load generator, with the salted password cached per
// user, salt and iteration count, as real clients keep it: only the first login of a user costs
// the PBKDF2 iterations.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <tuple>

namespace parley::bench {

// Salted passwords by (user, salt, iterations). One per process; optionally loaded from and
// saved to a file, so repeated runs against the same server skip the iterations too.
class SaltedPasswordCache {
 public:
  const std::string& get(const std::string& user, const std::string& password,
                         const std::string& salt, uint32_t iterations);
  bool load(const std::string& path);
  bool save(const std::string& path) const;
  size_t derived() const { return derived_; }  // how many needed the iterations

 private:
  std::map<std::tuple<std::string, std::string, uint32_t>, std::string> entries_;
  size_t derived_ = 0;
};

// One exchange: clientFirst(), clientFinal(server-first), verify(server-final).
class ScramSha1Client {
 public:
  ScramSha1Client(std::string user, std::string password, SaltedPasswordCache& cache);
  std::string clientFirst();
  // nullopt if the server-first message is malformed or its nonce is not ours.
  std::optional<std::string> clientFinal(const std::string& server_first);
  bool verify(const std::string& server_final) const;

 private:
  std::string user_, password_;
  SaltedPasswordCache& cache_;
  std::string nonce_;
  std::string first_bare_;
  std::string server_signature_;
};

}  // namespace parley::bench
