// The HTTP server against the real parleyd: the web page's files, validators, keep-alive and
// pipelining, the status of each bad request, timeouts, TLS with SNI, host-meta (XEP-0156),
// and XMPP sessions carrying on while HTTP clients misbehave.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "harness/http_client.h"
#include "harness/scenario.h"

namespace parley::integration {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A web root with a page, a script, a file outside it and a symbolic link pointing there.
struct WebRoot {
  fs::path dir;
  WebRoot() {
    char pattern[] = "/tmp/parley-web-XXXXXX";
    dir = mkdtemp(pattern);
    fs::create_directories(dir / "www" / "sub");
    write("www/index.html", "<!doctype html><title>Parley</title>");
    write("www/app.js", "console.log('parley');");
    write("www/sub/index.html", "sub page");
    write("secret.txt", "TOP-SECRET");
    fs::create_symlink(dir / "secret.txt", dir / "www" / "leak.txt");
  }
  ~WebRoot() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name) << text;
  }
  std::string root() const { return (dir / "www").string(); }
};

ServerOptions httpOptions(const std::string& http_extra = "") {
  ServerOptions options;
  options.http_port = 0;
  options.http_extra = http_extra;
  return options;
}

std::unique_ptr<ParleyServer> startWebServer(const WebRoot& web, const std::string& extra = "") {
  auto options = httpOptions("web_root = \"" + web.root() + "\"\n" + extra);
  options.https_port = 0;
  return startServer(options);
}

// Sends BYTES on a new connection and reads one response.
std::optional<HttpResponse> exchange(uint16_t port, const std::string& bytes, HttpClient& client) {
  if (!client.connect(port) || !client.send(bytes)) return std::nullopt;
  return client.readResponse();
}

void expectRefused(uint16_t port, const std::string& bytes, int status) {
  HttpClient client;
  auto response = exchange(port, bytes, client);
  INFO("request: " << bytes.substr(0, 120));
  INFO("received: " << client.received().substr(0, 300));
  REQUIRE(response);
  CHECK(response->status == status);
  CHECK(response->header("Connection") == "close");
  CHECK(client.waitClosed());
}

TEST_CASE("http: the web page's files with their types and validators", "[http]") {
  WebRoot web;
  auto server = startWebServer(web);
  auto index = httpFetch(server->httpPort(), "GET", "/");
  REQUIRE(index);
  CHECK(index->status == 200);
  CHECK(index->body == "<!doctype html><title>Parley</title>");
  CHECK(index->header("Content-Type") == "text/html; charset=utf-8");
  CHECK(index->header("Cache-Control") == "no-cache");
  CHECK(index->header("Server") == "Parley");
  CHECK(index->header("Date"));

  auto script = httpFetch(server->httpPort(), "GET", "/app.js");
  REQUIRE(script);
  CHECK(script->status == 200);
  CHECK(script->header("Content-Type") == "text/javascript; charset=utf-8");
  CHECK(script->header("Cache-Control") == "max-age=86400");
  auto etag = script->header("ETag");
  auto modified = script->header("Last-Modified");
  REQUIRE(etag);
  REQUIRE(modified);

  auto by_etag = httpFetch(server->httpPort(), "GET", "/app.js", {"If-None-Match: " + *etag});
  REQUIRE(by_etag);
  CHECK(by_etag->status == 304);
  CHECK(by_etag->body.empty());
  CHECK(by_etag->header("ETag") == *etag);
  auto by_date =
      httpFetch(server->httpPort(), "GET", "/app.js", {"If-Modified-Since: " + *modified});
  REQUIRE(by_date);
  CHECK(by_date->status == 304);
  auto changed = httpFetch(server->httpPort(), "GET", "/app.js", {"If-None-Match: \"other\""});
  REQUIRE(changed);
  CHECK(changed->status == 200);

  auto sub = httpFetch(server->httpPort(), "GET", "/sub");
  REQUIRE(sub);
  CHECK(sub->status == 301);
  CHECK(sub->header("Location") == "/sub/");
  auto sub_index = httpFetch(server->httpPort(), "GET", "/sub/");
  REQUIRE(sub_index);
  CHECK(sub_index->body == "sub page");
}

