// parley-loadgen's options.
#include "options.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace parley::bench {
namespace {

constexpr const char* kUsage = R"(usage: parley-loadgen SCENARIO [options]
scenarios:
  register   sign up the accounts with XEP-0077 (setup, not measured)
  login      logins per second: connect, STARTTLS, SCRAM-SHA-1, bind, roster, presence, close
  idle       N authenticated TLS sessions held open; the server's RSS per session
  chat       N online users send chat messages to random online users at --rate
options:
  --server HOST:PORT    c2s address (STARTTLS)                     [127.0.0.1:5222]
  --domain DOMAIN       the accounts' domain                       [localhost]
  --users N             accounts PREFIX1..PREFIXN (--first K: start at K)  [100]
  --user-prefix P       [u]; the password of u7 is PW-PREFIX + u7 (--password-prefix) [pw-]
  --processes N         worker processes [one per 2000 users]
  --window N            logins in flight per process [50]
  --rate R              chat: messages per second offered, all users together [1000]
  --sweep               chat: double the rate from --rate until saturation (or --max-rate),
                        then bisect twice between the last good and the first saturated rate
  --duration S          seconds measured (per sweep step); idle: seconds the sessions
                        stay quiet before the server's RSS is read [10]
  --sources A-B         source addresses, e.g. 127.0.0.2-127.0.0.254 [the kernel's choice]
  --server-pid PID      sample the server's CPU and RSS
  --label NAME          the server's name in the output [server]
  --cache FILE          keep salted passwords between runs
  --json                only the JSON lines (stdout); otherwise a readable line on stderr
  --openssl-client      shake hands with OpenSSL's TLS client instead of the generator's own
                        (tls13_client.h); it costs the generator ~1.7x the CPU per login
)";

bool parseHostPort(std::string_view text, net::SocketAddress& out) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string host(text.substr(0, colon));
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  int port = std::atoi(std::string(text.substr(colon + 1)).c_str());
  auto address = net::SocketAddress::parse(host, static_cast<uint16_t>(port));
  if (!address || port <= 0 || port > 65535) return false;
  out = *address;
  return true;
}

// "127.0.0.2-127.0.0.254" or one address.
bool parseSources(std::string_view text, std::vector<net::SocketAddress>& out) {
  auto dash = text.find('-');
  std::string first(text.substr(0, dash));
  std::string last(dash == std::string_view::npos ? first : std::string(text.substr(dash + 1)));
  in_addr a{}, b{};
  if (inet_pton(AF_INET, first.c_str(), &a) != 1 || inet_pton(AF_INET, last.c_str(), &b) != 1) {
    return false;
  }
  for (uint32_t ip = ntohl(a.s_addr); ip <= ntohl(b.s_addr); ++ip) {
    in_addr one{htonl(ip)};
    char buffer[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &one, buffer, sizeof buffer);
    out.push_back(*net::SocketAddress::parse(buffer, 0));
  }
  return !out.empty();
}

}  // namespace

std::optional<Options> parseOptions(int argc, char** argv) {
  Options options;
  options.server = *net::SocketAddress::parse("127.0.0.1", 5222);
  auto fail = [](const std::string& why) {
    std::fprintf(stderr, "parley-loadgen: %s\n%s", why.c_str(), kUsage);
    return std::nullopt;
  };
  if (argc < 2) return fail("no scenario");
  std::string_view scenario = argv[1];
  if (scenario == "register") {
    options.scenario = Scenario::Register;
  } else if (scenario == "login") {
    options.scenario = Scenario::Login;
  } else if (scenario == "idle") {
    options.scenario = Scenario::Idle;
  } else if (scenario == "chat") {
    options.scenario = Scenario::Chat;
  } else {
    return fail("unknown scenario '" + std::string(scenario) + "'");
  }
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    bool has_value = i + 1 < argc;
    std::string value = has_value ? argv[i + 1] : "";
    auto count = [&]() { return static_cast<size_t>(std::strtoull(value.c_str(), nullptr, 10)); };
    if (arg == "--sweep") {
      options.sweep = true;
      continue;
    }
    if (arg == "--json") {
      options.json_only = true;
      continue;
    }
    if (arg == "--openssl-client") {
      options.openssl_client = true;
      continue;
    }
    if (!has_value) return fail("missing value for " + std::string(arg));
    ++i;
    if (arg == "--server") {
      if (!parseHostPort(value, options.server)) return fail("bad --server " + value);
    } else if (arg == "--domain") {
      options.domain = value;
    } else if (arg == "--users") {
      options.users = count();
    } else if (arg == "--first") {
      options.first = count();
    } else if (arg == "--user-prefix") {
      options.user_prefix = value;
    } else if (arg == "--password-prefix") {
      options.password_prefix = value;
    } else if (arg == "--processes") {
      options.processes = count();
    } else if (arg == "--window") {
      options.window = count();
    } else if (arg == "--rate") {
      options.rate = count();
    } else if (arg == "--max-rate") {
      options.max_rate = count();
    } else if (arg == "--duration") {
      options.duration_ms = static_cast<uint64_t>(std::atof(value.c_str()) * 1000);
    } else if (arg == "--sources") {
      if (!parseSources(value, options.sources)) return fail("bad --sources " + value);
    } else if (arg == "--server-pid") {
      options.server_pid = static_cast<pid_t>(std::atoi(value.c_str()));
    } else if (arg == "--label") {
      options.label = value;
    } else if (arg == "--cache") {
      options.cache_path = value;
    } else {
      return fail("unknown option " + std::string(arg));
    }
  }
  if (options.users == 0 || options.window == 0 || options.rate == 0) {
    return fail("--users, --window and --rate must be positive");
  }
  if (options.processes == 0) options.processes = (options.users + 1999) / 2000;
  return options;
}

}  // namespace parley::bench
