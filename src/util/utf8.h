// UTF-8 (RFC 3629) decoding and encoding, strict: no overlong forms, no surrogates,
// nothing past U+10FFFF.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace parley::utf8 {

using CodePoints = std::u32string;

// The code points of `text`, or nothing if it is not valid UTF-8.
std::optional<CodePoints> decode(std::string_view text);
std::string encode(const CodePoints& code_points);
bool isValid(std::string_view text);

}  // namespace parley::utf8
