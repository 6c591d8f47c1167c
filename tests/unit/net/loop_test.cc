// Unit tests for net::Loop: cross-thread posts, timers, end-of-turn work, fd removal.
#include "net/loop.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "net_test_support.h"

namespace parley::net {
namespace {

using namespace std::chrono_literals;

TEST_CASE("Loop: posts from several threads all run, in order per producer", "[net][loop]") {
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 10'000;
  Loop loop;
  std::array<int, kProducers> next{};  // touched only on the loop thread
  int total = 0;
  bool in_order = true;
  bool on_loop_thread = true;

  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        loop.post([&, p, i] {
          on_loop_thread = on_loop_thread && loop.isLoopThread();
          if (next[p] != i) in_order = false;
          next[p] = i + 1;
          if (++total == kProducers * kPerProducer) loop.stop();
        });
      }
    });
  }
  REQUIRE(test::runWithWatchdog(loop));
  for (auto& t : producers) t.join();
  CHECK(total == kProducers * kPerProducer);
  CHECK(in_order);
  CHECK(on_loop_thread);
}

TEST_CASE("Loop: isLoopThread is false on other threads", "[net][loop]") {
  Loop loop;
  CHECK(loop.isLoopThread());
  bool other = true;
  std::thread([&] { other = loop.isLoopThread(); }).join();
  CHECK_FALSE(other);
}

TEST_CASE("Loop: timers fire in deadline order; cancel works", "[net][loop]") {
  Loop loop;
  std::vector<std::string> fired;
  loop.addTimer(30ms, [&] { fired.push_back("30"); });
  loop.addTimer(10ms, [&] { fired.push_back("10"); });
  auto cancelled = loop.addTimer(15ms, [&] { fired.push_back("15"); });
  loop.addTimer(20ms, [&] {
    fired.push_back("20");
    // A timer added from a timer callback, and zero delay.
    loop.addTimer(0ms, [&] { fired.push_back("20+0"); });
  });
  loop.addTimer(60ms, [&] {
    fired.push_back("60");
    loop.stop();
  });
  loop.cancelTimer(cancelled);
  loop.cancelTimer(cancelled);  // twice: harmless
  loop.cancelTimer(0);          // "no timer": harmless
  loop.cancelTimer(987654);     // unknown: harmless
  auto start = std::chrono::steady_clock::now();
  REQUIRE(test::runWithWatchdog(loop));
  CHECK(fired == std::vector<std::string>{"10", "20", "20+0", "30", "60"});
  CHECK(std::chrono::steady_clock::now() - start >= 60ms);
}

TEST_CASE("Loop: cancelling a timer that already fired is safe", "[net][loop]") {
  Loop loop;
  int count = 0;
  Loop::TimerId id = 0;
  id = loop.addTimer(1ms, [&] { ++count; });
  loop.addTimer(20ms, [&] {
    loop.cancelTimer(id);
    loop.stop();
  });
  REQUIRE(test::runWithWatchdog(loop));
  CHECK(count == 1);
}

TEST_CASE("Loop: many re-armed timers do not pile up", "[net][loop]") {
  Loop loop;
  int fired = 0;
  Loop::TimerId id = 0;
  for (int i = 0; i < 10'000; ++i) {
    loop.cancelTimer(id);
    id = loop.addTimer(5ms, [&] { ++fired; });
  }
  loop.addTimer(30ms, [&] { loop.stop(); });
  REQUIRE(test::runWithWatchdog(loop));
  CHECK(fired == 1);
}

TEST_CASE("Loop: atEndOfTurn runs after the current batch, nested ones too", "[net][loop]") {
  Loop loop;
  std::vector<std::string> order;
  loop.post([&] {
    order.push_back("post1");
    loop.atEndOfTurn([&] {
      order.push_back("end1");
      loop.atEndOfTurn([&] { order.push_back("end2"); });
    });
  });
  loop.post([&] { order.push_back("post2"); });
  loop.post([&] { loop.stop(); });
  REQUIRE(test::runWithWatchdog(loop));
  CHECK(order == std::vector<std::string>{"post1", "post2", "end1", "end2"});
}

// What a Connection does with its flush: a plain function of an argument, in order with the
// std::function ones, and cancelled (here and in the batch already running) when the argument
// goes away.
TEST_CASE("Loop: plain end-of-turn calls keep their order and can be cancelled", "[net][loop]") {
  Loop loop;
  struct Target {
    std::vector<std::string>* order;
    std::string name;
  };
  std::vector<std::string> order;
  Target a{&order, "a"};
  Target b{&order, "b"};
  Target c{&order, "c"};
  auto record = [](void* arg) {
    auto* target = static_cast<Target*>(arg);
    target->order->push_back(target->name);
  };
  loop.post([&] {
    loop.atEndOfTurn(record, &a);
    loop.atEndOfTurn([&] {
      order.push_back("fn");
      loop.cancelEndOfTurn(&c);      // queued after this one in the same batch
      loop.atEndOfTurn(record, &b);  // the next round of the same turn
      loop.atEndOfTurn(record, &c);
      loop.cancelEndOfTurn(&c);  // and in the queue for that round
    });
    loop.atEndOfTurn(record, &c);
    loop.atEndOfTurn(record, &a);
    loop.cancelEndOfTurn(&b);  // nothing pending for b: no effect
  });
  loop.post([&] { loop.stop(); });
  REQUIRE(test::runWithWatchdog(loop));
  CHECK(order == std::vector<std::string>{"a", "fn", "a", "b"});
}

