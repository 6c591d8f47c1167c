// Tests for UserStore: both backends through the interface, then LMDB durability and removeUser.
#define CATCH_CONFIG_ENABLE_PAIR_STRINGMAKER
#include "storage/user_store.h"

#include <catch2/catch.hpp>
#include <future>
#include <set>
#include <thread>

#include "storage/lmdb_env.h"
#include "storage/memory_user_store.h"
#include "storage/store.h"
#include "storage/writer.h"
#include "temp_dir.h"

namespace parley::storage {
namespace {

using namespace std::string_literals;
using testing::TempDir;
using Entries = std::vector<UserStore::Entry>;
using Change = UserStore::Change;
using AccountOutcome = Result<void, AccountError>;

std::unique_ptr<Storage> openStorage(const TempDir& dir) {
  auto storage = Storage::open(dir.path() / "var");
  INFO((storage ? std::string() : storage.error().message));
  REQUIRE(storage.hasValue());
  return std::move(*storage);
}

// The backends under test, each giving a fresh, empty store.
struct LmdbBackend {
  TempDir dir;
  std::unique_ptr<Storage> storage = openStorage(dir);
  UserStore& store() { return storage->userStore("test"); }
};

struct MemoryBackend {
  MemoryUserStore memory;
  UserStore& store() { return memory; }
};

// An asynchronous write, waited for: `call` gets the done callback, R is what done receives.
template <class R, class Call>
R wait(Call&& call) {
  auto promise = std::make_shared<std::promise<R>>();
  auto future = promise->get_future();
  call([promise](R result) { promise->set_value(std::move(result)); });
  return future.get();
}

std::string message(const Result<void>& result) {
  return result ? std::string("ok") : result.error().message;
}

Result<void> put(UserStore& store, std::string_view host, std::string_view user,
                 std::string_view key, std::string value) {
  return wait<Result<void>>([&](auto done) { store.put(host, user, key, std::move(value), done); });
}
Result<void> remove(UserStore& store, std::string_view host, std::string_view user,
                    std::string_view key) {
  return wait<Result<void>>([&](auto done) { store.remove(host, user, key, done); });
}
Result<void> apply(UserStore& store, std::string_view host, std::string_view user,
                   std::vector<Change> changes) {
  return wait<Result<void>>([&](auto done) { store.apply(host, user, std::move(changes), done); });
}
Result<std::string> append(UserStore& store, std::string_view host, std::string_view user,
                           std::string value) {
  return wait<Result<std::string>>(
      [&](auto done) { store.append(host, user, std::move(value), done); });
}
Result<void> removeAll(UserStore& store, std::string_view host, std::string_view user) {
  return wait<Result<void>>([&](auto done) { store.removeAll(host, user, done); });
}

void requirePut(UserStore& store, std::string_view host, std::string_view user,
                std::string_view key, std::string value) {
  auto written = put(store, host, user, key, std::move(value));
  INFO(message(written));
  REQUIRE(written.hasValue());
}

AccountOutcome createAccount(Storage& storage, std::string_view host, std::string_view user) {
  AccountRecord record;
  record.sha256 = {"salt", 4096, std::string(32, 's'), std::string(32, 'k')};
  return wait<AccountOutcome>(
      [&](auto done) { storage.accounts().create(host, user, record, done); });
}

AccountOutcome removeUser(Storage& storage, std::string_view host, std::string_view user) {
  return wait<AccountOutcome>([&](auto done) { storage.removeUser(host, user, done); });
}

}  // namespace

TEMPLATE_TEST_CASE("user store: put, get, list, count, remove", "[storage][user_store]",
                   LmdbBackend, MemoryBackend) {
  TestType backend;
  UserStore& store = backend.store();

  CHECK(store.get("h", "ann", "k") == std::nullopt);
  CHECK(store.list("h", "ann").empty());
  CHECK(store.count("h", "ann") == 0);

  // Inserted out of order; listed bytewise.
  struct Case {
    std::string key;
    std::string value;
  };
  const std::vector<Case> cases = {{"b", "2"},
                                   {"a", "1"},
                                   {"ab", "3"},
                                   {"\xff"s, "ff"},
                                   {"A", "upper"},
                                   {"", "empty key"},
                                   {"c\0d"s, "nul inside"},
                                   {"\0"s, "just nul"},
                                   {"v", ""}};
  for (const Case& c : cases) requirePut(store, "h", "ann", c.key, c.value);

  for (const Case& c : cases) {
    INFO("key " << c.key);
    CHECK(store.get("h", "ann", c.key) == c.value);
  }
  CHECK(store.list("h", "ann") == Entries{{"", "empty key"},
                                          {"\0"s, "just nul"},
                                          {"A", "upper"},
                                          {"a", "1"},
                                          {"ab", "3"},
                                          {"b", "2"},
                                          {"c\0d"s, "nul inside"},
                                          {"v", ""},
                                          {"\xff"s, "ff"}});
  CHECK(store.count("h", "ann") == cases.size());
  CHECK(store.get("h", "ann", "c") == std::nullopt);
  CHECK(store.get("h", "ann", "c\0"s) == std::nullopt);

  // Overwrite, then remove (removing what is absent is not an error).
  requirePut(store, "h", "ann", "a", "one");
  CHECK(store.get("h", "ann", "a") == "one");
  CHECK(remove(store, "h", "ann", "a").hasValue());
  CHECK(remove(store, "h", "ann", "a").hasValue());
  CHECK(remove(store, "h", "ann", "never").hasValue());
  CHECK(store.get("h", "ann", "a") == std::nullopt);
  CHECK(store.count("h", "ann") == cases.size() - 1);
}

TEMPLATE_TEST_CASE("user store: users and hosts do not see each other", "[storage][user_store]",
                   LmdbBackend, MemoryBackend) {
  TestType backend;
  UserStore& store = backend.store();
  struct Owner {
    std::string host;
    std::string user;
  };
  // Every pair here is a prefix of another, with and without the delimiter in the way.
  const std::vector<Owner> owners = {{"h", "ann"},     {"h", "anna"},    {"h", "an"},
                                     {"hh", "ann"},    {"h.com", "ann"}, {"h", "ann\xff"s},
                                     {"h", "ann\x01"s}};
  for (const Owner& o : owners) {
    requirePut(store, o.host, o.user, "k", o.host + "/" + o.user);
    requirePut(store, o.host, o.user, "\0\xff"s, "x");
  }
  for (const Owner& o : owners) {
    INFO(o.user << "@" << o.host);
    CHECK(store.count(o.host, o.user) == 2);
    CHECK(store.list(o.host, o.user) == Entries{{"\0\xff"s, "x"}, {"k", o.host + "/" + o.user}});
  }
  // ann's key "a\0k" must not be anna's "k" seen through a shorter prefix.
  requirePut(store, "h", "ann", "a\0k"s, "mine");
  CHECK(store.get("h", "an", "n\0a\0k"s) == std::nullopt);
  CHECK(store.get("h", "anna", "k") == "h/anna");

  REQUIRE(removeAll(store, "h", "ann").hasValue());
  CHECK(store.count("h", "ann") == 0);
  CHECK(store.list("h", "ann").empty());
  for (const Owner& o : owners) {
    if (o.host == "h" && o.user == "ann") continue;
    INFO(o.user << "@" << o.host);
    CHECK(store.count(o.host, o.user) == 2);
  }
  CHECK(removeAll(store, "h", "nobody").hasValue());
}

TEMPLATE_TEST_CASE("user store: apply is all or nothing", "[storage][user_store]", LmdbBackend,
                   MemoryBackend) {
  TestType backend;
  UserStore& store = backend.store();
  requirePut(store, "h", "ann", "keep", "k");
  requirePut(store, "h", "ann", "drop", "d");

  REQUIRE(apply(store, "h", "ann",
                {{"new", "n"}, {"drop", std::nullopt}, {"keep", "k2"}, {"absent", std::nullopt}})
              .hasValue());
  CHECK(store.list("h", "ann") == Entries{{"keep", "k2"}, {"new", "n"}});

  // Later changes of one batch win over earlier ones.
  REQUIRE(apply(store, "h", "ann", {{"x", "1"}, {"x", std::nullopt}, {"y", "1"}, {"y", "2"}})
              .hasValue());
  CHECK(store.get("h", "ann", "x") == std::nullopt);
  CHECK(store.get("h", "ann", "y") == "2");

  // A key too long to store fails the whole batch; nothing before it lands.
  auto refused = apply(store, "h", "ann",
                       {{"keep", "changed"}, {"new", std::nullopt}, {std::string(600, 'k'), "v"}});
  CHECK_FALSE(refused.hasValue());
  CHECK(store.list("h", "ann") == Entries{{"keep", "k2"}, {"new", "n"}, {"y", "2"}});

  CHECK(apply(store, "h", "ann", {}).hasValue());
  CHECK(store.count("h", "ann") == 3);
}

TEMPLATE_TEST_CASE("user store: append keys sort after every key", "[storage][user_store]",
                   LmdbBackend, MemoryBackend) {
  TestType backend;
  UserStore& store = backend.store();

  std::vector<std::string> keys;
  for (int i = 0; i < 5; ++i) {
    auto key = append(store, "h", "ann", "m" + std::to_string(i));
    REQUIRE(key.hasValue());
    CHECK(key->size() == 8);
    keys.push_back(*key);
  }
  CHECK(keys[0] == "\0\0\0\0\0\0\0\x01"s);
  CHECK(keys[4] == "\0\0\0\0\0\0\0\x05"s);
  Entries listed = store.list("h", "ann");
  REQUIRE(listed.size() == 5);
  for (size_t i = 0; i < 5; ++i) {
    CHECK(listed[i].first == keys[i]);
    CHECK(listed[i].second == "m" + std::to_string(i));
  }
  // Another user's queue is counted on its own, and removing entries leaves later ones in place.
  CHECK(append(store, "h", "anna", "x").value() == "\0\0\0\0\0\0\0\x01"s);
  REQUIRE(remove(store, "h", "ann", keys[4]).hasValue());
  CHECK(append(store, "h", "ann", "m5").value() == keys[4]);  // follows the last key left

  // After keys of other shapes, append still sorts last.
  struct Case {
    std::string last;      // the user's greatest key before the append
    std::string expected;  // the key append picks
  };
  auto c =
      GENERATE(Case{"b", "b\0\0\0\0\0\0\x01"s}, Case{"\xff"s, "\xff\0\0\0\0\0\0\x01"s},
               Case{"abcdefghij", "abcdefgi"}, Case{"\0\0\0\0\0\0\0\xff"s, "\0\0\0\0\0\0\x01\0"s},
               Case{"\x01\xff\xff\xff\xff\xff\xff\xff"s, "\x02\0\0\0\0\0\0\0"s});
  REQUIRE(removeAll(store, "h", "bob").hasValue());
  requirePut(store, "h", "bob", "\0"s, "low");
  requirePut(store, "h", "bob", c.last, "last");
  auto key = append(store, "h", "bob", "new");
  REQUIRE(key.hasValue());
  CHECK(*key == c.expected);
  CHECK(store.list("h", "bob").back() == UserStore::Entry{c.expected, "new"});

  // No 8-byte counter sorts after eight 0xff bytes: an error, and nothing stored.
  requirePut(store, "h", "zed", std::string(8, '\xff'), "end");
  CHECK_FALSE(append(store, "h", "zed", "lost").hasValue());
  CHECK(store.count("h", "zed") == 1);
}

TEMPLATE_TEST_CASE("user store: concurrent appends never collide", "[storage][user_store]",
                   LmdbBackend, MemoryBackend) {
  TestType backend;
  UserStore& store = backend.store();
  constexpr int kThreads = 4;
  constexpr int kAppends = 200;

  std::promise<void> go;
  std::shared_future<void> start = go.get_future().share();
  std::vector<std::vector<Result<std::string>>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.wait();
      // Submit them all, then wait, so that LMDB groups appends of several threads together.
      std::vector<std::future<Result<std::string>>> futures;
      for (int i = 0; i < kAppends; ++i) {
        auto promise = std::make_shared<std::promise<Result<std::string>>>();
        futures.push_back(promise->get_future());
        store.append("h", "ann", std::to_string(t) + ":" + std::to_string(i),
                     [promise](Result<std::string> key) { promise->set_value(std::move(key)); });
      }
      for (auto& future : futures) results[static_cast<size_t>(t)].push_back(future.get());
    });
  }
  go.set_value();
  for (auto& thread : threads) thread.join();

  std::set<std::string> distinct;
  for (int t = 0; t < kThreads; ++t) {
    const auto& mine = results[static_cast<size_t>(t)];
    for (size_t i = 0; i < mine.size(); ++i) {
      REQUIRE(mine[i].hasValue());
      distinct.insert(*mine[i]);
      if (i > 0) CHECK(*mine[i - 1] < *mine[i]);  // each thread's appends in its own order
    }
  }
  CHECK(distinct.size() == kThreads * kAppends);

  Entries listed = store.list("h", "ann");
  REQUIRE(listed.size() == kThreads * kAppends);
  std::vector<int> next(kThreads, 0);
  for (const auto& [key, value] : listed) {
    auto colon = value.find(':');
    int t = std::stoi(value.substr(0, colon));
    int i = std::stoi(value.substr(colon + 1));
    CHECK(i == next[static_cast<size_t>(t)]++);  // listing order keeps each thread's order
    CHECK(key == *results[static_cast<size_t>(t)][static_cast<size_t>(i)]);
  }
}

