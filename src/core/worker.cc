// Worker threads and their session tables.
#include "core/worker.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>
#include <chrono>
#include <utility>

#include "util/log.h"

namespace parley::core {

std::atomic<uint64_t> Worker::next_id_{1};

namespace {
thread_local Worker* t_current_worker = nullptr;
constexpr std::chrono::seconds kIdleSweepInterval{5};
constexpr size_t kTrimAfterReleases = 64;  // sessions quiet in one sweep, or closed at least
}  // namespace

Worker* currentWorker() { return t_current_worker; }

bool shouldTrimHeap(size_t quiet, size_t closed, size_t open) {
  return quiet >= kTrimAfterReleases || closed >= std::max(kTrimAfterReleases, open);
}

std::function<void(std::function<void()>)> postBack() {
  Worker* worker = t_current_worker;
  if (!worker) return [](std::function<void()> fn) { fn(); };
  return [worker](std::function<void()> fn) {
    if (worker->loop().isLoopThread()) {
      fn();
    } else {
      worker->loop().post(std::move(fn));
    }
  };
}

Worker::~Worker() {
  stop();
  join();
  if (!at_exit_.empty()) {  // the thread never ran
    graveyard_.clear();
    clearSessions();
    runAtExit();
  }
}

void Worker::runAtExit() {
  for (auto& fn : at_exit_) fn();
  at_exit_.clear();
}

void Worker::start() {
  // Before the thread runs, this thread may still use the loop.
  loop_.addTimer(kIdleSweepInterval, [this] { sweepIdleSessions(); });
  thread_ = std::thread([this] {
    t_current_worker = this;
    loop_.run();
    // Sessions die on their own thread.
    graveyard_.clear();
    clearSessions();
    runAtExit();
  });
}

void Worker::sweepIdleSessions() {
  auto now = loop_.now();
  size_t released = 0;
  for (const auto& slot : slots_) {
    if (slot.session && slot.session->releaseIdleMemory(now)) ++released;
  }
#ifdef __GLIBC__
  // What quiet sessions gave back and closed sessions left sits in malloc's free lists, counted
  // in the RSS (10,000 closed sessions left ~280 MB) and slowing the next allocations, which
  // sort them. Returning the free pages to the kernel is what makes many quiet sessions cheap.
  // malloc_trim walks the whole heap (~50 ms at 10,000 sessions), so only after a sweep in
  // which many sessions went quiet, or once as many sessions have closed since the last trim
  // as are open now: steady churn on a big server does not trim every sweep.
  if (shouldTrimHeap(released, closed_since_trim_, session_count_)) {
    auto started = std::chrono::steady_clock::now();
    malloc_trim(0);
    auto took = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started);
    log::debug("worker ", index_, ": ", released, " sessions quiet, ", closed_since_trim_,
               " closed; malloc_trim took ", took.count(), " us");
    closed_since_trim_ = 0;
  }
#endif
  loop_.addTimer(kIdleSweepInterval, [this] { sweepIdleSessions(); });
}

void Worker::clearSessions() {
  // Moved out first: a session's destructor that looks itself up finds nothing.
  auto slots = std::move(slots_);
  slots_.clear();
  free_slots_.clear();
  session_count_ = 0;
  slots.clear();
}

void Worker::stop() { loop_.stop(); }

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

SessionRef Worker::adopt(std::unique_ptr<Session> session) {
  uint32_t slot;
  if (free_slots_.empty()) {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
  }
  SessionRef ref{
      .worker = index_, .slot = slot, .id = next_id_.fetch_add(1, std::memory_order_relaxed)};
  session->setRef(ref);
  slots_[slot] = Slot{ref.id, std::move(session)};
  ++session_count_;
  return ref;
}

void Worker::release(SessionRef ref) {
  if (find(ref) == nullptr) return;
  auto& slot = slots_[ref.slot];
  if (graveyard_.empty()) loop_.atEndOfTurn([this] { graveyard_.clear(); });
  graveyard_.push_back(std::move(slot.session));
  slot.id = 0;
  free_slots_.push_back(ref.slot);
  --session_count_;
  ++closed_since_trim_;
}

Session* Worker::find(SessionRef ref) const {
  if (ref.worker != index_ || ref.slot >= slots_.size()) return nullptr;
  const auto& slot = slots_[ref.slot];
  return slot.id == ref.id && ref.id != 0 ? slot.session.get() : nullptr;
}

}  // namespace parley::core
