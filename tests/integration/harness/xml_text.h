// Small text helpers for the integration tests: XML escaping, base64, stream-error patterns.
#pragma once

#include <string>
#include <string_view>

namespace parley::integration {

// Escapes &, <, >, ' and " so any UTF-8 string can sit in character data or an attribute.
std::string xmlEscape(std::string_view text);

std::string base64Encode(std::string_view bytes);
// Returns false on malformed input (whitespace is ignored).
bool base64Decode(std::string_view text, std::string& bytes);

// A regex (ECMAScript) matching <NAME xmlns='NS'...> with either quote style, for raw
// streams where the server chooses its own serialization. NAME and NS are taken literally.
std::string elementPattern(std::string_view name, std::string_view xmlns);

// The regex for a stream error carrying CONDITION (RFC 6120 §4.9.3), e.g. "host-unknown".
std::string streamErrorPattern(std::string_view condition);

// Quote-agnostic attribute pattern: name='value' or name="value" (value taken literally).
std::string attributePattern(std::string_view name, std::string_view value);

// Escapes every regex metacharacter of TEXT.
std::string regexLiteral(std::string_view text);

}  // namespace parley::integration
