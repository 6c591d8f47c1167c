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
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>

#include "storage/account_store.h"
#include "util/result.h"

namespace parley::storage {

class Environment;
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
};

}  // namespace parley::storage
