// Unit tests for XEP-0363 slot requests: file names, sizes, media types, URLs and the slot.
#include "http_upload/slot_request.h"

#include <catch2/catch.hpp>

#include "xml/serializer.h"

namespace parley::modules::http_upload {
namespace {

xml::Element request(std::initializer_list<std::pair<std::string, std::string>> attrs) {
  xml::Element element("request", std::string(kNamespace));
  for (const auto& [name, value] : attrs) element.setAttr(name, value);
  return element;
}

TEST_CASE("upload file names: one UTF-8 path component without control characters",
          "[http_upload]") {
  struct Case {
    std::string name;
    bool valid;
  };
  const Case cases[] = {
      {"photo.jpg", true},
      {"très cool.jpg", true},
      {"😀 sticker.webp", true},
      {".bashrc", true},
      {"a b%20c?d#e&f", true},
      {std::string(255, 'x'), true},
      {"", false},
      {".", false},
      {"..", false},
      {"dir/file.png", false},
      {"/etc/passwd", false},
      {"line\nbreak", false},
      {"tab\there", false},
      {std::string("nul\0byte", 8), false},
      {"del\x7f", false},
      {"\xff\xfe", false},  // not UTF-8
      {std::string(256, 'x'), false},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK(isValidFilename(c.name) == c.valid);
  }
}

TEST_CASE("upload media types", "[http_upload]") {
  CHECK(isValidContentType("image/jpeg"));
  CHECK(isValidContentType("text/plain; charset=utf-8"));
  CHECK(isValidContentType(
      "application/vnd.openxmlformats-officedocument.wordprocessingml.document"));
  CHECK_FALSE(isValidContentType("image"));
  CHECK_FALSE(isValidContentType("/jpeg"));
  CHECK_FALSE(isValidContentType("image/"));
  CHECK_FALSE(isValidContentType("image/jpeg\r\nX-Evil: 1"));
  CHECK_FALSE(isValidContentType("image/jp eg"));
  CHECK_FALSE(isValidContentType("bild/jpég"));
  CHECK_FALSE(isValidContentType(std::string(200, 'a') + "/" + std::string(60, 'b')));

  CHECK(sameContentType("image/PNG", "image/png"));
  CHECK(sameContentType("text/plain;charset=utf-8", "text/plain"));
  CHECK(sameContentType(" image/png ", "image/png"));
  CHECK_FALSE(sameContentType("image/png", "image/jpeg"));
  CHECK_FALSE(sameContentType("text/html", "text/plain"));
}

TEST_CASE("slot requests are read from their attributes", "[http_upload]") {
  auto parsed = parseSlotRequest(
      request({{"filename", "très cool.jpg"}, {"size", "23456"}, {"content-type", "image/jpeg"}}));
  REQUIRE(parsed);
  CHECK(parsed->filename == "très cool.jpg");
  CHECK(parsed->size == 23456);
  CHECK(parsed->content_type == "image/jpeg");

  SECTION("content-type is optional") {
    auto untyped = parseSlotRequest(request({{"filename", "a.bin"}, {"size", "0"}}));
    REQUIRE(untyped);
    CHECK(untyped->size == 0);
    CHECK(untyped->content_type.empty());
  }
  SECTION("bad requests") {
    const std::vector<xml::Element> bad = {
        request({{"size", "1"}}),
        request({{"filename", ""}, {"size", "1"}}),
        request({{"filename", "a/b"}, {"size", "1"}}),
        request({{"filename", "a.txt"}}),
        request({{"filename", "a.txt"}, {"size", ""}}),
        request({{"filename", "a.txt"}, {"size", "-1"}}),
        request({{"filename", "a.txt"}, {"size", "+1"}}),
        request({{"filename", "a.txt"}, {"size", "1.5"}}),
        request({{"filename", "a.txt"}, {"size", " 1"}}),
        request({{"filename", "a.txt"}, {"size", "99999999999999999999"}}),
        request({{"filename", "a.txt"}, {"size", "1"}, {"content-type", "text"}}),
        request({{"filename", "a.txt"}, {"size", "1"}, {"content-type", "a/b\nc: d"}}),
    };
    for (const auto& element : bad) {
      INFO(xml::toString(element));
      CHECK_FALSE(parseSlotRequest(element));
    }
  }
}

TEST_CASE("upload URLs percent-encode every part", "[http_upload]") {
  CHECK(percentEncode("AZaz09-._~") == "AZaz09-._~");
  CHECK(percentEncode("a b/c?d#e%f") == "a%20b%2Fc%3Fd%23e%25f");
  CHECK(percentEncode("très") == "tr%C3%A8s");
  CHECK(fileUrl("https://chat.example/", "example.org", "0123456789abcdef0123456789abcdef",
                "très cool.jpg") ==
        "https://chat.example/upload/example.org/0123456789abcdef0123456789abcdef/"
        "tr%C3%A8s%20cool.jpg");
  CHECK(fileUrl("http://127.0.0.1:5280/", "[::1]", "id", "x") ==
        "http://127.0.0.1:5280/upload/%5B%3A%3A1%5D/id/x");
  CHECK(routePrefix("example.org") == "/upload/example.org/");
}

TEST_CASE("the slot element and the XEP-0363 error conditions", "[http_upload]") {
  auto slot = slotElement("https://h/upload/d/i/f", "secret");
  CHECK(xml::toString(slot) ==
        "<slot xmlns='urn:xmpp:http:upload:0'><put url='https://h/upload/d/i/f'>"
        "<header name='Authorization'>Bearer secret</header></put>"
        "<get url='https://h/upload/d/i/f'/></slot>");
  CHECK(xml::toString(fileTooLarge(20000)) ==
        "<file-too-large xmlns='urn:xmpp:http:upload:0'><max-file-size>20000</max-file-size>"
        "</file-too-large>");
  CHECK(xml::toString(
            retryAt(std::chrono::system_clock::time_point(std::chrono::seconds(1512344525)))) ==
        "<retry xmlns='urn:xmpp:http:upload:0' stamp='2017-12-03T23:42:05.000Z'/>");
}

}  // namespace
}  // namespace parley::modules::http_upload