TEMPLATE_TEST_CASE("user store: large values", "[storage][user_store]", LmdbBackend,
                   MemoryBackend) {
  TestType backend;
  UserStore& store = backend.store();
  std::string big(size_t{1} << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + i / 251);
  requirePut(store, "h", "ann", "big", big);
  CHECK(store.get("h", "ann", "big") == big);
  auto key = append(store, "h", "ann", big);
  REQUIRE(key.hasValue());
  CHECK(store.get("h", "ann", *key) == big);
  CHECK(store.list("h", "ann").at(0).second == big);
}

TEMPLATE_TEST_CASE("user store: names and keys that cannot be stored", "[storage][user_store]",
                   LmdbBackend, MemoryBackend) {
  TestType backend;
  UserStore& store = backend.store();
  struct Case {
    std::string host;
    std::string user;
  };
  auto c = GENERATE(Case{"h", ""}, Case{"", "ann"}, Case{"h", "a\0b"s}, Case{"h\0x"s, "ann"});
  CHECK_FALSE(put(store, c.host, c.user, "k", "v").hasValue());
  CHECK_FALSE(remove(store, c.host, c.user, "k").hasValue());
  CHECK_FALSE(apply(store, c.host, c.user, {{"k", "v"}}).hasValue());
  CHECK_FALSE(append(store, c.host, c.user, "v").hasValue());
  CHECK_FALSE(removeAll(store, c.host, c.user).hasValue());
  CHECK(store.get(c.host, c.user, "k") == std::nullopt);
  CHECK(store.list(c.host, c.user).empty());
  CHECK(store.count(c.host, c.user) == 0);
  // "a\0b"@h must not have written into a's entries either.
  CHECK(store.list("h", "a").empty());

  // host\0user\0key must fit LMDB's key size (511 bytes).
  const size_t room = 511 - "h\0ann\0"s.size();
  CHECK(put(store, "h", "ann", std::string(room, 'k'), "fits").hasValue());
  CHECK(store.get("h", "ann", std::string(room, 'k')) == "fits");
  CHECK_FALSE(put(store, "h", "ann", std::string(room + 1, 'k'), "too long").hasValue());
  CHECK(store.get("h", "ann", std::string(room + 1, 'k')) == std::nullopt);
  CHECK(remove(store, "h", "ann", std::string(room + 1, 'k')).hasValue());  // absent: no error
  CHECK(store.count("h", "ann") == 1);
}

