// Unit tests for WebSocket framing (RFC 6455 §5): masking, fragmentation, control frames,
// limits and the handshake key.
#include "http/websocket_frame.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace parley::http::ws {
namespace {

// A client frame: masked with a fixed key.
std::string clientFrame(uint8_t first_byte, std::string_view payload, bool mask = true) {
  std::string frame;
  frame.push_back(static_cast<char>(first_byte));
  uint8_t mask_bit = mask ? 0x80 : 0;
  if (payload.size() < 126) {
    frame.push_back(static_cast<char>(mask_bit | payload.size()));
  } else if (payload.size() <= 0xFFFF) {
    frame.push_back(static_cast<char>(mask_bit | 126));
    frame.push_back(static_cast<char>(payload.size() >> 8));
    frame.push_back(static_cast<char>(payload.size() & 0xFF));
  } else {
    frame.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8)
      frame.push_back(static_cast<char>((payload.size() >> shift) & 0xFF));
  }
  const char key[4] = {0x37, static_cast<char>(0xfa), 0x21, 0x3d};
  if (mask) frame.append(key, 4);
  for (size_t i = 0; i < payload.size(); ++i)
    frame.push_back(mask ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i]);
  return frame;
}

std::vector<Event> readAll(FrameReader& reader, std::string_view bytes) {
  std::vector<Event> events;
  reader.feed(bytes, events);
  return events;
}

TEST_CASE("RFC 6455 §4.2.2 handshake key example", "[http][websocket]") {
  CHECK(acceptKey("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  CHECK(isValidClientKey("dGhlIHNhbXBsZSBub25jZQ=="));
  CHECK_FALSE(isValidClientKey("c2hvcnQ="));  // 5 bytes
  CHECK_FALSE(isValidClientKey("not base64!"));
}

TEST_CASE("a masked text frame is one message, split at any byte", "[http][websocket]") {
  auto frame = clientFrame(0x81, "<message to='juliet@localhost'>héllo 👋</message>");
  for (size_t split = 0; split <= frame.size(); ++split) {
    FrameReader reader(1024);
    std::vector<Event> events;
    reader.feed(std::string_view(frame).substr(0, split), events);
    reader.feed(std::string_view(frame).substr(split), events);
    REQUIRE(events.size() == 1);
    CHECK(events[0].kind == Event::Kind::Text);
    CHECK(events[0].payload == "<message to='juliet@localhost'>héllo 👋</message>");
  }
}

TEST_CASE("16- and 64-bit lengths", "[http][websocket]") {
  FrameReader reader(200000);
  std::string medium(300, 'a'), large(70000, 'b');
  auto events = readAll(reader, clientFrame(0x81, medium) + clientFrame(0x81, large));
  REQUIRE(events.size() == 2);
  CHECK(events[0].payload == medium);
  CHECK(events[1].payload == large);
}

TEST_CASE("fragments are reassembled around control frames", "[http][websocket]") {
  FrameReader reader(1024);
  auto bytes = clientFrame(0x01, "<pres") + clientFrame(0x89, "ping!") + clientFrame(0x00, "ence") +
               clientFrame(0x80, "/>");
  auto events = readAll(reader, bytes);
  REQUIRE(events.size() == 2);
  CHECK(events[0].kind == Event::Kind::Ping);
  CHECK(events[0].payload == "ping!");
  CHECK(events[1].kind == Event::Kind::Text);
  CHECK(events[1].payload == "<presence/>");
}

TEST_CASE("protocol errors close with 1002", "[http][websocket]") {
  struct Case {
    const char* what;
    std::string bytes;
  };
  std::vector<Case> cases = {
      {"unmasked client frame", clientFrame(0x81, "x", false)},
      {"reserved bit", clientFrame(0xC1, "x")},
      {"unknown opcode", clientFrame(0x83, "x")},
      {"continuation without start", clientFrame(0x80, "x")},
      {"fragmented ping", clientFrame(0x09, "x")},
      {"oversized ping", clientFrame(0x89, std::string(126, 'p'))},
      {"new message inside a fragmented one", clientFrame(0x01, "a") + clientFrame(0x81, "b")},
      {"one-byte close", clientFrame(0x88, "x")},
      {"close code 1005 on the wire", clientFrame(0x88, std::string("\x03\xed", 2))},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    FrameReader reader(1024);
    auto events = readAll(reader, c.bytes);
    REQUIRE_FALSE(events.empty());
    CHECK(events.back().kind == Event::Kind::Error);
    CHECK(events.back().code == close_code::kProtocolError);
    CHECK(reader.hasStopped());
    CHECK(readAll(reader, clientFrame(0x81, "more")).empty());
  }
}

TEST_CASE("a message over the limit is 1009 before its payload arrives", "[http][websocket]") {
  FrameReader reader(100);
  auto frame = clientFrame(0x81, std::string(5000, 'x'));
  auto events = readAll(reader, std::string_view(frame).substr(0, 20));  // header only
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == Event::Kind::Error);
  CHECK(events[0].code == close_code::kMessageTooBig);

  FrameReader fragments(100);
  events = readAll(
      fragments, clientFrame(0x01, std::string(60, 'a')) + clientFrame(0x80, std::string(60, 'b')));
  REQUIRE(events.size() == 1);
  CHECK(events[0].code == close_code::kMessageTooBig);
}

TEST_CASE("invalid UTF-8 in a text message is 1007", "[http][websocket]") {
  for (std::string bad : {std::string("\xff"), std::string("\xc0\xaf"), std::string("\xed\xa0\x80"),
                          std::string("\xe2\x82"), std::string("\xf4\x90\x80\x80")}) {
    FrameReader reader(100);
    auto events = readAll(reader, clientFrame(0x81, "ok" + bad));
    REQUIRE(events.size() == 1);
    CHECK(events[0].kind == Event::Kind::Error);
    CHECK(events[0].code == close_code::kInvalidPayload);
  }
  CHECK(isValidUtf8("plain ascii, é, €, 𝄞"));
}

TEST_CASE("close frames carry code and reason", "[http][websocket]") {
  FrameReader reader(100);
  auto events = readAll(reader, clientFrame(0x88, std::string("\x03\xe8", 2) + "bye"));
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == Event::Kind::Close);
  CHECK(events[0].code == close_code::kNormal);
  CHECK(events[0].payload == "bye");

  FrameReader empty(100);
  events = readAll(empty, clientFrame(0x88, ""));
  REQUIRE(events.size() == 1);
  CHECK(events[0].code == close_code::kNoStatus);
}

TEST_CASE("server frames are unmasked with the shortest length", "[http][websocket]") {
  auto small = encodeFrame(Opcode::Text, "hi");
  CHECK(small == std::string("\x81\x02hi", 4));
  auto medium = encodeFrame(Opcode::Text, std::string(200, 'x'));
  CHECK(static_cast<uint8_t>(medium[1]) == 126);
  CHECK(medium.size() == 4 + 200);
  auto large = encodeFrame(Opcode::Binary, std::string(70000, 'x'));
  CHECK(static_cast<uint8_t>(large[1]) == 127);
  CHECK(large.size() == 10 + 70000);
  auto close = encodeClose(close_code::kMessageTooBig, "too big");
  CHECK(close.substr(0, 4) == std::string("\x88\x09\x03\xf1", 4));
}

}  // namespace
}  // namespace parley::http::ws
