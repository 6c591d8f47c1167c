// Account records from passwords.
#include "core/accounts.h"

#include <ctime>

#include "auth/credentials.h"

namespace parley::core {

storage::AccountRecord makeAccountRecord(std::string_view password) {
  storage::AccountRecord record;
  auto fill = [&](auth::HashAlg alg, storage::ScramSecret& secret) {
    auto creds = auth::newCredentials(alg, password);
    secret = {creds.salt, creds.iterations, creds.stored_key, creds.server_key};
  };
  fill(auth::HashAlg::Sha1, record.sha1);
  fill(auth::HashAlg::Sha256, record.sha256);
  record.created_unix = static_cast<int64_t>(std::time(nullptr));
  return record;
}

}  // namespace parley::core
