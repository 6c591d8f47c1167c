// Unit tests for the per-IP sign-up limit of the register module.
#include "register/signup_limiter.h"

#include <catch2/catch.hpp>

namespace parley::modules {
namespace {

using namespace std::chrono_literals;
using Clock = SignupLimiter::Clock;

TEST_CASE("sign-up limiter allows N per address per hour", "[register]") {
  SignupLimiter limiter(3);
  const Clock::time_point t0{};
  CHECK(limiter.tryAcquire("192.0.2.1", t0));
  CHECK(limiter.tryAcquire("192.0.2.1", t0 + 1min));
  CHECK(limiter.tryAcquire("192.0.2.1", t0 + 2min));
  CHECK_FALSE(limiter.tryAcquire("192.0.2.1", t0 + 3min));
  SECTION("another address has its own budget") {
    CHECK(limiter.tryAcquire("192.0.2.2", t0 + 3min));
  }
  SECTION("the window slides: the first sign-up ages out after an hour") {
    CHECK_FALSE(limiter.tryAcquire("192.0.2.1", t0 + 59min));
    CHECK(limiter.tryAcquire("192.0.2.1", t0 + 60min));
    CHECK_FALSE(limiter.tryAcquire("192.0.2.1", t0 + 60min));
  }
  SECTION("a released sign-up gives its slot back") {
    limiter.release("192.0.2.1");
    CHECK(limiter.tryAcquire("192.0.2.1", t0 + 4min));
    CHECK_FALSE(limiter.tryAcquire("192.0.2.1", t0 + 4min));
  }
}

TEST_CASE("sign-up limiter with limit 0 is unlimited", "[register]") {
  SignupLimiter limiter(0);
  for (int i = 0; i < 1000; ++i) REQUIRE(limiter.tryAcquire("192.0.2.1", Clock::time_point{}));
  CHECK(limiter.trackedAddresses() == 0);
}

TEST_CASE("sign-up limiter forgets addresses whose window is empty", "[register]") {
  SignupLimiter limiter(1);
  const Clock::time_point t0{};
  for (int i = 0; i < 300; ++i) {
    REQUIRE(limiter.tryAcquire("198.51.100." + std::to_string(i), t0));
  }
  CHECK(limiter.trackedAddresses() == 300);
  // Two hours later, enough sign-ups to trigger a sweep leave only the new addresses.
  for (int i = 0; i < 300; ++i) {
    REQUIRE(limiter.tryAcquire("203.0.113." + std::to_string(i), t0 + 2h));
  }
  CHECK(limiter.trackedAddresses() < 600);
  limiter.release("unknown");  // nothing to release: no effect
  limiter.release("203.0.113.1");
  CHECK(limiter.tryAcquire("203.0.113.1", t0 + 2h));
}

}  // namespace
}  // namespace parley::modules
