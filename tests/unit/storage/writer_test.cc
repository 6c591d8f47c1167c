// Tests for the LMDB wrappers and the group-committing storage writer.
#include "storage/writer.h"

#include <sys/stat.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <future>
#include <thread>
#include <vector>

#include "storage/keys.h"
#include "storage/lmdb_env.h"
#include "temp_dir.h"

namespace parley::storage {
namespace {

using namespace std::string_literals;
using testing::TempDir;

struct Fixture {
  explicit Fixture(size_t map_size = Environment::kDefaultMapSize) {
    auto opened = Environment::open(dir.path() / "db", map_size);
    REQUIRE(opened.hasValue());
    env = std::move(*opened);
    auto started = Writer::start(*env);
    REQUIRE(started.hasValue());
    writer = std::move(*started);
    auto opened_db = env->openDb("test");
    REQUIRE(opened_db.hasValue());
    db = *opened_db;
  }

  std::optional<std::string> read(std::string_view key) const {
    auto txn = env->beginRead();
    REQUIRE(txn.hasValue());
    auto value = txn->get(db, key);
    REQUIRE(value.hasValue());
    if (!value->has_value()) return std::nullopt;
    return std::string(**value);
  }

  std::vector<std::string> keys(std::string_view prefix = {}) const {
    std::vector<std::string> out;
    auto txn = env->beginRead();
    REQUIRE(txn.hasValue());
    auto scanned = txn->forEachWithPrefix(db, prefix, [&](const Entry& entry) {
      out.emplace_back(entry.key);
      return true;
    });
    REQUIRE(scanned.hasValue());
    return out;
  }

