// Loop: one epoll event loop per worker thread, with timers, cross-thread posts and end-of-turn
// work.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "net/fd.h"

namespace parley::net {

// Lives on its thread; only post() and stop() may be called from other threads.
// Level-triggered epoll, unless add() is given EPOLLET (Connection is: each event then
// costs the kernel one readiness check, not two). Every callback (io, timer, posted, end-of-turn)
// runs inside a catch-all that logs and continues: no exception crosses the loop.
//
// One turn: wait for events (the timeout is the nearest timer, or 0 when work is queued),
// run io callbacks, then due timers, then posted functions, then end-of-turn functions
// (repeatedly, until none are left: a deferred deletion queued by an end-of-turn function
// still runs in the same turn).
//
// Constructing the first Loop ignores SIGPIPE process-wide: a peer that vanishes must make
// write() fail with EPIPE, not kill the server (Connection sends with MSG_NOSIGNAL; pipes
// and other writers do not).
class Loop {
 public:
  using TimerId = uint64_t;  // never 0, so 0 can mean "no timer"

  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Runs until stop(); call on the owning thread (which becomes the loop thread).
  // If stop() was called before run(), returns after one turn.
  void run();
  void stop();  // thread-safe
  // Thread-safe; functions run on the loop thread in FIFO order (per producer and overall).
  void post(std::function<void()> fn);
  // True on the thread that constructed the loop until run() starts, then on run()'s thread.
  bool isLoopThread() const;

  // One-shot timer; loop thread only.
  TimerId addTimer(std::chrono::milliseconds delay, std::function<void()> fn);
  void cancelTimer(TimerId id);  // safe if already fired or cancelled, and for 0
  // Runs once after the current batch of events; loop thread only.
  void atEndOfTurn(std::function<void()> fn);
  // The same for a plain function of `arg`: nothing to allocate, nothing to guard (what a
  // Connection uses to flush its output once per turn). An owner that goes away first calls
  // cancelEndOfTurn(arg), which drops every such call for `arg` still pending this turn.
  using TurnFunction = void (*)(void* arg);
  void atEndOfTurn(TurnFunction fn, void* arg);
  void cancelEndOfTurn(const void* arg);

  // fd registration; loop thread only. The callback gets the epoll event mask.
  // The loop does not own the fd; remove() it before closing it.
  void add(int fd, uint32_t events, std::function<void(uint32_t)> cb);
  // The same for a callback that is a plain function of `arg`: nothing to allocate, and the
  // event reaches `arg` through one table read (what every Connection uses).
  using IoFunction = void (*)(void* arg, uint32_t events);
  void add(int fd, uint32_t events, IoFunction fn, void* arg);
  void modify(int fd, uint32_t events);
  // Safe from inside that fd's callback (or any other); no callback for it runs afterwards
  // in this turn, even if the fd number is reused and added again within the turn.
  void remove(int fd);

  // Cached at the start of each turn.
  std::chrono::steady_clock::time_point now() const { return now_; }

 private:
  // What runs for one fd. runIo copies it before the call, so a callback may remove or add
  // fds (its own included) and the table may grow under it.
  struct Entry {
    IoFunction fn = nullptr;  // null: no fd here
    void* arg = nullptr;
    uint32_t generation = 0;
    bool owns_function = false;  // arg is a std::function add() made; remove() deletes it
  };
  using Function = std::function<void(uint32_t)>;
  // One end-of-turn call: fn(arg), or function when fn is null.
  struct Deferred {
    TurnFunction fn = nullptr;
    void* arg = nullptr;
    std::function<void()> function;
  };
  struct TimerSlot {
    std::chrono::steady_clock::time_point when;
    TimerId id;
    bool operator>(const TimerSlot& o) const { return when != o.when ? when > o.when : id > o.id; }
  };

  void wake();
  Entry* entryFor(int fd);  // nullptr when fd is not added
  int timeoutMs() const;
  void runIo(uint64_t data, uint32_t events);
  void runTimers();
  void runPosted();
  void runEndOfTurn();

  Fd epoll_;
  Fd wake_fd_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::thread::id> owner_;

  std::mutex post_mutex_;
  std::vector<std::function<void()>> posted_;  // guarded by post_mutex_
  std::atomic<bool> has_posted_{false};
  // The batches being run swap with the queues, so both keep their capacity: no allocation
  // per turn for the queue itself.
  std::vector<std::function<void()>> running_posted_;

  // By fd: the kernel hands out the lowest free numbers, so a table is dense, and one index
  // instead of a hash lookup per event (with 10,000 sessions that lookup missed the cache).
  std::vector<Entry> entries_;
  uint32_t next_generation_ = 1;
  const void* running_ = nullptr;      // the arg of the io callback running now
  std::unique_ptr<Function> retired_;  // its std::function, if remove() took it meanwhile

  std::vector<TimerSlot> timer_heap_;  // min-heap by (when, id); cancelled slots are skipped
  std::unordered_map<TimerId, std::function<void()>> timers_;
  TimerId next_timer_ = 1;

  std::vector<Deferred> end_of_turn_;
  std::vector<Deferred> running_end_of_turn_;
  std::chrono::steady_clock::time_point now_;
};

}  // namespace parley::net
