// A real UDP DNS server on 127.0.0.1 for the resolver and federation tests: answers from a
// fixed table.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

namespace parley::net::test {

struct DnsSrv {
  uint16_t priority;
  uint16_t weight;
  uint16_t port;
  std::string target;  // "." for the root name
};
struct DnsA {
  std::string ip;
};
struct DnsAaaa {
  std::string ip;
};
using DnsRecord = std::variant<DnsSrv, DnsA, DnsAaaa>;

struct DnsAnswer {
  enum class Kind { Records, NxDomain, ServFail, Refused, Silent };
  Kind kind = Kind::Records;
  std::vector<DnsRecord> records;  // Records with none = NOERROR, no data
};

inline constexpr uint16_t kDnsTypeA = 1;
inline constexpr uint16_t kDnsTypeAaaa = 28;
inline constexpr uint16_t kDnsTypeSrv = 33;

// Binds 127.0.0.1:0 and serves on its own thread until destroyed. Unknown {name, type}
// questions get NXDOMAIN. Names are matched in lowercase, without the trailing dot.
class FakeDnsServer {
 public:
  explicit FakeDnsServer(std::map<std::pair<std::string, uint16_t>, DnsAnswer> table)
      : table_(std::move(table)) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sin;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sin), &len) != 0) {
      return;
    }
    port_ = ntohs(sin.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeDnsServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  FakeDnsServer(const FakeDnsServer&) = delete;
  FakeDnsServer& operator=(const FakeDnsServer&) = delete;

  uint16_t port() const { return port_; }  // 0 if the socket could not be bound
  // Questions received so far, as "name/type".
  std::vector<std::string> questions() const {
    std::lock_guard lock(mutex_);
    return questions_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      uint8_t buf[1500];
      sockaddr_storage from{};
      socklen_t from_len = sizeof from;
      ssize_t n =
          ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 12) continue;
      std::vector<uint8_t> reply;
      if (!answer(std::vector<uint8_t>(buf, buf + n), reply)) continue;
      ::sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
    }
  }

  // Builds the reply to `query`; false to stay silent.
  bool answer(const std::vector<uint8_t>& query, std::vector<uint8_t>& reply) {
    size_t pos = 12;
    std::string name;
    while (pos < query.size() && query[pos] != 0) {
      size_t len = query[pos++];
      if (pos + len > query.size()) return false;
      if (!name.empty()) name += '.';
      for (size_t i = 0; i < len; ++i) {
        name += static_cast<char>(std::tolower(query[pos + i]));
      }
      pos += len;
    }
    pos += 1;  // the root label
    if (pos + 4 > query.size()) return false;
    auto type = static_cast<uint16_t>(query[pos] << 8 | query[pos + 1]);
    size_t question_end = pos + 4;
    {
      std::lock_guard lock(mutex_);
      questions_.push_back(name + "/" + std::to_string(type));
    }

    DnsAnswer found{DnsAnswer::Kind::NxDomain, {}};
    if (auto it = table_.find({name, type}); it != table_.end()) found = it->second;
    if (found.kind == DnsAnswer::Kind::Silent) return false;

    uint8_t rcode = 0;
    if (found.kind == DnsAnswer::Kind::NxDomain) rcode = 3;
    if (found.kind == DnsAnswer::Kind::ServFail) rcode = 2;
    if (found.kind == DnsAnswer::Kind::Refused) rcode = 5;
    size_t count = found.kind == DnsAnswer::Kind::Records ? found.records.size() : 0;

    reply.assign(query.begin(), query.begin() + 2);                   // id
    reply.push_back(static_cast<uint8_t>(0x84 | (query[2] & 0x01)));  // QR, AA, RD echoed
    reply.push_back(static_cast<uint8_t>(0x80 | rcode));              // RA, rcode
    put16(reply, 1);                                                  // qdcount
    put16(reply, static_cast<uint16_t>(count));                       // ancount
    put16(reply, 0);                                                  // nscount
    put16(reply, 0);                                                  // arcount
    reply.insert(reply.end(), query.begin() + 12, query.begin() + static_cast<long>(question_end));
    for (size_t i = 0; i < count; ++i) putRecord(reply, name, found.records[i]);
    return true;
  }

  static void put16(std::vector<uint8_t>& out, uint16_t v) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v & 0xff));
  }
  static void putName(std::vector<uint8_t>& out, const std::string& name) {
    size_t start = 0;
    while (start < name.size() && name != ".") {
      size_t dot = name.find('.', start);
      if (dot == std::string::npos) dot = name.size();
      out.push_back(static_cast<uint8_t>(dot - start));
      out.insert(out.end(), name.begin() + static_cast<long>(start),
                 name.begin() + static_cast<long>(dot));
      start = dot + 1;
    }
    out.push_back(0);
  }
  static void putRecord(std::vector<uint8_t>& out, const std::string& owner,
                        const DnsRecord& record) {
    std::vector<uint8_t> data;
    uint16_t type = 0;
    if (const auto* srv = std::get_if<DnsSrv>(&record)) {
      type = kDnsTypeSrv;
      put16(data, srv->priority);
      put16(data, srv->weight);
      put16(data, srv->port);
      putName(data, srv->target);
    } else if (const auto* a = std::get_if<DnsA>(&record)) {
      type = kDnsTypeA;
      uint8_t ip[4];
      ::inet_pton(AF_INET, a->ip.c_str(), ip);
      data.assign(ip, ip + 4);
    } else if (const auto* aaaa = std::get_if<DnsAaaa>(&record)) {
      type = kDnsTypeAaaa;
      uint8_t ip[16];
      ::inet_pton(AF_INET6, aaaa->ip.c_str(), ip);
      data.assign(ip, ip + 16);
    }
    putName(out, owner);
    put16(out, type);
    put16(out, 1);  // class IN
    put16(out, 0);  // TTL, high half
    put16(out, 60);
    put16(out, static_cast<uint16_t>(data.size()));
    out.insert(out.end(), data.begin(), data.end());
  }

  std::map<std::pair<std::string, uint16_t>, DnsAnswer> table_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<std::string> questions_;
};

}  // namespace parley::net::test
