// Resolver: c-ares channel driven by the Loop (socket readiness + one timer), SRV ordering.
#include "net/resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <optional>
#include <random>

#include "util/log.h"

namespace parley::net {
namespace {

constexpr uint16_t kXmppServerPort = 5269;
constexpr int kMaxAddresses = 32;

DnsError fromAresStatus(int status) {
  switch (status) {
    case ARES_ENODATA:
    case ARES_ENOTFOUND:
      return DnsError::NotFound;
    case ARES_ETIMEOUT:
      return DnsError::Timeout;
    case ARES_ESERVFAIL:
    case ARES_ECONNREFUSED:  // every server unreachable (ICMP port unreachable, TCP RST)
      return DnsError::ServerFailure;
    case ARES_EREFUSED:
      return DnsError::Refused;
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION:
      return DnsError::Cancelled;
    default:
      return DnsError::Other;
  }
}

Result<void, std::string> initLibrary() {
  static std::once_flag once;
  static int status = ARES_SUCCESS;
  std::call_once(once, [] { status = ares_library_init(ARES_LIB_INIT_ALL); });
  if (status != ARES_SUCCESS) return Unexpected(std::string(ares_strerror(status)));
  return {};
}

// RFC 2782 ordering over anything with a priority and a weight.
template <class T, class Key>
std::vector<T> orderByPriorityAndWeight(std::vector<T> items, Key key, const RandomSource& random) {
  std::stable_sort(items.begin(), items.end(), [&](const T& a, const T& b) {
    auto [pa, wa] = key(a);
    auto [pb, wb] = key(b);
    if (pa != pb) return pa < pb;
    return wa == 0 && wb != 0;  // weight-0 records first in each priority (RFC 2782)
  });
  std::vector<T> ordered;
  ordered.reserve(items.size());
  size_t begin = 0;
  while (begin < items.size()) {
    size_t end = begin;
    while (end < items.size() && key(items[end]).first == key(items[begin]).first) ++end;
    std::vector<T> group(std::make_move_iterator(items.begin() + static_cast<ptrdiff_t>(begin)),
                         std::make_move_iterator(items.begin() + static_cast<ptrdiff_t>(end)));
    while (!group.empty()) {
      uint32_t sum = 0;
      for (const T& item : group) sum += key(item).second;
      uint32_t pick = random(sum);
      size_t chosen = group.size() - 1;
      uint32_t running = 0;
      for (size_t i = 0; i < group.size(); ++i) {
        running += key(group[i]).second;
        if (running >= pick) {
          chosen = i;
          break;
        }
      }
      ordered.push_back(std::move(group[chosen]));
      group.erase(group.begin() + static_cast<ptrdiff_t>(chosen));
    }
    begin = end;
  }
  return ordered;
}

Result<std::vector<SrvTarget>, DnsError> parseSrv(const unsigned char* answer, int length) {
  ares_srv_reply* reply = nullptr;
  int status = ares_parse_srv_reply(answer, length, &reply);
  if (status != ARES_SUCCESS) return Unexpected(fromAresStatus(status));
  std::vector<SrvTarget> targets;
  for (ares_srv_reply* r = reply; r != nullptr; r = r->next) {
    std::string host = r->host != nullptr ? r->host : "";
    if (host.empty()) host = ".";  // the root name: "not available"
    targets.push_back(SrvTarget{std::move(host), r->port, r->priority, r->weight});
  }
  ares_free_data(reply);
  if (targets.empty()) return Unexpected(DnsError::NotFound);
  return targets;
}

SocketAddress makeAddress(const void* ip, int family, uint16_t port) {
  SocketAddress address;
  if (family == AF_INET6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    std::memcpy(&sin6->sin6_addr, ip, sizeof sin6->sin6_addr);
    address.length = sizeof(sockaddr_in6);
  } else {
    auto* sin = reinterpret_cast<sockaddr_in*>(&address.storage);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, ip, sizeof sin->sin_addr);
    address.length = sizeof(sockaddr_in);
  }
  return address;
}

Result<std::vector<SocketAddress>, DnsError> parseAddresses(int type, const unsigned char* answer,
                                                            int length, uint16_t port) {
  std::vector<SocketAddress> addresses;
  hostent* host = nullptr;
  int count = kMaxAddresses;
  int status;
  if (type == ns_t_aaaa) {
    ares_addr6ttl ttls[kMaxAddresses];
    status = ares_parse_aaaa_reply(answer, length, &host, ttls, &count);
    if (status == ARES_SUCCESS) {
      for (int i = 0; i < count; ++i) {
        addresses.push_back(makeAddress(&ttls[i].ip6addr, AF_INET6, port));
      }
    }
  } else {
    ares_addrttl ttls[kMaxAddresses];
    status = ares_parse_a_reply(answer, length, &host, ttls, &count);
    if (status == ARES_SUCCESS) {
      for (int i = 0; i < count; ++i)
        addresses.push_back(makeAddress(&ttls[i].ipaddr, AF_INET, port));
    }
  }
  if (host != nullptr) ares_free_hostent(host);
  if (status != ARES_SUCCESS) return Unexpected(fromAresStatus(status));
  if (addresses.empty()) return Unexpected(DnsError::NotFound);
  return addresses;
}

// An IP literal ("192.0.2.1", "2001:db8::1", "[2001:db8::1]") needs no query.
std::optional<SocketAddress> parseIpLiteral(std::string_view host, uint16_t port) {
  std::string text(host);
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) return makeAddress(&v6, AF_INET6, port);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return makeAddress(&v4, AF_INET, port);
  return std::nullopt;
}