TEST_CASE("user store: writes complete on the writer thread (LMDB), at once (memory)",
          "[storage][user_store]") {
  auto caller = std::this_thread::get_id();
  MemoryBackend memory;
  bool called = false;
  memory.store().put("h", "ann", "k", "v", [&](Result<void> result) {
    CHECK(result.hasValue());
    CHECK(std::this_thread::get_id() == caller);
    called = true;
  });
  CHECK(called);  // before put returned

  LmdbBackend lmdb;
  auto on_writer = wait<bool>([&](auto done) {
    lmdb.store().put("h", "ann", "k", "v",
                     [done, caller](Result<void>) { done(std::this_thread::get_id() != caller); });
  });
  CHECK(on_writer);
}

TEST_CASE("user store: LMDB stores are cached, separate and durable", "[storage][user_store]") {
  TempDir dir;
  {
    auto storage = openStorage(dir);
    UserStore& roster = storage->userStore("roster");
    CHECK(&storage->userStore("roster") == &roster);
    UserStore& vcard = storage->userStore("vcard_2");
    CHECK(&vcard != &roster);
    requirePut(roster, "h", "ann", "bob@h", "friend");
    requirePut(vcard, "h", "ann", "", "<vCard/>");
    CHECK(append(roster, "h", "ann", "queued").value() == "bob@h\0\0\x01"s);
    CHECK(vcard.get("h", "ann", "bob@h") == std::nullopt);  // stores do not share entries
    storage->close();
  }
  auto storage = openStorage(dir);
  CHECK(storage->userStore("roster").list("h", "ann") ==
        Entries{{"bob@h", "friend"}, {"bob@h\0\0\x01"s, "queued"}});
  CHECK(storage->userStore("vcard_2").get("h", "ann", "") == "<vCard/>");
  CHECK(storage->userStore("fresh").count("h", "ann") == 0);
}

