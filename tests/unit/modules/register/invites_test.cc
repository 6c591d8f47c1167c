// Unit tests for the invitation token format shared by the register module and parleyctl.
#include "register/invites.h"

#include <catch2/catch.hpp>
#include <set>

namespace parley::modules::invites {
namespace {

using namespace std::chrono_literals;
using TimePoint = std::chrono::system_clock::time_point;

TEST_CASE("invite tokens are long, random and well-formed", "[register]") {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto token = makeToken();
    REQUIRE(token);
    CHECK(token->size() == kTokenLength);
    CHECK(looksLikeToken(*token));
    seen.insert(*token);
  }
  CHECK(seen.size() == 100);
}

TEST_CASE("looksLikeToken rejects anything we did not issue", "[register]") {
  struct Case {
    std::string text;
    bool ok;
  };
  auto cases = GENERATE(values<Case>({
      {std::string(kTokenLength, 'a'), true},
      {"", false},
      {std::string(kTokenLength - 1, 'a'), false},
      {std::string(kTokenLength + 1, 'a'), false},
      {std::string(kTokenLength - 1, 'a') + "-", false},
      {std::string(kTokenLength - 1, 'a') + '\0', false},
      {std::string(kTokenLength - 1, 'a') + "\xc3", false},
  }));
  INFO("token: " << cases.text);
  CHECK(looksLikeToken(cases.text) == cases.ok);
}

TEST_CASE("the invitation URI has XEP-0401's form", "[register]") {
  CHECK(inviteUri("example.com", "abc") == "xmpp:example.com?register;preauth=abc");
}

TEST_CASE("an invitation is valid until its TTL runs out", "[register]") {
  const TimePoint created{std::chrono::seconds(1'700'000'000)};
  auto value = encodeCreated(created);
  CHECK(value == "1700000000");
  REQUIRE(decodeCreated(value) == created);
  CHECK(isValid(value, created, 7 * 24h));
  CHECK(isValid(value, created + 7 * 24h - 1s, 7 * 24h));
  CHECK_FALSE(isValid(value, created + 7 * 24h, 7 * 24h));
  SECTION("from the far future: not valid") { CHECK_FALSE(isValid(value, created - 1h, 24h)); }
  SECTION("unreadable values are not valid") {
    for (const char* bad : {"", "abc", "12x", " 12", "99999999999999999999999"}) {
      INFO(bad);
      CHECK_FALSE(decodeCreated(bad));
      CHECK_FALSE(isValid(bad, created, 24h));
    }
  }
}

}  // namespace
}  // namespace parley::modules::invites
