// Unit tests for Tls13Records: key derivation against OpenSSL's, sealing and opening, KeyUpdate,
// and the alert RFC 8446 names for each kind of bad record.
#include "net/tls13_records.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

namespace parley::net {
namespace {

using Records = Tls13Records;

// OpenSSL's own HKDF-Expand-Label (its TLS 1.3 key schedule uses it).
std::string opensslExpandLabel(const char* digest, const std::string& secret,
                               const std::string& label, size_t length) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "TLS13-KDF", nullptr);
  REQUIRE(kdf != nullptr);
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  static const char kPrefix[] = "tls13 ";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(digest), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(secret.data()),
                                        secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PREFIX, const_cast<char*>(kPrefix),
                                        sizeof kPrefix - 1),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_LABEL, const_cast<char*>(label.data()),
                                        label.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_DATA, const_cast<char*>(""), 0),
      OSSL_PARAM_construct_end(),
  };
  std::string out(length, '\0');
  int ok = EVP_KDF_derive(ctx, reinterpret_cast<unsigned char*>(out.data()), length, params);
  EVP_KDF_CTX_free(ctx);
  REQUIRE(ok == 1);
  return out;
}

std::string secretOf(size_t size, char seed) {
  std::string s;
  for (size_t i = 0; i < size; ++i) s.push_back(static_cast<char>(seed + 7 * i));
  return s;
}

// Two ends of one connection: what `a` seals, `b` opens, and the other way round.
struct Pair {
  explicit Pair(uint16_t suite, size_t hash_size = 32, char seed = 1) {
    std::string up = secretOf(hash_size, seed),
                down = secretOf(hash_size, static_cast<char>(seed + 98));
    a = Records::create(suite, {down, 0}, {up, 0});
    b = Records::create(suite, {up, 0}, {down, 0});
    REQUIRE(a);
    REQUIRE(b);
  }
  std::unique_ptr<Records> a, b;
};

// Opens every record in `wire`; the data, or the first failure.
struct Received {
  std::string data, reply;
  std::vector<Records::Content> contents;
  std::optional<Records::Failure> failure;
};
Received openAll(Records& r, std::string_view wire) {
  Received got;
  std::vector<char> out(Records::kMaxInnerPlaintext + Records::kTagSize);
  while (!wire.empty()) {
    size_t size = Records::recordSize(wire);
    REQUIRE(size > 0);
    REQUIRE(size <= wire.size());
    auto opened = r.open(wire.substr(0, size), out.data(), got.reply);
    wire.remove_prefix(size);
    if (!opened) {
      got.failure = opened.error();
      return got;
    }
    got.contents.push_back(opened->content);
    got.data.append(out.data(), opened->size);
  }
  return got;
}

std::string sealed(Records& r, Records::ContentType type, std::string_view data) {
  std::string wire;
  REQUIRE(r.sealRecords(type, data, wire));
  return wire;
}

TEST_CASE("Tls13Records: HKDF-Expand-Label matches OpenSSL's", "[net][tls13]") {
  std::string secret32 = secretOf(32, 5), secret48 = secretOf(48, 9);
  CHECK(Records::expandLabel(EVP_sha256(), secret32, "key", 16) ==
        opensslExpandLabel("SHA256", secret32, "key", 16));
  CHECK(Records::expandLabel(EVP_sha256(), secret32, "iv", 12) ==
        opensslExpandLabel("SHA256", secret32, "iv", 12));
  CHECK(Records::expandLabel(EVP_sha256(), secret32, "traffic upd", 32) ==
        opensslExpandLabel("SHA256", secret32, "traffic upd", 32));
  CHECK(Records::expandLabel(EVP_sha384(), secret48, "traffic upd", 48) ==
        opensslExpandLabel("SHA384", secret48, "traffic upd", 48));
  CHECK(Records::expandLabel(EVP_sha256(), secret32, "key", 40) ==  // two HMAC blocks
        opensslExpandLabel("SHA256", secret32, "key", 40));
}

