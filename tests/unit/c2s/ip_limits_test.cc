// Per-IP limits: connections and failed logins in a sliding minute.
#include "c2s/ip_limits.h"

#include <catch2/catch.hpp>

namespace parley::c2s {
namespace {

using namespace std::chrono_literals;

TEST_CASE("connections per IP are capped and released", "[limits]") {
  IpLimits limits(2, 0);
  CHECK(limits.tryOpen("10.0.0.1"));
  CHECK(limits.tryOpen("10.0.0.1"));
  CHECK_FALSE(limits.tryOpen("10.0.0.1"));
  CHECK(limits.tryOpen("10.0.0.2"));
  limits.closed("10.0.0.1");
  CHECK(limits.tryOpen("10.0.0.1"));
}

TEST_CASE("zero means unlimited", "[limits]") {
  IpLimits limits(0, 0);
  for (int i = 0; i < 1000; ++i) REQUIRE(limits.tryOpen("::1"));
  auto now = IpLimits::Clock::time_point{};
  for (int i = 0; i < 100; ++i) limits.loginFailed("::1", now);
  CHECK(limits.loginAllowed("::1", now));
}

TEST_CASE("failed logins block an IP for the rest of the minute", "[limits]") {
  IpLimits limits(0, 3);
  auto t0 = IpLimits::Clock::time_point{} + 1000s;
  CHECK(limits.loginAllowed("1.2.3.4", t0));
  limits.loginFailed("1.2.3.4", t0);
  limits.loginFailed("1.2.3.4", t0 + 10s);
  CHECK(limits.loginAllowed("1.2.3.4", t0 + 11s));
  limits.loginFailed("1.2.3.4", t0 + 20s);
  CHECK_FALSE(limits.loginAllowed("1.2.3.4", t0 + 21s));
  CHECK(limits.loginAllowed("5.6.7.8", t0 + 21s));
  // The first failure leaves the window after 60 s.
  CHECK(limits.loginAllowed("1.2.3.4", t0 + 60s));
}

}  // namespace
}  // namespace parley::c2s