TEST_CASE("user store: values of an unknown version are skipped", "[storage][user_store]") {
  TempDir dir;
  auto storage = openStorage(dir);
  UserStore& store = storage->userStore("test");
  requirePut(store, "h", "ann", "good", "v");
  auto db = storage->environment().openDb("user.test");
  REQUIRE(db.hasValue());
  WriteBatch batch;
  batch.put(*db, "h\0ann\0bad"s, "\x7fnot ours"s);
  batch.put(*db, "h\0ann\0empty"s, "");
  REQUIRE(storage->writer().writeSync(std::move(batch)).hasValue());

  CHECK(store.get("h", "ann", "bad") == std::nullopt);
  CHECK(store.get("h", "ann", "empty") == std::nullopt);
  CHECK(store.get("h", "ann", "good") == "v");
  CHECK(store.list("h", "ann") == Entries{{"good", "v"}});
  CHECK(store.count("h", "ann") == 3);  // counts what is there, readable or not
}

TEST_CASE("storage: removeUser deletes the account and its data everywhere",
          "[storage][user_store]") {
  TempDir dir;
  {
    auto storage = openStorage(dir);
    for (const char* user : {"ann", "anna"}) {
      REQUIRE(createAccount(*storage, "h", user).hasValue());
      for (const char* name : {"roster", "vcard", "offline"}) {
        requirePut(storage->userStore(name), "h", user, "k", user);
        requirePut(storage->userStore(name), "h", user, "\xff"s, user);
      }
    }
    REQUIRE(createAccount(*storage, "other", "ann").hasValue());
    requirePut(storage->userStore("roster"), "other", "ann", "k", "other");
    storage->close();
  }

  auto storage = openStorage(dir);
  // Only roster is opened in this process; vcard and offline exist on disk alone.
  UserStore& roster = storage->userStore("roster");
  REQUIRE(roster.count("h", "ann") == 2);

  REQUIRE(removeUser(*storage, "h", "ann").hasValue());
  CHECK_FALSE(storage->accounts().exists("h", "ann"));
  CHECK(roster.count("h", "ann") == 0);
  CHECK(storage->userStore("vcard").count("h", "ann") == 0);
  CHECK(storage->userStore("offline").count("h", "ann") == 0);
  // Neighbours keep everything.
  CHECK(storage->accounts().exists("h", "anna"));
  CHECK(storage->accounts().exists("other", "ann"));
  for (const char* name : {"roster", "vcard", "offline"}) {
    INFO(name);
    CHECK(storage->userStore(name).list("h", "anna") == Entries{{"k", "anna"}, {"\xff"s, "anna"}});
  }
  CHECK(roster.get("other", "ann", "k") == "other");

  // Stores opened after the removal are fine too, and a new account starts empty.
  REQUIRE(createAccount(*storage, "h", "ann").hasValue());
  CHECK(storage->userStore("vcard").list("h", "ann").empty());
}

