// Base64 (RFC 4648 §4): a strict decoder, since SASL data comes straight from peers.
#include "auth/base64.h"

#include <array>
#include <cstdint>

namespace parley::auth {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> kValues = [] {
  std::array<int8_t, 256> values{};
  values.fill(-1);
  for (std::size_t i = 0; i < kAlphabet.size(); ++i)
    values[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  return values;
}();

}  // namespace

std::string base64Encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const uint32_t block = static_cast<uint32_t>(static_cast<unsigned char>(data[i])) << 16 |
                           static_cast<uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8 |
                           static_cast<unsigned char>(data[i + 2]);
    out.push_back(kAlphabet[block >> 18]);
    out.push_back(kAlphabet[(block >> 12) & 0x3F]);
    out.push_back(kAlphabet[(block >> 6) & 0x3F]);
    out.push_back(kAlphabet[block & 0x3F]);
  }
  const std::size_t rest = data.size() - i;
  if (rest > 0) {
    uint32_t block = static_cast<uint32_t>(static_cast<unsigned char>(data[i])) << 16;
    if (rest == 2) block |= static_cast<uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8;
    out.push_back(kAlphabet[block >> 18]);
    out.push_back(kAlphabet[(block >> 12) & 0x3F]);
    out.push_back(rest == 2 ? kAlphabet[(block >> 6) & 0x3F] : '=');
    out.push_back('=');
  }
  return out;
}

std::optional<std::string> base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int padding = 0;
    uint32_t block = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=') {
        // Only in the last quantum, only in its last two places, and only at the end.
        if (!last || k < 2) return std::nullopt;
        ++padding;
        block <<= 6;
        continue;
      }
      if (padding > 0) return std::nullopt;
      const int8_t value = kValues[static_cast<unsigned char>(c)];
      if (value < 0) return std::nullopt;
      block = (block << 6) | static_cast<uint32_t>(value);
    }
    out.push_back(static_cast<char>(block >> 16));
    if (padding < 2) out.push_back(static_cast<char>((block >> 8) & 0xFF));
    if (padding < 1) out.push_back(static_cast<char>(block & 0xFF));
    // Bits that the padding leaves unused must be zero (RFC 4648 §3.5).
    if (padding == 1 && (block & 0xFF) != 0) return std::nullopt;
    if (padding == 2 && (block & 0xFFFF) != 0) return std::nullopt;
  }
  return out;
}

}  // namespace parley::auth
