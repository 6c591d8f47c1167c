// XEP-0153 vCard-based avatars: photo hashes and the presence update element.
#include "avatar.h"

#include <openssl/evp.h>

#include <array>

#include "core/server.h"

namespace parley::modules::vcard {
namespace {

int base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

std::optional<std::string> decodeBase64(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t accumulator = 0;
  int bits = 0;
  size_t padding = 0;
  for (char c : text) {
    if (isSpace(c)) continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    int value = base64Value(c);
    if (value < 0 || padding > 0) return std::nullopt;  // data after padding, or a stray byte
    accumulator = (accumulator << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((accumulator >> bits) & 0xFF));
    }
  }
  // Six leftover bits cannot end a valid encoding; nor can more than two '='.
  if (bits >= 6 || padding > 2) return std::nullopt;
  return out;
}

std::string sha1Hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, EVP_sha1(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(size * 2);
  for (unsigned int i = 0; i < size; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0x0F]);
  }
  return hex;
}

std::string photoHash(const xml::Element& vcard) {
  const auto* photo = vcard.child("PHOTO", kVcardNs);
  if (!photo) return {};
  const auto* binval = photo->child("BINVAL", kVcardNs);
  if (!binval) return {};
  auto bytes = decodeBase64(binval->text());
  if (!bytes || bytes->empty()) return {};
  return sha1Hex(*bytes);
}

std::optional<std::string> avatarHash(core::Host& host, std::string_view user) {
  if (!host.hasModule("vcard")) return std::nullopt;
  return host.store(kStoreName).get(host.domain(), user, kPhotoHashKey);
}

bool hasAvatarUpdate(const xml::Element& presence) {
  return presence.child("x", kUpdateNs) != nullptr;
}

xml::Element withAvatarUpdate(const xml::Element& presence, std::string_view hash) {
  xml::Element stamped = presence;
  auto& photo =
      stamped.addChild("x", std::string(kUpdateNs)).addChild("photo", std::string(kUpdateNs));
  if (!hash.empty()) photo.addText(hash);
  return stamped;
}

}  // namespace parley::modules::vcard