  TempDir dir;
  std::unique_ptr<Environment> env;
  std::unique_ptr<Writer> writer;
  Db db;
};

// writeSync, requiring success (and showing the error if not).
void requireWrite(Writer& writer, WriteBatch batch) {
  auto written = writer.writeSync(std::move(batch));
  INFO((written ? std::string() : written.error().message));
  REQUIRE(written.hasValue());
}

WriteBatch putBatch(Db db, std::string_view key, std::string_view value) {
  WriteBatch batch;
  batch.put(db, key, value);
  return batch;
}

// Submits `batches` so that they are written as one group: a first batch holds the writer
// inside its transaction until all of them are queued. Returns each batch's outcome.
std::vector<Result<void>> writeAsOneGroup(Writer& writer, std::vector<WriteBatch> batches) {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  WriteBatch blocker;
  blocker.setApply([&entered, released](WriteTxnView&) -> Result<void> {
    entered.set_value();
    released.wait();
    return {};
  });
  writer.submit(std::move(blocker), {});
  entered.get_future().wait();

  const uint64_t transactions_before = writer.stats().transactions;
  std::vector<std::promise<Result<void>>> outcomes(batches.size());
  std::vector<std::future<Result<void>>> futures;
  for (size_t i = 0; i < batches.size(); ++i) {
    futures.push_back(outcomes[i].get_future());
    writer.submit(std::move(batches[i]),
                  [&outcome = outcomes[i]](Result<void> r) { outcome.set_value(std::move(r)); });
  }
  release.set_value();
  std::vector<Result<void>> results;
  results.reserve(futures.size());
  for (auto& future : futures) results.push_back(future.get());
  // The blocker's transaction, then at least one more for the group.
  CHECK(writer.stats().transactions >= transactions_before + 2);
  return results;
}

TEST_CASE("environment: created private, reports errors", "[storage][lmdb]") {
  TempDir dir;
  auto env = Environment::open(dir.path() / "a" / "b" / "db");
  REQUIRE(env.hasValue());
  struct stat info {};
  REQUIRE(::stat((dir.path() / "a" / "b" / "db").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0700);
  REQUIRE(::stat((dir.path() / "a").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0700);
  CHECK(std::filesystem::exists(dir.path() / "a" / "b" / "db" / "data.mdb"));

  SECTION("the same database name yields the same handle") {
    auto first = (*env)->openDb("one");
    auto second = (*env)->openDb("two");
    auto again = (*env)->openDb("one");
    REQUIRE((first.hasValue() && second.hasValue() && again.hasValue()));
    CHECK(first->dbi == again->dbi);
    CHECK(first->dbi != second->dbi);
  }
  SECTION("a path that is a file cannot be opened") {
    std::ofstream(dir.path() / "file") << "not a directory";
    auto bad = Environment::open(dir.path() / "file");
    REQUIRE_FALSE(bad.hasValue());
    CHECK(bad.error().message.find("file") != std::string::npos);
  }
}

TEST_CASE("writer: put, get, delete", "[storage][writer]") {
  Fixture f;
  requireWrite(*f.writer, putBatch(f.db, "k1", "v1"));
  CHECK(f.read("k1") == "v1");
  CHECK(f.read("k2") == std::nullopt);

  WriteBatch batch;
  batch.put(f.db, "k2", "v2"s);
  batch.put(f.db, "k1", "v1b");  // later operations win
  batch.del(f.db, "absent");     // deleting what is not there is fine
  batch.put(f.db, "bin\0key"s, "\0\xff"s);
  requireWrite(*f.writer, std::move(batch));
  CHECK(f.read("k1") == "v1b");
  CHECK(f.read("k2") == "v2");
  CHECK(f.read("bin\0key"s) == "\0\xff"s);

  WriteBatch removal;
  removal.del(f.db, "k1");
  requireWrite(*f.writer, std::move(removal));
  CHECK(f.read("k1") == std::nullopt);
  CHECK(f.read("k2") == "v2");

  // A key too long for LMDB can be looked up (it is absent) but not written.
  std::string long_key(f.env->maxKeySize() + 1, 'x');
  CHECK(f.read(long_key) == std::nullopt);
  auto too_long = f.writer->writeSync(putBatch(f.db, long_key, "v"));
  REQUIRE_FALSE(too_long.hasValue());
  CHECK(too_long.error().message.find("MDB_BAD_VALSIZE") != std::string::npos);
}

TEST_CASE("writer: delete-prefix removes exactly the delimited prefix", "[storage][writer]") {
  Fixture f;
  WriteBatch setup;
  // Enough keys to span many pages, interleaved with neighbours on both sides.
  for (int i = 0; i < 3000; ++i) {
    std::string n = std::to_string(i);
    setup.put(f.db, makeKey({"h", "ann", n}), "v");
    setup.put(f.db, makeKey({"h", "anna", n}), "v");
    setup.put(f.db, makeKey({"h", "an", n}), "v");
  }
  setup.put(f.db, makeKey({"h", "ann"}), "account");  // no trailing delimiter: not "under" ann
  setup.put(f.db, makeKey({"other", "ann", "1"}), "v");
  requireWrite(*f.writer, std::move(setup));
  REQUIRE(f.keys(makePrefix({"h", "ann"})).size() == 3000);

  WriteBatch removal;
  removal.delPrefix(f.db, makePrefix({"h", "ann"}));
  requireWrite(*f.writer, std::move(removal));
  CHECK(f.keys(makePrefix({"h", "ann"})).empty());
  CHECK(f.keys(makePrefix({"h", "anna"})).size() == 3000);
  CHECK(f.keys(makePrefix({"h", "an"})).size() == 3000);
  CHECK(f.read(makeKey({"h", "ann"})) == "account");
  CHECK(f.read(makeKey({"other", "ann", "1"})) == "v");
  CHECK(f.keys().size() == 6002);

  SECTION("the view reports how many keys went") {
    WriteBatch counted;
    size_t deleted = 0;
    counted.setApply([&, db = f.db](WriteTxnView& txn) -> Result<void> {
      auto n = txn.delPrefix(db, makePrefix({"h", "an"}));
      if (!n) return Unexpected(n.error());
      deleted = *n;
      return {};
    });
    requireWrite(*f.writer, std::move(counted));
    CHECK(deleted == 3000);
  }
}

TEST_CASE("writer: 1000 batches from 4 threads, every done exactly once", "[storage][writer]") {
  Fixture f;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 250;
  constexpr size_t kTotal = size_t{kThreads} * kPerThread;
  std::vector<std::atomic<int>> calls(kTotal);
  std::atomic<int> failures{0};
  std::promise<void> all_done;
  std::atomic<size_t> remaining{kTotal};

  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        int id = t * kPerThread + i;
        std::string key = "t" + std::to_string(t) + "-" + std::to_string(i);
        f.writer->submit(putBatch(f.db, key, std::to_string(id)), [&, id](const Result<void>& r) {
          if (!r) failures.fetch_add(1);
          calls[id].fetch_add(1);
          if (remaining.fetch_sub(1) == 1) all_done.set_value();
        });
      }
    });
  }
  for (auto& thread : threads) thread.join();
  all_done.get_future().wait();

