// Per-IP sign-up rate limit: a sliding window of sign-up times per address.
#include "signup_limiter.h"

namespace parley::modules {
namespace {

// Sweep the whole table every so many sign-ups, so addresses seen once do not pile up.
constexpr size_t kSweepEvery = 256;

}  // namespace

bool SignupLimiter::tryAcquire(std::string_view ip, Clock::time_point now) {
  if (limit_ == 0) return true;
  std::lock_guard lock(mutex_);
  if (++acquisitions_since_sweep_ >= kSweepEvery) sweep(now);
  auto it = recent_.find(ip);
  if (it == recent_.end())
    it = recent_.emplace(std::string(ip), std::deque<Clock::time_point>{}).first;
  auto& times = it->second;
  while (!times.empty() && times.front() + kWindow <= now) times.pop_front();
  if (times.size() >= limit_) return false;
  times.push_back(now);
  return true;
}

void SignupLimiter::release(std::string_view ip) {
  if (limit_ == 0) return;
  std::lock_guard lock(mutex_);
  auto it = recent_.find(ip);
  if (it == recent_.end() || it->second.empty()) return;
  it->second.pop_back();
  if (it->second.empty()) recent_.erase(it);
}

size_t SignupLimiter::trackedAddresses() const {
  std::lock_guard lock(mutex_);
  return recent_.size();
}

void SignupLimiter::sweep(Clock::time_point now) {
  acquisitions_since_sweep_ = 0;
  for (auto it = recent_.begin(); it != recent_.end();) {
    auto& times = it->second;
    while (!times.empty() && times.front() + kWindow <= now) times.pop_front();
    it = times.empty() ? recent_.erase(it) : std::next(it);
  }
}

}  // namespace parley::modules