TEST_CASE("storage: removeUser refuses, and keeps the data, when there is no account",
          "[storage][user_store]") {
  TempDir dir;
  auto storage = openStorage(dir);
  UserStore& roster = storage->userStore("roster");
  requirePut(roster, "h", "ghost", "k", "v");  // data without an account

  struct Case {
    std::string host;
    std::string user;
  };
  auto c = GENERATE(Case{"h", "ghost"}, Case{"h", "nobody"}, Case{"h", ""}, Case{"", "ghost"},
                    Case{"h", "gh\0ost"s});
  auto removed = removeUser(*storage, c.host, c.user);
  REQUIRE_FALSE(removed.hasValue());
  CHECK(removed.error() == AccountError::NotFound);
  CHECK(roster.get("h", "ghost", "k") == "v");
}

TEST_CASE("storage: removeUser of a user with no data", "[storage][user_store]") {
  TempDir dir;
  auto storage = openStorage(dir);
  REQUIRE(createAccount(*storage, "h", "ann").hasValue());
  REQUIRE(removeUser(*storage, "h", "ann").hasValue());
  CHECK_FALSE(storage->accounts().exists("h", "ann"));
  auto again = removeUser(*storage, "h", "ann");
  REQUIRE_FALSE(again.hasValue());
  CHECK(again.error() == AccountError::NotFound);
}

}  // namespace parley::storage