  CHECK(failures.load() == 0);
  for (int id = 0; id < kThreads * kPerThread; ++id) {
    INFO("batch " << id);
    CHECK(calls[id].load() == 1);
  }
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      CHECK(f.read("t" + std::to_string(t) + "-" + std::to_string(i)) ==
            std::to_string(t * kPerThread + i));
    }
  }
  auto stats = f.writer->stats();
  CHECK(stats.batches == kTotal);
  CHECK(stats.transactions <= stats.batches);
}

TEST_CASE("writer: queued batches share one transaction", "[storage][writer]") {
  Fixture f;
  std::vector<WriteBatch> batches;
  batches.reserve(100);
  for (int i = 0; i < 100; ++i) batches.push_back(putBatch(f.db, "k" + std::to_string(i), "v"));
  const uint64_t before = f.writer->stats().transactions;
  auto results = writeAsOneGroup(*f.writer, std::move(batches));
  for (auto& r : results) CHECK(r.hasValue());
  // One for the blocker, one for the hundred.
  CHECK(f.writer->stats().transactions == before + 2);
  CHECK(f.keys().size() == 100);
}

TEST_CASE("writer: a failing batch does not fail its group", "[storage][writer]") {
  // A 1 MiB map: a 4 MiB value cannot fit.
  Fixture f(size_t{1} << 20);
  std::vector<WriteBatch> batches;
  batches.push_back(putBatch(f.db, "a", "1"));
  batches.push_back(putBatch(f.db, "huge", std::string(size_t{4} << 20, 'x')));
  batches.push_back(putBatch(f.db, "c", "3"));
  batches.push_back(putBatch(f.db, std::string(f.env->maxKeySize() + 1, 'k'), "bad key"));
  batches.push_back(putBatch(f.db, "e", "5"));
  auto results = writeAsOneGroup(*f.writer, std::move(batches));
  REQUIRE(results.size() == 5);
  CHECK(results[0].hasValue());
  REQUIRE_FALSE(results[1].hasValue());
  CHECK(results[1].error().message.find("MDB_MAP_FULL") != std::string::npos);
  CHECK(results[2].hasValue());
  REQUIRE_FALSE(results[3].hasValue());
  CHECK(results[3].error().message.find("MDB_BAD_VALSIZE") != std::string::npos);
  CHECK(results[4].hasValue());
  CHECK(f.keys() == std::vector<std::string>{"a", "c", "e"});

  // The writer carries on afterwards.
  CHECK(f.writer->writeSync(putBatch(f.db, "f", "6")).hasValue());
  CHECK(f.read("f") == "6");
}

