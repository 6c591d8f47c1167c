// Resolver: asynchronous DNS (SRV, A, AAAA) through c-ares on the event loop, for outgoing s2s.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "net/address.h"
#include "net/loop.h"
#include "util/result.h"

struct ares_channeldata;  // c-ares' channel; ares.h stays out of this header

namespace parley::net {

enum class DnsError {
  NotFound,       // NXDOMAIN, or the name exists but has no record of that type
  Timeout,        // no server answered in time
  ServerFailure,  // SERVFAIL, or no server reachable (connection refused)
  Refused,        // REFUSED
  Cancelled,      // the query was cancelled (not used on destruction: see ~Resolver)
  Other,          // malformed name or answer, out of memory, ...
};
std::string_view toString(DnsError error);

// One SRV record. A `host` of "." means "the service is decidedly not available" (RFC 2782)
// when it is the only record.
struct SrvTarget {
  std::string host;
  uint16_t port = 0;
  uint16_t priority = 0;
  uint16_t weight = 0;
  bool operator==(const SrvTarget&) const = default;
};

// Where to connect for s2s, in the order to try them.
struct ServerCandidate {
  std::string host;
  uint16_t port = 0;
  bool direct_tls = false;  // from _xmpps-server (XEP-0368): TLS from the first byte
  bool operator==(const ServerCandidate&) const = default;
};

// Returns a uniformly distributed number in [0, bound] (inclusive, as RFC 2782's selection
// needs).
using RandomSource = std::function<uint32_t(uint32_t bound)>;

// Orders SRV records as RFC 2782 says: by ascending priority, and within one priority by
// repeated weighted random selection (weight-0 records first in the running sum, so they are
// picked only rarely unless all weights are 0).
std::vector<SrvTarget> orderSrvTargets(std::vector<SrvTarget> targets, const RandomSource& random);

struct ResolverOptions {
  std::chrono::milliseconds timeout{2000};  // per try, per server (c-ares ARES_OPT_TIMEOUTMS)
  int tries = 3;                            // attempts per server
};

// One per Loop; lives on its loop thread and must be destroyed there, before the Loop.
// Callbacks always run on the loop thread, never synchronously inside the resolve call (they
// run at the end of the loop turn at the earliest). Destroying the Resolver cancels pending
// queries: their callbacks are NOT called, not even with DnsError::Cancelled, so the owner
// may tear down what the callbacks capture in any order.
class Resolver {
 public:
  using SrvCallback = std::function<void(Result<std::vector<SrvTarget>, DnsError>)>;
  using AddressCallback = std::function<void(Result<std::vector<SocketAddress>, DnsError>)>;
  using CandidateCallback = std::function<void(std::vector<ServerCandidate>)>;

  // `servers` empty = the system's (/etc/resolv.conf). UDP and TCP use each server's port.
  // Servers are tried in turn when one times out or is unreachable; a SERVFAIL or REFUSED
  // answer is final (reported as ServerFailure / Refused, no other server is asked).
  static Result<std::unique_ptr<Resolver>> create(Loop& loop, std::vector<SocketAddress> servers,
                                                  ResolverOptions options = {});
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // For tests: the random source of the RFC 2782 weighted selection.
  void setRandomSource(RandomSource random) { random_ = std::move(random); }

  // SRV records of `service_name` ("_xmpp-server._tcp.example.com"), ordered by orderSrvTargets.
  void resolveSrv(std::string_view service_name, SrvCallback done);
  // AAAA and A records of `host` with `port`: every IPv6 address first, then every IPv4 one.
  // Succeeds if either query found addresses. If both fail with different errors, a NotFound
  // gives way to the other error (a timeout says more than "no AAAA record"); otherwise the
  // A query's error wins. An IP literal is returned as is, without a query.
  void resolveAddresses(std::string_view host, uint16_t port, AddressCallback done);
  // The s2s candidates for `domain`: _xmpps-server._tcp (direct TLS) and _xmpp-server._tcp
  // targets merged and ordered together by priority and weight (XEP-0368 §3, RFC 2782). With
  // no usable SRV record at all (NXDOMAIN, no data, or an error), {domain, 5269, false}
  // (RFC 6120 §3.2.2). If the only records are "." targets: an empty list (not available).
  // Hosts are not resolved to addresses; call resolveAddresses for each candidate in turn.
  void resolveXmppServer(std::string_view domain, CandidateCallback done);

 private:
  struct ChannelDeleter {
    void operator()(ares_channeldata* channel) const;
  };
  struct PendingQuery;
  // Handles the raw answer (inside c-ares processing: must only parse and defer).
  using RawAnswer = std::function<void(int status, const unsigned char* answer, int length)>;

  explicit Resolver(Loop& loop);
  void sendQuery(const std::string& name, int type, RawAnswer on_answer);
  static void onAnswer(void* arg, int status, int timeouts, unsigned char* answer, int length);
  static void onSocketState(void* data, int fd, int readable, int writable);
  void onReady(int fd, uint32_t events);
  void rearmTimer();
  // Runs `fn` at the end of this loop turn, unless the Resolver is gone by then.
  void defer(std::function<void()> fn);

  Loop& loop_;
  std::unique_ptr<ares_channeldata, ChannelDeleter> channel_;
  std::unordered_set<int> registered_;  // c-ares sockets added to the loop
  Loop::TimerId timer_ = 0;
  bool destroying_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  RandomSource random_;
};

}  // namespace parley::net
