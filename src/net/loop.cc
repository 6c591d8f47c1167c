// Loop implementation: epoll + eventfd wakeups, a min-heap of timers, end-of-turn queue.
#include "net/loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <exception>
#include <utility>

#include "util/log.h"

namespace parley::net {
namespace {

constexpr int kMaxEvents = 256;
// data.u64 of the wakeup eventfd; fd entries store (generation << 32 | fd), generation >= 1.
constexpr uint64_t kWakeToken = 0xffffffffULL;

template <class Fn>
void guarded(const char* what, Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    log::error("loop: exception escaped a ", what, " callback: ", e.what());
  } catch (...) {
    log::error("loop: unknown exception escaped a ", what, " callback");
  }
}

void ignoreSigpipeOnce() {
  static std::once_flag once;
  std::call_once(once, [] { std::signal(SIGPIPE, SIG_IGN); });
}

}  // namespace

Loop::Loop()
    : epoll_(epoll_create1(EPOLL_CLOEXEC)),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      owner_(std::this_thread::get_id()),
      now_(std::chrono::steady_clock::now()) {
  PARLEY_CHECK(epoll_.valid());
  PARLEY_CHECK(wake_fd_.valid());
  ignoreSigpipeOnce();
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeToken;
  PARLEY_CHECK(epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_fd_.get(), &ev) == 0);
}

Loop::~Loop() {
  for (auto& entry : entries_) {
    if (entry.owns_function) delete static_cast<Function*>(entry.arg);
  }
}

bool Loop::isLoopThread() const {
  return owner_.load(std::memory_order_relaxed) == std::this_thread::get_id();
}

void Loop::wake() {
  uint64_t one = 1;
  ssize_t n = ::write(wake_fd_.get(), &one, sizeof one);
  (void)n;  // EAGAIN means the counter is already non-zero: a wakeup is pending anyway
}

void Loop::stop() {
  stopping_.store(true, std::memory_order_release);
  wake();
}

void Loop::post(std::function<void()> fn) {
  bool was_empty;
  {
    std::lock_guard lock(post_mutex_);
    was_empty = posted_.empty();
    posted_.push_back(std::move(fn));
    has_posted_.store(true, std::memory_order_relaxed);
  }
  // Only the first post after a drain needs the syscall; the rest ride on that wakeup.
  if (was_empty) wake();
}

Loop::TimerId Loop::addTimer(std::chrono::milliseconds delay, std::function<void()> fn) {
  PARLEY_ASSERT(isLoopThread());
  TimerId id = next_timer_++;
  auto when = std::chrono::steady_clock::now() + std::max(delay, std::chrono::milliseconds(0));
  timers_.emplace(id, std::move(fn));
  timer_heap_.push_back(TimerSlot{when, id});
  std::push_heap(timer_heap_.begin(), timer_heap_.end(), std::greater<>());
  return id;
}

void Loop::cancelTimer(TimerId id) {
  PARLEY_ASSERT(isLoopThread());
  timers_.erase(id);  // the heap slot is skipped when it comes up
  // Keep the heap from filling with cancelled slots when timers are re-armed constantly.
  if (timer_heap_.size() > 64 && timer_heap_.size() > 4 * timers_.size()) {
    std::erase_if(timer_heap_, [this](const TimerSlot& s) { return !timers_.count(s.id); });
    std::make_heap(timer_heap_.begin(), timer_heap_.end(), std::greater<>());
  }
}

void Loop::atEndOfTurn(std::function<void()> fn) {
  PARLEY_ASSERT(isLoopThread());
  end_of_turn_.push_back(Deferred{nullptr, nullptr, std::move(fn)});
}

void Loop::atEndOfTurn(TurnFunction fn, void* arg) {
  PARLEY_ASSERT(isLoopThread());
  PARLEY_ASSERT(fn != nullptr);
  end_of_turn_.push_back(Deferred{fn, arg, {}});
}

// Rare (a connection destroyed with its flush pending), so a scan of what is queued will do.
void Loop::cancelEndOfTurn(const void* arg) {
  for (auto* queue : {&end_of_turn_, &running_end_of_turn_}) {
    for (auto& deferred : *queue) {
      if (deferred.fn != nullptr && deferred.arg == arg) deferred.fn = nullptr;
    }
  }
}

void Loop::add(int fd, uint32_t events, Function cb) {
  auto* function = new Function(std::move(cb));
  add(
      fd, events, [](void* arg, uint32_t ev) { (*static_cast<Function*>(arg))(ev); }, function);
  entries_[static_cast<size_t>(fd)].owns_function = true;
}

