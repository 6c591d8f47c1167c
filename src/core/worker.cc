// Worker threads and their session tables.
#include "core/worker.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "util/log.h"

namespace parley::core {

std::atomic<uint64_t> Worker::next_id_{1};

namespace {
thread_local Worker* t_current_worker = nullptr;
constexpr std::chrono::seconds kIdleSweepInterval{5};
constexpr size_t kTrimAfterReleases = 64;  // sessions that freed memory in one sweep
}  // namespace

Worker* currentWorker() { return t_current_worker; }

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
    sessions_.clear();
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
    sessions_.clear();
    runAtExit();
  });
}

void Worker::sweepIdleSessions() {
  auto now = loop_.now();
  size_t released = 0;
  for (const auto& [id, session] : sessions_) released += session->releaseIdleMemory(now) ? 1 : 0;
#ifdef __GLIBC__
  // What the sessions gave back sits in malloc's free lists, counted in the RSS; returning the
  // free pages to the kernel is what makes many quiet sessions cheap. Only after a sweep that
  // freed much: malloc_trim walks the heap.
  if (released >= kTrimAfterReleases) malloc_trim(0);
#endif
  loop_.addTimer(kIdleSweepInterval, [this] { sweepIdleSessions(); });
}

void Worker::stop() { loop_.stop(); }

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

SessionRef Worker::adopt(std::unique_ptr<Session> session) {
  SessionRef ref{index_, next_id_.fetch_add(1, std::memory_order_relaxed)};
  session->setRef(ref);
  sessions_.emplace(ref.id, std::move(session));
  return ref;
}

void Worker::release(SessionRef ref) {
  auto it = sessions_.find(ref.id);
  if (it == sessions_.end()) return;
  if (graveyard_.empty()) loop_.atEndOfTurn([this] { graveyard_.clear(); });
  graveyard_.push_back(std::move(it->second));
  sessions_.erase(it);
}

Session* Worker::find(SessionRef ref) const {
  if (ref.worker != index_) return nullptr;
  auto it = sessions_.find(ref.id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

}  // namespace parley::core
