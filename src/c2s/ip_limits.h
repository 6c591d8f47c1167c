// Per-IP limits shared by all workers: open client connections and failed logins.
#pragma once

#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace parley::c2s {

// Thread-safe; one short critical section per call. A limit of 0 means unlimited.
class IpLimits {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kLoginWindow{60};

  IpLimits(unsigned max_connections, unsigned max_failed_logins_per_minute)
      : max_connections_(max_connections), max_failed_logins_(max_failed_logins_per_minute) {}

  // Counts a new connection; false (and nothing counted) when the IP is at its limit.
  bool tryOpen(const std::string& ip);
  void closed(const std::string& ip);

  // Whether this IP may try to log in now (fewer failures than the limit in the last minute).
  bool loginAllowed(const std::string& ip, Clock::time_point now);
  void loginFailed(const std::string& ip, Clock::time_point now);

 private:
  struct PerIp {
    unsigned connections = 0;
    std::deque<Clock::time_point> failures;  // at most max_failed_logins_ entries
  };
  void forgetOld(PerIp& entry, Clock::time_point now);
  void eraseIfIdle(std::unordered_map<std::string, PerIp>::iterator it);

  const unsigned max_connections_;
  const unsigned max_failed_logins_;
  std::mutex mutex_;
  std::unordered_map<std::string, PerIp> per_ip_;
};

}  // namespace parley::c2s
