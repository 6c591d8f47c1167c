// The storage writer: one thread applies every write, many batches per transaction and fsync.
#include "storage/writer.h"

#include <pthread.h>

#include <exception>
#include <future>
#include <system_error>

#include "util/log.h"

namespace parley::storage {
namespace {

// Where one batch left the group's transaction.
enum class Outcome {
  Applied,   // its writes are in the transaction
  Rejected,  // it failed but was rolled back on its own; the transaction carries on
  Broken,    // it failed and the transaction can no longer be trusted
};

Result<void> runApply(const WriteBatch::Apply& apply, WriteTxnView& txn) {
  try {
    return apply(txn);
  } catch (const std::exception& e) {
    return fail("apply callback threw: ", e.what());
  } catch (...) {
    return fail("apply callback threw");
  }
}

}  // namespace

Result<void> WriteBatch::applyTo(WriteTxnView& txn) const {
  if (apply_) {
    auto applied = runApply(apply_, txn);
    if (!applied) return applied;
  }
  std::string_view data = data_;
  for (const Op& op : ops_) {
    Db db{op.dbi};
    std::string_view key = data.substr(op.key_offset, op.key_size);
    switch (op.kind) {
      case Kind::Put: {
        auto put = txn.put(db, key, data.substr(op.key_offset + op.key_size, op.value_size));
        if (!put) return put;
        break;
      }
      case Kind::Del: {
        auto deleted = txn.del(db, key);  // deleting what is absent is not an error
        if (!deleted) return Unexpected(std::move(deleted).error());
        break;
      }
      case Kind::DelPrefix: {
        auto deleted = txn.delPrefix(db, key);
        if (!deleted) return Unexpected(std::move(deleted).error());
        break;
      }
    }
  }
  return {};
}

namespace {

// Plain batches write straight into the group's transaction: the fast path. A batch with an
// apply callback gets a nested transaction, so that a refusal (the account exists) rolls back
// that batch alone; nested transactions cost an allocation, so only those batches pay for one.
Outcome applyBatch(WriteTxn& txn, const WriteBatch& batch, Result<void>& result) {
  if (!batch.hasApply()) {
    result = batch.applyTo(txn);
    return result ? Outcome::Applied : Outcome::Broken;
  }
  auto child = txn.beginChild();
  if (!child) {
    result = Unexpected(std::move(child).error());
    return Outcome::Broken;
  }
  result = batch.applyTo(*child);
  if (!result) {
    child->abort();
    return Outcome::Rejected;
  }
  result = child->commit();
  return result ? Outcome::Applied : Outcome::Broken;
}

}  // namespace

Result<std::unique_ptr<Writer>> Writer::start(Environment& env) {
  std::unique_ptr<Writer> writer(new Writer(env));
  try {
    writer->thread_ = std::thread([w = writer.get()] { w->run(); });
  } catch (const std::system_error& e) {
    return fail("cannot start the storage writer thread: ", e.what());
  }
  writer->thread_id_ = writer->thread_.get_id();
  pthread_setname_np(writer->thread_.native_handle(), "parley-writer");
  return writer;
}

Writer::~Writer() {
  PARLEY_CHECK(std::this_thread::get_id() != thread_id_);
  stop();
}

void Writer::submit(WriteBatch batch, Done done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queue_.push_back(Pending{std::move(batch), std::move(done)});
      if (queue_.size() == 1) wake_.notify_one();
      return;
    }
  }
  if (done) done(fail("storage writer is stopped"));
}

Result<void> Writer::writeSync(WriteBatch batch) {
  PARLEY_CHECK(std::this_thread::get_id() != thread_id_);
  auto promise = std::make_shared<std::promise<Result<void>>>();
  auto future = promise->get_future();
  submit(std::move(batch),
         [promise](Result<void> result) { promise->set_value(std::move(result)); });
  return future.get();
}

void Writer::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  // A done calling stop() cannot join its own thread; the destructor joins later.
  if (std::this_thread::get_id() == thread_id_) return;
  std::lock_guard join_lock(join_mutex_);
  if (thread_.joinable()) thread_.join();
}

Writer::Stats Writer::stats() const {
  return Stats{batches_.load(std::memory_order_relaxed),
               transactions_.load(std::memory_order_relaxed)};
}

void Writer::run() {
  std::vector<Pending> group;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued has been written
      group.swap(queue_);          // take it all; queue_ inherits the drained vector's capacity
    }
    writeGroup(group);
    finish(group);
  }
}

// Commits group[first, last) in one transaction if every batch applies. Returns `last` when the
// range is settled (committed, or failed as a whole), or the index of the batch that broke the
// transaction, which has then been rolled back; results_[index] holds that batch's error.
size_t Writer::tryCommit(std::vector<Pending>& group, size_t first, size_t last) {
  auto txn = env_.beginWrite();
  if (!txn) {
    log::warn("storage: ", txn.error().message);
    for (size_t i = first; i < last; ++i) results_[i] = Unexpected(txn.error());
    return last;
  }
  for (size_t i = first; i < last; ++i) {
    const WriteBatch& batch = group[i].batch;
    if (applyBatch(*txn, batch, results_[i]) == Outcome::Broken) {
      return i;  // txn aborts as it goes out of scope
    }
  }
  auto committed = txn->commit();
  if (!committed) {
    log::warn("storage: ", committed.error().message);
    for (size_t i = first; i < last; ++i) {
      if (results_[i]) results_[i] = committed;  // refused batches keep their own reason
    }
    return last;
  }
  transactions_.fetch_add(1, std::memory_order_relaxed);
  return last;
}

void Writer::writeGroup(std::vector<Pending>& group) {
  const size_t count = group.size();
  results_.assign(count, Result<void>());
  // Each pass either settles a prefix (first moves on) or shrinks the range (last moves back),
  // so this ends; with no failure it is a single pass, a single commit.
  size_t first = 0;
  size_t last = count;
  while (first < count) {
    size_t broken = tryCommit(group, first, last);
    if (broken == last) {  // [first, last) settled; go on with the rest
      first = last;
      last = count;
    } else if (broken > first) {  // commit what applied before the bad batch, then retry it
      last = broken;
    } else if (last > first + 1) {  // the first batch broke a group: try it alone
      last = first + 1;
    } else {  // it failed alone too: that is its own error
      log::warn("storage: write failed: ", results_[first].error().message);
      first = first + 1;
      last = count;
    }
  }
}

void Writer::finish(std::vector<Pending>& group) {
  for (size_t i = 0; i < group.size(); ++i) {
    batches_.fetch_add(1, std::memory_order_relaxed);
    if (!group[i].done) continue;
    try {
      group[i].done(std::move(results_[i]));
    } catch (const std::exception& e) {
      log::error("storage: write completion callback threw: ", e.what());
    } catch (...) {
      log::error("storage: write completion callback threw");
    }
  }
  group.clear();
}

}  // namespace parley::storage
