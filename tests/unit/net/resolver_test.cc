// Unit tests for net::Resolver against a real UDP DNS server (fake_dns_server.h) on loopback.
#include "net/resolver.h"

#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "net_test_support.h"
#include "support/fake_dns_server.h"

namespace parley::net {
namespace {

using namespace std::chrono_literals;
using test::DnsA;
using test::DnsAaaa;
using test::DnsAnswer;
using test::DnsSrv;
using test::FakeDnsServer;
using test::kDnsTypeA;
using test::kDnsTypeAaaa;
using test::kDnsTypeSrv;
using Table = std::map<std::pair<std::string, uint16_t>, DnsAnswer>;

DnsAnswer records(std::vector<test::DnsRecord> list) {
  return DnsAnswer{DnsAnswer::Kind::Records, std::move(list)};
}
DnsAnswer kind(DnsAnswer::Kind k) { return DnsAnswer{k, {}}; }

std::unique_ptr<Resolver> makeResolver(Loop& loop, const FakeDnsServer& server) {
  REQUIRE(server.port() != 0);
  auto address = SocketAddress::parse("127.0.0.1", server.port());
  REQUIRE(address);
  auto resolver = Resolver::create(loop, {*address}, ResolverOptions{200ms, 1});
  REQUIRE(resolver);
  return std::move(*resolver);
}

// A random source that always answers `bound` (the last candidate in the running sum).
uint32_t highest(uint32_t bound) { return bound; }
uint32_t lowest(uint32_t) { return 0; }

std::vector<std::string> ips(const std::vector<SocketAddress>& addresses) {
  std::vector<std::string> out;
  for (const auto& a : addresses) out.push_back(a.toString());
  return out;
}

TEST_CASE("orderSrvTargets: priority first, then RFC 2782 weighted selection", "[resolver]") {
  struct Case {
    const char* name;
    std::vector<SrvTarget> input;
    std::vector<uint32_t> draws;  // what the random source answers, in turn
    std::vector<std::string> expected_hosts;
    std::vector<uint32_t> expected_bounds;
  };
  std::vector<Case> cases = {
      {"priority only",
       {{"c", 1, 30, 0}, {"a", 1, 10, 0}, {"b", 1, 20, 0}},
       {0, 0, 0},
       {"a", "b", "c"},
       {0, 0, 0}},
      {"weighted: the draw picks the first running sum >= it",
       {{"a", 1, 10, 60}, {"b", 1, 10, 30}, {"c", 1, 10, 10}},
       {95, 61, 0},
       {"c", "b", "a"},
       {100, 90, 60}},
      {"weighted: a low draw picks the first",
       {{"a", 1, 10, 60}, {"b", 1, 10, 30}, {"c", 1, 10, 10}},
       {0, 0, 0},
       {"a", "b", "c"},
       {100, 40, 10}},
      {"weight 0 sits first in the running sum",
       {{"heavy", 1, 10, 10}, {"zero", 1, 10, 0}},
       {0, 0},
       {"zero", "heavy"},
       {10, 10}},
      {"weight 0 is picked last by a high draw",
       {{"heavy", 1, 10, 10}, {"zero", 1, 10, 0}},
       {10, 0},
       {"heavy", "zero"},
       {10, 0}},
      {"priorities are groups",
       {{"p20", 1, 20, 5}, {"p10b", 1, 10, 5}, {"p10a", 1, 10, 5}},
       {10, 0, 0},
       {"p10a", "p10b", "p20"},
       {10, 5, 5}},
      {"empty", {}, {}, {}, {}},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      std::vector<uint32_t> bounds;
      size_t next = 0;
      auto ordered = orderSrvTargets(c.input, [&](uint32_t bound) {
        bounds.push_back(bound);
        return next < c.draws.size() ? c.draws[next++] : 0;
      });
      std::vector<std::string> hosts;
      for (const auto& t : ordered) hosts.push_back(t.host);
      CHECK(hosts == c.expected_hosts);
      CHECK(bounds == c.expected_bounds);
    }
  }
}

TEST_CASE("Resolver: SRV records come back ordered by priority and weight", "[resolver]") {
  FakeDnsServer server(Table{
      {{"_xmpp-server._tcp.example.com", kDnsTypeSrv},
       records({DnsSrv{20, 0, 5269, "backup.example.com"},
                DnsSrv{10, 10, 5270, "light.example.com"},
                DnsSrv{10, 90, 5271, "heavy.example.com"}})},
  });
  Loop loop;
  auto resolver = makeResolver(loop, server);
  std::vector<uint32_t> bounds;
  resolver->setRandomSource([&](uint32_t bound) {
    bounds.push_back(bound);
    return bound;
  });
  std::optional<Result<std::vector<SrvTarget>, DnsError>> got;
  resolver->resolveSrv("_xmpp-server._tcp.example.com", [&](auto result) {
    got = std::move(result);
    loop.stop();
  });
  REQUIRE(test::runWithWatchdog(loop));
  REQUIRE(got);
  REQUIRE(got->hasValue());
  // A draw of `bound` takes the last in running-sum order each time: heavy, then light.
  CHECK(**got == std::vector<SrvTarget>{{"heavy.example.com", 5271, 10, 90},
                                        {"light.example.com", 5270, 10, 10},
                                        {"backup.example.com", 5269, 20, 0}});
  CHECK(bounds == std::vector<uint32_t>{100, 10, 0});
}

TEST_CASE("Resolver: errors of a single query", "[resolver]") {
  FakeDnsServer server(Table{
      {{"nodata.example.com", kDnsTypeSrv}, records({})},
      {{"servfail.example.com", kDnsTypeSrv}, kind(DnsAnswer::Kind::ServFail)},
      {{"refused.example.com", kDnsTypeSrv}, kind(DnsAnswer::Kind::Refused)},
      {{"silent.example.com", kDnsTypeSrv}, kind(DnsAnswer::Kind::Silent)},
  });
  struct Case {
    const char* name;
    DnsError expected;
  };
  Case cases[] = {
      {"nxdomain.example.com", DnsError::NotFound},      {"nodata.example.com", DnsError::NotFound},
      {"servfail.example.com", DnsError::ServerFailure}, {"refused.example.com", DnsError::Refused},
      {"silent.example.com", DnsError::Timeout},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      Loop loop;
      auto resolver = makeResolver(loop, server);
      std::optional<Result<std::vector<SrvTarget>, DnsError>> got;
      auto start = std::chrono::steady_clock::now();
      resolver->resolveSrv(c.name, [&](auto result) {
        got = std::move(result);
        loop.stop();
      });
      REQUIRE(test::runWithWatchdog(loop, 5s));
      REQUIRE(got);
      REQUIRE_FALSE(got->hasValue());
      CHECK(toString(got->error()) == toString(c.expected));
      // The timeout case: 200 ms, one try, so well under the default seconds.
      CHECK(std::chrono::steady_clock::now() - start < 2s);
    }
  }
}

