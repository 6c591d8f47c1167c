// Latency histogram: bucket arithmetic, percentiles, text form.
#include "histogram.h"

#include <algorithm>
#include <bit>
#include <sstream>

namespace parley::bench {

size_t Histogram::bucketOf(uint64_t micros) {
  if (micros < (uint64_t{1} << kSubBits)) return static_cast<size_t>(micros);
  int power = static_cast<int>(std::bit_width(micros)) - 1;  // >= kSubBits
  if (power >= kPowers + kSubBits - 1) return kBuckets - 1;
  uint64_t sub = (micros >> (power - kSubBits)) & ((uint64_t{1} << kSubBits) - 1);
  return (static_cast<size_t>(power - kSubBits + 1) << kSubBits) + static_cast<size_t>(sub);
}

uint64_t Histogram::lowestValue(size_t bucket) {
  size_t power_index = bucket >> kSubBits;
  uint64_t sub = bucket & ((size_t{1} << kSubBits) - 1);
  if (power_index == 0) return sub;
  int power = static_cast<int>(power_index) + kSubBits - 1;
  return ((uint64_t{1} << kSubBits) | sub) << (power - kSubBits);
}

void Histogram::add(uint64_t micros) {
  ++buckets_[bucketOf(micros)];
  ++count_;
  max_ = std::max(max_, micros);
}

void Histogram::merge(const Histogram& other) {
  for (size_t i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

uint64_t Histogram::percentile(double fraction) const {
  if (count_ == 0) return 0;
  auto rank = static_cast<uint64_t>(fraction * static_cast<double>(count_));
  if (rank >= count_) rank = count_ - 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen > rank) return std::min(lowestValue(i), max_);
  }
  return max_;
}

std::string Histogram::serialize() const {
  std::ostringstream out;
  out << count_ << ' ' << max_;
  for (size_t i = 0; i < kBuckets; ++i) {
    if (buckets_[i] != 0) out << ' ' << i << ':' << buckets_[i];
  }
  return out.str();
}

Histogram Histogram::parse(const std::string& text) {
  Histogram histogram;
  std::istringstream in(text);
  in >> histogram.count_ >> histogram.max_;
  std::string entry;
  while (in >> entry) {
    auto colon = entry.find(':');
    if (colon == std::string::npos) continue;
    size_t bucket = std::stoul(entry.substr(0, colon));
    if (bucket < kBuckets) histogram.buckets_[bucket] = std::stoull(entry.substr(colon + 1));
  }
  return histogram;
}

}  // namespace parley::bench
