// Unit tests for the strict base64 codec used by SASL.
#include "auth/base64.h"

#include <catch2/catch.hpp>
#include <string>

namespace parley::auth {
namespace {

TEST_CASE("base64 RFC 4648 §10 vectors", "[auth][base64]") {
  const std::pair<const char*, const char*> cases[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : cases) {
    CHECK(base64Encode(plain) == encoded);
    CHECK(base64Decode(encoded) == std::string(plain));
  }
}

TEST_CASE("base64 round trip of every byte value", "[auth][base64]") {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t size = 0; size <= all.size(); size += 37) {
    const std::string data = all.substr(0, size);
    CHECK(base64Decode(base64Encode(data)) == data);
  }
  CHECK(base64Decode(base64Encode(all)) == all);
}

TEST_CASE("base64 decoder is strict", "[auth][base64]") {
  for (const char* bad : {"Zg", "Zg=", "Zg===", "=Zg=", "Z===", "Zm9v\n", "Zm 9v", "Zm9v====",
                          "Zg==Zg==", "Zm-v", "Zm_v", "Zh==", "Zm9=", "Zm8=Zm9v", "biws!"}) {
    INFO(bad);
    CHECK_FALSE(base64Decode(bad));
  }
}

}  // namespace
}  // namespace parley::auth
