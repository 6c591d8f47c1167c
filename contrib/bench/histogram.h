// Latency histogram for the load generator: log-linear buckets (about 1.5% wide) from 1 µs to
// 2^42 µs, mergeable across processes and serialized as text. Percentiles report the lowest
// value of their bucket (at most 1.6% low).
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace parley::bench {

class Histogram {
 public:
  void add(uint64_t micros);
  void merge(const Histogram& other);
  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  // The value below which `fraction` (0..1) of the samples fall; 0 without samples.
  uint64_t percentile(double fraction) const;

  // "count max i:n i:n ..." (non-empty buckets only); parse() reads it back.
  std::string serialize() const;
  static Histogram parse(const std::string& text);

 private:
  static constexpr int kSubBits = 6;  // 64 sub-buckets per power of two
  static constexpr int kPowers = 37;
  static constexpr size_t kBuckets = size_t{kPowers} << kSubBits;
  static size_t bucketOf(uint64_t micros);
  static uint64_t lowestValue(size_t bucket);

  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

}  // namespace parley::bench
