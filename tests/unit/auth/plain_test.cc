// Unit tests for SASL PLAIN parsing and password verification.
#include "auth/plain.h"

#include <catch2/catch.hpp>
#include <string>

namespace parley::auth {
namespace {

std::string message(std::string_view authzid, std::string_view authcid, std::string_view password) {
  std::string out(authzid);
  out.push_back('\0');
  out += authcid;
  out.push_back('\0');
  out += password;
  return out;
}

TEST_CASE("PLAIN messages that parse", "[auth][plain]") {
  auto plain = parsePlain(message("", "juliet", "r0m30"));
  REQUIRE(plain.hasValue());
  CHECK(plain->authzid.empty());
  CHECK(plain->authcid == "juliet");
  CHECK(plain->password == "r0m30");

  plain = parsePlain(message("juliet@example.com", "juliet", "pass word"));
  REQUIRE(plain.hasValue());
  CHECK(plain->authzid == "juliet@example.com");
  CHECK(plain->password == "pass word");

  // SASLprep on the authcid: U+00AD (soft hyphen) maps to nothing, NBSP to a space.
  plain = parsePlain(message("", "jul\xC2\xADiet", "x"));
  REQUIRE(plain.hasValue());
  CHECK(plain->authcid == "juliet");
  CHECK(parsePlain(message("", std::string(kMaxPlainFieldSize, 'a'), "x")).hasValue());
}

TEST_CASE("PLAIN messages that are malformed", "[auth][plain]") {
  const std::string cases[] = {
      "",
      std::string("juliet"),
      std::string("\0juliet", 7),
      message("", "", "password"),                    // empty authcid
      message("", "juliet", ""),                      // empty password
      message("", "juliet", "pass") + '\0',           // a third NUL
      message("", "juliet", std::string("a\0b", 3)),  // NUL in the password
      message("", "jul\xC3\x28iet", "x"),             // bad UTF-8 in authcid
      message("\xFF", "juliet", "x"),                 // bad UTF-8 in authzid
      message("", "juliet", "\xC0\xAF"),              // overlong in password
      message("", "jul\x01iet", "x"),                 // control character (SASLprep)
      message("", "\xC2\xAD", "x"),                   // authcid prepares to nothing
      message("", std::string(kMaxPlainFieldSize + 1, 'a'), "x"),
      message("", "juliet", std::string(kMaxPlainFieldSize + 1, 'p')),
  };
  for (const auto& bad : cases) {
    INFO(bad);
    const auto plain = parsePlain(bad);
    REQUIRE_FALSE(plain.hasValue());
    CHECK(plain.error() == SaslError::MalformedRequest);
  }
}

TEST_CASE("verifyPassword against stored credentials", "[auth][plain]") {
  for (const HashAlg alg : {HashAlg::Sha1, HashAlg::Sha256}) {
    const ScramCredentials credentials = deriveCredentials(alg, "pencil", "salty", kMinIterations);
    CHECK(verifyPassword(credentials, "pencil"));
    CHECK_FALSE(verifyPassword(credentials, "Pencil"));
    CHECK_FALSE(verifyPassword(credentials, "pencil "));
    CHECK_FALSE(verifyPassword(credentials, ""));
  }
  // SASLprep: "I<U+00AD>X" and "IX" are the same password (RFC 4013 §3 example).
  const ScramCredentials credentials =
      deriveCredentials(HashAlg::Sha256, "I\xC2\xADX", "salt", kMinIterations);
  CHECK(verifyPassword(credentials, "IX"));
  // A password SASLprep refuses (a control character) is used as given.
  const ScramCredentials raw = deriveCredentials(HashAlg::Sha256, "a\x07z", "salt", kMinIterations);
  CHECK(verifyPassword(raw, "a\x07z"));
  CHECK_FALSE(verifyPassword(raw, "az"));
}

}  // namespace
}  // namespace parley::auth
