// Unit tests for /config.json, the web chat page's view of the server (src/http/web_config).
#include "http/web_config.h"

#include <catch2/catch.hpp>
#include <string>

namespace parley::http {
namespace {

core::Config parseOk(std::string_view text) {
  auto config = core::parseConfig(text, "/srv/parley/conf/parley.toml");
  if (!config) FAIL("unexpected error: " << config.error().toString());
  return std::move(config).value();
}

TEST_CASE("web config: the implicit localhost host with the default [http] keys") {
  CHECK(webConfigJson(parseOk("")) ==
        "{\"domain\":\"localhost\","
        "\"hosts\":[{\"domain\":\"localhost\",\"registration\":false,\"anonymous\":false}],"
        "\"websocket_url\":\"/xmpp-websocket\",\"bosh_url\":\"/http-bind\","
        "\"public_url\":\"https://localhost:5281/\"}\n");
}

TEST_CASE("web config: the first host is the page's domain; each host has its own flags") {
  auto config = parseOk(R"(
[http]
public_url = "https://chat.example.org/"

[hosts."Example.org"]
registration = true

[hosts."guest.example.org"]
anonymous = true
)");
  CHECK(webConfigJson(config) ==
        "{\"domain\":\"example.org\","
        "\"hosts\":[{\"domain\":\"example.org\",\"registration\":true,\"anonymous\":false},"
        "{\"domain\":\"guest.example.org\",\"registration\":false,\"anonymous\":true}],"
        "\"websocket_url\":\"/xmpp-websocket\",\"bosh_url\":\"/http-bind\","
        "\"public_url\":\"https://chat.example.org/\"}\n");
}

TEST_CASE("web config: strings are JSON-escaped") {
  core::Config config = parseOk("");
  config.http.public_url = "https://a\"b\\c/\x01\n";
  const std::string json = webConfigJson(config);
  CHECK(json.find(R"("public_url":"https://a\"b\\c/\u0001\n")") != std::string::npos);
}

}  // namespace
}  // namespace parley::http