TEST_CASE("writer: apply callbacks check and write atomically", "[storage][writer]") {
  Fixture f;
  requireWrite(*f.writer, putBatch(f.db, "taken", "x"));

  // Puts `key` and `key`-side unless `key` exists: the side write must vanish on refusal.
  auto create_if_absent = [&f](const std::string& key) {
    WriteBatch batch;
    batch.setApply([db = f.db, key](WriteTxnView& txn) -> Result<void> {
      auto side = txn.put(db, key + "-side", "1");
      if (!side) return side;
      auto existing = txn.get(db, key);
      if (!existing) return Unexpected(existing.error());
      if (existing->has_value()) return fail("exists");
      return txn.put(db, key, "new");
    });
    batch.put(f.db, key + "-plain", "1");  // plain operations run after apply, only if it succeeds
    return batch;
  };

  std::vector<WriteBatch> batches;
  batches.push_back(create_if_absent("fresh"));
  batches.push_back(create_if_absent("taken"));
  batches.push_back(create_if_absent("fresh"));  // sees the first one's write in the same group
  batches.push_back(putBatch(f.db, "plain", "p"));
  WriteBatch thrower;
  thrower.setApply([](WriteTxnView&) -> Result<void> { throw std::runtime_error("boom"); });
  batches.push_back(std::move(thrower));
  auto results = writeAsOneGroup(*f.writer, std::move(batches));

  CHECK(results[0].hasValue());
  REQUIRE_FALSE(results[1].hasValue());
  CHECK(results[1].error().message == "exists");
  REQUIRE_FALSE(results[2].hasValue());
  CHECK(results[2].error().message == "exists");
  CHECK(results[3].hasValue());
  REQUIRE_FALSE(results[4].hasValue());
  CHECK(results[4].error().message == "apply callback threw: boom");

  CHECK(f.keys() ==
        std::vector<std::string>{"fresh", "fresh-plain", "fresh-side", "plain", "taken"});
  CHECK(f.read("taken") == "x");
}

TEST_CASE("writer: stop drains the queue, later submits fail at once", "[storage][writer]") {
  Fixture f;
  std::atomic<int> succeeded{0};
  for (int i = 0; i < 200; ++i) {
    f.writer->submit(putBatch(f.db, "k" + std::to_string(i), "v"), [&](const Result<void>& r) {
      if (r) succeeded.fetch_add(1);
    });
  }
  f.writer->stop();
  CHECK(succeeded.load() == 200);
  CHECK(f.keys().size() == 200);

  bool called = false;
  f.writer->submit(putBatch(f.db, "late", "v"), [&](Result<void> r) {
    called = true;
    REQUIRE_FALSE(r.hasValue());
    CHECK(r.error().message == "storage writer is stopped");
  });
  CHECK(called);
  CHECK_FALSE(f.writer->writeSync(putBatch(f.db, "late", "v")).hasValue());
  f.writer->stop();  // idempotent
}

TEST_CASE("writer: data survives closing and reopening", "[storage][writer]") {
  TempDir dir;
  {
    auto env = Environment::open(dir.path());
    REQUIRE(env.hasValue());
    auto writer = Writer::start(**env);
    REQUIRE(writer.hasValue());
    auto db = (*env)->openDb("durable");
    REQUIRE(db.hasValue());
    WriteBatch batch;
    for (int i = 0; i < 50; ++i) batch.put(*db, "k" + std::to_string(i), std::to_string(i));
    requireWrite(**writer, std::move(batch));
  }
  auto env = Environment::open(dir.path());
  REQUIRE(env.hasValue());
  auto db = (*env)->openDb("durable");
  REQUIRE(db.hasValue());
  auto txn = (*env)->beginRead();
  REQUIRE(txn.hasValue());
  for (int i = 0; i < 50; ++i) {
    auto value = txn->get(*db, "k" + std::to_string(i));
    REQUIRE(value.hasValue());
    CHECK(value->value_or("missing") == std::to_string(i));
  }
}

}  // namespace
}  // namespace parley::storage
