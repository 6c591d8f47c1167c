// Accounts: who may log in to a host, stored as SCRAM secrets only, never as passwords.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace parley::storage {

// What SCRAM (RFC 5802) needs to verify a client without knowing its password. Raw bytes.
struct ScramSecret {
  std::string salt;
  uint32_t iterations = 0;
  std::string stored_key;
  std::string server_key;

  bool operator==(const ScramSecret&) const = default;
};

struct AccountRecord {
  ScramSecret sha1;
  ScramSecret sha256;
  int64_t created_unix = 0;

  bool operator==(const AccountRecord&) const = default;
};

enum class AccountError {
  Conflict,  // create: the account already exists
  NotFound,  // update, remove: there is no such account
  Storage,   // the backend failed (disk full, I/O error, invalid name); already logged
};

inline const char* toString(AccountError error) {
  switch (error) {
    case AccountError::Conflict:
      return "conflict";
    case AccountError::NotFound:
      return "not found";
    case AccountError::Storage:
      return "storage failure";
  }
  return "unknown";
}

// Hosts and users are prepared JID parts (domainpart, localpart): non-empty, no NUL.
//
// Reads may be called from any thread and do not wait for writes. Writes return at once and
// complete later by calling `done` exactly once, on the storage writer thread (see
// storage/writer.h): post back to your own loop from it. A successful `done` means the change is
// on disk.
class AccountStore {
 public:
  virtual ~AccountStore() = default;

  // nullopt if the account does not exist or cannot be read (the latter is logged).
  virtual std::optional<AccountRecord> get(std::string_view host, std::string_view user) const = 0;
  virtual bool exists(std::string_view host, std::string_view user) const = 0;
  // The host's users in byte order.
  virtual std::vector<std::string> users(std::string_view host) const = 0;

  // Conflict if the account exists; the check and the write are one atomic step.
  virtual void create(std::string_view host, std::string_view user, AccountRecord record,
                      std::function<void(Result<void, AccountError>)> done) = 0;
  // Replaces the secrets (a password change). NotFound if the account does not exist.
  virtual void update(std::string_view host, std::string_view user, AccountRecord record,
                      std::function<void(Result<void, AccountError>)> done) = 0;
  // Removes the account record only. NotFound if the account does not exist.
  virtual void remove(std::string_view host, std::string_view user,
                      std::function<void(Result<void, AccountError>)> done) = 0;
};

}  // namespace parley::storage
