// Per-IP sign-up rate limit for in-band registration: at most N accounts per address per hour.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace parley::modules {

// A sliding one-hour window per IP address. Thread-safe (one mutex): handlers on every worker
// share it. Time is passed in, so tests need no clock.
class SignupLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::hours kWindow{1};

  // LIMIT sign-ups per address in any hour; 0 = unlimited.
  explicit SignupLimiter(unsigned limit) : limit_(limit) {}

  // Records a sign-up from IP at NOW if the address is under its limit; false if it is not
  // (nothing recorded then). A sign-up that later fails is handed back with release().
  bool tryAcquire(std::string_view ip, Clock::time_point now);
  // Forgets the most recent sign-up recorded for IP (its account could not be created).
  void release(std::string_view ip);
  // Addresses currently tracked (tests; bounded by sweeping expired ones).
  size_t trackedAddresses() const;

 private:
  void sweep(Clock::time_point now);  // drops every address whose window is empty

  const unsigned limit_;
  mutable std::mutex mutex_;
  std::map<std::string, std::deque<Clock::time_point>, std::less<>> recent_;  // guarded
  size_t acquisitions_since_sweep_ = 0;                                       // guarded
};

}  // namespace parley::modules
