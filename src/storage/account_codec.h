// The stored form of an AccountRecord: version byte 1, then length-prefixed fields.
#pragma once

#include <string>
#include <string_view>

#include "storage/account_store.h"
#include "util/result.h"

namespace parley::storage {

inline constexpr uint8_t kAccountFormatVersion = 1;

std::string encodeAccount(const AccountRecord& record);
// Fails on an unknown version, a truncated value or trailing bytes.
Result<AccountRecord> decodeAccount(std::string_view value);

}  // namespace parley::storage
