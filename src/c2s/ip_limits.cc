// Per-IP connection and failed-login limits.
#include "c2s/ip_limits.h"

namespace parley::c2s {

bool IpLimits::tryOpen(const std::string& ip) {
  std::lock_guard lock(mutex_);
  auto& entry = per_ip_[ip];
  if (max_connections_ != 0 && entry.connections >= max_connections_) return false;
  ++entry.connections;
  return true;
}

void IpLimits::closed(const std::string& ip) {
  std::lock_guard lock(mutex_);
  auto it = per_ip_.find(ip);
  if (it == per_ip_.end()) return;
  if (it->second.connections > 0) --it->second.connections;
  eraseIfIdle(it);
}

void IpLimits::forgetOld(PerIp& entry, Clock::time_point now) {
  while (!entry.failures.empty() && now - entry.failures.front() >= kLoginWindow) {
    entry.failures.pop_front();
  }
}

void IpLimits::eraseIfIdle(std::unordered_map<std::string, PerIp>::iterator it) {
  if (it->second.connections == 0 && it->second.failures.empty()) per_ip_.erase(it);
}

bool IpLimits::loginAllowed(const std::string& ip, Clock::time_point now) {
  if (max_failed_logins_ == 0) return true;
  std::lock_guard lock(mutex_);
  auto it = per_ip_.find(ip);
  if (it == per_ip_.end()) return true;
  forgetOld(it->second, now);
  bool allowed = it->second.failures.size() < max_failed_logins_;
  eraseIfIdle(it);
  return allowed;
}

void IpLimits::loginFailed(const std::string& ip, Clock::time_point now) {
  if (max_failed_logins_ == 0) return;
  std::lock_guard lock(mutex_);
  auto& entry = per_ip_[ip];
  forgetOld(entry, now);
  entry.failures.push_back(now);
  while (entry.failures.size() > max_failed_logins_) entry.failures.pop_front();
}

}  // namespace parley::c2s
