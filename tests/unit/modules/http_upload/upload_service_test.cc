// Unit tests for the HTTP side of the upload service (PUT, GET, HEAD, OPTIONS) and its file
// store, against a temporary directory and a fake clock.
#include "http_upload/upload_service.h"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "http_upload/slot_request.h"

namespace parley::modules::http_upload {
namespace {

using namespace std::chrono_literals;

const std::string kId = "0123456789abcdef0123456789abcdef";
const std::string kToken = "feedfacefeedfacefeedfacefeedfacefeedfacefeedface";

struct TempDir {
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "parley-upload-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::filesystem::path path;
};

struct Fixture {
  Fixture() : service("example.org", limits(), dir.path / "example.org", [this] { return now; }) {
    REQUIRE(service.files.prepare());
  }

  static Limits limits() {
    Limits limits;
    limits.max_file_size = 1000;
    limits.quota = 5000;
    limits.slot_lifetime = 60s;
    limits.expire_after = 1h;
    return limits;
  }

  // Opens a slot for romeo (its id is kId unless given).
  Slot openSlot(uint64_t size, std::string type, std::string filename = "très cool.png",
                std::string id = kId) {
    Slot slot{id, kToken, "romeo", std::move(filename), size, std::move(type), {}};
    REQUIRE_FALSE(service.ledger.open(slot, now));
    return slot;
  }

  core::HttpRequest request(std::string method, const Slot& slot) const {
    core::HttpRequest request;
    request.method = std::move(method);
    request.path = "/upload/example.org/" + slot.id + "/" + slot.filename;
    request.target = request.path;
    return request;
  }

  core::HttpRequest put(const Slot& slot, std::string body, std::string type) const {
    auto req = request("PUT", slot);
    req.headers.push_back({"authorization", "Bearer " + slot.token});
    if (!type.empty()) req.headers.push_back({"content-type", std::move(type)});
    req.headers.push_back({"content-length", std::to_string(body.size())});
    req.body = std::move(body);
    return req;
  }

  core::HttpResponse handle(const core::HttpRequest& req) { return handleHttp(service, req); }

  std::filesystem::path fileOnDisk(const Slot& slot) const {
    return dir.path / "example.org" / slot.id / slot.filename;
  }

