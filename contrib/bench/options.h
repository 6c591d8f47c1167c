// Command line of parley-loadgen (see usage() in options.cc and README.md).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/address.h"

namespace parley::bench {

enum class Scenario { Register, Login, Idle, Chat };

struct Options {
  Scenario scenario = Scenario::Login;
  net::SocketAddress server;  // c2s, STARTTLS
  std::string domain = "localhost";
  size_t users = 100;  // accounts PREFIX<first> .. PREFIX<first+users-1>
  size_t first = 1;
  std::string user_prefix = "u";
  std::string password_prefix = "pw-";  // the password of u7 is pw-u7
  size_t processes = 0;                 // 0: one per 2000 users
  size_t window = 50;                   // logins in flight per process
  uint64_t rate = 1000;                 // chat: messages per second, all senders together
  bool sweep = false;                   // chat: double the rate up to max_rate or saturation
  uint64_t max_rate = 1000000;
  uint64_t duration_ms = 10000;  // the measured phase (per sweep step)
  std::vector<net::SocketAddress> sources;
  pid_t server_pid = 0;  // sampled for CPU and RSS when given
  std::string label = "server";
  std::string cache_path;  // salted passwords kept between runs
  bool json_only = false;
  bool openssl_client = false;  // TLS by OpenSSL rather than Tls13ClientHandshake

  std::string userName(size_t index) const { return user_prefix + std::to_string(index); }
  std::string password(size_t index) const { return password_prefix + userName(index); }
};

// Prints usage and returns nullopt on bad arguments.
std::optional<Options> parseOptions(int argc, char** argv);

}  // namespace parley::bench
