// Unit tests for net::Listener and plain net::Connection over loopback and socketpairs.
#include "net/connection.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/listener.h"
#include "net_test_support.h"

namespace parley::net {
namespace {

using namespace std::chrono_literals;

// A minimal session: owns its Connection, records what happened.
struct TestSession final : Connection::Handler {
  TestSession(Loop& loop, Fd fd, const SocketAddress& peer) {
    conn = std::make_unique<Connection>(loop, std::move(fd), peer, *this);
  }
  void onData(std::string_view bytes) override {
    received.append(bytes);
    if (on_data) on_data(bytes);
  }
  void onClosed(std::string_view reason) override {
    CHECK_FALSE(inside_call);  // never re-entrant
    ++closed_count;
    closed_reason = reason;
    if (on_closed) on_closed();
  }

  std::unique_ptr<Connection> conn;
  std::string received;
  std::string closed_reason;
  int closed_count = 0;
  bool inside_call = false;
  std::function<void(std::string_view)> on_data;
  std::function<void()> on_closed;
};

std::pair<Fd, Fd> socketPair() {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
  return {Fd(sv[0]), Fd(sv[1])};
}

TEST_CASE("Listener: port 0 gets a real port; a second listener can share it", "[net][listener]") {
  Loop loop;
  auto first = Listener::open(loop, *SocketAddress::parse("127.0.0.1", 0), [](Fd, const auto&) {});
  REQUIRE(first);
  uint16_t port = (*first)->port();
  CHECK(port != 0);
  auto second =
      Listener::open(loop, *SocketAddress::parse("127.0.0.1", port), [](Fd, const auto&) {});
  REQUIRE(second);  // SO_REUSEPORT: one listening socket per worker
  CHECK((*second)->port() == port);
}

TEST_CASE("Listener: dual-stack any-address accepts IPv4 clients", "[net][listener]") {
  Loop loop;
  SocketAddress seen;
  auto listener = Listener::open(loop, *SocketAddress::parse("*", 0), [&](Fd fd, const auto& peer) {
    CHECK(fd.valid());
    seen = peer;
    loop.stop();
  });
  REQUIRE(listener);
  std::thread client([port = (*listener)->port()] {
    int fd = test::connectLoopback(port);  // no Catch macros off the main thread
    if (fd >= 0) ::close(fd);
  });
  REQUIRE(test::runWithWatchdog(loop));
  client.join();
  CHECK(seen.ip() == "127.0.0.1");  // v4-mapped, shown as IPv4
}

TEST_CASE("Listener: errors come back as values", "[net][listener]") {
  Loop loop;
  SECTION("address not on this host") {
    auto r = Listener::open(loop, *SocketAddress::parse("192.0.2.1", 0), [](Fd, const auto&) {});
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("bind") != std::string::npos);
  }
  SECTION("port taken by a socket without SO_REUSEPORT") {
    int blocker = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    Fd owned(blocker);
    auto addr = *SocketAddress::parse("127.0.0.1", 0);
    REQUIRE(::bind(blocker, addr.sockaddrPtr(), addr.length) == 0);
    REQUIRE(::listen(blocker, 1) == 0);
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    ::getsockname(blocker, reinterpret_cast<sockaddr*>(&bound), &len);
    auto taken = SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&bound), len);
    auto r = Listener::open(loop, taken, [](Fd, const auto&) {});
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find(taken.toString()) != std::string::npos);
  }
}

TEST_CASE("Connection: echo over loopback through a Listener", "[net][connection]") {
  Loop loop;
  std::vector<std::unique_ptr<TestSession>> sessions;
  auto listener = Listener::open(
      loop, *SocketAddress::parse("127.0.0.1", 0), [&](Fd fd, const SocketAddress& peer) {
        auto s = std::make_unique<TestSession>(loop, std::move(fd), peer);
        auto* raw = s.get();
        s->on_data = [raw](std::string_view b) { raw->conn->send(b); };
        s->on_closed = [&] { loop.stop(); };
        s->conn->start();
        sessions.push_back(std::move(s));
      });
  REQUIRE(listener);
  std::string echoed;
  std::thread client([&, port = (*listener)->port()] {
    int fd = test::connectLoopback(port);
    if (fd < 0) return;  // no Catch macros off the main thread
    test::writeAll(fd, "hello, world");
    echoed = test::readExactly(fd, 12);
    ::close(fd);
  });
  REQUIRE(test::runWithWatchdog(loop));
  client.join();
  CHECK(echoed == "hello, world");
  REQUIRE(sessions.size() == 1);
  CHECK(sessions[0]->closed_count == 1);
  CHECK(sessions[0]->closed_reason == "peer closed the connection");
  CHECK(sessions[0]->conn->peer().ip() == "127.0.0.1");
  CHECK_FALSE(sessions[0]->conn->isTls());
  CHECK(sessions[0]->conn->tlsVersion().empty());
  CHECK_FALSE(sessions[0]->conn->channelBinding("tls-exporter"));
}