TEST_CASE("Resolver: AAAA then A addresses with the port", "[resolver]") {
  FakeDnsServer server(Table{
      {{"dual.example.com", kDnsTypeAaaa},
       records({DnsAaaa{"2001:db8::1"}, DnsAaaa{"2001:db8::2"}})},
      {{"dual.example.com", kDnsTypeA}, records({DnsA{"192.0.2.1"}, DnsA{"192.0.2.2"}})},
      {{"v4.example.com", kDnsTypeAaaa}, records({})},
      {{"v4.example.com", kDnsTypeA}, records({DnsA{"192.0.2.4"}})},
      {{"v6.example.com", kDnsTypeAaaa}, records({DnsAaaa{"2001:db8::6"}})},
      {{"v6.example.com", kDnsTypeA}, kind(DnsAnswer::Kind::ServFail)},
      {{"slow.example.com", kDnsTypeAaaa}, kind(DnsAnswer::Kind::Silent)},
      {{"slow.example.com", kDnsTypeA}, records({})},
      {{"broken.example.com", kDnsTypeAaaa}, kind(DnsAnswer::Kind::Refused)},
      {{"broken.example.com", kDnsTypeA}, kind(DnsAnswer::Kind::ServFail)},
  });
  struct Case {
    const char* host;
    std::vector<std::string> expected;  // empty: expect `error`
    DnsError error = DnsError::Other;
  };
  Case cases[] = {
      {"dual.example.com",
       {"[2001:db8::1]:5269", "[2001:db8::2]:5269", "192.0.2.1:5269", "192.0.2.2:5269"}},
      {"v4.example.com", {"192.0.2.4:5269"}},
      {"v6.example.com", {"[2001:db8::6]:5269"}},
      {"nxdomain.example.com", {}, DnsError::NotFound},
      {"slow.example.com", {}, DnsError::Timeout},          // NotFound gives way to the timeout
      {"broken.example.com", {}, DnsError::ServerFailure},  // else the A error wins
      {"192.0.2.9", {"192.0.2.9:5269"}},                    // literals: no query
      {"[2001:db8::9]", {"[2001:db8::9]:5269"}},
  };
  for (const Case& c : cases) {
    SECTION(c.host) {
      Loop loop;
      auto resolver = makeResolver(loop, server);
      std::optional<Result<std::vector<SocketAddress>, DnsError>> got;
      resolver->resolveAddresses(c.host, 5269, [&](auto result) {
        got = std::move(result);
        loop.stop();
      });
      CHECK_FALSE(got);  // never synchronous, not even for a literal
      REQUIRE(test::runWithWatchdog(loop, 5s));
      REQUIRE(got);
      if (c.expected.empty()) {
        REQUIRE_FALSE(got->hasValue());
        CHECK(toString(got->error()) == toString(c.error));
      } else {
        REQUIRE(got->hasValue());
        CHECK(ips(**got) == c.expected);
      }
    }
  }
  SECTION("literals are not sent to the server") {
    for (const auto& q : server.questions()) CHECK(q.find("192.0.2.9") == std::string::npos);
  }
}