// The addresses /etc/hosts gives `name` (IPv6 first, as from DNS), like every system resolver
// consults before DNS ("files dns"); empty if it names none. A small local file read.
std::vector<SocketAddress> fromHostsFile(ares_channel channel, const std::string& name,
                                         uint16_t port) {
  std::vector<SocketAddress> found;
  for (int family : {AF_INET6, AF_INET}) {
    hostent* host = nullptr;
    if (ares_gethostbyname_file(channel, name.c_str(), family, &host) != ARES_SUCCESS) continue;
    for (char** entry = host->h_addr_list; entry != nullptr && *entry != nullptr; ++entry) {
      found.push_back(makeAddress(*entry, family, port));
    }
    ares_free_hostent(host);
  }
  return found;
}

RandomSource defaultRandom() {
  auto engine = std::make_shared<std::mt19937>(std::random_device{}());
  return [engine](uint32_t bound) {
    return std::uniform_int_distribution<uint32_t>(0, bound)(*engine);
  };
}

}  // namespace

std::string_view toString(DnsError error) {
  switch (error) {
    case DnsError::NotFound:
      return "not found";
    case DnsError::Timeout:
      return "timeout";
    case DnsError::ServerFailure:
      return "server failure";
    case DnsError::Refused:
      return "refused";
    case DnsError::Cancelled:
      return "cancelled";
    case DnsError::Other:
      break;
  }
  return "dns error";
}

std::vector<SrvTarget> orderSrvTargets(std::vector<SrvTarget> targets, const RandomSource& random) {
  return orderByPriorityAndWeight(
      std::move(targets),
      [](const SrvTarget& t) {
        return std::pair{t.priority, t.weight};
      },
      random);
}

struct Resolver::PendingQuery {
  Resolver* resolver;
  RawAnswer on_answer;
};

void Resolver::ChannelDeleter::operator()(ares_channeldata* channel) const {
  ares_destroy(channel);
}

Resolver::Resolver(Loop& loop) : loop_(loop), random_(defaultRandom()) {}

