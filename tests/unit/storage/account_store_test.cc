// Tests for the LMDB account store through the Storage facade.
#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "storage/account_codec.h"
#include "storage/keys.h"
#include "storage/lmdb_account_store.h"
#include "storage/lmdb_env.h"
#include "storage/store.h"
#include "storage/writer.h"
#include "temp_dir.h"

namespace parley::storage {
namespace {

using namespace std::string_literals;
using testing::TempDir;

AccountRecord makeRecord(char fill, int64_t created = 1700000000) {
  AccountRecord record;
  record.sha1 = {std::string(16, fill), 4096, std::string(20, fill), std::string(20, fill)};
  record.sha256 = {std::string(16, fill), 4096, std::string(32, fill), std::string(32, fill)};
  record.created_unix = created;
  return record;
}

// writeSync, requiring success (and showing the error if not).
void requireWrite(Writer& writer, WriteBatch batch) {
  auto written = writer.writeSync(std::move(batch));
  INFO((written ? std::string() : written.error().message));
  REQUIRE(written.hasValue());
}

std::unique_ptr<Storage> openStorage(const TempDir& dir) {
  auto storage = Storage::open(dir.path() / "var");
  REQUIRE(storage.hasValue());
  return std::move(*storage);
}

// The store's asynchronous writes, waited for. Also checks that done runs on the writer thread.
using Outcome = Result<void, AccountError>;
template <class Call>
Outcome wait(Call&& call) {
  std::promise<Outcome> promise;
  auto caller = std::this_thread::get_id();
  call([&promise, caller](Outcome outcome) {
    CHECK(std::this_thread::get_id() != caller);
    promise.set_value(outcome);
  });
  return promise.get_future().get();
}

Outcome create(AccountStore& store, std::string_view host, std::string_view user,
               const AccountRecord& record) {
  return wait([&](auto done) { store.create(host, user, record, std::move(done)); });
}
Outcome update(AccountStore& store, std::string_view host, std::string_view user,
               const AccountRecord& record) {
  return wait([&](auto done) { store.update(host, user, record, std::move(done)); });
}
Outcome remove(AccountStore& store, std::string_view host, std::string_view user) {
  return wait([&](auto done) { store.remove(host, user, std::move(done)); });
}

bool failedWith(const Outcome& outcome, AccountError error) {
  return !outcome.hasValue() && outcome.error() == error;
}

TEST_CASE("accounts: create, get, exists, users, update, remove", "[storage][accounts]") {
  TempDir dir;
  auto storage = openStorage(dir);
  AccountStore& accounts = storage->accounts();

  CHECK_FALSE(accounts.exists("example.com", "ann"));
  CHECK(accounts.get("example.com", "ann") == std::nullopt);
  CHECK(accounts.users("example.com").empty());

  REQUIRE(create(accounts, "example.com", "ann", makeRecord('a')).hasValue());
  REQUIRE(create(accounts, "example.com", "anna", makeRecord('b')).hasValue());
  REQUIRE(create(accounts, "example.com", "an", makeRecord('c')).hasValue());
  REQUIRE(create(accounts, "example.org", "ann", makeRecord('d')).hasValue());
  REQUIRE(create(accounts, "example.com.au", "zed", makeRecord('e')).hasValue());

  CHECK(accounts.exists("example.com", "ann"));
  CHECK_FALSE(accounts.exists("example.com", "bob"));
  CHECK(accounts.get("example.com", "ann") == makeRecord('a'));
  CHECK(accounts.get("example.com", "anna") == makeRecord('b'));
  CHECK(accounts.get("example.org", "ann") == makeRecord('d'));
  CHECK(accounts.users("example.com") == std::vector<std::string>{"an", "ann", "anna"});
  CHECK(accounts.users("example.org") == std::vector<std::string>{"ann"});
  CHECK(accounts.users("example.com.au") == std::vector<std::string>{"zed"});
  CHECK(accounts.users("example") == std::vector<std::string>{});

  REQUIRE(update(accounts, "example.com", "ann", makeRecord('z', 42)).hasValue());
  CHECK(accounts.get("example.com", "ann") == makeRecord('z', 42));
  CHECK(accounts.get("example.org", "ann") == makeRecord('d'));

  REQUIRE(remove(accounts, "example.com", "ann").hasValue());
  CHECK_FALSE(accounts.exists("example.com", "ann"));
  CHECK(accounts.get("example.com", "ann") == std::nullopt);
  CHECK(accounts.exists("example.com", "anna"));
  CHECK(accounts.users("example.com") == std::vector<std::string>{"an", "anna"});

  // Removed accounts can be created again.
  REQUIRE(create(accounts, "example.com", "ann", makeRecord('n')).hasValue());
  CHECK(accounts.get("example.com", "ann") == makeRecord('n'));
}

TEST_CASE("accounts: conflicts and missing accounts", "[storage][accounts]") {
  TempDir dir;
  auto storage = openStorage(dir);
  AccountStore& accounts = storage->accounts();
  REQUIRE(create(accounts, "h", "ann", makeRecord('a')).hasValue());

  CHECK(failedWith(create(accounts, "h", "ann", makeRecord('b')), AccountError::Conflict));
  CHECK(accounts.get("h", "ann") == makeRecord('a'));  // the refused create changed nothing
  CHECK(failedWith(update(accounts, "h", "bob", makeRecord('b')), AccountError::NotFound));
  CHECK_FALSE(accounts.exists("h", "bob"));
  CHECK(failedWith(remove(accounts, "h", "bob"), AccountError::NotFound));
  CHECK(failedWith(remove(accounts, "other", "ann"), AccountError::NotFound));
  REQUIRE(remove(accounts, "h", "ann").hasValue());
  CHECK(failedWith(remove(accounts, "h", "ann"), AccountError::NotFound));
  CHECK(failedWith(update(accounts, "h", "ann", makeRecord('c')), AccountError::NotFound));
}

TEST_CASE("accounts: names that cannot be keys", "[storage][accounts]") {
  TempDir dir;
  auto storage = openStorage(dir);
  AccountStore& accounts = storage->accounts();
  struct Case {
    std::string host;
    std::string user;
  };
  auto c = GENERATE(Case{"h", ""}, Case{"", "ann"}, Case{"h", "a\0b"s}, Case{"h\0x"s, "ann"});
  CHECK(failedWith(create(accounts, c.host, c.user, makeRecord('a')), AccountError::Storage));
  CHECK(failedWith(update(accounts, c.host, c.user, makeRecord('a')), AccountError::NotFound));
  CHECK(failedWith(remove(accounts, c.host, c.user), AccountError::NotFound));
  CHECK_FALSE(accounts.exists(c.host, c.user));
  CHECK(accounts.get(c.host, c.user) == std::nullopt);
  CHECK(accounts.users("h").empty());
}

TEST_CASE("accounts: concurrent creates of one user, exactly one wins", "[storage][accounts]") {
  TempDir dir;
  auto storage = openStorage(dir);
  AccountStore& accounts = storage->accounts();
  for (int round = 0; round < 20; ++round) {
    std::string user = "user" + std::to_string(round);
    std::promise<void> go;
    std::shared_future<void> start = go.get_future().share();
    Outcome outcomes[2];
    std::thread threads[2];
    for (int t = 0; t < 2; ++t) {
      threads[t] = std::thread([&, t] {
        start.wait();
        outcomes[t] = create(accounts, "h", user, makeRecord(static_cast<char>('a' + t)));
      });
    }
    go.set_value();
    for (auto& thread : threads) thread.join();
    INFO("round " << round);
    CHECK(outcomes[0].hasValue() != outcomes[1].hasValue());
    int winner = outcomes[0].hasValue() ? 0 : 1;
    CHECK(failedWith(outcomes[1 - winner], AccountError::Conflict));
    CHECK(accounts.get("h", user) == makeRecord(static_cast<char>('a' + winner)));
  }
}

TEST_CASE("accounts: duplicate creates in one write group", "[storage][accounts]") {
  TempDir dir;
  auto storage = openStorage(dir);
  AccountStore& accounts = storage->accounts();

  // Hold the writer so that all the creates land in the same transaction.
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  WriteBatch blocker;
  blocker.setApply([&entered, released](WriteTxnView&) -> Result<void> {
    entered.set_value();
    released.wait();
    return {};
  });
  storage->writer().submit(std::move(blocker), {});
  entered.get_future().wait();

  std::atomic<int> succeeded{0};
  std::atomic<int> conflicts{0};
  std::promise<void> all_done;
  std::atomic<int> remaining{10};
  for (int i = 0; i < 10; ++i) {
    accounts.create("h", i % 2 == 0 ? "even" : "odd", makeRecord('a'), [&](Outcome outcome) {
      if (outcome) succeeded.fetch_add(1);
      if (failedWith(outcome, AccountError::Conflict)) conflicts.fetch_add(1);
      if (remaining.fetch_sub(1) == 1) all_done.set_value();
    });
  }
  release.set_value();
  all_done.get_future().wait();
  CHECK(succeeded.load() == 2);
  CHECK(conflicts.load() == 8);
  CHECK(accounts.users("h") == std::vector<std::string>{"even", "odd"});
}

TEST_CASE("accounts: survive closing and reopening the storage", "[storage][accounts]") {
  TempDir dir;
  {
    auto storage = openStorage(dir);
    REQUIRE(create(storage->accounts(), "h", "ann", makeRecord('a')).hasValue());
    REQUIRE(create(storage->accounts(), "h", "bob", makeRecord('b')).hasValue());
    // Queued without waiting: closing must still write it.
    storage->accounts().create("h", "cat", makeRecord('c'), {});
  }
  CHECK(std::filesystem::exists(dir.path() / "var" / "db" / "data.mdb"));
  auto storage = openStorage(dir);
  CHECK(storage->accounts().get("h", "ann") == makeRecord('a'));
  CHECK(storage->accounts().get("h", "bob") == makeRecord('b'));
  CHECK(storage->accounts().users("h") == std::vector<std::string>{"ann", "bob", "cat"});

  // After close() writes fail at once (done runs on the calling thread); reads still work.
  storage->close();
  std::optional<Outcome> late;
  storage->accounts().create("h", "dan", makeRecord('d'), [&](Outcome o) { late = o; });
  REQUIRE(late.has_value());
  CHECK(failedWith(*late, AccountError::Storage));
  CHECK(storage->accounts().exists("h", "ann"));
}

TEST_CASE("accounts: a corrupt record is unreadable, not fatal", "[storage][accounts]") {
  TempDir dir;
  auto storage = openStorage(dir);
  AccountStore& accounts = storage->accounts();
  auto db = storage->environment().openDb(LmdbAccountStore::kDbName);
  REQUIRE(db.hasValue());

  std::string good = encodeAccount(makeRecord('a'));
  auto value =
      GENERATE_COPY(""s, "\x01"s, "\x09garbage"s, good.substr(0, good.size() - 3), good + "!");
  WriteBatch corrupt;
  corrupt.put(*db, makeKey({"h", "ann"}), value);
  requireWrite(storage->writer(), std::move(corrupt));

  CHECK(accounts.get("h", "ann") == std::nullopt);
  CHECK(accounts.exists("h", "ann"));  // still there: it cannot be registered over
  CHECK(failedWith(create(accounts, "h", "ann", makeRecord('b')), AccountError::Conflict));
  CHECK(accounts.users("h") == std::vector<std::string>{"ann"});

  SECTION("an operator can reset it") {
    REQUIRE(update(accounts, "h", "ann", makeRecord('c')).hasValue());
    CHECK(accounts.get("h", "ann") == makeRecord('c'));
  }
  SECTION("or remove it") {
    REQUIRE(remove(accounts, "h", "ann").hasValue());
    CHECK_FALSE(accounts.exists("h", "ann"));
  }
}

}  // namespace
}  // namespace parley::storage
