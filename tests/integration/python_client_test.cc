// A second real client library: slixmpp (python3-slixmpp) runs python/slixmpp_scenario.py
// against parleyd: in-band registration through account removal.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "harness/scenario.h"

namespace parley::integration {
namespace {

constexpr const char* kPython = "/usr/bin/python3";

std::string scenarioScript() {
  return (std::filesystem::path(PARLEY_SOURCE_DIR) / "tests" / "integration" / "python" /
          "slixmpp_scenario.py")
      .string();
}

bool haveSlixmpp() {
  if (access(kPython, X_OK) != 0) return false;
  return std::system("/usr/bin/python3 -c 'import slixmpp' >/dev/null 2>&1") == 0;
}

TEST_CASE("slixmpp registers subscribes chats blocks and removes its account", "[python]") {
  if (!haveSlixmpp()) {
    WARN("skipped: /usr/bin/python3 with slixmpp (python3-slixmpp) is not installed");
    return;
  }
  REQUIRE(std::filesystem::exists(scenarioScript()));
  ServerOptions options;
  options.users = {};
  options.sasl_mechanisms = {"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"};
  options.host_extra = "registration = true";
  auto server = startServer(options);

  CommandResult run = runCommand({kPython, scenarioScript(), std::to_string(server->c2sPort()),
                                  ParleyServer::parleyctlPath(), server->configPath()},
                                 std::chrono::seconds(40));
  INFO("slixmpp scenario output:\n" << run.output);
  CHECK(run.exit_status == 0);
  CHECK(run.output.find("PASS") != std::string::npos);
}

}  // namespace
}  // namespace parley::integration
