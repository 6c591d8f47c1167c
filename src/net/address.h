// SocketAddress: an IPv4 or IPv6 address and port, parsed from config text or taken from accept().
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.h"

namespace parley::net {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  // Numeric addresses only (no DNS, so it never blocks): "1.2.3.4", "::1", "[::1]".
  // "*" and "" mean every address, dual stack (in6addr_any); "localhost" means 127.0.0.1.
  static Result<SocketAddress> parse(std::string_view host, uint16_t port);
  // Copies what accept()/getsockname() returned; `len` is clamped to sockaddr_storage.
  static SocketAddress fromSockaddr(const sockaddr* addr, socklen_t len);

  int family() const { return storage.ss_family; }
  const sockaddr* sockaddrPtr() const { return reinterpret_cast<const sockaddr*>(&storage); }
  bool isAny() const;  // 0.0.0.0 or ::

  // IPv4-mapped IPv6 peers (from a dual-stack listener) print as plain IPv4, so logs and
  // per-IP limits see one address per client: "1.2.3.4", "::1". Empty if unset.
  std::string ip() const;
  // "1.2.3.4:5222", "[::1]:5222".
  std::string toString() const;
  uint16_t port() const;
};

}  // namespace parley::net
