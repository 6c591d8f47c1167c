// A worker: one thread running one event loop, and the table of sessions it owns.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/session.h"
#include "net/loop.h"

namespace parley::core {

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
  size_t sessionCount() const { return sessions_.size(); }
  // Loop thread only. Calls fn for each live session (a snapshot: fn may release).
  template <class Fn>
  void forEachSession(Fn fn) {
    std::vector<SessionRef> refs;
    refs.reserve(sessions_.size());
    for (const auto& [id, session] : sessions_) refs.push_back(session->ref());
    for (auto ref : refs) {
      if (auto* session = find(ref)) fn(*session);
    }
  }

 private:
  void runAtExit();
  // Every few seconds: Session::releaseIdleMemory on each session.
  void sweepIdleSessions();

  static std::atomic<uint64_t> next_id_;

  uint32_t index_;
  net::Loop loop_;
  std::thread thread_;
  std::unordered_map<uint64_t, std::unique_ptr<Session>> sessions_;
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
