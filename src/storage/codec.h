// Compact binary encoding of stored values: big-endian integers, length-prefixed byte strings.
//
// Every store value starts with a version byte so its layout can change later; the reader
// checks every bound, so a truncated or corrupt value becomes an error, never a crash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace parley::storage {

class ByteWriter {
 public:
  explicit ByteWriter(std::string& out) : out_(out) {}

  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(uint32_t v) { be(v, 4); }
  void u64(uint64_t v) { be(v, 8); }
  void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
  // A u32 length, then the bytes. Values longer than 4 GiB do not belong in a store.
  void bytes(std::string_view v) {
    u32(static_cast<uint32_t>(v.size()));
    out_.append(v);
  }

 private:
  void be(uint64_t v, int width) {
    for (int shift = (width - 1) * 8; shift >= 0; shift -= 8) {
      out_.push_back(static_cast<char>((v >> shift) & 0xff));
    }
  }
  std::string& out_;
};

// Reads what ByteWriter wrote. A read past the end sets failed() and returns zero or empty;
// check ok() once at the end rather than after every field.
class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}

  uint8_t u8() { return static_cast<uint8_t>(be(1)); }
  uint32_t u32() { return static_cast<uint32_t>(be(4)); }
  uint64_t u64() { return be(8); }
  int64_t i64() { return static_cast<int64_t>(u64()); }
  std::string_view bytes() {
    uint32_t size = u32();
    if (failed_ || size > in_.size()) {
      failed_ = true;
      return {};
    }
    std::string_view out = in_.substr(0, size);
    in_.remove_prefix(size);
    return out;
  }

  bool failed() const { return failed_; }
  bool atEnd() const { return in_.empty(); }
  // Everything read was in bounds and nothing is left over.
  bool ok() const { return !failed_ && in_.empty(); }

 private:
  uint64_t be(size_t width) {
    if (failed_ || in_.size() < width) {
      failed_ = true;
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < width; ++i) v = (v << 8) | static_cast<uint8_t>(in_[i]);
    in_.remove_prefix(width);
    return v;
  }
  std::string_view in_;
  bool failed_ = false;
};

}  // namespace parley::storage
