// Unit tests for static files: index.html, content types, validators, 304, and the root as a
// boundary (dot-dot cannot get here; symbolic links and hidden names are refused).
#include "http/static_files.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "http/host_meta.h"
#include "http/response_writer.h"

namespace parley::http {
namespace {

namespace fs = std::filesystem;

struct TempTree {
  fs::path dir;
  TempTree() {
    char pattern[] = "/tmp/parley-static-XXXXXX";
    dir = mkdtemp(pattern);
    fs::create_directories(dir / "root" / "sub");
    write("root/index.html", "<h1>hi</h1>");
    write("root/app.js", "console.log(1)");
    write("root/sub/index.html", "sub");
    write("root/.secret", "no");
    write("outside.txt", "private");
    fs::create_symlink(dir / "outside.txt", dir / "root" / "escape.txt");
    fs::create_symlink(dir / "root" / "app.js", dir / "root" / "inside.js");
  }
  ~TempTree() { fs::remove_all(dir); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name) << text;
  }
};

core::HttpRequest get(std::string path) {
  core::HttpRequest request;
  request.method = "GET";
  request.path = std::move(path);
  request.target = request.path;
  return request;
}

TEST_CASE("static files: content types by extension", "[http]") {
  CHECK(contentTypeFor("index.html") == "text/html; charset=utf-8");
  CHECK(contentTypeFor("a/b/app.MJS") == "text/javascript; charset=utf-8");
  CHECK(contentTypeFor("x.css") == "text/css; charset=utf-8");
  CHECK(contentTypeFor("x.json") == "application/json; charset=utf-8");
  CHECK(contentTypeFor("x.svg") == "image/svg+xml; charset=utf-8");
  CHECK(contentTypeFor("x.png") == "image/png");
  CHECK(contentTypeFor("x.woff2") == "font/woff2");
  CHECK(contentTypeFor("x.wasm") == "application/wasm");
  CHECK(contentTypeFor("x.js.map") == "application/json; charset=utf-8");
  CHECK(contentTypeFor("README") == "application/octet-stream");
}

TEST_CASE("static files: index, files, redirects and 404s", "[http]") {
  TempTree tree;
  auto files = StaticFiles::open(tree.dir / "root");
  REQUIRE(files);
  auto index = files->serve(get("/"));
  CHECK(index.status == 200);
  CHECK(index.body == "<h1>hi</h1>");
  CHECK(index.header("Content-Type") == "text/html; charset=utf-8");
  CHECK(index.header("Cache-Control") == "no-cache");
  auto script = files->serve(get("/app.js"));
  CHECK(script.status == 200);
  CHECK(script.header("Cache-Control") == "max-age=86400");
  CHECK(files->serve(get("/sub/")).body == "sub");
  auto redirect = files->serve(get("/sub"));
  CHECK(redirect.status == 301);
  CHECK(redirect.header("Location") == "/sub/");
  CHECK(files->serve(get("/missing.txt")).status == 404);
  CHECK(files->serve(get("/.secret")).status == 404);
  CHECK(files->serve(get("/escape.txt")).status == 404);  // symlink out of the root
  CHECK(files->serve(get("/inside.js")).status == 200);   // symlink within it
}

TEST_CASE("static files: ETag and Last-Modified give 304", "[http]") {
  TempTree tree;
  auto files = StaticFiles::open(tree.dir / "root");
  REQUIRE(files);
  auto first = files->serve(get("/app.js"));
  REQUIRE(first.header("ETag"));
  REQUIRE(first.header("Last-Modified"));
  auto again = get("/app.js");
  again.headers.push_back({"if-none-match", std::string(*first.header("ETag"))});
  auto not_modified = files->serve(again);
  CHECK(not_modified.status == 304);
  CHECK(not_modified.body.empty());
  auto other = get("/app.js");
  other.headers.push_back({"if-none-match", "\"nope\", W/" + std::string(*first.header("ETag"))});
  CHECK(files->serve(other).status == 304);
  auto stale = get("/app.js");
  stale.headers.push_back({"if-none-match", "\"nope\""});
  CHECK(files->serve(stale).status == 200);
  auto since = get("/app.js");
  since.headers.push_back({"if-modified-since", std::string(*first.header("Last-Modified"))});
  CHECK(files->serve(since).status == 304);
  auto before = get("/app.js");
  before.headers.push_back({"if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT"});
  CHECK(files->serve(before).status == 200);
}

TEST_CASE("static files: no root, or a root that is not a directory", "[http]") {
  auto none = StaticFiles::open("");
  REQUIRE(none);
  CHECK_FALSE(none->isEnabled());
  CHECK(none->serve(get("/")).status == 404);
  CHECK_FALSE(StaticFiles::open("/nonexistent/parley-web"));
}

TEST_CASE("host-meta: XRD and JSON name the WebSocket and BOSH endpoints", "[http]") {
  CHECK(webSocketUrl("https://chat.example/") == "wss://chat.example/xmpp-websocket");
  CHECK(webSocketUrl("http://localhost:5280/") == "ws://localhost:5280/xmpp-websocket");
  CHECK(boshUrl("https://chat.example/xmpp/") == "https://chat.example/xmpp/http-bind");
  std::string xml = hostMetaXml("https://chat.example/");
  CHECK(xml.find("<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>") != std::string::npos);
  CHECK(xml.find("<Link rel='urn:xmpp:alt-connections:websocket' "
                 "href='wss://chat.example/xmpp-websocket'/>") != std::string::npos);
  CHECK(xml.find("<Link rel='urn:xmpp:alt-connections:xbosh' "
                 "href='https://chat.example/http-bind'/>") != std::string::npos);
  CHECK(hostMetaJson("https://chat.example/") ==
        "{\"links\":[{\"rel\":\"urn:xmpp:alt-connections:xbosh\",\"href\":"
        "\"https://chat.example/http-bind\"},{\"rel\":\"urn:xmpp:alt-connections:websocket\","
        "\"href\":\"wss://chat.example/xmpp-websocket\"}]}\n");
}

}  // namespace
}  // namespace parley::http
