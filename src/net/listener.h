// Listener: a listening TCP socket on one loop (one per worker; SO_REUSEPORT spreads connections).
#pragma once

#include <functional>
#include <memory>

#include "net/address.h"
#include "net/fd.h"
#include "net/loop.h"
#include "util/result.h"

namespace parley::net {

// Lives on its loop's thread; never shared. Destroying it stops accepting and closes the socket.
class Listener {
 public:
  // Gets each accepted socket (nonblocking, close-on-exec) and the peer's address.
  using AcceptFn = std::function<void(Fd fd, const SocketAddress& peer)>;

  // Binds and listens (SO_REUSEADDR + SO_REUSEPORT, backlog 1024; the any-address "::" is
  // dual stack). Call on the loop thread. Port 0 picks a free port: read it from port() and
  // open the other workers' listeners on that port.
  static Result<std::unique_ptr<Listener>> open(Loop& loop, const SocketAddress& addr,
                                                AcceptFn on_accept);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  uint16_t port() const { return local_.port(); }
  const SocketAddress& localAddress() const { return local_; }

 private:
  Listener(Loop& loop, Fd fd, SocketAddress local, AcceptFn on_accept);
  void onReadable();
  void pause();

  Loop& loop_;
  Fd fd_;
  SocketAddress local_;
  AcceptFn on_accept_;
  Loop::TimerId resume_timer_ = 0;
};

}  // namespace parley::net
