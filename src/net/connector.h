// Connector: one outgoing TCP connection attempt on the event loop (nonblocking connect, timeout).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "net/address.h"
#include "net/fd.h"
#include "net/loop.h"
#include "util/result.h"

namespace parley::net {

// Lives on its loop thread; never shared. Destroying it cancels the attempt: `done` is not
// called then, so the owner may drop what the callback captures in any order.
class Connector {
 public:
  // The connected, nonblocking, close-on-exec socket (TCP_NODELAY set), or why it failed
  // ("connection refused", "timed out after 10s", ...).
  using Done = std::function<void(Result<Fd, std::string>)>;

  // Starts connecting to `address`, from `source` (an address of this host; port 0) when given.
  // `done` runs exactly once on the loop thread, never inside this call (at the end of the loop
  // turn at the earliest).
  static std::unique_ptr<Connector> start(Loop& loop, const SocketAddress& address,
                                          std::chrono::milliseconds timeout, Done done,
                                          const SocketAddress* source = nullptr);
  ~Connector();
  Connector(const Connector&) = delete;
  Connector& operator=(const Connector&) = delete;

 private:
  Connector(Loop& loop, Done done) : loop_(loop), done_(std::move(done)) {}
  void onWritable();
  // Hands the outcome to `done` at the end of the turn (if this object is still alive).
  void finish(Result<Fd, std::string> outcome);

  Loop& loop_;
  Done done_;
  Fd fd_;
  bool registered_ = false;
  bool finished_ = false;
  Loop::TimerId timer_ = 0;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace parley::net