TEST_CASE("Connection: 100 sends in one turn go out in one write", "[net][connection]") {
  Loop loop;
  auto [ours, theirs] = socketPair();
  TestSession session(loop, std::move(ours), SocketAddress{});
  session.conn->start();
  size_t pending_before_flush = 0;
  uint64_t writes_before_flush = 0;
  loop.post([&] {
    for (int i = 0; i < 100; ++i) session.conn->send("<message>x</message>");
    pending_before_flush = session.conn->pendingOutputBytes();
    writes_before_flush = session.conn->stats().writes;
    loop.atEndOfTurn([&] { loop.stop(); });  // queued after the flush
  });
  REQUIRE(test::runWithWatchdog(loop));
  CHECK(pending_before_flush == 100 * 20);
  CHECK(writes_before_flush == 0);
  CHECK(session.conn->stats().writes == 1);
  CHECK(session.conn->stats().bytes_out == 100 * 20);
  CHECK(session.conn->pendingOutputBytes() == 0);
  CHECK(test::readExactly(theirs.get(), 2000).size() == 2000);
}

TEST_CASE("Connection: more than 64 KiB is written at once", "[net][connection]") {
  Loop loop;
  auto [ours, theirs] = socketPair();
  TestSession session(loop, std::move(ours), SocketAddress{});
  session.conn->start();
  uint64_t writes_in_call = 0;
  loop.post([&] {
    session.conn->send(std::string(70 * 1024, 'a'));
    writes_in_call = session.conn->stats().writes;
    loop.stop();
  });
  REQUIRE(test::runWithWatchdog(loop));
  CHECK(writes_in_call >= 1);
}

TEST_CASE("Connection: a blocked socket resumes when writable; nothing is lost",
          "[net][connection]") {
  Loop loop;
  auto [ours, theirs] = socketPair();
  TestSession session(loop, std::move(ours), SocketAddress{});
  session.conn->start();
  constexpr size_t kTotal = 4 * 1024 * 1024;
  std::string payload;
  for (size_t i = 0; i < kTotal; ++i) payload.push_back(static_cast<char>('a' + i % 26));
  size_t pending_after_first_turn = 0;
  loop.post([&] {
    session.conn->send(payload);
    loop.atEndOfTurn([&] { pending_after_first_turn = session.conn->pendingOutputBytes(); });
  });
  std::string got;
  std::thread reader([&, fd = theirs.get()] {
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    got = test::readExactly(fd, kTotal);
    loop.post([&] { loop.stop(); });
  });
  REQUIRE(test::runWithWatchdog(loop));
  reader.join();
  CHECK(pending_after_first_turn > 0);  // the socket buffer cannot hold 4 MiB
  CHECK(got == payload);
  CHECK(session.conn->pendingOutputBytes() == 0);
}

TEST_CASE("Connection: close() flushes, then the peer sees EOF; onClosed once",
          "[net][connection]") {
  Loop loop;
  auto [ours, theirs] = socketPair();
  TestSession session(loop, std::move(ours), SocketAddress{});
  session.on_closed = [&] { loop.stop(); };
  session.conn->start();
  loop.post([&] {
    session.inside_call = true;
    session.conn->send("</stream:stream>");
    session.conn->close();
    session.conn->close();  // twice: harmless
    session.conn->send("dropped");
    session.inside_call = false;
  });
  REQUIRE(test::runWithWatchdog(loop));
  CHECK(session.closed_count == 1);
  CHECK(session.closed_reason == "closed");
  CHECK_FALSE(session.conn->isOpen());
  char buf[64];
  ssize_t n = ::read(theirs.get(), buf, sizeof buf);
  CHECK(std::string(buf, static_cast<size_t>(std::max<ssize_t>(n, 0))) == "</stream:stream>");
  CHECK(::read(theirs.get(), buf, sizeof buf) == 0);  // EOF (SHUT_WR)
}

TEST_CASE("Connection: closeNow() from onData defers onClosed and stops input",
          "[net][connection]") {
  Loop loop;
  auto [ours, theirs] = socketPair();
  TestSession session(loop, std::move(ours), SocketAddress{});
  int data_calls = 0;
  session.on_data = [&](std::string_view) {
    ++data_calls;
    session.inside_call = true;
    session.conn->send("unsent");
    session.conn->closeNow();
    session.inside_call = false;
  };
  session.on_closed = [&] { loop.stop(); };
  session.conn->start();
  REQUIRE(test::writeAll(theirs.get(), "first"));
  REQUIRE(test::runWithWatchdog(loop));
  CHECK(data_calls == 1);
  CHECK(session.closed_count == 1);
  CHECK(session.conn->pendingOutputBytes() == 0);
}