TEST_CASE("Tls13Records: only the AEAD suites, with secrets of their hash's size", "[net][tls13]") {
  CHECK(Records::create(0x1301, {secretOf(32, 1), 0}, {secretOf(32, 2), 0}));
  CHECK(Records::create(0x1302, {secretOf(48, 1), 0}, {secretOf(48, 2), 0}));
  CHECK(Records::create(0x1303, {secretOf(32, 1), 0}, {secretOf(32, 2), 0}));
  CHECK_FALSE(Records::create(0x1304, {secretOf(32, 1), 0}, {secretOf(32, 2), 0}));  // CCM
  CHECK_FALSE(Records::create(0x1302, {secretOf(32, 1), 0}, {secretOf(32, 2), 0}));
}

TEST_CASE("Tls13Records: data crosses in records of at most 2^14 bytes", "[net][tls13]") {
  auto [suite, hash] =
      GENERATE(std::pair{0x1301, 32}, std::pair{0x1302, 48}, std::pair{0x1303, 32});
  CAPTURE(suite);
  Pair p(static_cast<uint16_t>(suite), static_cast<size_t>(hash));
  std::string payload;
  for (int i = 0; i < 40000; ++i) payload.push_back(static_cast<char>('a' + i % 26));
  std::string wire;
  REQUIRE(p.a->seal(payload, wire));
  REQUIRE(p.a->seal("\xF0\x9F\x98\x80 again", wire));
  std::vector<size_t> sizes;
  for (std::string_view rest = wire; !rest.empty();) {
    size_t size = Records::recordSize(rest);
    sizes.push_back(size);
    CHECK(static_cast<unsigned char>(rest[0]) == Records::kApplicationData);
    CHECK(rest.substr(1, 2) == "\x03\x03");
    rest.remove_prefix(size);
  }
  CHECK(sizes == std::vector<size_t>{5 + 16384 + 17, 5 + 16384 + 17, 5 + 7232 + 17, 5 + 10 + 17});
  auto got = openAll(*p.b, wire);
  REQUIRE_FALSE(got.failure);
  CHECK(got.data == payload + "\xF0\x9F\x98\x80 again");
  CHECK(got.reply.empty());
  // The same bytes again are records the receiver has counted past: they fail.
  auto again = openAll(*p.b, wire);
  REQUIRE(again.failure);
  CHECK(again.failure->alert == Records::kBadRecordMac);
}

// The cipher contexts are the thread's, keyed for each record: connections that take turns on
// one thread, and one that moves to another thread, each keep their own keys.
TEST_CASE("Tls13Records: connections sharing a thread's cipher contexts keep their own keys",
          "[net][tls13]") {
  auto suite = GENERATE(0x1301, 0x1302, 0x1303);
  size_t hash = suite == 0x1302 ? 48 : 32;
  Pair one(static_cast<uint16_t>(suite), hash, 1), two(static_cast<uint16_t>(suite), hash, 5);
  for (int i = 0; i < 3; ++i) {
    std::string first, second;
    REQUIRE(one.a->seal("one " + std::to_string(i), first));
    REQUIRE(two.a->seal("two " + std::to_string(i), second));
    CHECK(openAll(*one.b, first).data == "one " + std::to_string(i));
    CHECK(openAll(*two.b, second).data == "two " + std::to_string(i));
  }
  // A record of one connection does not open with the other's keys, at the same position.
  std::string stray;
  REQUIRE(one.a->seal("stray", stray));
  auto crossed = openAll(*two.b, stray);
  REQUIRE(crossed.failure);
  CHECK(crossed.failure->alert == Records::kBadRecordMac);
  CHECK(openAll(*one.b, stray).data == "stray");

  // Sealed on another thread (with that thread's contexts), opened on this one.
  std::string elsewhere;
  bool sealed_there = false;  // Catch2 v2 assertions are for the test's own thread
  std::thread([&] { sealed_there = bool(one.b->seal("from another thread", elsewhere)); }).join();
  REQUIRE(sealed_there);
  CHECK(openAll(*one.a, elsewhere).data == "from another thread");
}

