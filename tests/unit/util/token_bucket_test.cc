// The token bucket behind per-session byte rate limits.
#include "util/token_bucket.h"

#include <catch2/catch.hpp>

namespace parley {
namespace {

using namespace std::chrono_literals;

TEST_CASE("a token bucket allows its burst, then asks to wait", "[rate]") {
  auto t0 = TokenBucket::Clock::time_point{} + 100s;
  TokenBucket bucket(1000, 2000, t0);
  CHECK(bucket.take(2000, t0) == 0ms);
  // 500 bytes over: half a second at 1000 bytes/s.
  auto wait = bucket.take(500, t0);
  CHECK(wait >= 500ms);
  CHECK(wait <= 502ms);
  // After a second the bucket has refilled 1000 tokens: 500 left.
  CHECK(bucket.take(500, t0 + 1s) == 0ms);
  // Never more than the burst, however long it waited.
  CHECK(bucket.take(2000, t0 + 100s) == 0ms);
  CHECK(bucket.take(1, t0 + 100s) > 0ms);
}

}  // namespace
}  // namespace parley
