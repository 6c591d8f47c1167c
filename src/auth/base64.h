// Base64 (RFC 4648 §4, standard alphabet, padded) for SASL payloads and SCRAM attributes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace parley::auth {

std::string base64Encode(std::string_view data);

// Strict: only the standard alphabet, correct padding, no whitespace, and zero
// unused bits (so every input has exactly one encoding). "" decodes to "".
std::optional<std::string> base64Decode(std::string_view text);

}  // namespace parley::auth
