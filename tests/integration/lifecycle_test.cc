// The process around the streams: clean shutdown on SIGTERM, --check, parleyctl accounts.
#include <catch2/catch.hpp>
#include <fstream>

#include "harness/scenario.h"
#include "harness/xml_text.h"

namespace parley::integration {
namespace {

TEST_CASE("SIGTERM closes every stream with </stream:stream> and exits 0", "[lifecycle]") {
  auto server = startServer();
  RawClient romeo;
  RawClient juliet;
  LoginResult romeo_login = romeo.loginRaw(server->c2sPort(), false, "romeo", kRomeoPassword,
                                           "SCRAM-SHA-256", "", "balcony");
  LoginResult juliet_login = juliet.loginRaw(server->directTlsPort(), true, "juliet",
                                             kJulietPassword, "SCRAM-SHA-1", "", "garden");
  REQUIRE(romeo_login.success);
  REQUIRE(juliet_login.success);

  server->terminate();
  for (RawClient* client : {&romeo, &juliet}) {
    auto close = client->readUntil("</stream:stream>", std::chrono::seconds(10));
    INFO("received: " << client->received());
    REQUIRE(close);
    client->send("</stream:stream>");  // our half of the close (RFC 6120 §4.4)
    CHECK(client->waitClosed(std::chrono::seconds(10)));
  }
  auto status = server->waitExit(std::chrono::seconds(10));
  REQUIRE(status);
  CHECK(*status == 0);
}

TEST_CASE("SIGTERM with libstrophe clients connected still exits 0", "[lifecycle]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto juliet = login(*server, "juliet", "garden", Transport::DirectTls);
  server->terminate();
  CHECK(romeo->waitDisconnected(std::chrono::seconds(10)));
  CHECK(juliet->waitDisconnected(std::chrono::seconds(10)));
  auto status = server->waitExit(std::chrono::seconds(10));
  REQUIRE(status);
  CHECK(*status == 0);
}

TEST_CASE("parleyd --check accepts our config and rejects an unknown key", "[lifecycle][config]") {
  ParleyServer server;
  REQUIRE(server.start());
  CommandResult good = server.check();
  INFO(good.output);
  CHECK(good.exit_status == 0);

  std::string bad_path = server.directory() + "/bad.toml";
  server.writeConfig(bad_path, 5222, 5223);
  std::ofstream(bad_path, std::ios::app) << "\n[c2s_typo]\nlisten = []\n";
  CommandResult bad = server.check(bad_path);
  INFO(bad.output);
  CHECK(bad.exit_status == 1);
  CHECK(bad.output.find("bad.toml:") != std::string::npos);  // FILE:LINE:COL: message
}

TEST_CASE("parleyctl manages accounts the server then uses", "[lifecycle][ctl]") {
  auto server = startServer();
  CommandResult users = server->ctl({"users", "localhost"});
  INFO(users.output);
  CHECK(users.exit_status == 0);
  CHECK(users.output.find("romeo") != std::string::npos);
  CHECK(users.output.find("juliet") != std::string::npos);

  REQUIRE(server->ctl({"adduser", "mercutio@localhost"}, "queen-mab\n").exit_status == 0);
  RawClient mercutio;
  LoginResult first = mercutio.loginRaw(server->c2sPort(), false, "mercutio", "queen-mab",
                                        "SCRAM-SHA-256", "", "street");
  INFO("failure: " << first.failure);
  CHECK(first.success);

  REQUIRE(server->ctl({"passwd", "mercutio@localhost"}, "plague\n").exit_status == 0);
  RawClient old_password;
  CHECK(old_password
            .loginRaw(server->c2sPort(), false, "mercutio", "queen-mab", "SCRAM-SHA-256", "", "a")
            .failure == "not-authorized");
  RawClient new_password;
  CHECK(new_password
            .loginRaw(server->c2sPort(), false, "mercutio", "plague", "SCRAM-SHA-256", "", "b")
            .success);

  REQUIRE(server->ctl({"deluser", "mercutio@localhost"}).exit_status == 0);
  RawClient deleted;
  CHECK(deleted.loginRaw(server->c2sPort(), false, "mercutio", "plague", "SCRAM-SHA-256", "", "c")
            .failure == "not-authorized");
  CommandResult after = server->ctl({"users", "localhost"});
  CHECK(after.output.find("mercutio") == std::string::npos);
}

}  // namespace
}  // namespace parley::integration
