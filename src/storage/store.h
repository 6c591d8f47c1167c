// Storage: opens the data directory and hands out the stores; what the rest of the server sees.
//
// Callers include this header and the store interfaces (account_store.h, ...), never a backend.
//
// Adding a store, e.g. the roster:
//   1. roster_store.h: the interface, in the terms of its role (RosterStore, RosterItem), with
//      reads callable from any thread and writes completing through a done callback.
//   2. lmdb_roster_store.{h,cc}: `static Result<std::unique_ptr<LmdbRosterStore>> open(
//      Environment&, Writer&)` opens its named database once (env.openDb("roster")); keys from
//      keys.h (makeKey / makePrefix: host\0user\0contact), values via codec.h with a leading
//      version byte; plain writes as WriteBatch put/del, check-then-write through
//      WriteBatch::setApply (see LmdbAccountStore::create).
//   3. Here: a `RosterStore& roster()` accessor and a unique_ptr member; in store.cc one more
//      open line in Storage::open. Raise kMaxDbs in store.cc if the databases run out.
//
// Per-user data that is just "an ordered map from key to value for each user" (roster items,
// vCard, private XML, offline messages) needs no new store: `userStore("roster")` hands out a
// UserStore (user_store.h) backed by LMDB database "user.roster". Anonymous hosts use a
// MemoryUserStore (memory_user_store.h) instead, so nothing of theirs reaches the disk.
// `removeUser` deletes an account together with everything every user store holds for it.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "storage/account_store.h"
#include "storage/user_store.h"
#include "util/result.h"

namespace parley::storage {

class Environment;
class LmdbUserStore;
class Writer;

struct StorageOptions {
  size_t map_size = size_t{1} << 30;  // upper bound of the database file
};

// Owns the LMDB environment (data_dir/db/), the writer thread and the stores. Thread-safe; lives
// for the whole process. Destroying it applies every queued write first.
class Storage {
 public:
  // Creates data_dir (mode 0700) if missing.
  static Result<std::unique_ptr<Storage>> open(const std::filesystem::path& data_dir,
                                               const StorageOptions& options = {});
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  AccountStore& accounts() { return *accounts_; }

  // The per-user store `name` (LMDB database "user.<name>"), opened and created on first use and
  // then cached: every call with that name returns the same object, which lives as long as the
  // Storage. Any thread. `name` must match [a-z0-9_]+ (checked: a bad name is a bug). The first
  // call for a name runs a write transaction of its own, so call it when a module loads, not per
  // stanza. Aborts if the database cannot be created (MDB_MAP_FULL, I/O error): it is logged.
  UserStore& userStore(std::string_view name);

  // Deletes the account host/user and, in the same transaction, everything every user store
  // holds for that user: the stores opened so far and those that exist on disk but were not
  // opened by this process. All or nothing: NotFound (and nothing deleted) if there is no
  // account; Storage if the write failed. `done` runs on the writer thread, as for accounts().
  // Memory stores are not touched: their owner clears them.
  void removeUser(std::string_view host, std::string_view user,
                  std::function<void(Result<void, AccountError>)> done);

  // The LMDB backend itself, for stores that live outside src/storage.
  Environment& environment() { return *env_; }
  Writer& writer() { return *writer_; }

  // Writes out everything queued and stops the writer; later writes fail. The destructor does
  // this too; call it early to flush storage while the rest of the server shuts down.
  void close();

 private:
  Storage() = default;

  // Declared in the order they are built; the destructor stops the writer before the stores and
  // the environment go away.
  std::unique_ptr<Environment> env_;
  std::unique_ptr<Writer> writer_;
  std::unique_ptr<AccountStore> accounts_;

  std::mutex user_stores_mutex_;
  // guarded by user_stores_mutex_; entries are never removed, so references stay valid
  std::map<std::string, std::unique_ptr<LmdbUserStore>, std::less<>> user_stores_;
};

}  // namespace parley::storage
