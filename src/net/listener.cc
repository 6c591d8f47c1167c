// Listener implementation: accept4 until EAGAIN; back off for a moment when out of descriptors.
#include "net/listener.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "util/log.h"

namespace parley::net {
namespace {

constexpr int kBacklog = 1024;
constexpr auto kPauseAfterEmfile = std::chrono::milliseconds(100);
// Level-triggered: whatever is left is picked up next turn, so other sockets get a go.
constexpr int kMaxAcceptsPerEvent = 256;

Result<void> setFlag(int fd, int level, int name, int value, const char* what) {
  if (setsockopt(fd, level, name, &value, sizeof value) != 0) {
    return fail("setsockopt(", what, "): ", std::strerror(errno));
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<Listener>> Listener::open(Loop& loop, const SocketAddress& addr,
                                                 AcceptFn on_accept) {
  std::string where = addr.toString();
  Fd fd(::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fail("listen on ", where, ": socket: ", std::strerror(errno));
  for (auto r : {setFlag(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR"),
                 setFlag(fd.get(), SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT")}) {
    if (!r) return fail("listen on ", where, ": ", r.error().message);
  }
  if (addr.family() == AF_INET6 && addr.isAny()) {
    if (auto r = setFlag(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, 0, "IPV6_V6ONLY"); !r) {
      return fail("listen on ", where, ": ", r.error().message);
    }
  }
  if (::bind(fd.get(), addr.sockaddrPtr(), addr.length) != 0) {
    return fail("listen on ", where, ": bind: ", std::strerror(errno));
  }
  if (::listen(fd.get(), kBacklog) != 0) {
    return fail("listen on ", where, ": listen: ", std::strerror(errno));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
    return fail("listen on ", where, ": getsockname: ", std::strerror(errno));
  }
  auto local = SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&bound), len);
  return std::unique_ptr<Listener>(new Listener(loop, std::move(fd), local, std::move(on_accept)));
}

Listener::Listener(Loop& loop, Fd fd, SocketAddress local, AcceptFn on_accept)
    : loop_(loop), fd_(std::move(fd)), local_(local), on_accept_(std::move(on_accept)) {
  loop_.add(fd_.get(), EPOLLIN, [this](uint32_t) { onReadable(); });
}

Listener::~Listener() {
  loop_.cancelTimer(resume_timer_);
  loop_.remove(fd_.get());
}

void Listener::onReadable() {
  for (int i = 0; i < kMaxAcceptsPerEvent; ++i) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    int client = ::accept4(fd_.get(), reinterpret_cast<sockaddr*>(&peer), &len,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client >= 0) {
      Fd owned(client);
      // Output is coalesced per loop turn already; Nagle would only add delay.
      int one = 1;
      setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      on_accept_(std::move(owned),
                 SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&peer), len));
      continue;
    }
    switch (errno) {
      case EAGAIN:
        return;
      case EINTR:
      case ECONNABORTED:
      case EPROTO:
      case EPERM:  // firewall rules
        continue;
      case EMFILE:
      case ENFILE:
      case ENOBUFS:
      case ENOMEM:
        // Level-triggered epoll would report the pending connection again at once: spin.
        log::warn("listener ", local_.toString(), ": accept: ", std::strerror(errno),
                  "; pausing accepts for ", kPauseAfterEmfile.count(), " ms");
        pause();
        return;
      default:
        log::warn("listener ", local_.toString(), ": accept: ", std::strerror(errno));
        return;
    }
  }
}

void Listener::pause() {
  loop_.modify(fd_.get(), 0);
  loop_.cancelTimer(resume_timer_);
  resume_timer_ = loop_.addTimer(kPauseAfterEmfile, [this] {
    resume_timer_ = 0;
    loop_.modify(fd_.get(), EPOLLIN);
  });
}

}  // namespace parley::net
