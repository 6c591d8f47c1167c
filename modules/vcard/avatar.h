// XEP-0153 vCard-based avatars: the photo hash of a vCard and the presence element that
// carries it. Exported for the presence module; see Vcard in vcard.cc for the server side.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/host.h"
#include "xml/element.h"

namespace parley::modules::vcard {

inline constexpr std::string_view kVcardNs = "vcard-temp";            // XEP-0054
inline constexpr std::string_view kUpdateNs = "vcard-temp:x:update";  // XEP-0153
inline constexpr std::string_view kStoreName = "vcard";               // per-user store
inline constexpr std::string_view kVcardKey = "vcard";                // the vCard XML
inline constexpr std::string_view kPhotoHashKey = "photo-hash";       // its photo hash

// Base64 as found in vCards: the standard alphabet, padding optional, whitespace (line
// breaks) ignored. Nothing on any other character.
std::optional<std::string> decodeBase64(std::string_view text);

// Lowercase hex SHA-1 of the bytes (XEP-0153 §4.2 hashes the decoded image data).
std::string sha1Hex(std::string_view bytes);

// The XEP-0153 hash of a <vCard/>: SHA-1 of its decoded PHOTO/BINVAL, or "" when it has no
// photo given inline (no PHOTO, an EXTVAL only, or BINVAL that is not base64): the empty
// <photo/> of XEP-0153 §4.1, "no avatar".
std::string photoHash(const xml::Element& vcard);

// The stored photo hash of USER on HOST, or nothing when the user has stored no vCard (or
// the vcard module is not loaded there). Any thread.
std::optional<std::string> avatarHash(core::Host& host, std::string_view user);

// Whether a presence already carries <x xmlns='vcard-temp:x:update'/> (whatever is in it:
// XEP-0153 §4.3, an empty one means the client is not ready to advertise an avatar).
bool hasAvatarUpdate(const xml::Element& presence);

// A copy of PRESENCE with <x xmlns='vcard-temp:x:update'><photo>HASH</photo></x> appended.
xml::Element withAvatarUpdate(const xml::Element& presence, std::string_view hash);

}  // namespace parley::modules::vcard
