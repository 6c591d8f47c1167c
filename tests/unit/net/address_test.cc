// Unit tests for net::SocketAddress: parsing and formatting.
#include "net/address.h"

#include <arpa/inet.h>

#include <catch2/catch.hpp>

namespace parley::net {
namespace {

TEST_CASE("SocketAddress::parse accepts numeric addresses", "[net][address]") {
  struct Case {
    std::string host;
    uint16_t port;
    int family;
    std::string ip;
    std::string text;
  };
  auto c = GENERATE(values<Case>({
      {"1.2.3.4", 5, AF_INET, "1.2.3.4", "1.2.3.4:5"},
      {"127.0.0.1", 5222, AF_INET, "127.0.0.1", "127.0.0.1:5222"},
      {"localhost", 5222, AF_INET, "127.0.0.1", "127.0.0.1:5222"},
      {"0.0.0.0", 0, AF_INET, "0.0.0.0", "0.0.0.0:0"},
      {"::1", 5, AF_INET6, "::1", "[::1]:5"},
      {"[::1]", 5269, AF_INET6, "::1", "[::1]:5269"},
      {"2001:db8::1", 443, AF_INET6, "2001:db8::1", "[2001:db8::1]:443"},
      {"*", 5222, AF_INET6, "::", "[::]:5222"},
      {"", 5223, AF_INET6, "::", "[::]:5223"},
      {"::ffff:10.0.0.1", 7, AF_INET6, "10.0.0.1", "10.0.0.1:7"},  // v4-mapped prints as v4
  }));
  CAPTURE(c.host);
  auto addr = SocketAddress::parse(c.host, c.port);
  REQUIRE(addr);
  CHECK(addr->family() == c.family);
  CHECK(addr->port() == c.port);
  CHECK(addr->ip() == c.ip);
  CHECK(addr->toString() == c.text);
}

TEST_CASE("SocketAddress::parse rejects what is not a numeric address", "[net][address]") {
  auto host = GENERATE(as<std::string>{}, "example.com", "1.2.3", "1.2.3.4.5", "256.1.1.1", ":::1",
                       "[::1", "::1]", "1.2.3.4:5", " 1.2.3.4", "local host");
  CAPTURE(host);
  auto addr = SocketAddress::parse(host, 1);
  REQUIRE_FALSE(addr);
  CHECK(addr.error().message.find("not a numeric IP address") != std::string::npos);
}

TEST_CASE("SocketAddress: any-address and an unset address", "[net][address]") {
  CHECK(SocketAddress::parse("*", 1)->isAny());
  CHECK(SocketAddress::parse("0.0.0.0", 1)->isAny());
  CHECK_FALSE(SocketAddress::parse("::1", 1)->isAny());
  SocketAddress unset;
  CHECK(unset.ip().empty());
  CHECK(unset.port() == 0);
  CHECK(unset.toString() == "(unknown)");
}

TEST_CASE("SocketAddress::fromSockaddr copies an accept() result", "[net][address]") {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(1234);
  inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
  auto addr = SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&sin), sizeof sin);
  CHECK(addr.toString() == "192.0.2.7:1234");
  CHECK(addr.length == sizeof sin);
}

}  // namespace
}  // namespace parley::net