Result<std::unique_ptr<Resolver>> Resolver::create(Loop& loop, std::vector<SocketAddress> servers,
                                                   ResolverOptions options) {
  if (auto init = initLibrary(); !init) return fail("dns: c-ares init: ", init.error());
  std::unique_ptr<Resolver> resolver(new Resolver(loop));

  ares_options opts{};
  opts.sock_state_cb = &Resolver::onSocketState;
  opts.sock_state_cb_data = resolver.get();
  opts.timeout = static_cast<int>(std::max<int64_t>(1, options.timeout.count()));
  opts.tries = std::max(1, options.tries);
  // NOCHECKRESP: a SERVFAIL or REFUSED answer is final and reported as such, instead of
  // c-ares skipping that server and reporting ECONNREFUSED once none is left.
  opts.flags = ARES_FLAG_NOCHECKRESP;
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS;
  ares_channel channel = nullptr;
  int status = ares_init_options(&channel, &opts, mask);
  if (status != ARES_SUCCESS) return fail("dns: ares_init_options: ", ares_strerror(status));
  resolver->channel_.reset(channel);

  if (!servers.empty()) {
    std::vector<ares_addr_port_node> nodes(servers.size());
    for (size_t i = 0; i < servers.size(); ++i) {
      ares_addr_port_node& node = nodes[i];
      node.next = i + 1 < nodes.size() ? &nodes[i + 1] : nullptr;
      node.udp_port = node.tcp_port = servers[i].port();
      if (servers[i].family() == AF_INET6) {
        node.family = AF_INET6;
        auto* sin6 = reinterpret_cast<const sockaddr_in6*>(servers[i].sockaddrPtr());
        std::memcpy(&node.addr.addr6, &sin6->sin6_addr, sizeof sin6->sin6_addr);
      } else if (servers[i].family() == AF_INET) {
        node.family = AF_INET;
        auto* sin = reinterpret_cast<const sockaddr_in*>(servers[i].sockaddrPtr());
        std::memcpy(&node.addr.addr4, &sin->sin_addr, sizeof sin->sin_addr);
      } else {
        return fail("dns: server address ", std::to_string(i), " is neither IPv4 nor IPv6");
      }
    }
    status = ares_set_servers_ports(channel, nodes.data());
    if (status != ARES_SUCCESS) return fail("dns: ares_set_servers_ports: ", ares_strerror(status));
  }
  return resolver;
}

Resolver::~Resolver() {
  destroying_ = true;
  *alive_ = false;
  loop_.cancelTimer(timer_);
  // ares_destroy calls every pending query back with ARES_EDESTRUCTION (ignored: see the
  // header) and reports its sockets closed through onSocketState.
  channel_.reset();
  for (int fd : registered_) loop_.remove(fd);
}

void Resolver::defer(std::function<void()> fn) {
  if (destroying_) return;
  loop_.atEndOfTurn([alive = alive_, fn = std::move(fn)] {
    if (*alive) fn();
  });
}

void Resolver::sendQuery(const std::string& name, int type, RawAnswer on_answer) {
  auto* pending = new PendingQuery{this, std::move(on_answer)};
  // May call onAnswer synchronously (a malformed name); on_answer only defers, so fine.
  ares_query(channel_.get(), name.c_str(), ns_c_in, type, &Resolver::onAnswer, pending);
  rearmTimer();
}

void Resolver::onAnswer(void* arg, int status, int /*timeouts*/, unsigned char* answer,
                        int length) {
  std::unique_ptr<PendingQuery> pending(static_cast<PendingQuery*>(arg));
  if (status == ARES_EDESTRUCTION || pending->resolver->destroying_) return;
  pending->on_answer(status, answer, length);
}

void Resolver::onSocketState(void* data, int fd, int readable, int writable) {
  auto* self = static_cast<Resolver*>(data);
  uint32_t events = (readable ? EPOLLIN : 0u) | (writable ? EPOLLOUT : 0u);
  if (events == 0) {
    if (self->registered_.erase(fd) != 0) self->loop_.remove(fd);
    return;
  }
  if (self->registered_.insert(fd).second) {
    self->loop_.add(fd, events, [self, fd](uint32_t ready) { self->onReady(fd, ready); });
  } else {
    self->loop_.modify(fd, events);
  }
}

