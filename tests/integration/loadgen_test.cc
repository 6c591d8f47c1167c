// The benchmark load generator (contrib/bench) works against parleyd: sign-up, logins (with its
// own TLS client and with OpenSSL's), idle sessions and chat traffic, briefly. Benchmarks
// themselves run on demand (contrib/bench/compare).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "harness/scenario.h"

namespace parley::integration {
namespace {

// The JSON line of SCENARIO in OUTPUT, or "".
std::string jsonLine(const std::string& output, const std::string& scenario) {
  std::string needle = "\"scenario\":\"" + scenario + "\"";
  size_t at = output.find(needle);
  if (at == std::string::npos) return {};
  size_t start = output.rfind('{', at);
  size_t end = output.find('}', at);
  return output.substr(start, end - start + 1);
}

bool has(const std::string& json, const std::string& field) {
  return json.find(field) != std::string::npos;
}

TEST_CASE("the load generator signs up, logs in, idles and chats against parleyd", "[bench]") {
  ServerOptions options;
  options.users = {};
  options.host_extra =
      "registration = true\n[hosts.\"localhost\".register]\n"
      "signups_per_ip_per_hour = 0\n";
  // Twenty sign-ups at once take most of the default 30 s auth_timeout under ASan on two
  // cores (each derives its SCRAM keys), and a sign-up stream is never bound.
  options.c2s_extra = "connections_per_ip = 0\n";
  options.auth_timeout_seconds = 120;
  options.log_level = "info";
  auto server = startServer(options);
  auto run = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {PARLEY_LOADGEN_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const auto& extra :
         {std::string("--server"), "127.0.0.1:" + std::to_string(server->c2sPort()),
          std::string("--users"), std::string("20"), std::string("--processes"), std::string("2"),
          std::string("--json")}) {
      argv.push_back(extra);
    }
    auto result = runCommand(argv, std::chrono::seconds(60));
    INFO("parley-loadgen " << args.front() << ":\n" << result.output);
    CHECK(result.exit_status == 0);
    return result.output;
  };

  auto signup = jsonLine(run({"register"}), "register");
  CHECK(has(signup, "\"registered\":20"));
  CHECK(has(signup, "\"errors\":0"));

  auto login = jsonLine(run({"login", "--duration", "2"}), "login");
  CHECK(has(login, "\"errors\":0"));
  CHECK_FALSE(has(login, "\"logins\":0,"));

  // The same with OpenSSL's TLS client instead of the generator's own (tls13_client.h).
  auto with_openssl = jsonLine(run({"login", "--duration", "1", "--openssl-client"}), "login");
  CHECK(has(with_openssl, "\"errors\":0"));
  CHECK_FALSE(has(with_openssl, "\"logins\":0,"));

  auto idle = jsonLine(run({"idle", "--duration", "1"}), "idle");
  CHECK(has(idle, "\"sessions\":20"));
  CHECK(has(idle, "\"errors\":0"));

  auto chat = jsonLine(run({"chat", "--rate", "200", "--duration", "2"}), "chat");
  CHECK(has(chat, "\"lost\":0,"));
  CHECK(has(chat, "\"duplicated\":0,"));
  CHECK_FALSE(has(chat, "\"sent\":0,"));
}

}  // namespace
}  // namespace parley::integration