TEST_CASE("Tls13Records: padding and empty records", "[net][tls13]") {
  Pair p(0x1301);
  // Content "hi", type application_data, then zero padding: all inside the protected part.
  std::string padded("hi\x17\0\0\0", 6);
  std::string wire = sealed(*p.a, static_cast<Records::ContentType>(0), padded);
  std::string empty;
  REQUIRE(p.a->seal("", empty));  // §5.4: zero-length application data may be sent
  auto got = openAll(*p.b, wire + empty);
  REQUIRE_FALSE(got.failure);
  CHECK(got.data == "hi");
  CHECK(got.contents.size() == 2);
}

TEST_CASE("Tls13Records: a KeyUpdate that asks for ours is answered, then both sides rekey",
          "[net][tls13]") {
  Pair p(0x1303);
  // a asks b to update (a's own sending keys stay: only b's answer is checked here).
  const std::string request("\x18\0\0\x01\x01", 5);
  auto got = openAll(*p.b, sealed(*p.a, Records::kHandshake, request));
  REQUIRE_FALSE(got.failure);
  CHECK(got.contents == std::vector{Records::Content::Control});
  REQUIRE_FALSE(got.reply.empty());  // b's KeyUpdate, under b's old keys
  std::string after;
  REQUIRE(p.b->seal("new keys", after));  // under b's next keys
  auto at_a = openAll(*p.a, got.reply + after);
  REQUIRE_FALSE(at_a.failure);
  CHECK(at_a.reply.empty());  // b's answer asked for nothing
  CHECK(at_a.data == "new keys");
  // b now reads with the next generation of a's keys, which a has not moved to.
  std::string old_keys;
  REQUIRE(p.a->seal("old", old_keys));
  auto refused = openAll(*p.b, old_keys);
  REQUIRE(refused.failure);
  CHECK(refused.failure->alert == Records::kBadRecordMac);
}

TEST_CASE("Tls13Records: a client takes the server's NewSessionTickets and ignores them",
          "[net][tls13]") {
  std::string up = secretOf(32, 1), down = secretOf(32, 99);
  auto server = Records::create(0x1301, {up, 0}, {down, 0});
  auto client = Records::create(0x1301, {down, 0}, {up, 0}, Records::Role::Client);
  REQUIRE(server);
  REQUIRE(client);
  const std::string ticket("\x04\x00\x00\x03\xaa\xbb\xcc", 7);
  std::string wire = sealed(*server, Records::kHandshake, ticket);  // in sequence order
  wire += sealed(*server, Records::kHandshake, ticket + ticket);
  wire += sealed(*server, Records::kApplicationData, "<stream>");
  auto got = openAll(*client, wire);
  REQUIRE_FALSE(got.failure);
  CHECK(got.contents ==
        std::vector{Records::Content::Control, Records::Content::Control, Records::Content::Data});
  CHECK(got.data == "<stream>");
  CHECK(got.reply.empty());
  // Taken whole only, as KeyUpdate is.
  auto split = openAll(*client, sealed(*server, Records::kHandshake, ticket.substr(0, 5)));
  REQUIRE(split.failure);
  CHECK(split.failure->alert == Records::kUnexpectedMessage);
}