void Loop::add(int fd, uint32_t events, IoFunction fn, void* arg) {
  PARLEY_ASSERT(isLoopThread());
  PARLEY_CHECK(fd >= 0);
  uint32_t generation = next_generation_++;
  if (next_generation_ == 0 || next_generation_ == 0xffffffffU) next_generation_ = 1;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = (static_cast<uint64_t>(generation) << 32) | static_cast<uint32_t>(fd);
  PARLEY_CHECK(epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) == 0);
  auto index = static_cast<size_t>(fd);
  if (index >= entries_.size()) entries_.resize(std::max(index + 1, entries_.size() * 2));
  entries_[index] = Entry{fn, arg, generation, false};
}

Loop::Entry* Loop::entryFor(int fd) {
  auto index = static_cast<size_t>(fd);
  if (fd < 0 || index >= entries_.size() || entries_[index].fn == nullptr) return nullptr;
  return &entries_[index];
}

void Loop::modify(int fd, uint32_t events) {
  PARLEY_ASSERT(isLoopThread());
  Entry* entry = entryFor(fd);
  PARLEY_CHECK(entry != nullptr);
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = (static_cast<uint64_t>(entry->generation) << 32) | static_cast<uint32_t>(fd);
  PARLEY_CHECK(epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) == 0);
}

void Loop::remove(int fd) {
  PARLEY_ASSERT(isLoopThread());
  Entry* entry = entryFor(fd);
  if (entry == nullptr) return;
  if (entry->owns_function) {
    auto* function = static_cast<Function*>(entry->arg);
    // The callback running now is this std::function: it goes once it returns.
    if (entry->arg == running_) {
      retired_.reset(function);
    } else {
      delete function;
    }
  }
  *entry = Entry{};
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr) != 0 && errno != EBADF &&
      errno != ENOENT) {
    log::warn("loop: epoll_ctl(DEL, ", fd, ") failed: ", std::strerror(errno));
  }
}

int Loop::timeoutMs() const {
  if (!end_of_turn_.empty() || has_posted_.load(std::memory_order_relaxed)) return 0;
  if (stopping_.load(std::memory_order_acquire)) return 0;
  if (timer_heap_.empty()) return -1;
  auto delta = timer_heap_.front().when - std::chrono::steady_clock::now();
  if (delta <= std::chrono::steady_clock::duration::zero()) return 0;
  // Round up so we never wake a hair early and spin.
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(delta).count();
  return static_cast<int>(std::min<decltype(ms)>(ms, 60'000));
}

void Loop::run() {
  owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  epoll_event events[kMaxEvents];
  for (;;) {
    int n = epoll_wait(epoll_.get(), events, kMaxEvents, timeoutMs());
    now_ = std::chrono::steady_clock::now();
    if (n < 0) {
      PARLEY_CHECK(errno == EINTR);
      n = 0;
    }
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == kWakeToken) {
        uint64_t count;
        ssize_t r = ::read(wake_fd_.get(), &count, sizeof count);
        (void)r;
        continue;
      }
      runIo(events[i].data.u64, events[i].events);
    }
    runTimers();
    runPosted();
    runEndOfTurn();
    if (stopping_.load(std::memory_order_acquire)) break;
  }
}

void Loop::runIo(uint64_t data, uint32_t events) {
  int fd = static_cast<int>(data & 0xffffffffU);
  auto generation = static_cast<uint32_t>(data >> 32);
  Entry* current = entryFor(fd);
  // Removed earlier in this turn (and maybe re-added: then the generation differs).
  if (current == nullptr || current->generation != generation) return;
  Entry entry = *current;
  running_ = entry.arg;
  guarded("io", [&] { entry.fn(entry.arg, events); });
  running_ = nullptr;
  retired_.reset();
}

void Loop::runTimers() {
  while (!timer_heap_.empty() && timer_heap_.front().when <= now_) {
    TimerId id = timer_heap_.front().id;
    std::pop_heap(timer_heap_.begin(), timer_heap_.end(), std::greater<>());
    timer_heap_.pop_back();
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // cancelled
    auto fn = std::move(it->second);
    timers_.erase(it);
    guarded("timer", fn);
  }
}

void Loop::runPosted() {
  if (!has_posted_.load(std::memory_order_relaxed)) return;
  {
    std::lock_guard lock(post_mutex_);
    running_posted_.swap(posted_);
    has_posted_.store(false, std::memory_order_relaxed);
  }
  for (auto& fn : running_posted_) guarded("posted", fn);
  running_posted_.clear();
}

// A call may queue more (run in the next round of the same turn) or cancel pending ones
// (their fn is cleared in place, so the batch never moves under the call).
void Loop::runEndOfTurn() {
  while (!end_of_turn_.empty()) {
    running_end_of_turn_.swap(end_of_turn_);
    for (auto& deferred : running_end_of_turn_) {
      if (deferred.fn != nullptr) {
        TurnFunction fn = std::exchange(deferred.fn, nullptr);
        guarded("end-of-turn", [&] { fn(deferred.arg); });
      } else if (deferred.function) {
        guarded("end-of-turn", deferred.function);
      }
    }
    running_end_of_turn_.clear();
  }
}

}  // namespace parley::net
