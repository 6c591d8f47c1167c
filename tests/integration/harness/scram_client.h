// The client side of SCRAM (RFC 5802, RFC 7677) with channel binding, written for the tests
// from the RFCs alone so a shared mistake with src/auth cannot make both sides agree.
#pragma once

#include <string>

namespace parley::integration {

enum class ScramHash { Sha1, Sha256 };

class ScramClient {
 public:
  // CB_TYPE empty: no channel binding; GS2 flag "n" (or "y" if CLAIM_CB_SUPPORT, i.e. the
  // client supports binding but believes the server does not; RFC 5802 §6).
  // CB_TYPE set ("tls-exporter", "tls-server-end-point"): "p=CB_TYPE" with CB_DATA.
  ScramClient(ScramHash hash, std::string user, std::string password, std::string cb_type = "",
              std::string cb_data = "", bool claim_cb_support = false, std::string nonce = "");

  // client-first-message (with GS2 header).
  std::string clientFirst() const;
  // Takes server-first-message, returns client-final-message; empty if SERVER_FIRST is bad
  // (then error() says why).
  std::string clientFinal(const std::string& server_first);
  // Checks server-final-message ("v=..."); false on mismatch or "e=...".
  bool verifyServerFinal(const std::string& server_final);
  const std::string& error() const { return error_; }

 private:
  std::string gs2Header() const;
  std::string hmac(const std::string& key, const std::string& data) const;
  std::string digest(const std::string& data) const;

  ScramHash hash_;
  std::string user_, password_, cb_type_, cb_data_;
  bool claim_cb_support_;
  std::string client_nonce_;
  std::string client_first_bare_;
  std::string server_signature_;
  std::string error_;
};

// SASLname escaping (RFC 5802 §5.1): "=" -> "=3D", "," -> "=2C".
std::string scramEscapeName(const std::string& name);

}  // namespace parley::integration