TEST_CASE("Resolver: names in /etc/hosts need no query", "[resolver]") {
  FakeDnsServer server(Table{});
  Loop loop;
  auto resolver = makeResolver(loop, server);
  std::optional<Result<std::vector<SocketAddress>, DnsError>> got;
  resolver->resolveAddresses("localhost", 5269, [&](auto result) {
    got = std::move(result);
    loop.stop();
  });
  CHECK_FALSE(got);
  REQUIRE(test::runWithWatchdog(loop, 5s));
  REQUIRE(got);
  REQUIRE(got->hasValue());
  auto found = ips(**got);
  CHECK(std::find(found.begin(), found.end(), "127.0.0.1:5269") != found.end());
  CHECK(server.questions().empty());
}

TEST_CASE("Resolver: resolveXmppServer candidates", "[resolver]") {
  FakeDnsServer server(Table{
      // Both services: merged by priority; within priority 5 the draws decide.
      {{"_xmpps-server._tcp.both.example", kDnsTypeSrv},
       records({DnsSrv{5, 1, 5270, "tls.both.example"}, DnsSrv{30, 0, 5270, "tls2.both.example"}})},
      {{"_xmpp-server._tcp.both.example", kDnsTypeSrv},
       records(
           {DnsSrv{10, 0, 5269, "plain.both.example"}, DnsSrv{5, 1, 5269, "plain0.both.example"}})},
      // Only STARTTLS.
      {{"_xmpp-server._tcp.plain.example", kDnsTypeSrv},
       records({DnsSrv{0, 0, 15269, "s2s.plain.example"}})},
      // Only direct TLS.
      {{"_xmpps-server._tcp.tls.example", kDnsTypeSrv},
       records({DnsSrv{0, 0, 443, "s2s.tls.example"}})},
      // Decidedly not available.
      {{"_xmpp-server._tcp.dot.example", kDnsTypeSrv}, records({DnsSrv{0, 0, 0, "."}})},
      // "." for one service, real targets for the other: the real ones.
      {{"_xmpps-server._tcp.half.example", kDnsTypeSrv}, records({DnsSrv{0, 0, 0, "."}})},
      {{"_xmpp-server._tcp.half.example", kDnsTypeSrv},
       records({DnsSrv{0, 0, 5269, "s2s.half.example"}})},
      // SRV failures fall back like "no SRV".
      {{"_xmpps-server._tcp.failing.example", kDnsTypeSrv}, kind(DnsAnswer::Kind::ServFail)},
      {{"_xmpp-server._tcp.failing.example", kDnsTypeSrv}, kind(DnsAnswer::Kind::Silent)},
  });
  struct Case {
    const char* domain;
    RandomSource random;
    std::vector<ServerCandidate> expected;
  };
  Case cases[] = {
      {"both.example",
       lowest,
       {{"tls.both.example", 5270, true},
        {"plain0.both.example", 5269, false},
        {"plain.both.example", 5269, false},
        {"tls2.both.example", 5270, true}}},
      {"both.example",
       highest,
       {{"plain0.both.example", 5269, false},
        {"tls.both.example", 5270, true},
        {"plain.both.example", 5269, false},
        {"tls2.both.example", 5270, true}}},
      {"plain.example", lowest, {{"s2s.plain.example", 15269, false}}},
      {"tls.example", lowest, {{"s2s.tls.example", 443, true}}},
      {"nosrv.example", lowest, {{"nosrv.example", 5269, false}}},
      {"dot.example", lowest, {}},
      {"half.example", lowest, {{"s2s.half.example", 5269, false}}},
      {"failing.example", lowest, {{"failing.example", 5269, false}}},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    const Case& c = cases[i];
    SECTION(std::string(c.domain) + " #" + std::to_string(i)) {
      Loop loop;
      auto resolver = makeResolver(loop, server);
      resolver->setRandomSource(c.random);
      std::optional<std::vector<ServerCandidate>> got;
      resolver->resolveXmppServer(c.domain, [&](std::vector<ServerCandidate> candidates) {
        got = std::move(candidates);
        loop.stop();
      });
      REQUIRE(test::runWithWatchdog(loop, 5s));
      REQUIRE(got);
      CHECK(*got == c.expected);
    }
  }
}