TEST_CASE("Loop: an exception in a callback is logged and the loop goes on", "[net][loop]") {
  Loop loop;
  bool after = false;
  loop.post([] { throw std::runtime_error("boom"); });
  loop.addTimer(1ms, [] { throw 42; });
  loop.atEndOfTurn([] { throw std::logic_error("end"); });
  loop.addTimer(10ms, [&] {
    after = true;
    loop.stop();
  });
  REQUIRE(test::runWithWatchdog(loop));
  CHECK(after);
}

TEST_CASE("Loop: stop() before run() returns after one turn", "[net][loop]") {
  Loop loop;
  bool ran = false;
  loop.post([&] { ran = true; });
  loop.stop();
  loop.run();
  CHECK(ran);
}

TEST_CASE("Loop: fd callbacks get the event mask; modify and remove", "[net][loop]") {
  Loop loop;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  Fd read_end(fds[0]);
  Fd write_end(fds[1]);
  std::vector<uint32_t> seen;
  loop.add(read_end.get(), EPOLLIN, [&](uint32_t events) {
    seen.push_back(events);
    char c;
    REQUIRE(::read(read_end.get(), &c, 1) == 1);
    loop.remove(read_end.get());  // from inside its own callback
    loop.stop();
  });
  REQUIRE(::write(write_end.get(), "x", 1) == 1);
  REQUIRE(test::runWithWatchdog(loop));
  REQUIRE(seen.size() == 1);
  CHECK((seen[0] & EPOLLIN) != 0);
  loop.remove(read_end.get());  // already removed: harmless
}

TEST_CASE("Loop: an fd removed earlier in the turn gets no callback", "[net][loop]") {
  Loop loop;
  int a[2];
  int b[2];
  REQUIRE(::pipe(a) == 0);
  REQUIRE(::pipe(b) == 0);
  Fd a_read(a[0]), a_write(a[1]), b_read(b[0]), b_write(b[1]);
  int calls = 0;
  // Both are readable in the same epoll batch; whichever runs first removes the other.
  loop.add(a_read.get(), EPOLLIN, [&](uint32_t) {
    ++calls;
    loop.remove(a_read.get());
    loop.remove(b_read.get());
  });
  loop.add(b_read.get(), EPOLLIN, [&](uint32_t) {
    ++calls;
    loop.remove(a_read.get());
    loop.remove(b_read.get());
  });
  REQUIRE(::write(a_write.get(), "x", 1) == 1);
  REQUIRE(::write(b_write.get(), "x", 1) == 1);
  loop.addTimer(20ms, [&] { loop.stop(); });
  REQUIRE(test::runWithWatchdog(loop));
  CHECK(calls == 1);
}

// The callback's own std::function must outlive remove() while it runs, and the fd table
// may grow under it: run under ASan, a use after free or a moved-from callback shows here.
TEST_CASE("Loop: a callback may remove and re-add its own fd and grow the table", "[net][loop]") {
  Loop loop;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  Fd read_end(fds[0]), write_end(fds[1]);
  std::vector<Fd> extra;
  std::string label(100, 'x');  // captured by value: the std::function holds it on the heap
  std::string seen;
  int writable_calls = 0;
  struct Counter {
    Loop* loop;
    int fd;
    int* calls;
  };
  Counter counter{&loop, -1, &writable_calls};
  loop.add(read_end.get(), EPOLLIN, [&, label](uint32_t) {
    char c;
    REQUIRE(::read(read_end.get(), &c, 1) == 1);
    loop.remove(read_end.get());
    loop.add(read_end.get(), EPOLLIN, [&](uint32_t) { FAIL("the old pipe byte was read"); });
    // Fds numbered past the table's end make it grow while this callback runs.
    for (int i = 0; i < 40; ++i) {
      int more[2];
      REQUIRE(::pipe(more) == 0);
      extra.emplace_back(more[0]);
      extra.emplace_back(more[1]);
    }
    counter.fd = extra.back().get();
    loop.add(
        counter.fd, EPOLLOUT,
        [](void* arg, uint32_t events) {
          auto* self = static_cast<Counter*>(arg);
          CHECK((events & EPOLLOUT) != 0);
          ++*self->calls;
          self->loop->remove(self->fd);
          self->loop->stop();
        },
        &counter);
    seen = label;  // the captures are still there after remove, add and growth
  });
  REQUIRE(::write(write_end.get(), "x", 1) == 1);
  REQUIRE(test::runWithWatchdog(loop));
  CHECK(seen == label);
  CHECK(writable_calls == 1);
  loop.remove(read_end.get());
}

TEST_CASE("Loop: now() is cached per turn and advances", "[net][loop]") {
  Loop loop;
  auto before = loop.now();
  std::chrono::steady_clock::time_point in_timer;
  loop.addTimer(5ms, [&] {
    in_timer = loop.now();
    loop.stop();
  });
  REQUIRE(test::runWithWatchdog(loop));
  CHECK(in_timer - before >= 5ms);
}

}  // namespace
}  // namespace parley::net
