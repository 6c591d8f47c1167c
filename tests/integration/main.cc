// Entry point of parley_integration_tests: Catch2 plus the process-wide set-up the harness needs.
#define CATCH_CONFIG_RUNNER
#include <signal.h>
#include <strophe.h>

#include <catch2/catch.hpp>

#include "harness/server.h"

namespace {

// Tells ParleyServer that a test failed, so it keeps its directory for a post-mortem.
class FailureListener : public Catch::TestEventListenerBase {
 public:
  using TestEventListenerBase::TestEventListenerBase;
  bool assertionEnded(const Catch::AssertionStats& stats) override {
    if (!stats.assertionResult.isOk()) parley::integration::ParleyServer::noteTestFailure();
    return true;
  }
};

}  // namespace

CATCH_REGISTER_LISTENER(FailureListener)

namespace {

// A server that crashed or reported a sanitizer error on its way out fails the test it ran in.
void failUncleanExit(const std::string& why) { FAIL_CHECK(why); }

}  // namespace

int main(int argc, char* argv[]) {
  // A server that closes first must show up as a failed write, not kill the test process.
  signal(SIGPIPE, SIG_IGN);
  xmpp_initialize();
  parley::integration::ParleyServer::setUncleanExitHandler(&failUncleanExit);
  int result = Catch::Session().run(argc, argv);
  xmpp_shutdown();
  return result;
}
