// HTTP File Upload (XEP-0363) against the real parleyd: the service in disco#info, slots
// requested over XMPP, PUT and GET on the HTTP listener, the XEP's errors, the HTTP refusals,
// quota, expiry, CORS, and files deleted with their account.
#include <catch2/catch.hpp>
#include <filesystem>

#include "harness/http_client.h"
#include "harness/scenario.h"
#include "harness/xml_text.h"

namespace parley::integration {
namespace {

constexpr const char* kUploadNs = "urn:xmpp:http:upload:0";
constexpr const char* kDataFormsNs = "jabber:x:data";

// A server with a plain HTTP listener whose public_url points at it, and these options in
// [hosts."localhost".http_upload] (an inline table body, e.g. "max_file_size = 1000").
std::unique_ptr<ParleyServer> startUploadServer(const std::string& upload_options = "") {
  ServerOptions options;
  options.http_port = pickFreePort();
  options.http_extra =
      "public_url = \"http://127.0.0.1:" + std::to_string(options.http_port) + "/\"\n";
  if (!upload_options.empty()) options.host_extra = "http_upload = { " + upload_options + " }\n";
  return startServer(options);
}

struct SlotUrls {
  std::string put;     // absolute URL
  std::string get;     // absolute URL
  std::string token;   // the Authorization header's value
  std::string target;  // the request-target on our listener
};

// Asks for a slot; the raw answer (result or error).
const ReceivedStanza* askSlot(StropheClient& client, const std::string& id,
                              const std::string& filename, const std::string& size,
                              const std::string& type = "") {
  std::string iq = "<iq type='get' id='" + id + "' to='localhost'><request xmlns='" + kUploadNs +
                   "' filename='" + xmlEscape(filename) + "' size='" + size + "'" +
                   (type.empty() ? "" : " content-type='" + xmlEscape(type) + "'") + "/></iq>";
  return client.request(iq, id);
}

SlotUrls slotFor(const ParleyServer& server, StropheClient& client, const std::string& id,
                 const std::string& filename, size_t size, const std::string& type) {
  const auto* reply = askSlot(client, id, filename, std::to_string(size), type);
  REQUIRE(reply != nullptr);
  INFO(reply->xml);
  REQUIRE(reply->type == "result");
  const XmlNode* slot = reply->tree.child("slot", kUploadNs);
  REQUIRE(slot != nullptr);
  const XmlNode* put = slot->child("put", kUploadNs);
  const XmlNode* get = slot->child("get", kUploadNs);
  REQUIRE(put != nullptr);
  REQUIRE(get != nullptr);
  const XmlNode* header = put->child("header", kUploadNs);
  REQUIRE(header != nullptr);
  CHECK(header->attr("name") == "Authorization");
  SlotUrls urls{put->attr("url"), get->attr("url"), header->text, ""};
  std::string base = "http://127.0.0.1:" + std::to_string(server.httpPort());
  REQUIRE(urls.put.rfind(base + "/upload/localhost/", 0) == 0);
  urls.target = urls.put.substr(base.size());
  return urls;
}

std::optional<HttpResponse> send(const ParleyServer& server, const std::string& method,
                                 const std::string& target, std::vector<std::string> headers,
                                 const std::string& body = "") {
  HttpClient http;
  if (!http.connect(server.httpPort())) return std::nullopt;
  headers.push_back("Connection: close");
  if (!http.send(httpRequest(method, target, headers, body))) return std::nullopt;
  return http.readResponse(HttpClient::kTimeout, method == "HEAD");
}

int putStatus(const ParleyServer& server, const SlotUrls& slot, const std::string& body,
              const std::string& type, const std::string& authorization) {
  std::vector<std::string> headers = {"Content-Type: " + type};
  if (!authorization.empty()) headers.push_back("Authorization: " + authorization);
  auto response = send(server, "PUT", slot.target, headers, body);
  REQUIRE(response.has_value());
  INFO(response->body);
  return response->status;
}

int getStatus(const ParleyServer& server, const SlotUrls& slot) {
  auto response = send(server, "GET", slot.target, {});
  REQUIRE(response.has_value());
  return response->status;
}

std::string headerOf(const HttpResponse& response, std::string_view name) {
  return response.header(name).value_or("");
}

TEST_CASE("the server's disco#info advertises the upload service and its size limit", "[upload]") {
  auto server = startUploadServer("max_file_size = 123456");
  auto romeo = login(*server, "romeo", "balcony");
  auto reply = romeo->request(
      "<iq type='get' id='d1' to='localhost'>"
      "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
      "d1");
  REQUIRE(reply != nullptr);
  INFO(reply->xml);
  const XmlNode* query = reply->tree.child("query", "http://jabber.org/protocol/disco#info");
  REQUIRE(query != nullptr);
  bool has_identity = false;
  for (const XmlNode* identity : query->childrenNamed("identity")) {
    has_identity |= identity->attr("category") == "store" && identity->attr("type") == "file";
  }
  CHECK(has_identity);
  bool has_feature = false;
  for (const XmlNode* feature : query->childrenNamed("feature")) {
    has_feature |= feature->attr("var") == kUploadNs;
  }
  CHECK(has_feature);
  std::string max_size;
  for (const XmlNode* form : query->childrenNamed("x")) {
    if (form->xmlns != kDataFormsNs) continue;
    std::string form_type;
    std::string size;
    for (const XmlNode* field : form->childrenNamed("field")) {
      const XmlNode* value = field->child("value");
      if (!value) continue;
      if (field->attr("var") == "FORM_TYPE") form_type = value->text;
      if (field->attr("var") == "max-file-size") size = value->text;
    }
    if (form_type == kUploadNs) max_size = size;
  }
  CHECK(max_size == "123456");
}

TEST_CASE("romeo uploads a file into a slot and its URL serves the same bytes", "[upload]") {
  auto server = startUploadServer();
  auto romeo = login(*server, "romeo", "balcony");
  const std::string image = std::string("\x89PNG\r\n\x1a\n", 8) + std::string(300, '\x42');
  auto slot = slotFor(*server, *romeo, "s1", "très cool.png", image.size(), "image/png");
  CHECK(slot.put == slot.get);
  CHECK(slot.put.ends_with("/tr%C3%A8s%20cool.png"));
  CHECK(slot.token.rfind("Bearer ", 0) == 0);

  auto created = send(*server, "PUT", slot.target,
                      {"Content-Type: image/png", "Authorization: " + slot.token}, image);
  REQUIRE(created.has_value());
  INFO(created->body);
  CHECK(created->status == 201);
  CHECK(headerOf(*created, "Access-Control-Allow-Origin") == "*");

  // Anyone with the URL downloads it, from any origin (XEP-0363 §1: no access control).
  auto got = send(*server, "GET", slot.target, {"Origin: http://chat.example"});
  REQUIRE(got.has_value());
  CHECK(got->status == 200);
  CHECK(got->body == image);
  CHECK(headerOf(*got, "Content-Type") == "image/png");
  CHECK(headerOf(*got, "Content-Length") == std::to_string(image.size()));
  CHECK(headerOf(*got, "X-Content-Type-Options") == "nosniff");
  CHECK(headerOf(*got, "Cache-Control").find("immutable") != std::string::npos);
  CHECK_FALSE(headerOf(*got, "ETag").empty());
  CHECK(headerOf(*got, "Access-Control-Allow-Origin") == "*");
  CHECK_FALSE(got->header("Content-Disposition"));

  auto head = send(*server, "HEAD", slot.target, {});
  REQUIRE(head.has_value());
  CHECK(head->status == 200);
  CHECK(headerOf(*head, "Content-Length") == std::to_string(image.size()));
  CHECK(head->body.empty());

  // On disk where the documentation says.
  std::string id = slot.target.substr(std::string("/upload/localhost/").size(), 32);
  CHECK(std::filesystem::file_size(server->directory() + "/var/upload/localhost/" + id +
                                   "/très cool.png") == image.size());

  SECTION("a second PUT to the same slot is a conflict") {
    CHECK(putStatus(*server, slot, image, "image/png", slot.token) == 409);
  }
  SECTION("the file survives a restart") {
    REQUIRE(server->stop() == 0);
    REQUIRE(server->start());
    auto again = send(*server, "GET", slot.target, {});
    REQUIRE(again.has_value());
    CHECK(again->status == 200);
    CHECK(again->body == image);
  }
}

TEST_CASE("a page uploaded as text/html is served as an attachment under a CSP", "[upload]") {
  auto server = startUploadServer();
  auto romeo = login(*server, "romeo", "balcony");
  const std::string page = "<script>alert(1)</script>";
  auto slot = slotFor(*server, *romeo, "s1", "page.html", page.size(), "text/html");
  REQUIRE(putStatus(*server, slot, page, "text/html", slot.token) == 201);
  auto got = send(*server, "GET", slot.target, {});
  REQUIRE(got.has_value());
  CHECK(got->status == 200);
  CHECK(headerOf(*got, "Content-Disposition").rfind("attachment", 0) == 0);
  CHECK(headerOf(*got, "Content-Security-Policy") == "default-src 'none'");
}

TEST_CASE("a request over the size limit gets not-acceptable with file-too-large", "[upload]") {
  auto server = startUploadServer("max_file_size = 1000");
  auto romeo = login(*server, "romeo", "balcony");
  const auto* reply = askSlot(*romeo, "big", "big.bin", "1001");
  REQUIRE(reply != nullptr);
  INFO(reply->xml);
  CHECK(reply->type == "error");
  CHECK(errorCondition(*reply) == "not-acceptable");
  const XmlNode* error = reply->tree.child("error");
  REQUIRE(error != nullptr);
  CHECK(error->attr("type") == "modify");
  const XmlNode* too_large = error->child("file-too-large", kUploadNs);
  REQUIRE(too_large != nullptr);
  const XmlNode* max_size = too_large->child("max-file-size", kUploadNs);
  REQUIRE(max_size != nullptr);
  CHECK(max_size->text == "1000");

  SECTION("exactly the limit is fine") {
    const auto* fits = askSlot(*romeo, "fits", "big.bin", "1000");
    REQUIRE(fits != nullptr);
    CHECK(fits->type == "result");
  }
}

TEST_CASE("bad slot requests get bad-request", "[upload]") {
  auto server = startUploadServer();
  auto romeo = login(*server, "romeo", "balcony");
  // The <request/> attributes as written in the XML.
  const std::string cases[] = {
      "size='10'",
      "filename='' size='10'",
      "filename='../../etc/passwd' size='10'",
      "filename='line&#10;break' size='10'",  // a control character, as a character reference
      "filename='a.txt'",
      "filename='a.txt' size=''",
      "filename='a.txt' size='-5'",
      "filename='a.txt' size='ten'",
      "filename='a.txt' size='10' content-type='plain'",
      "filename='" + std::string(256, 'x') + "' size='10'",
  };
  int n = 0;
  for (const auto& attributes : cases) {
    std::string id = "b" + std::to_string(++n);
    INFO(attributes);
    const auto* reply =
        romeo->request("<iq type='get' id='" + id + "' to='localhost'><request xmlns='" +
                           kUploadNs + "' " + attributes + "/></iq>",
                       id);
    REQUIRE(reply != nullptr);
    CHECK(reply->type == "error");
    CHECK(errorCondition(*reply) == "bad-request");
  }
}

TEST_CASE("a PUT without the slot's Authorization is forbidden and stores nothing", "[upload]") {
  auto server = startUploadServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto slot = slotFor(*server, *romeo, "s1", "note.txt", 5, "text/plain");
  CHECK(putStatus(*server, slot, "hello", "text/plain", "") == 403);
  CHECK(putStatus(*server, slot, "hello", "text/plain", "Bearer 0000") == 403);
  CHECK(putStatus(*server, slot, "hello", "text/plain",
                  "Bearer " + std::string(slot.token.size() - 7, 'a')) == 403);
  CHECK(getStatus(*server, slot) == 404);
  // A URL that was never granted.
  SlotUrls forged = slot;
  forged.target = "/upload/localhost/00000000000000000000000000000000/note.txt";
  CHECK(putStatus(*server, forged, "hello", "text/plain", slot.token) == 403);
  // The slot still works for its owner.
  CHECK(putStatus(*server, slot, "hello", "text/plain", slot.token) == 201);
}

TEST_CASE("a PUT is refused from its headers, before its body is sent", "[upload]") {
  auto server = startUploadServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto slot = slotFor(*server, *romeo, "s1", "movie.mp4", 5000000, "video/mp4");
  // The client waits for "100 Continue" before it sends 5 MB: a refusal comes instead.
  auto refusedHead = [&](const std::string& target, const std::string& authorization,
                         const std::string& length) {
    HttpClient http;
    REQUIRE(http.connect(server->httpPort()));
    std::string head = "PUT " + target +
                       " HTTP/1.1\r\nHost: localhost\r\nContent-Type: video/mp4\r\n"
                       "Expect: 100-continue\r\nContent-Length: " +
                       length + "\r\n";
    if (!authorization.empty()) head += "Authorization: " + authorization + "\r\n";
    REQUIRE(http.send(head + "\r\n"));
    auto response = http.readResponse();
    REQUIRE(response.has_value());
    CHECK(headerOf(*response, "Access-Control-Allow-Origin") == "*");
    CHECK(http.waitClosed());
    return response->status;
  };
  CHECK(refusedHead(slot.target, "", "5000000") == 403);
  CHECK(refusedHead(slot.target, "Bearer 0000", "5000000") == 403);
  CHECK(refusedHead("/upload/localhost/00000000000000000000000000000000/movie.mp4", slot.token,
                    "5000000") == 403);
  CHECK(refusedHead(slot.target, slot.token, "5000001") == 413);
  CHECK(refusedHead(slot.target, slot.token, "4999999") == 400);
  // With the right headers the body is asked for.
  HttpClient http;
  REQUIRE(http.connect(server->httpPort()));
  REQUIRE(http.send("PUT " + slot.target +
                    " HTTP/1.1\r\nHost: localhost\r\nContent-Type: video/mp4\r\n"
                    "Expect: 100-continue\r\nContent-Length: 5000000\r\nAuthorization: " +
                    slot.token + "\r\n\r\n"));
  auto go_on = http.readResponse();
  REQUIRE(go_on.has_value());
  CHECK(go_on->status == 100);
}

TEST_CASE("a PUT of another size or type than the slot's is refused and stores nothing",
          "[upload]") {
  auto server = startUploadServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto slot = slotFor(*server, *romeo, "s1", "note.txt", 5, "text/plain");
  CHECK(putStatus(*server, slot, "hello!", "text/plain", slot.token) == 413);
  CHECK(putStatus(*server, slot, "hell", "text/plain", slot.token) == 400);
  CHECK(putStatus(*server, slot, "hello", "image/png", slot.token) == 400);
  CHECK(getStatus(*server, slot) == 404);
  CHECK(putStatus(*server, slot, "hello", "text/plain", slot.token) == 201);
  auto got = send(*server, "GET", slot.target, {});
  REQUIRE(got.has_value());
  CHECK(got->body == "hello");
}

TEST_CASE("over the quota a slot request gets resource-constraint with a retry time", "[upload]") {
  auto server = startUploadServer("max_file_size = 1000, quota = 1500");
  auto romeo = login(*server, "romeo", "balcony");
  auto first = slotFor(*server, *romeo, "s1", "one.bin", 1000, "application/octet-stream");
  REQUIRE(putStatus(*server, first, std::string(1000, 'x'), "application/octet-stream",
                    first.token) == 201);
  const auto* reply = askSlot(*romeo, "s2", "two.bin", "1000");
  REQUIRE(reply != nullptr);
  INFO(reply->xml);
  CHECK(reply->type == "error");
  CHECK(errorCondition(*reply) == "resource-constraint");
  const XmlNode* error = reply->tree.child("error");
  REQUIRE(error != nullptr);
  CHECK(error->attr("type") == "wait");
  const XmlNode* retry = error->child("retry", kUploadNs);
  REQUIRE(retry != nullptr);
  CHECK(retry->attr("stamp").ends_with("Z"));

  SECTION("what still fits is granted, and juliet has a quota of her own") {
    const auto* small = askSlot(*romeo, "s3", "three.bin", "500");
    REQUIRE(small != nullptr);
    CHECK(small->type == "result");
    auto juliet = login(*server, "juliet", "garden");
    const auto* hers = askSlot(*juliet, "j1", "hers.bin", "1000");
    REQUIRE(hers != nullptr);
    CHECK(hers->type == "result");
  }
}

TEST_CASE("the CORS preflight allows browsers to PUT with the slot's headers", "[upload]") {
  auto server = startUploadServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto slot = slotFor(*server, *romeo, "s1", "photo.jpg", 3, "image/jpeg");
  auto preflight = send(*server, "OPTIONS", slot.target,
                        {"Origin: https://chat.example", "Access-Control-Request-Method: PUT",
                         "Access-Control-Request-Headers: authorization, content-type"});
  REQUIRE(preflight.has_value());
  CHECK((preflight->status == 200 || preflight->status == 204));
  CHECK(headerOf(*preflight, "Access-Control-Allow-Origin") == "*");
  CHECK(headerOf(*preflight, "Access-Control-Allow-Methods") == "GET, HEAD, PUT, OPTIONS");
  CHECK(headerOf(*preflight, "Access-Control-Allow-Headers") == "Authorization, Content-Type");
}

TEST_CASE("a slot expires after slot_lifetime", "[upload]") {
  auto server = startUploadServer("slot_lifetime = 1");
  auto romeo = login(*server, "romeo", "balcony");
  auto slot = slotFor(*server, *romeo, "s1", "late.txt", 4, "text/plain");
  auto expired_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(1100);
  // Keep the XMPP stream served while the slot ages (bounded: this is the only wait).
  StropheClient::pumpUntil([&] { return std::chrono::steady_clock::now() >= expired_at; },
                           std::chrono::seconds(3));
  CHECK(putStatus(*server, slot, "late", "text/plain", slot.token) == 403);
  CHECK(getStatus(*server, slot) == 404);
}

TEST_CASE("uploaded files are deleted when they expire", "[upload]") {
  auto server = startUploadServer("expire_after = 1");
  auto romeo = login(*server, "romeo", "balcony");
  auto slot = slotFor(*server, *romeo, "s1", "brief.txt", 5, "text/plain");
  REQUIRE(putStatus(*server, slot, "brief", "text/plain", slot.token) == 201);
  std::string dir = server->directory() + "/var/upload/localhost/" +
                    slot.target.substr(std::string("/upload/localhost/").size(), 32);
  CHECK(std::filesystem::exists(dir));
  // The sweep runs every second; the file is refused as soon as it expired.
  bool gone = StropheClient::pumpUntil([&] { return !std::filesystem::exists(dir); },
                                       std::chrono::seconds(5));
  CHECK(gone);
  CHECK(getStatus(*server, slot) == 404);
}

TEST_CASE("deleting an account deletes its uploads", "[upload]") {
  auto server = startUploadServer();
  auto juliet = login(*server, "juliet", "garden");
  auto slot = slotFor(*server, *juliet, "s1", "diary.txt", 5, "text/plain");
  REQUIRE(putStatus(*server, slot, "dear.", "text/plain", slot.token) == 201);
  REQUIRE(getStatus(*server, slot) == 200);
  auto removed = juliet->request(
      "<iq type='set' id='x1' to='localhost'><query xmlns='jabber:iq:register'><remove/>"
      "</query></iq>",
      "x1");
  REQUIRE(removed != nullptr);
  CHECK(removed->type == "result");
  CHECK(juliet->waitDisconnected());
  CHECK(getStatus(*server, slot) == 404);
}

}  // namespace
}  // namespace parley::integration