TEST_CASE("http: HEAD, 404, 405", "[http]") {
  WebRoot web;
  auto server = startWebServer(web);
  HttpClient client;
  REQUIRE(client.connect(server->httpPort()));
  REQUIRE(client.send(httpRequest("HEAD", "/app.js")));
  auto head = client.readResponse(HttpClient::kTimeout, /*head=*/true);
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->header("Content-Length") == "22");
  CHECK(head->body.empty());
  // Nothing follows the headers: the next response starts right after them.
  REQUIRE(client.send(httpRequest("GET", "/nothing-here.txt")));
  auto missing = client.readResponse();
  REQUIRE(missing);
  CHECK(missing->status == 404);
  REQUIRE(client.send(httpRequest("DELETE", "/app.js")));
  auto not_allowed = client.readResponse();
  REQUIRE(not_allowed);
  CHECK(not_allowed->status == 405);
  CHECK(not_allowed->header("Allow") == "GET, HEAD, OPTIONS");
}

TEST_CASE("http: without web_root there is no page", "[http]") {
  auto server = startServer(httpOptions());
  auto root = httpFetch(server->httpPort(), "GET", "/");
  REQUIRE(root);
  CHECK(root->status == 404);
}

TEST_CASE("http: nothing outside web_root is served", "[http]") {
  WebRoot web;
  auto server = startWebServer(web);
  for (const char* target : {"/..%2fsecret.txt", "/%2e%2e/secret.txt", "/sub/..%2f..%2fsecret.txt",
                             "/..%2f..%2f..%2fetc/passwd", "/app.js%00.png"}) {
    HttpClient client;
    auto response = exchange(server->httpPort(), httpRequest("GET", target), client);
    INFO(target);
    REQUIRE(response);
    CHECK(response->status == 400);
    CHECK(client.received().find("TOP-SECRET") == std::string::npos);
    CHECK(client.received().find("root:") == std::string::npos);
  }
  auto leak = httpFetch(server->httpPort(), "GET", "/leak.txt");  // a symlink out of the root
  REQUIRE(leak);
  CHECK(leak->status == 404);
  CHECK(leak->body.find("TOP-SECRET") == std::string::npos);
  // ".." that stays inside is resolved.
  auto inside = httpFetch(server->httpPort(), "GET", "/sub/../app.js");
  REQUIRE(inside);
  CHECK(inside->status == 200);
}

