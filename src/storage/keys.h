// Key layout shared by every store: byte strings of NUL-delimited parts, host\0user\0...
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace parley::storage {

// A part is usable in a key when it is non-empty and holds no NUL, the delimiter. Prepared
// JID parts never contain NUL (RFC 7622 forbids control characters), so a failure here means a
// caller skipped preparation.
inline bool isKeyPart(std::string_view part) {
  return !part.empty() && part.find('\0') == std::string_view::npos;
}

// host\0user: the key of a record that is itself the user (an account).
inline std::string makeKey(std::initializer_list<std::string_view> parts) {
  std::string key;
  size_t size = parts.size();
  for (std::string_view part : parts) size += part.size();
  key.reserve(size);
  bool first = true;
  for (std::string_view part : parts) {
    if (!first) key.push_back('\0');
    key.append(part);
    first = false;
  }
  return key;
}

// host\0user\0: the prefix of everything stored under those parts. The trailing delimiter is
// what keeps a scan or delete of "ann" away from "anna".
inline std::string makePrefix(std::initializer_list<std::string_view> parts) {
  std::string prefix;
  size_t size = parts.size();
  for (std::string_view part : parts) size += part.size();
  prefix.reserve(size);
  for (std::string_view part : parts) {
    prefix.append(part);
    prefix.push_back('\0');
  }
  return prefix;
}

}  // namespace parley::storage
