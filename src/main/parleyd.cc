// parleyd: the XMPP server daemon. Runs in the foreground; SIGTERM/SIGINT stop it cleanly.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "c2s/listeners.h"
#include "core/config.h"
#include "core/server.h"
#include "http/bosh_route.h"
#include "http/http_service.h"
#include "http/web_config.h"
#include "http/websocket_route.h"
#include "s2s/service.h"
#include "util/log.h"

namespace {

constexpr const char* kUsage =
    "usage: parleyd [--config FILE] [--check] [--version] [--help]\n"
    "  --config FILE  configuration file (default: conf/parley.toml)\n"
    "  --check        validate the configuration and exit (0 ok, 1 error)\n";

int run(const std::string& config_path, bool check_only) {
  using namespace parley;
  auto config = core::loadConfig(config_path);
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().toString().c_str());
    return 1;
  }
  if (check_only) {
    // Module options are checked by loading every module once, without storage.
    for (const auto& host_config : config->hosts) {
      core::Host host(host_config, nullptr);
      if (auto loaded = host.loadModules(config->file.string()); !loaded) {
        std::fprintf(stderr, "%s\n", loaded.error().toString().c_str());
        return 1;
      }
    }
    return 0;
  }
  log::Level level = log::Level::Info;
  log::parseLevel(config->log_level, level);
  log::setLevel(level);

  // Signals are taken synchronously on this thread; workers never see them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto server = core::Server::create(std::move(*config));
  if (!server) {
    log::error(server.error().toString());
    return 1;
  }
  // Federation and components first: once the client ports accept, everything is up.
  auto s2s = s2s::S2sService::start(**server);
  if (!s2s) {
    log::error(s2s.error().message);
    return 1;
  }
  auto c2s = c2s::C2sService::start(**server);
  if (!c2s) {
    log::error(c2s.error().message);
    return 1;
  }
  // The web page, WebSocket, BOSH and uploads; WebSocket and BOSH clients are c2s sessions.
  std::vector<http::Route> routes;
  routes.push_back(
      http::websocketRoute((*c2s)->shared(), (*server)->config().http.websocket_origins));
  routes.push_back(
      http::boshRoute((*c2s)->shared(), {.max_wait = (*server)->config().http.bosh_max_wait,
                                         .inactivity = (*server)->config().http.bosh_inactivity}));
  routes.push_back(http::webConfigRoute(**server));  // what the web chat page reads first
  auto http = http::HttpService::start(**server, std::move(routes));
  if (!http) {
    log::error(http.error().message);
    return 1;
  }
  (*server)->start();
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      log::info("SIGHUP: configuration reload is not supported yet; ignoring");
      continue;
    }
    log::info("received ", strsignal(sig));
    break;
  }
  (*http)->stopListening();
  (*c2s)->stopListening();
  (*s2s)->stopListening();
  (*server)->shutdown();  // every stream, s2s ones too, ends with system-shutdown
  http->reset();
  s2s->reset();
  c2s->reset();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = "conf/parley.toml";
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg == "--check") {
      check_only = true;
    } else if (arg == "--version") {
      std::printf("parleyd 0.1.0\n");
      return 0;
    } else if (arg == "--help" || arg == "-h") {
      std::printf("%s", kUsage);
      return 0;
    } else {
      std::fprintf(stderr, "parleyd: unknown argument '%s'\n%s", arg.c_str(), kUsage);
      return 2;
    }
  }
  return run(config_path, check_only);
}
