// The stored form of an AccountRecord: version byte 1, then length-prefixed fields.
//
// Version 1: u8 version, i64 created_unix, then SHA-1 and SHA-256 secrets, each as
// bytes(salt) u32(iterations) bytes(stored_key) bytes(server_key). Integers big-endian, bytes()
// a u32 length then the bytes.
#include "storage/account_codec.h"

#include "storage/codec.h"

namespace parley::storage {
namespace {

void encodeSecret(ByteWriter& out, const ScramSecret& secret) {
  out.bytes(secret.salt);
  out.u32(secret.iterations);
  out.bytes(secret.stored_key);
  out.bytes(secret.server_key);
}

ScramSecret decodeSecret(ByteReader& in) {
  ScramSecret secret;
  secret.salt = in.bytes();
  secret.iterations = in.u32();
  secret.stored_key = in.bytes();
  secret.server_key = in.bytes();
  return secret;
}

size_t secretSize(const ScramSecret& secret) {
  return 16 + secret.salt.size() + secret.stored_key.size() + secret.server_key.size();
}

}  // namespace

std::string encodeAccount(const AccountRecord& record) {
  std::string value;
  value.reserve(1 + 8 + secretSize(record.sha1) + secretSize(record.sha256));
  ByteWriter out(value);
  out.u8(kAccountFormatVersion);
  out.i64(record.created_unix);
  encodeSecret(out, record.sha1);
  encodeSecret(out, record.sha256);
  return value;
}

Result<AccountRecord> decodeAccount(std::string_view value) {
  ByteReader in(value);
  uint8_t version = in.u8();
  if (in.failed()) return fail("empty account record");
  if (version != kAccountFormatVersion) {
    return fail("unknown account record version ", std::to_string(version));
  }
  AccountRecord record;
  record.created_unix = in.i64();
  record.sha1 = decodeSecret(in);
  record.sha256 = decodeSecret(in);
  if (in.failed()) return fail("truncated account record");
  if (!in.atEnd()) return fail("trailing bytes after account record");
  return record;
}

}  // namespace parley::storage
