// A worker: one thread running one event loop, and the table of sessions it owns.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "core/session.h"
#include "net/loop.h"

namespace parley::core {

// Whether a worker's sweep hands malloc's free pages back to the kernel (malloc_trim walks the
// whole heap): after `quiet` sessions released memory in this sweep, or with `closed` sessions
// gone since the last trim and `open` still there.
bool shouldTrimHeap(size_t quiet, size_t closed, size_t open);

class Worker {
 public:
  explicit Worker(uint32_t index) : index_(index) {}
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  uint32_t index() const { return index_; }
  net::Loop& loop() { return loop_; }

  // Runs `fn` on the worker thread once its loop stopped and its sessions are gone (or in the
  // destructor if the thread never started): for per-worker state that must be destroyed on
  // its loop thread, after the sessions that use it (a DNS resolver). Before start() only.
  void atExit(std::function<void()> fn) { at_exit_.push_back(std::move(fn)); }

  void start();                                           // spawns the thread running the loop
  bool hasStarted() const { return thread_.joinable(); }  // main thread
  void stop();                                            // thread-safe: stops the loop
  void join();

  // Loop thread only. The worker owns the session from now on; returns its handle.
  SessionRef adopt(std::unique_ptr<Session> session);
  // Loop thread only. Creates a session of type T, adopts it and returns it (to start()).
  template <class T, class... Args>
  T& emplace(Args&&... args) {
    auto session = std::make_unique<T>(std::forward<Args>(args)...);
    T& raw = *session;
    adopt(std::move(session));
    return raw;
  }
  // Loop thread only. Unlinks the session at once and frees it at the end of the
  // loop turn, so a session may release itself from inside its own callback.
  void release(SessionRef ref);
  // Loop thread only. The live session for a handle, or nullptr if it is gone.
  Session* find(SessionRef ref) const;
  size_t sessionCount() const { return session_count_; }
  // Loop thread only. Calls fn for each live session (a snapshot: fn may release).
  template <class Fn>
  void forEachSession(Fn fn) {
    std::vector<SessionRef> refs;
    refs.reserve(session_count_);
    for (const auto& slot : slots_) {
      if (slot.session) refs.push_back(slot.session->ref());
    }
    for (auto ref : refs) {
      if (auto* session = find(ref)) fn(*session);
    }
  }

 private:
  void runAtExit();
  void clearSessions();  // on the loop thread once it stopped
  // Every few seconds: Session::releaseIdleMemory on each session.
  void sweepIdleSessions();

  static std::atomic<uint64_t> next_id_;

  uint32_t index_;
  net::Loop loop_;
  std::thread thread_;
  // Indexed by SessionRef::slot: a lookup per routed stanza is one array read, whose id tells
  // a live session from one that has gone and whose slot was reused.
  struct Slot {
    uint64_t id = 0;
    std::unique_ptr<Session> session;
  };
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  size_t session_count_ = 0;
  size_t closed_since_trim_ = 0;                     // sessions released since malloc_trim last ran
  std::vector<std::unique_ptr<Session>> graveyard_;  // released this turn, freed at its end
  std::vector<std::function<void()>> at_exit_;
};

// The worker whose thread runs this code, or nullptr on any other thread.
Worker* currentWorker();

// Returns a function that runs a callback on the current worker's loop, callable
// from any thread: how a storage `done` (writer thread) gets back to the session's
// thread. Called off the workers (tools, tests), the callback runs where it is called.
std::function<void(std::function<void()>)> postBack();

}  // namespace parley::core
