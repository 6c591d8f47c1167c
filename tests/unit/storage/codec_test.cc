// Tests for the key layout, the byte codec and the stored form of accounts.
#include "storage/codec.h"

#include <catch2/catch.hpp>

#include "storage/account_codec.h"
#include "storage/keys.h"

namespace parley::storage {
namespace {

using namespace std::string_literals;

AccountRecord sampleRecord() {
  AccountRecord record;
  record.sha1 = {"salt-1\0x"s, 4096, std::string(20, '\x01'), std::string(20, '\xfe')};
  record.sha256 = {"salt-256"s, 10000, std::string(32, '\0'), std::string(32, '\x80')};
  record.created_unix = -1234567890123;
  return record;
}

TEST_CASE("keys are NUL-delimited parts", "[storage][keys]") {
  CHECK(makeKey({"example.com", "ann"}) == "example.com\0ann"s);
  CHECK(makeKey({"example.com"}) == "example.com"s);
  CHECK(makeKey({"h", "u", "c"}) == "h\0u\0c"s);
  CHECK(makePrefix({"example.com", "ann"}) == "example.com\0ann\0"s);
  CHECK(makePrefix({"h"}) == "h\0"s);
  // The delimiter keeps "ann" from matching "anna".
  CHECK_FALSE(std::string_view(makeKey({"h", "anna", "x"})).starts_with(makePrefix({"h", "ann"})));
}

TEST_CASE("key parts must be non-empty and NUL-free", "[storage][keys]") {
  struct Case {
    std::string part;
    bool ok;
  };
  auto c = GENERATE(Case{"ann", true}, Case{"example.com", true}, Case{"", false},
                    Case{"a\0b"s, false}, Case{"\0"s, false});
  CHECK(isKeyPart(c.part) == c.ok);
}

TEST_CASE("byte codec round-trips and bounds-checks", "[storage][codec]") {
  std::string buffer;
  ByteWriter out(buffer);
  out.u8(7);
  out.u32(0xdeadbeef);
  out.u64(0x0102030405060708);
  out.i64(-2);
  out.bytes("hello");
  out.bytes("");
  CHECK(buffer.size() == 1 + 4 + 8 + 8 + 4 + 5 + 4);
  CHECK(buffer.substr(1, 4) == "\xde\xad\xbe\xef");

  ByteReader in(buffer);
  CHECK(in.u8() == 7);
  CHECK(in.u32() == 0xdeadbeef);
  CHECK(in.u64() == 0x0102030405060708);
  CHECK(in.i64() == -2);
  CHECK(in.bytes() == "hello");
  CHECK(in.bytes().empty());
  CHECK(in.ok());

  SECTION("reading past the end fails and stays failed") {
    ByteReader short_in(std::string_view(buffer).substr(0, 3));
    short_in.u8();
    CHECK(short_in.u32() == 0);
    CHECK(short_in.failed());
    CHECK(short_in.u8() == 0);  // even though a byte is left
    CHECK_FALSE(short_in.ok());
  }
  SECTION("a length larger than what is left fails") {
    std::string lying;
    ByteWriter w(lying);
    w.u32(1000);
    lying += "abc";
    ByteReader r(lying);
    CHECK(r.bytes().empty());
    CHECK(r.failed());
  }
}

TEST_CASE("account records round-trip", "[storage][codec]") {
  AccountRecord record = sampleRecord();
  std::string encoded = encodeAccount(record);
  CHECK(static_cast<uint8_t>(encoded[0]) == kAccountFormatVersion);
  auto decoded = decodeAccount(encoded);
  REQUIRE(decoded.hasValue());
  CHECK(*decoded == record);

  auto empty = decodeAccount(encodeAccount(AccountRecord{}));
  REQUIRE(empty.hasValue());
  CHECK(*empty == AccountRecord{});
}

TEST_CASE("corrupt account records are errors", "[storage][codec]") {
  const std::string good = encodeAccount(sampleRecord());
  struct Case {
    const char* what;
    std::string value;
    const char* message;
  };
  std::string bad_version = good;
  bad_version[0] = '\x02';
  std::string huge_length = good;
  huge_length[9] = '\x7f';  // the first byte of the SHA-1 salt's length
  auto c = GENERATE_COPY(
      Case{"empty", "", "empty account record"},
      Case{"unknown version", bad_version, "unknown account record version 2"},
      Case{"version only", good.substr(0, 1), "truncated account record"},
      Case{"cut in the middle", good.substr(0, good.size() / 2), "truncated account record"},
      Case{"one byte short", good.substr(0, good.size() - 1), "truncated account record"},
      Case{"length past the end", huge_length, "truncated account record"},
      Case{"trailing byte", good + "x", "trailing bytes after account record"});
  INFO(c.what);
  auto decoded = decodeAccount(c.value);
  REQUIRE_FALSE(decoded.hasValue());
  CHECK(decoded.error().message == c.message);
}

TEST_CASE("every truncation of an account record is an error", "[storage][codec]") {
  const std::string good = encodeAccount(sampleRecord());
  for (size_t size = 0; size < good.size(); ++size) {
    INFO("size " << size);
    CHECK_FALSE(decodeAccount(std::string_view(good).substr(0, size)).hasValue());
  }
}

}  // namespace
}  // namespace parley::storage
