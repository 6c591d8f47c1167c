// The storage writer: one thread applies every write, many batches per transaction and fsync.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "storage/lmdb_env.h"
#include "util/result.h"

namespace parley::storage {

// A unit of writes that commits all together or not at all. Plain operations are stored in one
// flat buffer, so building a batch costs a couple of allocations whatever its size.
//
// A batch may also carry an apply callback for writes that depend on what is stored (create an
// account only if absent). It runs on the writer thread inside the group's write transaction,
// BEFORE the plain operations, and sees everything committed or applied ahead of it. If it
// returns an error, or throws, the batch is rolled back and its done gets that error; the other
// batches of the group are unaffected. It may run more than once (when a group is retried), so
// it must compute its outcome afresh each time rather than accumulate.
class WriteBatch {
 public:
  using Apply = std::function<Result<void>(WriteTxnView&)>;

  void put(Db db, std::string_view key, std::string_view value) { add(Kind::Put, db, key, value); }
  void del(Db db, std::string_view key) { add(Kind::Del, db, key, {}); }
  // Deletes every key starting with `prefix`. Delimit the prefix (see keys.h makePrefix).
  void delPrefix(Db db, std::string_view prefix) { add(Kind::DelPrefix, db, prefix, {}); }
  void setApply(Apply apply) { apply_ = std::move(apply); }

  bool empty() const { return ops_.empty() && !apply_; }
  bool hasApply() const { return static_cast<bool>(apply_); }
  size_t size() const { return ops_.size(); }
  void reserve(size_t ops, size_t bytes) {
    ops_.reserve(ops);
    data_.reserve(bytes);
  }

  // Runs the apply callback, then the plain operations, in `txn`; stops at the first error.
  // The Writer calls this; it does not commit.
  Result<void> applyTo(WriteTxnView& txn) const;

 private:
  friend class Writer;
  enum class Kind : uint8_t { Put, Del, DelPrefix };
  struct Op {
    Kind kind;
    MDB_dbi dbi;
    size_t key_offset;
    size_t key_size;
    size_t value_size;  // the value follows the key in data_
  };

  void add(Kind kind, Db db, std::string_view key, std::string_view value) {
    ops_.push_back(Op{kind, db.dbi, data_.size(), key.size(), value.size()});
    data_.append(key);
    data_.append(value);
  }
  std::vector<Op> ops_;
  std::string data_;
  Apply apply_;
};

// Owns the writer thread. Thread-safe: submit from anywhere.
//
// The thread takes everything queued at once, applies the batches in submission order in one
// write transaction, commits it (one fsync) and only then calls each batch's done, in the same
// order, ON THE WRITER THREAD. A done must therefore be quick and must not touch state owned by
// another thread: a session's loop wraps it, `[&loop, fn](auto r) { loop.post(...) }`. Nothing is
// reported successful before it is on disk.
//
// If a batch fails (a bad key, MDB_MAP_FULL), the group is rolled back and retried without it:
// the batches before it commit together, the failing one is tried alone and gets its own error,
// and the rest go on in a new group. So one bad batch does not fail its neighbours.
class Writer {
 public:
  using Done = std::function<void(Result<void>)>;

  struct Stats {
    uint64_t batches = 0;       // batches whose done has been called
    uint64_t transactions = 0;  // write transactions committed
  };

  // Starts the writer thread. `env` must outlive the Writer.
  static Result<std::unique_ptr<Writer>> start(Environment& env);
  ~Writer();  // stop()
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Queues `batch`; `done` (may be empty) is called once on the writer thread with the outcome.
  // After stop() the batch is refused and done is called at once, on the caller's thread.
  void submit(WriteBatch batch, Done done);

  // submit() and wait for the outcome. Blocks on a disk sync: for parleyctl, start-up and tests,
  // never on a loop thread, and never from a done or apply callback (that would deadlock).
  Result<void> writeSync(WriteBatch batch);

  // Applies everything already queued, then joins the thread. Idempotent; later submits fail.
  void stop();

  Stats stats() const;

 private:
  struct Pending {
    WriteBatch batch;
    Done done;
  };

  explicit Writer(Environment& env) : env_(env) {}
  void run();
  void writeGroup(std::vector<Pending>& group);
  size_t tryCommit(std::vector<Pending>& group, size_t first, size_t last);
  void finish(std::vector<Pending>& group);

  Environment& env_;
  std::thread thread_;
  std::thread::id thread_id_;  // set once by start(), before the Writer is shared
  std::mutex join_mutex_;      // stop() may race with itself from several threads

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Pending> queue_;  // guarded by mutex_
  bool stopping_ = false;       // guarded by mutex_

  // Writer thread only: the outcome of each batch of the group being written.
  std::vector<Result<void>> results_;

  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> transactions_{0};
};

}  // namespace parley::storage