TEST_CASE("Resolver: the SRV '.' target is reported as '.'", "[resolver]") {
  FakeDnsServer server(Table{
      {{"_xmpp-server._tcp.dot.example", kDnsTypeSrv}, records({DnsSrv{0, 0, 0, "."}})},
  });
  Loop loop;
  auto resolver = makeResolver(loop, server);
  std::optional<Result<std::vector<SrvTarget>, DnsError>> got;
  resolver->resolveSrv("_xmpp-server._tcp.dot.example", [&](auto result) {
    got = std::move(result);
    loop.stop();
  });
  REQUIRE(test::runWithWatchdog(loop));
  REQUIRE(got);
  REQUIRE(got->hasValue());
  CHECK(**got == std::vector<SrvTarget>{{".", 0, 0, 0}});
}

TEST_CASE("Resolver: callbacks run on the loop thread, never inside the call", "[resolver]") {
  FakeDnsServer server(Table{
      {{"host.example", kDnsTypeA}, records({DnsA{"192.0.2.1"}})},
  });
  Loop loop;
  auto resolver = makeResolver(loop, server);
  std::thread::id loop_thread;
  std::vector<std::thread::id> callback_threads;
  bool returned = false;  // touched only on the loop thread
  int early = 0;          // callbacks that ran before their resolve call returned
  int done = 0;
  auto finished = [&] {
    callback_threads.push_back(std::this_thread::get_id());
    if (!returned) ++early;
    if (++done == 4) {
      resolver.reset();  // on the loop thread, which owns it now
      loop.stop();
    }
  };
  bool finished_in_time = false;
  bool bad_name_failed = false;
  // Catch2 assertions stay on this thread; the runner only records.
  // The watchdog is armed here: addTimer belongs to the loop thread, which is this one
  // until run() starts on the runner.
  loop.addTimer(10s, [&] { loop.stop(); });
  std::thread runner([&] {
    loop_thread = std::this_thread::get_id();
    loop.run();
    finished_in_time = done == 4;
  });
  loop.post([&] {
    resolver->resolveAddresses("host.example", 1, [&](auto) { finished(); });
    resolver->resolveAddresses("192.0.2.1", 1, [&](auto) { finished(); });
    // A label over 63 characters: c-ares fails it synchronously, we still defer.
    resolver->resolveSrv(std::string(70, 'x') + ".example", [&](auto result) {
      bad_name_failed = !result.hasValue();
      finished();
    });
    resolver->resolveXmppServer("host.example", [&](auto) { finished(); });
    returned = true;
  });
  runner.join();
  REQUIRE(finished_in_time);
  CHECK(done == 4);
  CHECK(bad_name_failed);
  REQUIRE(callback_threads.size() == 4);
  for (const auto& id : callback_threads) CHECK(id == loop_thread);
  CHECK(early == 0);
}