TEST_CASE("Connection: the peer vanishing is reported", "[net][connection]") {
  Loop loop;
  auto [ours, theirs] = socketPair();
  TestSession session(loop, std::move(ours), SocketAddress{});
  session.on_closed = [&] { loop.stop(); };
  session.conn->start();
  REQUIRE(test::writeAll(theirs.get(), "last words"));
  theirs.reset();
  REQUIRE(test::runWithWatchdog(loop));
  CHECK(session.received == "last words");  // read before the close is reported
  CHECK(session.closed_count == 1);
  CHECK(session.closed_reason == "peer closed the connection");
}

TEST_CASE("Connection: setReadPaused stops and resumes input", "[net][connection]") {
  Loop loop;
  auto [ours, theirs] = socketPair();
  TestSession session(loop, std::move(ours), SocketAddress{});
  session.conn->start();
  session.conn->setReadPaused(true);
  REQUIRE(test::writeAll(theirs.get(), "queued"));
  std::string while_paused = "unset";
  loop.addTimer(30ms, [&] {
    while_paused = session.received;
    session.conn->setReadPaused(false);
  });
  session.on_data = [&](std::string_view) { loop.stop(); };
  REQUIRE(test::runWithWatchdog(loop));
  CHECK(while_paused.empty());
  CHECK(session.received == "queued");
}

TEST_CASE("Connection: more than one event's worth of reads already queued is all received",
          "[net][connection]") {
  // Edge-triggered epoll reports bytes that sat in the socket once: whatever the per-event
  // read cap left behind must be read on a later turn without a new arrival.
  Loop loop;
  auto [ours, theirs] = socketPair();
  int big = 4 * 1024 * 1024;
  ::setsockopt(theirs.get(), SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  std::string queued;
  std::string chunk(4096, 'x');
  for (int i = 0; i < 1024; ++i) {
    chunk[0] = static_cast<char>('a' + i % 26);
    ssize_t n = ::write(theirs.get(), chunk.data(), chunk.size());
    if (n <= 0) break;
    queued.append(chunk, 0, static_cast<size_t>(n));
  }
  REQUIRE(queued.size() > 8 * 16 * 1024);  // more than kMaxReadsPerEvent full reads
  TestSession session(loop, std::move(ours), SocketAddress{});
  session.on_data = [&](std::string_view) {
    if (session.received.size() == queued.size()) loop.stop();
  };
  session.conn->start();
  REQUIRE(test::runWithWatchdog(loop));
  CHECK(session.received == queued);
  CHECK(session.conn->stats().reads > 8);
}

// The flush at the end of the turn is a plain call on the Connection: destroying the
// Connection first must cancel it (ASan sees a use after free otherwise).
TEST_CASE("Connection: destroyed with a flush pending, nothing runs on it", "[net][connection]") {
  Loop loop;
  auto [ours, theirs] = socketPair();
  auto session = std::make_unique<TestSession>(loop, std::move(ours), SocketAddress{});
  session->conn->start();
  auto [other_ours, other_theirs] = socketPair();
  TestSession other(loop, std::move(other_ours), SocketAddress{});
  other.conn->start();
  loop.post([&] {
    session->conn->send("dropped");
    other.conn->send("kept");  // queued after the cancelled one: still flushed
    session.reset();
    loop.atEndOfTurn([&] { loop.stop(); });
  });
  REQUIRE(test::runWithWatchdog(loop));
  CHECK(test::readExactly(other_theirs.get(), 4) == "kept");
  char c;
  CHECK(::read(theirs.get(), &c, 1) == 0);  // EOF: closed, and "dropped" never written
}

// The handler must not destroy its Connection from onData, but if it does, the reading call
// on the stack finds out and touches nothing more.
TEST_CASE("Connection: a handler that destroys it from onData stops the read",
          "[net][connection]") {
  Loop loop;
  auto [ours, theirs] = socketPair();
  auto session = std::make_unique<TestSession>(loop, std::move(ours), SocketAddress{});
  int calls = 0;
  session->on_data = [&](std::string_view) {
    ++calls;
    session->conn.reset();
    loop.atEndOfTurn([&] { loop.stop(); });
  };
  session->conn->start();
  test::writeAll(theirs.get(), "first");
  REQUIRE(test::runWithWatchdog(loop));
  CHECK(calls == 1);
  CHECK(session->received == "first");
}

TEST_CASE("Connection: destroying it without start() just closes the socket", "[net][connection]") {
  Loop loop;
  auto [ours, theirs] = socketPair();
  {
    TestSession session(loop, std::move(ours), SocketAddress{});
    session.conn->send("never sent");
  }
  char c;
  CHECK(::read(theirs.get(), &c, 1) == 0);
}

}  // namespace
}  // namespace parley::net