void Resolver::onReady(int fd, uint32_t events) {
  bool readable = (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0;
  bool writable = (events & EPOLLOUT) != 0;
  ares_process_fd(channel_.get(), readable ? fd : ARES_SOCKET_BAD, writable ? fd : ARES_SOCKET_BAD);
  rearmTimer();
}

void Resolver::rearmTimer() {
  loop_.cancelTimer(timer_);
  timer_ = 0;
  timeval tv{};
  if (ares_timeout(channel_.get(), nullptr, &tv) == nullptr) return;  // nothing pending
  auto delay = std::chrono::milliseconds(static_cast<int64_t>(tv.tv_sec) * 1000 +
                                         (static_cast<int64_t>(tv.tv_usec) + 999) / 1000);
  timer_ = loop_.addTimer(delay, [this] {
    timer_ = 0;
    ares_process_fd(channel_.get(), ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    rearmTimer();
  });
}

void Resolver::resolveSrv(std::string_view service_name, SrvCallback done) {
  sendQuery(std::string(service_name), ns_t_srv,
            [this, done = std::move(done)](int status, const unsigned char* answer, int length) {
              Result<std::vector<SrvTarget>, DnsError> result =
                  status == ARES_SUCCESS ? parseSrv(answer, length)
                                         : Unexpected(fromAresStatus(status));
              if (result) result = orderSrvTargets(std::move(*result), random_);
              defer([done, result = std::move(result)]() mutable { done(std::move(result)); });
            });
}

void Resolver::resolveAddresses(std::string_view host, uint16_t port, AddressCallback done) {
  if (auto literal = parseIpLiteral(host, port)) {
    defer([done = std::move(done), address = *literal] {
      done(std::vector<SocketAddress>{address});
    });
    return;
  }
  if (auto listed = fromHostsFile(channel_.get(), std::string(host), port); !listed.empty()) {
    defer([done = std::move(done), listed = std::move(listed)] { done(listed); });
    return;
  }
  using Partial = Result<std::vector<SocketAddress>, DnsError>;
  struct State {
    Partial v6 = Unexpected(DnsError::Cancelled);
    Partial v4 = Unexpected(DnsError::Cancelled);
    int pending = 2;
    AddressCallback done;
  };
  auto state = std::make_shared<State>();
  state->done = std::move(done);
  auto finish = [this, state] {
    if (--state->pending > 0) return;
    Partial result = Unexpected(DnsError::Other);
    if (state->v6 || state->v4) {
      std::vector<SocketAddress> all;
      if (state->v6) all = std::move(*state->v6);
      if (state->v4) all.insert(all.end(), state->v4->begin(), state->v4->end());
      result = std::move(all);
    } else if (state->v4.error() == DnsError::NotFound) {
      result = Unexpected(state->v6.error());
    } else {
      result = Unexpected(state->v4.error());
    }
    defer([state, result = std::move(result)]() mutable { state->done(std::move(result)); });
  };
  std::string name(host);
  for (int type : {ns_t_aaaa, ns_t_a}) {
    sendQuery(name, type,
              [state, finish, type, port](int status, const unsigned char* answer, int length) {
                Partial parsed = status == ARES_SUCCESS ? parseAddresses(type, answer, length, port)
                                                        : Unexpected(fromAresStatus(status));
                (type == ns_t_aaaa ? state->v6 : state->v4) = std::move(parsed);
                finish();
              });
  }
}

void Resolver::resolveXmppServer(std::string_view domain, CandidateCallback done) {
  struct Tagged {
    SrvTarget target;
    bool direct_tls;
  };
  struct State {
    std::vector<Tagged> targets[2];  // [0] direct TLS, [1] STARTTLS: a fixed order for ties
    bool saw_not_available = false;  // a "." target
    int pending = 2;
    std::string domain;
    CandidateCallback done;
  };
  auto state = std::make_shared<State>();
  state->domain = std::string(domain);
  state->done = std::move(done);
  for (bool direct_tls : {true, false}) {
    std::string name =
        std::string(direct_tls ? "_xmpps-server._tcp." : "_xmpp-server._tcp.") + state->domain;
    // resolveSrv's callback is already deferred, so this runs on the loop thread, not inside
    // c-ares or the resolve call.
    resolveSrv(name, [this, state, direct_tls](Result<std::vector<SrvTarget>, DnsError> result) {
      if (result) {
        for (SrvTarget& target : *result) {
          if (target.host == ".") {
            state->saw_not_available = true;
          } else {
            state->targets[direct_tls ? 0 : 1].push_back(Tagged{std::move(target), direct_tls});
          }
        }
      } else if (result.error() != DnsError::NotFound) {
        log::debug("dns: SRV for ", state->domain, " failed: ", toString(result.error()));
      }
      if (--state->pending > 0) return;
      std::vector<Tagged> merged = std::move(state->targets[0]);
      merged.insert(merged.end(), state->targets[1].begin(), state->targets[1].end());
      std::vector<ServerCandidate> candidates;
      if (!merged.empty()) {
        auto ordered = orderByPriorityAndWeight(
            std::move(merged),
            [](const Tagged& t) {
              return std::pair{t.target.priority, t.target.weight};
            },
            random_);
        for (Tagged& t : ordered) {
          candidates.push_back(
              ServerCandidate{std::move(t.target.host), t.target.port, t.direct_tls});
        }
      } else if (!state->saw_not_available) {
        candidates.push_back(ServerCandidate{state->domain, kXmppServerPort, false});
      }
      state->done(std::move(candidates));
    });
  }
}

}  // namespace parley::net
