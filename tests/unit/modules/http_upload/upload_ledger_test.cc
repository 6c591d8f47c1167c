// Unit tests for the upload ledger: slots, claims, quota accounting and expiry selection.
#include "http_upload/upload_ledger.h"

#include <catch2/catch.hpp>

namespace parley::modules::http_upload {
namespace {

using namespace std::chrono_literals;

const SystemTime t0 = SystemTime(std::chrono::hours(24 * 365 * 50));

Limits smallLimits() {
  Limits limits;
  limits.max_file_size = 1000;
  limits.quota = 2500;
  limits.slot_lifetime = 60s;
  limits.expire_after = 1h;
  return limits;
}

Slot slotFor(std::string user, std::string id, uint64_t size) {
  return Slot{std::move(id), "token-" + user, std::move(user), "f.bin", size, "", {}};
}

// Opens a slot and completes its upload at NOW.
void store(UploadLedger& ledger, const std::string& user, const std::string& id, uint64_t size,
           SystemTime now) {
  auto slot = slotFor(user, id, size);
  REQUIRE_FALSE(ledger.open(slot, now));
  Slot claimed;
  REQUIRE(ledger.claim(id, now, claimed) == ClaimOutcome::Claimed);
  REQUIRE(ledger.complete(StoredFile{id, user, "f.bin", size, "image/png", now}));
}

TEST_CASE("a slot larger than the limit is refused as too large", "[http_upload]") {
  UploadLedger ledger(smallLimits());
  auto slot = slotFor("romeo", "a", 1001);
  auto refusal = ledger.open(slot, t0);
  REQUIRE(refusal);
  CHECK(refusal->reason == Refusal::Reason::FileTooLarge);
  auto fits = slotFor("romeo", "b", 1000);
  CHECK_FALSE(ledger.open(fits, t0));
  CHECK(fits.expires == t0 + 60s);
}

TEST_CASE("the size limit never exceeds the quota", "[http_upload]") {
  Limits limits = smallLimits();
  limits.quota = 500;
  CHECK(effectiveMaxFileSize(limits) == 500);
  limits.quota = 0;  // unlimited
  CHECK(effectiveMaxFileSize(limits) == 1000);
}

TEST_CASE("quota counts stored files and open slots per user", "[http_upload]") {
  UploadLedger ledger(smallLimits());
  store(ledger, "romeo", "a", 1000, t0);
  store(ledger, "romeo", "b", 1000, t0 + 10min);
  auto open = slotFor("romeo", "c", 400);
  REQUIRE_FALSE(ledger.open(open, t0 + 20min));
  CHECK(ledger.usage("romeo", t0 + 20min) == 2400);

  auto over = slotFor("romeo", "d", 200);
  auto refusal = ledger.open(over, t0 + 20min);
  REQUIRE(refusal);
  CHECK(refusal->reason == Refusal::Reason::QuotaExceeded);
  // Room for 200 more bytes comes when the first file expires.
  REQUIRE(refusal->retry);
  CHECK(*refusal->retry == t0 + 1h);

  SECTION("another user has a quota of their own") {
    auto other = slotFor("juliet", "e", 1000);
    CHECK_FALSE(ledger.open(other, t0 + 20min));
  }
  SECTION("an unused slot gives its room back when it expires") {
    auto later = slotFor("romeo", "f", 500);
    CHECK_FALSE(ledger.open(later, t0 + 20min + 61s));
  }
}

TEST_CASE("the retry time is when enough files have expired, not just the first", "[http_upload]") {
  Limits limits = smallLimits();
  limits.quota = 1000;
  UploadLedger ledger(limits);
  store(ledger, "romeo", "a", 100, t0);
  store(ledger, "romeo", "b", 900, t0 + 10min);
  auto slot = slotFor("romeo", "c", 500);
  auto refusal = ledger.open(slot, t0 + 20min);
  REQUIRE(refusal);
  REQUIRE(refusal->retry);
  CHECK(*refusal->retry == t0 + 10min + 1h);  // a's 100 bytes alone are not enough
}

TEST_CASE("quota 0 is unlimited, but the number of files per user is not", "[http_upload]") {
  Limits limits = smallLimits();
  limits.quota = 0;
  limits.max_files_per_user = 3;
  UploadLedger ledger(limits);
  store(ledger, "romeo", "a", 1000, t0);
  store(ledger, "romeo", "b", 1000, t0 + 1min);
  store(ledger, "romeo", "c", 1000, t0 + 2min);
  auto fourth = slotFor("romeo", "d", 0);
  auto refusal = ledger.open(fourth, t0 + 3min);
  REQUIRE(refusal);
  CHECK(refusal->reason == Refusal::Reason::QuotaExceeded);
  REQUIRE(refusal->retry);
  CHECK(*refusal->retry == t0 + 1h);
}

TEST_CASE("a slot is claimed by one upload at a time, and only once", "[http_upload]") {
  UploadLedger ledger(smallLimits());
  auto slot = slotFor("romeo", "a", 10);
  REQUIRE_FALSE(ledger.open(slot, t0));
  Slot claimed;
  CHECK(ledger.claim("unknown", t0, claimed) == ClaimOutcome::NoSuchSlot);
  REQUIRE(ledger.claim("a", t0, claimed) == ClaimOutcome::Claimed);
  CHECK(claimed.token == "token-romeo");
  Slot again;
  CHECK(ledger.claim("a", t0, again) == ClaimOutcome::InProgress);

  SECTION("a refused upload opens the slot again") {
    ledger.release("a");
    CHECK(ledger.claim("a", t0 + 1s, again) == ClaimOutcome::Claimed);
  }
  SECTION("a completed upload is a stored file, not a slot") {
    REQUIRE(ledger.complete(StoredFile{"a", "romeo", "f.bin", 10, "text/plain", t0}));
    CHECK(ledger.claim("a", t0, again) == ClaimOutcome::AlreadyStored);
    CHECK(ledger.openSlots() == 0);
    auto file = ledger.stored("a", t0 + 59min);
    REQUIRE(file);
    CHECK(file->content_type == "text/plain");
    CHECK(ledger.usage("romeo", t0) == 10);
  }
}

TEST_CASE("an expired slot cannot be claimed", "[http_upload]") {
  UploadLedger ledger(smallLimits());
  auto slot = slotFor("romeo", "a", 10);
  REQUIRE_FALSE(ledger.open(slot, t0));
  Slot claimed;
  CHECK(ledger.claim("a", t0 + 60s, claimed) == ClaimOutcome::NoSuchSlot);
}

TEST_CASE("expiry selects files older than expire_after, a bounded number at a time",
          "[http_upload]") {
  Limits limits = smallLimits();
  limits.quota = 0;
  UploadLedger ledger(limits);
  store(ledger, "romeo", "a", 1, t0);
  store(ledger, "romeo", "b", 1, t0 + 1min);
  store(ledger, "juliet", "c", 1, t0 + 2min);
  store(ledger, "juliet", "d", 1, t0 + 30min);
  auto open = slotFor("juliet", "e", 1);
  REQUIRE_FALSE(ledger.open(open, t0 + 30min));

  CHECK(ledger.takeExpired(t0 + 59min, 10).empty());
  CHECK(ledger.stored("a", t0 + 1h) == std::nullopt);  // expired, though not swept yet

  auto first = ledger.takeExpired(t0 + 1h + 5min, 2);
  REQUIRE(first.size() == 2);
  auto second = ledger.takeExpired(t0 + 1h + 5min, 2);
  REQUIRE(second.size() == 1);
  std::vector<std::string> ids = {first[0].id, first[1].id, second[0].id};
  std::sort(ids.begin(), ids.end());
  CHECK(ids == std::vector<std::string>{"a", "b", "c"});
  CHECK(ledger.openSlots() == 0);  // the expired slot went too
  CHECK(ledger.storedFiles() == 1);
  CHECK(ledger.usage("romeo", t0 + 1h + 5min) == 0);
  CHECK(ledger.usage("juliet", t0 + 1h + 5min) == 1);
}

TEST_CASE("deleting a user takes all of their files and slots", "[http_upload]") {
  UploadLedger ledger(smallLimits());
  store(ledger, "romeo", "a", 10, t0);
  store(ledger, "juliet", "b", 10, t0);
  auto open = slotFor("romeo", "c", 10);
  REQUIRE_FALSE(ledger.open(open, t0));
  auto taken = ledger.takeUser("romeo");
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].id == "a");
  CHECK(ledger.usage("romeo", t0) == 0);
  Slot claimed;
  CHECK(ledger.claim("c", t0, claimed) == ClaimOutcome::NoSuchSlot);
  CHECK(ledger.stored("b", t0));

  SECTION("an upload under way for a deleted user cannot complete") {
    auto slot = slotFor("juliet", "d", 10);
    REQUIRE_FALSE(ledger.open(slot, t0));
    REQUIRE(ledger.claim("d", t0, claimed) == ClaimOutcome::Claimed);
    ledger.takeUser("juliet");
    CHECK_FALSE(ledger.complete(StoredFile{"d", "juliet", "f.bin", 10, "x/y", t0}));
    CHECK(ledger.storedFiles() == 0);
  }
}

TEST_CASE("files found at load count against their owner's quota", "[http_upload]") {
  UploadLedger ledger(smallLimits());
  ledger.addStored(StoredFile{"a", "romeo", "f.bin", 2000, "image/png", t0});
  CHECK(ledger.usage("romeo", t0) == 2000);
  auto slot = slotFor("romeo", "b", 600);
  CHECK(ledger.open(slot, t0 + 1min));
}

}  // namespace
}  // namespace parley::modules::http_upload