TEST_CASE("Tls13Records: bad records get the alert RFC 8446 names", "[net][tls13]") {
  struct Case {
    const char* what;
    std::function<std::string(Records&)> wire;
    uint8_t alert;
  };
  const std::vector<Case> cases = {
      {"a flipped bit",
       [](Records& a) {
         std::string w = sealed(a, Records::kApplicationData, "<message/>");
         w[8] ^= 1;
         return w;
       },
       Records::kBadRecordMac},
      {"a flipped header bit (the AAD)",
       [](Records& a) {
         std::string w = sealed(a, Records::kApplicationData, "<message/>");
         w[1] = 0x01;
         return w;
       },
       Records::kBadRecordMac},
      {"an unprotected handshake record",
       [](Records&) { return std::string("\x16\x03\x03\x00\x05\x18\x00\x00\x01\x00", 10); },
       Records::kUnexpectedMessage},
      {"a change_cipher_spec after the handshake",
       [](Records&) { return std::string("\x14\x03\x03\x00\x01\x01", 6); },
       Records::kUnexpectedMessage},
      {"a record longer than 2^14 + 256",
       [](Records&) {
         std::string w("\x17\x03\x03\x41\x01", 5);
         w.resize(5 + 0x4101);
         return w;
       },
       Records::kRecordOverflow},
      {"a record too short for its tag",
       [](Records&) {
         return std::string(
             "\x17\x03\x03\x00\x04"
             "abcd",
             9);
       },
       Records::kBadRecordMac},
      {"only padding, no content type",
       [](Records& a) { return sealed(a, static_cast<Records::ContentType>(0), ""); },
       Records::kUnexpectedMessage},
      {"an unknown content type",
       [](Records& a) { return sealed(a, static_cast<Records::ContentType>(99), "x"); },
       Records::kUnexpectedMessage},
      {"a protected change_cipher_spec",
       [](Records& a) { return sealed(a, Records::kChangeCipherSpec, "\x01"); },
       Records::kUnexpectedMessage},
      {"an alert of three bytes",
       [](Records& a) { return sealed(a, Records::kAlert, std::string("\x02\x28\x00", 3)); },
       Records::kDecodeError},
      {"a fatal alert from the peer: nothing to answer",
       [](Records& a) { return sealed(a, Records::kAlert, "\x02\x28"); }, Records::kNoAlert},
      {"a NewSessionTicket from the client",
       [](Records& a) {
         return sealed(a, Records::kHandshake, std::string("\x04\x00\x00\x01\x00", 5));
       },
       Records::kUnexpectedMessage},
      {"a KeyUpdate asking for 2",
       [](Records& a) {
         return sealed(a, Records::kHandshake, std::string("\x18\x00\x00\x01\x02", 5));
       },
       Records::kIllegalParameter},
      {"a KeyUpdate of two bytes",
       [](Records& a) {
         return sealed(a, Records::kHandshake, std::string("\x18\x00\x00\x02\x00\x00", 6));
       },
       Records::kDecodeError},
      {"a KeyUpdate with more after it in its record",
       [](Records& a) {
         return sealed(a, Records::kHandshake, std::string("\x18\x00\x00\x01\x00\x18", 6));
       },
       Records::kUnexpectedMessage},
      {"half a handshake header",
       [](Records& a) { return sealed(a, Records::kHandshake, std::string("\x18\x00", 2)); },
       Records::kUnexpectedMessage},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    Pair p(0x1301);
    auto got = openAll(*p.b, c.wire(*p.a));
    REQUIRE(got.failure);
    CHECK(got.failure->alert == c.alert);
    CHECK_FALSE(got.failure->message.empty());
  }
}

TEST_CASE("Tls13Records: alerts that end the stream", "[net][tls13]") {
  Pair p(0x1301);
  std::string wire = sealed(*p.a, Records::kAlert, std::string("\x01\x5a", 2));
  p.a->sealAlert(Records::kCloseNotify, wire);
  auto got = openAll(*p.b, wire);
  REQUIRE_FALSE(got.failure);  // user_canceled, then close_notify (§6.1)
  CHECK(got.contents == std::vector{Records::Content::Control, Records::Content::CloseNotify});
}

TEST_CASE("Tls13Records: recordSize reads the header", "[net][tls13]") {
  CHECK(Records::recordSize("") == 0);
  CHECK(Records::recordSize(std::string_view("\x17\x03\x03\x00", 4)) == 0);
  CHECK(Records::recordSize(std::string_view("\x17\x03\x03\x01\x02", 5)) == 5 + 0x102);
}

}  // namespace
}  // namespace parley::net
