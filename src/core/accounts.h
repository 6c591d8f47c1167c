// Account records from passwords: the SCRAM secrets we store instead of the password.
#pragma once

#include <string_view>

#include "storage/account_store.h"

namespace parley::core {

// SCRAM-SHA-1 and SCRAM-SHA-256 credentials with fresh salts (RFC 5802 §3,
// RFC 7677). Runs PBKDF2 twice: milliseconds of CPU, not for a hot path.
storage::AccountRecord makeAccountRecord(std::string_view password);

}  // namespace parley::core
