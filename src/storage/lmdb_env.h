// RAII wrappers over LMDB: the environment, named databases, read and write transactions, cursors.
#pragma once

#include <lmdb.h>

#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"

namespace parley::storage {

// Turns an LMDB return code into an error value: "<what>: MDB_MAP_FULL: ...".
Unexpected<Error> mdbError(std::string_view what, int rc);

// A named database inside the environment. A plain handle: copy it freely, use it in any
// transaction that began after Environment::openDb returned it.
struct Db {
  MDB_dbi dbi = 0;
};

// One key/value pair seen through a transaction. Both views point into the memory map (or a
// write transaction's dirty pages) and stay valid until the transaction ends or, in a write
// transaction, until the next write.
struct Entry {
  std::string_view key;
  std::string_view value;
};

// A cursor over one database, closed on destruction. Lives no longer than its transaction.
class Cursor {
 public:
  Cursor(Cursor&& other) noexcept;
  Cursor& operator=(Cursor&&) = delete;
  ~Cursor();

  // Positions at the first key >= `key`; nullopt when there is none.
  Result<std::optional<Entry>> seek(std::string_view key);
  // Moves to the following key; nullopt at the end.
  Result<std::optional<Entry>> next();
  // Deletes the current entry; the following next() returns the entry after it.
  Result<void> erase();

 private:
  friend class TxnView;
  explicit Cursor(MDB_cursor* cursor) : cursor_(cursor) {}
  Result<std::optional<Entry>> step(std::string_view key, MDB_cursor_op op);

  MDB_cursor* cursor_;
};

// What every transaction can do: read. Does not own the transaction.
class TxnView {
 public:
  // The value stored under `key`, or nullopt. The view follows the lifetime rules of Entry.
  Result<std::optional<std::string_view>> get(Db db, std::string_view key) const;
  Result<Cursor> cursor(Db db) const;

  // Calls fn(const Entry&) for every key starting with `prefix`, in key order, until fn
  // returns false.
  template <class Fn>
  Result<void> forEachWithPrefix(Db db, std::string_view prefix, Fn&& fn) const;

  MDB_txn* handle() const { return txn_; }

 protected:
  explicit TxnView(MDB_txn* txn) : txn_(txn) {}
  MDB_txn* txn_;
};

// What the writer thread hands to WriteBatch::apply: reads plus writes, inside the group's
// write transaction. Does not own the transaction.
class WriteTxnView : public TxnView {
 public:
  explicit WriteTxnView(MDB_txn* txn) : TxnView(txn) {}

  Result<void> put(Db db, std::string_view key, std::string_view value);
  // Returns whether the key was there.
  Result<bool> del(Db db, std::string_view key);
  // Deletes every key starting with `prefix`; returns how many. Callers delimit their prefixes
  // (host\0user\0) so that deleting "ann" does not touch "anna".
  Result<size_t> delPrefix(Db db, std::string_view prefix);
};

// A read-only transaction, aborted on destruction. Cheap to begin; keep it short, since a
// long-lived reader pins old pages and makes the file grow. Not tied to a thread (MDB_NOTLS)
// but used by one thread at a time.
class ReadTxn : public TxnView {
 public:
  ReadTxn(ReadTxn&& other) noexcept : TxnView(other.txn_) { other.txn_ = nullptr; }
  ReadTxn& operator=(ReadTxn&&) = delete;
  ~ReadTxn();

 private:
  friend class Environment;
  explicit ReadTxn(MDB_txn* txn) : TxnView(txn) {}
};

// A write transaction, aborted on destruction unless committed. Only one exists at a time per
// environment (LMDB serializes writers), so everything except the Writer thread and
// Environment::openDb goes through the Writer instead of opening one.
class WriteTxn : public WriteTxnView {
 public:
  WriteTxn(WriteTxn&& other) noexcept : WriteTxnView(other.txn_) { other.txn_ = nullptr; }
  WriteTxn& operator=(WriteTxn&&) = delete;
  ~WriteTxn();

  // A nested transaction: its writes are folded into this one by commit(), or dropped by
  // abort/destruction. This transaction must not be used while the child is alive.
  Result<WriteTxn> beginChild();
  // Makes the writes durable (the one fsync of a group commit). The transaction is over either way.
  Result<void> commit();
  void abort();

 private:
  friend class Environment;
  explicit WriteTxn(MDB_txn* txn) : WriteTxnView(txn) {}
};

// The LMDB environment: one directory holding data.mdb and lock.mdb. Thread-safe.
class Environment {
 public:
  static constexpr size_t kDefaultMapSize = size_t{1} << 30;  // 1 GiB of address space

  // Opens (creating with mode 0700 if missing) the environment in `dir`. `map_size` bounds the
  // database file; writes past it fail with MDB_MAP_FULL.
  static Result<std::unique_ptr<Environment>> open(const std::filesystem::path& dir,
                                                   size_t map_size = kDefaultMapSize,
                                                   unsigned max_dbs = 32);
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  // Opens the named database, creating it if needed; the same name always yields the same
  // handle. Stores call this once when they are constructed, never per operation: it runs a
  // write transaction of its own and so waits for the writer's current group.
  Result<Db> openDb(const std::string& name);

  Result<ReadTxn> beginRead() const;
  // Blocks while another write transaction is open. See WriteTxn.
  Result<WriteTxn> beginWrite();

  const std::filesystem::path& path() const { return path_; }
  size_t maxKeySize() const { return max_key_size_; }
  MDB_env* handle() const { return env_; }

 private:
  Environment(MDB_env* env, std::filesystem::path path);

  MDB_env* env_;
  std::filesystem::path path_;
  size_t max_key_size_;
  std::mutex dbs_mutex_;
  std::map<std::string, Db, std::less<>> dbs_;  // guarded by dbs_mutex_
};

template <class Fn>
Result<void> TxnView::forEachWithPrefix(Db db, std::string_view prefix, Fn&& fn) const {
  auto cur = cursor(db);
  if (!cur) return Unexpected(std::move(cur).error());
  auto entry = cur->seek(prefix);
  while (true) {
    if (!entry) return Unexpected(std::move(entry).error());
    if (!entry->has_value() || !(*entry)->key.starts_with(prefix)) return {};
    if (!fn(static_cast<const Entry&>(**entry))) return {};
    entry = cur->next();
  }
}

}  // namespace parley::storage