TEST_CASE("http: keep-alive and pipelining", "[http]") {
  WebRoot web;
  auto server = startWebServer(web);
  HttpClient client;
  REQUIRE(client.connect(server->httpPort()));
  SECTION("two requests, one after the other, on one connection") {
    REQUIRE(client.send(httpRequest("GET", "/app.js")));
    auto first = client.readResponse();
    REQUIRE(first);
    CHECK(first->status == 200);
    CHECK_FALSE(first->header("Connection"));
    REQUIRE(client.send(httpRequest("GET", "/")));
    auto second = client.readResponse();
    REQUIRE(second);
    CHECK(second->body == "<!doctype html><title>Parley</title>");
    CHECK_FALSE(client.isClosed());
  }
  SECTION("three requests in one write, answered in order") {
    REQUIRE(client.send(httpRequest("GET", "/app.js") + httpRequest("GET", "/missing") +
                        httpRequest("GET", "/sub/", {"Connection: close"})));
    auto first = client.readResponse();
    auto second = client.readResponse();
    auto third = client.readResponse();
    REQUIRE(first);
    REQUIRE(second);
    REQUIRE(third);
    CHECK(first->body == "console.log('parley');");
    CHECK(second->status == 404);
    CHECK(third->body == "sub page");
    CHECK(third->header("Connection") == "close");
    CHECK(client.waitClosed());
  }
  SECTION("HTTP/1.0 closes unless it asks for keep-alive") {
    REQUIRE(client.send("GET /app.js HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto kept = client.readResponse();
    REQUIRE(kept);
    CHECK(kept->header("Connection") == "keep-alive");
    REQUIRE(client.send("GET /app.js HTTP/1.0\r\n\r\n"));
    auto last = client.readResponse();
    REQUIRE(last);
    CHECK(last->header("Connection") == "close");
    CHECK(client.waitClosed());
  }
}

TEST_CASE("http: bad requests get their status and the connection closes", "[http]") {
  WebRoot web;
  auto server = startWebServer(web, "max_header_bytes = 2048\n");
  uint16_t port = server->httpPort();
  expectRefused(port, "GARBAGE\r\n\r\n", 400);
  expectRefused(port, "GET /\r\n\r\n", 505);  // HTTP/0.9
  expectRefused(port, httpRequest("GET", "/", {"Bad Name: x"}), 400);
  expectRefused(port, "GET / HTTP/1.1\r\n\r\n", 400);  // no Host
  expectRefused(port, httpRequest("GET", "/", {"X-Big: " + std::string(4000, 'x')}), 431);
  expectRefused(port, httpRequest("GET", "/" + std::string(9000, 'a')), 414);
  expectRefused(port, "GET / HTTP/2.0\r\nHost: localhost\r\n\r\n", 505);
  expectRefused(port, "BREW /pot HTTP/1.1\r\nHost: localhost\r\n\r\n", 501);
  expectRefused(port, httpRequest("POST", "/", {"Transfer-Encoding: gzip, chunked"}), 501);
  // A body larger than the route takes is refused before it is sent: the web page takes
  // 64 KiB, the host-meta documents none.
  expectRefused(port, httpRequest("POST", "/", {"Content-Length: 1000000"}), 413);
  expectRefused(port, httpRequest("POST", "/.well-known/host-meta", {}, "x"), 413);
}

TEST_CASE("http: Expect: 100-continue", "[http]") {
  WebRoot web;
  auto server = startWebServer(web);
  HttpClient client;
  REQUIRE(client.connect(server->httpPort()));
  // The head alone: the body follows once the server said to go on.
  REQUIRE(
      client.send(httpRequest("PUT", "/app.js", {"Content-Length: 5", "Expect: 100-continue"})));
  auto go_on = client.readResponse();
  REQUIRE(go_on);
  CHECK(go_on->status == 100);
  REQUIRE(client.send("hello"));
  auto answer = client.readResponse();
  REQUIRE(answer);
  CHECK(answer->status == 405);  // the page takes no PUT, but the body was read
  // Too large for the route: refused at once, no 100.
  HttpClient big;
  REQUIRE(big.connect(server->httpPort()));
  REQUIRE(
      big.send(httpRequest("PUT", "/x", {"Content-Length: 100000000", "Expect: 100-continue"})));
  auto refused = big.readResponse();
  REQUIRE(refused);
  CHECK(refused->status == 413);
  CHECK(big.waitClosed());
}

// The server's resident memory in KiB, from /proc.
long residentKib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

TEST_CASE("http: a client that pipelines without reading gets its answers, not our memory",
          "[http]") {
  WebRoot web;
  web.write("www/big.bin", std::string(256 * 1024, 'b'));
  auto server = startWebServer(web);
  HttpClient client;
  REQUIRE(client.connect(server->httpPort()));
  // 200 requests in one write ask for 50 MiB of answers; the server stops answering (and
  // reading) while about 1 MiB waits for the client, and goes on as it reads.
  constexpr int kRequests = 200;
  std::string requests;
  for (int i = 0; i < kRequests; ++i) requests += httpRequest("GET", "/big.bin");
  long before = residentKib(server->pid());
  REQUIRE(client.send(requests));
  std::this_thread::sleep_for(1500ms);
  long during = residentKib(server->pid());
  INFO("server RSS " << before << " -> " << during << " KiB");
  // Unbounded, the answers alone would be 50 MiB; the slack is for AddressSanitizer builds,
  // whose allocator keeps freed memory in quarantine (1.7 MiB here without it).
  CHECK(during - before < 32 * 1024);
  for (int i = 0; i < kRequests; ++i) {
    auto response = client.readResponse(10s);
    INFO("response " << i);
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->body.size() == 256 * 1024);
  }
}

TEST_CASE("http: request and keep-alive timeouts", "[http]") {
  auto server = startServer(httpOptions("request_timeout = \"1s\"\nkeepalive_timeout = \"1s\"\n"));
  SECTION("an incomplete request gets 408 after request_timeout") {
    HttpClient client;
    REQUIRE(client.connect(server->httpPort()));
    auto sent = Clock::now();
    REQUIRE(client.send("GET / HTTP/1.1\r\nHost: local"));
    auto response = client.readResponse(5s);
    REQUIRE(response);
    CHECK(response->status == 408);
    CHECK(Clock::now() - sent >= 900ms);
    CHECK(client.waitClosed());
  }
  SECTION("a slow body is not cut off while it keeps coming") {
    // An upload on a slow uplink: each piece restarts the clock; 2 s in all, 1 s allowed.
    HttpClient client;
    REQUIRE(client.connect(server->httpPort()));
    REQUIRE(
        client.send("POST /nothing-here HTTP/1.1\r\nHost: localhost\r\n"
                    "Content-Length: 5\r\n\r\n"));
    for (int i = 0; i < 5; ++i) {
      std::this_thread::sleep_for(400ms);
      REQUIRE(client.send("x"));
    }
    auto response = client.readResponse(5s);
    REQUIRE(response);
    CHECK(response->status != 408);
  }
  SECTION("a body that stalls gets 408") {
    HttpClient client;
    REQUIRE(client.connect(server->httpPort()));
    REQUIRE(
        client.send("POST /nothing-here HTTP/1.1\r\nHost: localhost\r\n"
                    "Content-Length: 5\r\n\r\nxx"));
    auto response = client.readResponse(5s);
    REQUIRE(response);
    CHECK(response->status == 408);
  }
  SECTION("an idle keep-alive connection is closed without a word") {
    HttpClient client;
    REQUIRE(client.connect(server->httpPort()));
    REQUIRE(client.send(httpRequest("GET", "/")));
    REQUIRE(client.readResponse());
    size_t before = client.received().size();
    CHECK(client.waitClosed(5s));
    CHECK(client.received().size() == before);
  }
}

TEST_CASE("http: HTTPS with SNI and ALPN http/1.1", "[http]") {
  auto options = httpOptions();
  options.https_port = 0;
  auto server = startServer(options);
  HttpClient client;
  REQUIRE(client.connectTls(server->httpsPort(), "localhost", "http/1.1"));
  CHECK(client.alpn() == "http/1.1");
  CHECK(client.peerCertificateNames().find("localhost") != std::string::npos);
  REQUIRE(client.send(httpRequest("GET", "/.well-known/host-meta.json")));
  auto response = client.readResponse();
  REQUIRE(response);
  CHECK(response->status == 200);
  REQUIRE(client.send(httpRequest("GET", "/.well-known/host-meta")));
  auto second = client.readResponse();
  REQUIRE(second);
  CHECK(second->status == 200);
}

TEST_CASE("http: host-meta lists the WebSocket and BOSH endpoints (XEP-0156)", "[http]") {
  auto server = startServer(httpOptions("public_url = \"https://chat.example:5281/\"\n"));
  auto xml = httpFetch(server->httpPort(), "GET", "/.well-known/host-meta");
  REQUIRE(xml);
  CHECK(xml->status == 200);
  CHECK(xml->header("Content-Type") == "application/xrd+xml");
  CHECK(xml->header("Access-Control-Allow-Origin") == "*");
  CHECK(xml->body.find("<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>") !=
        std::string::npos);
  CHECK(xml->body.find("<Link rel='urn:xmpp:alt-connections:websocket' "
                       "href='wss://chat.example:5281/xmpp-websocket'/>") != std::string::npos);
  CHECK(xml->body.find("<Link rel='urn:xmpp:alt-connections:xbosh' "
                       "href='https://chat.example:5281/http-bind'/>") != std::string::npos);
  auto json = httpFetch(server->httpPort(), "GET", "/.well-known/host-meta.json");
  REQUIRE(json);
  CHECK(json->status == 200);
  CHECK(json->header("Content-Type") == "application/json");
  CHECK(json->header("Access-Control-Allow-Origin") == "*");
  CHECK(json->body ==
        "{\"links\":[{\"rel\":\"urn:xmpp:alt-connections:xbosh\","
        "\"href\":\"https://chat.example:5281/http-bind\"},"
        "{\"rel\":\"urn:xmpp:alt-connections:websocket\","
        "\"href\":\"wss://chat.example:5281/xmpp-websocket\"}]}\n");
  auto preflight =
      httpFetch(server->httpPort(), "OPTIONS", "/.well-known/host-meta",
                {"Origin: https://elsewhere.example", "Access-Control-Request-Method: GET"});
  REQUIRE(preflight);
  CHECK(preflight->status == 204);
  CHECK(preflight->header("Access-Control-Allow-Origin") == "*");
}

TEST_CASE("http: connections per address are limited", "[http]") {
  auto server = startServer(httpOptions("max_connections_per_ip = 2\n"));
  // Holds a connection that the server counts (it answered on it). The harness's readiness
  // probes may still be counted for a moment after start: retry until they are gone.
  auto openCounted = [&](HttpClient& client) {
    auto deadline = Clock::now() + 5s;
    while (Clock::now() < deadline) {
      if (!client.connect(server->httpPort())) return false;
      if (!client.send(httpRequest("GET", "/.well-known/host-meta"))) return false;
      auto response = client.readResponse();
      if (response && response->status == 200) return true;
    }
    return false;
  };
  HttpClient first, second, third;
  REQUIRE(openCounted(first));
  REQUIRE(openCounted(second));
  REQUIRE(third.connect(server->httpPort()));
  REQUIRE(third.send(httpRequest("GET", "/.well-known/host-meta")));
  auto refused = third.readResponse();
  REQUIRE(refused);
  CHECK(refused->status == 503);
  CHECK(refused->header("Connection") == "close");
  CHECK(third.waitClosed());
  // The two that are in keep serving.
  REQUIRE(second.send(httpRequest("GET", "/.well-known/host-meta.json")));
  auto served = second.readResponse();
  REQUIRE(served);
  CHECK(served->status == 200);
}

TEST_CASE("http: XMPP sessions carry on while HTTP clients misbehave", "[http]") {
  auto server = startServer(httpOptions("request_timeout = \"1s\"\n"));
  auto romeo = login(*server, "romeo", "balcony");
  auto juliet = login(*server, "juliet", "garden");
  HttpClient slow;  // holds a half request until it times out
  REQUIRE(slow.connect(server->httpPort()));
  REQUIRE(slow.send("GET / HTTP/1.1\r\n"));
  expectRefused(server->httpPort(), "\x16\x03\x01\x02\x00 not http\r\n\r\n", 400);
  expectRefused(server->httpPort(), "GET / HTTP/2.0\r\nHost: localhost\r\n\r\n", 505);
  romeo->sendMessage("juliet@localhost/garden", "still there?");
  REQUIRE(juliet->waitFor(messageWithBody("still there?")) != nullptr);
  auto timed_out = slow.readResponse(5s);
  REQUIRE(timed_out);
  CHECK(timed_out->status == 408);
  juliet->sendMessage("romeo@localhost/balcony", "still here");
  CHECK(romeo->waitFor(messageWithBody("still here")) != nullptr);
  auto fine = httpFetch(server->httpPort(), "GET", "/.well-known/host-meta");
  REQUIRE(fine);
  CHECK(fine->status == 200);
}

}  // namespace
}  // namespace parley::integration
