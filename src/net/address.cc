// SocketAddress parsing and formatting with inet_pton/inet_ntop.
#include "net/address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace parley::net {

Result<SocketAddress> SocketAddress::parse(std::string_view host, uint16_t port) {
  SocketAddress out;
  if (host.empty() || host == "*") {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_addr = in6addr_any;
    sin6->sin6_port = htons(port);
    out.length = sizeof(sockaddr_in6);
    return out;
  }
  if (host == "localhost") host = "127.0.0.1";
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::string text(host);  // inet_pton wants a NUL-terminated string
  auto* sin = reinterpret_cast<sockaddr_in*>(&out.storage);
  if (inet_pton(AF_INET, text.c_str(), &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    out.length = sizeof(sockaddr_in);
    return out;
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (inet_pton(AF_INET6, text.c_str(), &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    out.length = sizeof(sockaddr_in6);
    return out;
  }
  return fail("not a numeric IP address: '", text, "'");
}

SocketAddress SocketAddress::fromSockaddr(const sockaddr* addr, socklen_t len) {
  SocketAddress out;
  out.length = std::min<socklen_t>(len, sizeof(out.storage));
  std::memcpy(&out.storage, addr, out.length);
  return out;
}

bool SocketAddress::isAny() const {
  if (family() == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr.s_addr == htonl(INADDR_ANY);
  }
  if (family() == AF_INET6) {
    return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr);
  }
  return false;
}

std::string SocketAddress::ip() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, buf, sizeof buf);
    return buf;
  }
  if (family() == AF_INET6) {
    const in6_addr& a6 = reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
      inet_ntop(AF_INET, &a6.s6_addr[12], buf, sizeof buf);
    } else {
      inet_ntop(AF_INET6, &a6, buf, sizeof buf);
    }
    return buf;
  }
  return {};
}

uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  }
  return 0;
}

std::string SocketAddress::toString() const {
  std::string address = ip();
  if (address.empty()) return "(unknown)";
  bool bracket = address.find(':') != std::string::npos;
  return (bracket ? "[" + address + "]" : address) + ":" + std::to_string(port());
}

}  // namespace parley::net