TEST_CASE("Resolver: destroyed with queries pending, callbacks are not called", "[resolver]") {
  FakeDnsServer server(Table{
      {{"_xmpp-server._tcp.silent.example", kDnsTypeSrv}, kind(DnsAnswer::Kind::Silent)},
      {{"_xmpps-server._tcp.silent.example", kDnsTypeSrv}, kind(DnsAnswer::Kind::Silent)},
      {{"silent.example", kDnsTypeA}, kind(DnsAnswer::Kind::Silent)},
      {{"silent.example", kDnsTypeAaaa}, kind(DnsAnswer::Kind::Silent)},
      {{"fast.example", kDnsTypeA}, records({DnsA{"192.0.2.1"}})},
  });
  Loop loop;
  auto resolver = makeResolver(loop, server);
  int called = 0;
  resolver->resolveSrv("_xmpp-server._tcp.silent.example", [&](auto) { ++called; });
  resolver->resolveAddresses("silent.example", 5269, [&](auto) { ++called; });
  resolver->resolveXmppServer("silent.example", [&](auto) { ++called; });
  resolver->resolveAddresses("192.0.2.1", 5269, [&](auto) { ++called; });  // deferred only
  // Destroyed before the end of this turn: even the already-deferred literal is dropped.
  loop.post([&] { resolver.reset(); });
  loop.addTimer(400ms, [&] { loop.stop(); });
  REQUIRE(test::runWithWatchdog(loop));
  CHECK(resolver == nullptr);
  CHECK(called == 0);
}

TEST_CASE("Resolver: destroying it from its own callback is safe", "[resolver]") {
  FakeDnsServer server(Table{
      {{"a.example", kDnsTypeA}, records({DnsA{"192.0.2.1"}})},
      {{"b.example", kDnsTypeA}, kind(DnsAnswer::Kind::Silent)},
  });
  Loop loop;
  auto resolver = makeResolver(loop, server);
  int called = 0;
  resolver->resolveAddresses("a.example", 5269, [&](auto result) {
    ++called;
    CHECK(result.hasValue());
    resolver.reset();
    loop.addTimer(300ms, [&] { loop.stop(); });
  });
  resolver->resolveAddresses("b.example", 5269, [&](auto) { ++called; });
  REQUIRE(test::runWithWatchdog(loop));
  CHECK(called == 1);
}

TEST_CASE("Resolver: a DNS server that is not there is a ServerFailure", "[resolver]") {
  uint16_t closed_port = 0;
  {
    FakeDnsServer gone(Table{});  // bound, then closed: nobody listens on its port
    closed_port = gone.port();
  }
  Loop loop;
  auto address = SocketAddress::parse("127.0.0.1", closed_port);
  REQUIRE(address);
  auto resolver = Resolver::create(loop, {*address}, ResolverOptions{200ms, 1});
  REQUIRE(resolver);
  std::optional<Result<std::vector<SrvTarget>, DnsError>> got;
  (*resolver)->resolveSrv("_xmpp-server._tcp.example.com", [&](auto result) {
    got = std::move(result);
    loop.stop();
  });
  REQUIRE(test::runWithWatchdog(loop));
  REQUIRE(got);
  REQUIRE_FALSE(got->hasValue());
  CHECK(toString(got->error()) == toString(DnsError::ServerFailure));
}

TEST_CASE("Resolver: create with IPv6 servers or the system configuration", "[resolver]") {
  Loop loop;
  auto v6 = SocketAddress::parse("::1", 5353);
  REQUIRE(v6);
  CHECK(Resolver::create(loop, {*v6}).hasValue());
  CHECK(Resolver::create(loop, {}).hasValue());
}

}  // namespace
}  // namespace parley::net
