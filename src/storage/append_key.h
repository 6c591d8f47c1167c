// Keys that UserStore::append generates: an 8-byte big-endian counter past the user's last key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::storage {

// The key that append stores next, given the user's greatest key so far (without the host\0user\0
// prefix; nullopt when the user has none). The counter is the first 8 bytes of that key, padded
// with zero bytes, plus one: bytewise, the result sorts after the last key and hence after every
// key of the user, whatever shape put() gave them. nullopt when the counter would wrap (the last
// key starts with eight 0xff bytes), which a store reports as an error.
inline std::optional<std::string> nextAppendKey(std::optional<std::string_view> last) {
  uint64_t counter = 0;
  if (last) {
    for (size_t i = 0; i < 8; ++i) {
      uint8_t byte = i < last->size() ? static_cast<uint8_t>((*last)[i]) : 0;
      counter = (counter << 8) | byte;
    }
  }
  if (counter == UINT64_MAX) return std::nullopt;
  ++counter;
  std::string key(8, '\0');
  for (size_t i = 0; i < 8; ++i) {
    key[7 - i] = static_cast<char>(counter & 0xff);
    counter >>= 8;
  }
  return key;
}

}  // namespace parley::storage
