// A token bucket for rate limits (bytes per second per session). Time is passed in.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace parley {

// Not thread-safe: one per session, used on its thread.
class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // `rate` tokens per second, holding at most `burst`; starts full.
  TokenBucket(uint64_t rate, uint64_t burst, Clock::time_point now)
      : rate_(rate), burst_(burst), tokens_(static_cast<double>(burst)), last_(now) {}

  // Takes `amount` tokens (the balance may go negative: the data has already
  // arrived). Returns how long to wait until the balance is positive again, or
  // zero if there is no need to wait.
  std::chrono::milliseconds take(uint64_t amount, Clock::time_point now) {
    refill(now);
    tokens_ -= static_cast<double>(amount);
    if (tokens_ >= 0) return std::chrono::milliseconds(0);
    auto wait_ms = static_cast<int64_t>(-tokens_ * 1000.0 / static_cast<double>(rate_)) + 1;
    return std::chrono::milliseconds(wait_ms);
  }

 private:
  void refill(Clock::time_point now) {
    if (now <= last_) return;
    double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(static_cast<double>(burst_), tokens_ + elapsed * static_cast<double>(rate_));
    last_ = now;
  }

  uint64_t rate_;
  uint64_t burst_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace parley
