// Connector implementation: connect(2) with EINPROGRESS, completion on EPOLLOUT, SO_ERROR.
#include "net/connector.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace parley::net {

std::unique_ptr<Connector> Connector::start(Loop& loop, const SocketAddress& address,
                                            std::chrono::milliseconds timeout, Done done,
                                            const SocketAddress* source) {
  std::unique_ptr<Connector> self(new Connector(loop, std::move(done)));
  Connector* raw = self.get();
  raw->fd_.reset(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!raw->fd_.valid()) {
    raw->finish(Unexpected(std::string("socket: ") + std::strerror(errno)));
    return self;
  }
  // Output is coalesced per loop turn already; Nagle would only add delay.
  int one = 1;
  setsockopt(raw->fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (source != nullptr) {
    // The port is picked at connect() time, per destination, so many connections can share
    // one source address.
    setsockopt(raw->fd_.get(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (::bind(raw->fd_.get(), source->sockaddrPtr(), source->length) != 0) {
      raw->finish(Unexpected(std::string("bind: ") + std::strerror(errno)));
      return self;
    }
  }
  int r = ::connect(raw->fd_.get(), address.sockaddrPtr(), address.length);
  if (r == 0) {
    raw->finish(std::move(raw->fd_));
    return self;
  }
  if (errno != EINPROGRESS) {
    raw->finish(Unexpected(std::string(std::strerror(errno))));
    return self;
  }
  raw->registered_ = true;
  loop.add(raw->fd_.get(), EPOLLOUT, [raw](uint32_t) { raw->onWritable(); });
  std::weak_ptr<char> guard = raw->alive_;
  raw->timer_ = loop.addTimer(timeout, [raw, guard, timeout] {
    if (guard.expired()) return;
    raw->timer_ = 0;
    raw->finish(Unexpected("timed out after " + std::to_string(timeout.count()) + " ms"));
  });
  return self;
}

Connector::~Connector() {
  loop_.cancelTimer(timer_);
  if (registered_) loop_.remove(fd_.get());
}

void Connector::onWritable() {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  // Unregister before the socket moves into the outcome.
  loop_.remove(fd_.get());
  registered_ = false;
  if (err != 0) return finish(Unexpected(std::string(std::strerror(err))));
  finish(std::move(fd_));
}

void Connector::finish(Result<Fd, std::string> outcome) {
  if (finished_) return;
  finished_ = true;
  loop_.cancelTimer(timer_);
  timer_ = 0;
  if (registered_) {  // the timeout: the socket is still ours
    loop_.remove(fd_.get());
    registered_ = false;
  }
  fd_.reset();  // a failed attempt's socket; a connected one was moved into `outcome`
  std::weak_ptr<char> guard = alive_;
  auto shared = std::make_shared<Result<Fd, std::string>>(std::move(outcome));
  loop_.atEndOfTurn([this, guard, shared] {
    if (guard.expired()) return;
    auto done = std::move(done_);
    done(std::move(*shared));
  });
}

}  // namespace parley::net
