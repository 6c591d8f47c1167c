// Unit tests for XEP-0153 helpers: base64 as found in vCards, photo hashes, presence stamp.
#include "vcard/avatar.h"

#include <catch2/catch.hpp>

#include "xml/stream_parser.h"

namespace parley::modules::vcard {
namespace {

xml::Element parse(std::string_view text) {
  auto element = xml::parseElement(text);
  REQUIRE(element);
  return std::move(*element);
}

TEST_CASE("vcard base64 decoding is lenient about whitespace and padding", "[vcard]") {
  struct Case {
    const char* text;
    std::optional<std::string> bytes;
  };
  auto c = GENERATE(Case{"", std::string()}, Case{"QQ==", std::string("A")},
                    Case{"QQ", std::string("A")}, Case{"QUJD", std::string("ABC")},
                    Case{"QU\r\nJD\n", std::string("ABC")}, Case{"Q", std::nullopt},
                    Case{"QQ==QQ==", std::nullopt}, Case{"Q!==", std::nullopt},
                    Case{"QQ===", std::nullopt});
  INFO("text '" << c.text << "'");
  CHECK(decodeBase64(c.text) == c.bytes);
}

TEST_CASE("vcard SHA-1 hex", "[vcard]") {
  CHECK(sha1Hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  CHECK(sha1Hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
}

TEST_CASE("vcard photo hash is the SHA-1 of the decoded BINVAL", "[vcard]") {
  struct Case {
    const char* vcard;
    const char* hash;
  };
  auto c = GENERATE(
      Case{"<vCard xmlns='vcard-temp'><PHOTO><TYPE>image/png</TYPE><BINVAL>YWJj</BINVAL></PHOTO>"
           "</vCard>",
           "a9993e364706816aba3e25717850c26c9cd0d89d"},
      Case{"<vCard xmlns='vcard-temp'><PHOTO><BINVAL>\n YW\n Jj\n</BINVAL></PHOTO></vCard>",
           "a9993e364706816aba3e25717850c26c9cd0d89d"},
      Case{"<vCard xmlns='vcard-temp'><FN>x</FN></vCard>", ""},
      Case{"<vCard xmlns='vcard-temp'><PHOTO><EXTVAL>http://x/a.png</EXTVAL></PHOTO></vCard>", ""},
      Case{"<vCard xmlns='vcard-temp'><PHOTO><BINVAL>!!</BINVAL></PHOTO></vCard>", ""});
  INFO(c.vcard);
  CHECK(photoHash(parse(c.vcard)) == c.hash);
}

TEST_CASE("vcard presence update element", "[vcard]") {
  auto presence = parse("<presence><show>away</show></presence>");
  CHECK_FALSE(hasAvatarUpdate(presence));
  auto stamped = withAvatarUpdate(presence, "abc");
  REQUIRE(hasAvatarUpdate(stamped));
  CHECK(stamped.child("x", kUpdateNs)->childText("photo", kUpdateNs) == "abc");
  CHECK(stamped.childText("show") == "away");
  SECTION("no avatar: an empty photo") {
    auto none = withAvatarUpdate(presence, "");
    const auto* photo = none.child("x", kUpdateNs)->child("photo", kUpdateNs);
    REQUIRE(photo != nullptr);
    CHECK(photo->text().empty());
  }
}

}  // namespace
}  // namespace parley::modules::vcard