  TempDir dir;
  SystemTime now = SystemTime(std::chrono::hours(24 * 365 * 50));
  UploadService service;
};

std::string header(const core::HttpResponse& response, std::string_view name) {
  return std::string(response.header(name).value_or(""));
}

TEST_CASE("a file PUT into its slot is served back by GET", "[http_upload]") {
  Fixture f;
  auto slot = f.openSlot(5, "image/png");
  auto created = f.handle(f.put(slot, "\x89PNG\n", "image/png"));
  CHECK(created.status == 201);
  CHECK(header(created, "Access-Control-Allow-Origin") == "*");
  CHECK(std::filesystem::file_size(f.fileOnDisk(slot)) == 5);
  CHECK(std::filesystem::exists(f.dir.path / "example.org" / (kId + ".meta")));

  auto got = f.handle(f.request("GET", slot));
  CHECK(got.status == 200);
  CHECK(got.body == "\x89PNG\n");
  CHECK(header(got, "Content-Type") == "image/png");
  CHECK(header(got, "ETag") == "\"" + kId + "\"");
  CHECK(header(got, "Cache-Control") == "public, max-age=31536000, immutable");
  CHECK(header(got, "X-Content-Type-Options") == "nosniff");
  CHECK(header(got, "Access-Control-Allow-Origin") == "*");
  CHECK_FALSE(got.header("Content-Disposition"));

  SECTION("HEAD answers the same headers") {
    auto head = f.handle(f.request("HEAD", slot));
    CHECK(head.status == 200);
    CHECK(header(head, "Content-Type") == "image/png");
    CHECK(header(head, "ETag") == "\"" + kId + "\"");
    CHECK(header(head, "Content-Length") == "5");
    CHECK(head.body.empty());
  }
  SECTION("a matching If-None-Match gets 304") {
    auto req = f.request("GET", slot);
    req.headers.push_back({"if-none-match", "\"" + kId + "\""});
    auto cached = f.handle(req);
    CHECK(cached.status == 304);
    CHECK(cached.body.empty());
  }
  SECTION("a second PUT is a conflict and changes nothing") {
    auto again = f.handle(f.put(slot, "other", "image/png"));
    CHECK(again.status == 409);
    CHECK(f.handle(f.request("GET", slot)).body == "\x89PNG\n");
  }
  SECTION("another file name under the same id is not found") {
    auto req = f.request("GET", slot);
    req.path = "/upload/example.org/" + kId + "/other.png";
    CHECK(f.handle(req).status == 404);
  }
  SECTION("the file expires") {
    f.now += 1h;
    CHECK(f.handle(f.request("GET", slot)).status == 404);
    CHECK(f.service.expire(100) == 1);
    CHECK_FALSE(std::filesystem::exists(f.dir.path / "example.org" / kId));
    CHECK_FALSE(std::filesystem::exists(f.dir.path / "example.org" / (kId + ".meta")));
  }
  SECTION("deleting the owner deletes the file") {
    CHECK(f.service.forgetUser("romeo") == 1);
    CHECK_FALSE(std::filesystem::exists(f.dir.path / "example.org" / kId));
    CHECK(f.handle(f.request("GET", slot)).status == 404);
  }
}

TEST_CASE("GET with a Range serves that part of the file", "[http_upload]") {
  Fixture f;
  auto slot = f.openSlot(10, "video/mp4", "clip.mp4");
  REQUIRE(f.handle(f.put(slot, "0123456789", "video/mp4")).status == 201);
  struct Case {
    std::string range;
    int status;
    std::string body;
    std::string content_range;
  };
  const Case cases[] = {
      {"bytes=0-3", 206, "0123", "bytes 0-3/10"},
      {"bytes=7-", 206, "789", "bytes 7-9/10"},
      {"bytes=-2", 206, "89", "bytes 8-9/10"},
      {"bytes=5-100", 206, "56789", "bytes 5-9/10"},
      {"bytes=-100", 206, "0123456789", "bytes 0-9/10"},
      {"bytes=10-", 416, "", "bytes */10"},
      {"bytes=0-1,4-5", 200, "0123456789", ""},  // several ranges: the whole file
      {"bytes=3-1", 200, "0123456789", ""},
      {"items=0-1", 200, "0123456789", ""},
  };
  for (const auto& c : cases) {
    INFO(c.range);
    auto req = f.request("GET", slot);
    req.headers.push_back({"range", c.range});
    auto got = f.handle(req);
    CHECK(got.status == c.status);
    CHECK(got.body == c.body);
    CHECK(header(got, "Content-Range") == c.content_range);
  }
  SECTION("If-Range with another ETag gets the whole file") {
    auto req = f.request("GET", slot);
    req.headers.push_back({"range", "bytes=0-3"});
    req.headers.push_back({"if-range", "\"other\""});
    CHECK(f.handle(req).status == 200);
  }
}

TEST_CASE("PUT without the slot's Authorization is forbidden", "[http_upload]") {
  Fixture f;
  auto slot = f.openSlot(3, "text/plain");
  auto req = f.put(slot, "abc", "text/plain");
  SECTION("none") { req.headers.erase(req.headers.begin()); }
  SECTION("another token") { req.headers[0].value = "Bearer " + std::string(kToken.size(), 'a'); }
  SECTION("not a bearer token") { req.headers[0].value = "Basic " + kToken; }
  CHECK(f.handle(req).status == 403);
  CHECK_FALSE(std::filesystem::exists(f.fileOnDisk(slot)));
  // The slot is still good for the right request.
  CHECK(f.handle(f.put(slot, "abc", "text/plain")).status == 201);
}

TEST_CASE("PUT of another size or type than the slot's is refused, nothing stored",
          "[http_upload]") {
  Fixture f;
  auto slot = f.openSlot(3, "text/plain");
  CHECK(f.handle(f.put(slot, "abcd", "text/plain")).status == 413);
  CHECK(f.handle(f.put(slot, "ab", "text/plain")).status == 400);
  CHECK(f.handle(f.put(slot, "abc", "text/html")).status == 400);
  CHECK(f.handle(f.put(slot, "abc", "")).status == 400);
  CHECK_FALSE(std::filesystem::exists(f.fileOnDisk(slot)));
  CHECK(f.service.ledger.storedFiles() == 0);
  CHECK(f.handle(f.put(slot, "abc", "TEXT/plain")).status == 201);
  CHECK(header(f.handle(f.request("GET", slot)), "Content-Type") == "text/plain");
}

TEST_CASE("a slot without a declared type takes the PUT's, or octet-stream", "[http_upload]") {
  Fixture f;
  auto typed = f.openSlot(1, "", "a.webp");
  CHECK(f.handle(f.put(typed, "x", "image/webp")).status == 201);
  CHECK(header(f.handle(f.request("GET", typed)), "Content-Type") == "image/webp");
  auto untyped = f.openSlot(1, "", "b.bin", "ffffffffffffffffffffffffffffffff");
  CHECK(f.handle(f.put(untyped, "x", "")).status == 201);
  CHECK(header(f.handle(f.request("GET", untyped)), "Content-Type") == "application/octet-stream");
}

TEST_CASE("PUT to an unknown or expired slot is forbidden", "[http_upload]") {
  Fixture f;
  auto slot = f.openSlot(3, "text/plain");
  auto unknown = slot;
  unknown.id = "ffffffffffffffffffffffffffffffff";
  CHECK(f.handle(f.put(unknown, "abc", "text/plain")).status == 403);
  f.now += 61s;
  CHECK(f.handle(f.put(slot, "abc", "text/plain")).status == 403);
  CHECK_FALSE(std::filesystem::exists(f.fileOnDisk(slot)));
}

TEST_CASE("pages and scripts are served as attachments under a CSP", "[http_upload]") {
  CHECK(isActiveContent("text/html; charset=utf-8"));
  CHECK(isActiveContent("image/SVG+xml"));
  CHECK(isActiveContent("application/xhtml+xml"));
  CHECK(isActiveContent("text/xml"));
  CHECK(isActiveContent("application/javascript"));
  CHECK(isActiveContent("text/javascript"));
  CHECK_FALSE(isActiveContent("image/png"));
  CHECK_FALSE(isActiveContent("video/mp4"));
  CHECK_FALSE(isActiveContent("text/plain"));

  Fixture f;
  auto slot = f.openSlot(6, "text/html", "page.html");
  REQUIRE(f.handle(f.put(slot, "<html>", "text/html")).status == 201);
  auto got = f.handle(f.request("GET", slot));
  CHECK(got.status == 200);
  CHECK(header(got, "Content-Disposition") == "attachment; filename*=UTF-8''page.html");
  CHECK(header(got, "Content-Security-Policy") == "default-src 'none'");
  CHECK(header(got, "X-Content-Type-Options") == "nosniff");
}

TEST_CASE("CORS preflight, unknown paths and other methods", "[http_upload]") {
  Fixture f;
  auto slot = f.openSlot(3, "text/plain");
  auto preflight = f.handle(f.request("OPTIONS", slot));
  CHECK((preflight.status == 200 || preflight.status == 204));
  CHECK(header(preflight, "Access-Control-Allow-Origin") == "*");
  CHECK(header(preflight, "Access-Control-Allow-Methods") == "GET, HEAD, PUT, OPTIONS");
  CHECK(header(preflight, "Access-Control-Allow-Headers") == "Authorization, Content-Type");

  auto del = f.handle(f.request("DELETE", slot));
  CHECK(del.status == 405);
  CHECK(header(del, "Allow") == "GET, HEAD, PUT, OPTIONS");

  for (const std::string& path : std::vector<std::string>{
           "/upload/example.org/", "/upload/example.org/" + kId, "/upload/example.org/" + kId + "/",
           "/upload/example.org/nothex/x", "/upload/example.org/" + kId + "/a/b",
           "/upload/other.org/" + kId + "/x"}) {
    INFO(path);
    auto req = f.request("GET", slot);
    req.path = path;
    CHECK(f.handle(req).status == 404);
  }
}

TEST_CASE("file metadata round-trips; damaged metadata is refused", "[http_upload]") {
  StoredFile file{kId,  "romeo",     "très cool.png",
                  1234, "image/png", SystemTime(std::chrono::milliseconds(1700000000123))};
  auto parsed = parseMetadata(metadataText(file), kId);
  REQUIRE(parsed);
  CHECK(parsed->user == "romeo");
  CHECK(parsed->filename == "très cool.png");
  CHECK(parsed->size == 1234);
  CHECK(parsed->content_type == "image/png");
  CHECK(parsed->stored_at == file.stored_at);
  CHECK_FALSE(parseMetadata("", kId));
  CHECK_FALSE(parseMetadata("something else\n", kId));
  auto text = metadataText(file);
  CHECK_FALSE(parseMetadata(text.substr(0, text.size() - 1), kId));  // cut short
  file.filename = "a/b";
  CHECK_FALSE(parseMetadata(metadataText(file), kId));
}

TEST_CASE("the store's scan keeps intact uploads and deletes unfinished ones", "[http_upload]") {
  Fixture f;
  auto slot = f.openSlot(3, "text/plain");
  REQUIRE(f.handle(f.put(slot, "abc", "text/plain")).status == 201);
  const auto root = f.dir.path / "example.org";
  // A directory without metadata: a PUT that never finished.
  std::filesystem::create_directories(root / "11111111111111111111111111111111");
  std::ofstream(root / "11111111111111111111111111111111" / "half.bin") << "ha";
  // Metadata whose file has another size.
  std::filesystem::create_directories(root / "22222222222222222222222222222222");
  std::ofstream(root / "22222222222222222222222222222222" / "f.bin") << "short";
  std::ofstream(root / "22222222222222222222222222222222.meta") << metadataText(
      StoredFile{"22222222222222222222222222222222", "romeo", "f.bin", 100, "x/y", f.now});
  std::ofstream(root / "unrelated.txt") << "not ours";

  auto scan = f.service.files.scan();
  REQUIRE(scan.files.size() == 1);
  CHECK(scan.files[0].id == kId);
  CHECK(scan.files[0].filename == "très cool.png");
  CHECK(scan.removed == 2);
  CHECK_FALSE(std::filesystem::exists(root / "11111111111111111111111111111111"));
  CHECK_FALSE(std::filesystem::exists(root / "22222222222222222222222222222222"));
  CHECK_FALSE(std::filesystem::exists(root / "22222222222222222222222222222222.meta"));
  CHECK(std::filesystem::exists(root / "unrelated.txt"));
}

}  // namespace
}  // namespace parley::modules::http_upload
