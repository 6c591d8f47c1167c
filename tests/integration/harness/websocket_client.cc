// WebSocketClient: RFC 6455 frames and RFC 7395 XMPP framing, for the tests.
#include "harness/websocket_client.h"

#include <strings.h>

#include <random>
#include <regex>

#include "harness/xml_text.h"

namespace parley::integration {
namespace {

constexpr const char* kFramingNs = "urn:ietf:params:xml:ns:xmpp-framing";

std::string randomBytes(size_t n) {
  static std::mt19937 rng{std::random_device{}()};
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng() & 0xFF);
  return out;
}

}  // namespace

uint16_t WebSocketFrame::closeCode() const {
  if (payload.size() < 2) return 1005;
  return static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) |
                               static_cast<uint8_t>(payload[1]));
}

bool WebSocketClient::connect(uint16_t port, bool tls) {
  if (!raw_.connect(port)) return false;
  return !tls || raw_.handshakeWith("localhost", "http/1.1");
}

int WebSocketClient::sendHandshake(const std::string& request) {
  response_head_.clear();
  if (!raw_.send(request)) return 0;
  auto head = raw_.readUntil("\r\n\r\n");
  if (!head) return 0;
  response_head_ = *head;
  std::smatch match;
  static const std::regex kStatus(R"(^HTTP/1\.[01] (\d{3}))");
  if (!std::regex_search(response_head_, match, kStatus)) return 0;
  return std::stoi(match[1]);
}

int WebSocketClient::handshake(const std::string& protocol, const std::string& extra_headers,
                               const std::string& path) {
  std::string request = "GET " + path +
                        " HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                        "Sec-WebSocket-Key: " +
                        base64Encode(randomBytes(16)) + "\r\n";
  if (!protocol.empty()) request += "Sec-WebSocket-Protocol: " + protocol + "\r\n";
  request += extra_headers + "\r\n";
  return sendHandshake(request);
}

std::string WebSocketClient::responseHeader(const std::string& name) const {
  size_t start = response_head_.find("\r\n");
  while (start != std::string::npos && start + 2 < response_head_.size()) {
    size_t line_start = start + 2;
    size_t end = response_head_.find("\r\n", line_start);
    if (end == std::string::npos) break;
    auto line = response_head_.substr(line_start, end - line_start);
    auto colon = line.find(':');
    if (colon != std::string::npos && colon == name.size() &&
        ::strncasecmp(line.c_str(), name.c_str(), name.size()) == 0) {
      auto value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      return value;
    }
    start = end;
  }
  return "";
}

bool WebSocketClient::sendFrame(uint8_t first_byte, const std::string& payload, bool masked) {
  std::string frame(1, static_cast<char>(first_byte));
  uint8_t mask_bit = masked ? 0x80 : 0;
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
  std::string key = masked ? randomBytes(4) : "";
  frame += key;
  for (size_t i = 0; i < payload.size(); ++i)
    frame.push_back(masked ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i]);
  return raw_.send(frame);
}

std::optional<WebSocketFrame> WebSocketClient::readFrame(Millis timeout) {
  if (!raw_.waitUnread(2, timeout)) return std::nullopt;
  auto head = raw_.unread();
  auto b0 = static_cast<uint8_t>(head[0]);
  auto b1 = static_cast<uint8_t>(head[1]);
  if (b1 & 0x80) return std::nullopt;  // servers never mask (RFC 6455 §5.1)
  size_t header = 2;
  uint64_t length = b1 & 0x7F;
  if (length == 126) {
    if (!raw_.waitUnread(4, timeout)) return std::nullopt;
    head = raw_.unread();
    length = (static_cast<uint8_t>(head[2]) << 8) | static_cast<uint8_t>(head[3]);
    header = 4;
  } else if (length == 127) {
    if (!raw_.waitUnread(10, timeout)) return std::nullopt;
    head = raw_.unread();
    length = 0;
    for (size_t i = 2; i < 10; ++i) length = (length << 8) | static_cast<uint8_t>(head[i]);
    header = 10;
  }
  if (!raw_.waitUnread(header + length, timeout)) return std::nullopt;
  WebSocketFrame frame;
  frame.opcode = b0 & 0x0F;
  frame.payload = raw_.unread().substr(header, length);
  raw_.consume(header + length);
  return frame;
}

std::optional<std::string> WebSocketClient::readText(Millis timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    auto frame = readFrame(std::max(left, Millis(1)));
    if (!frame) return std::nullopt;
    if (frame->opcode == 0xA) continue;
    if (frame->opcode != 0x1) return std::nullopt;
    return frame->payload;
  }
}

std::optional<std::string> WebSocketClient::readTextContaining(const std::string& literal,
                                                               Millis timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto text = readText(left);
    if (!text) return std::nullopt;
    if (text->find(literal) != std::string::npos) return text;
  }
}

uint16_t WebSocketClient::readClose(Millis timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return 0;
    auto frame = readFrame(left);
    if (!frame) return 0;
    if (frame->opcode == 0x8) return frame->closeCode();
  }
}

std::optional<std::string> WebSocketClient::openStream(const std::string& to) {
  if (!sendText(std::string("<open xmlns='") + kFramingNs + "' to='" + to + "' version='1.0'/>"))
    return std::nullopt;
  auto open = readText();
  if (!open || open->find("<open") == std::string::npos) return std::nullopt;
  return readTextContaining("features");
}

std::optional<std::string> WebSocketClient::login(const std::string& user,
                                                  const std::string& password,
                                                  const std::string& resource) {
  auto features = openStream();
  if (!features || features->find("PLAIN") == std::string::npos) return std::nullopt;
  std::string credentials = std::string(1, '\0') + user + std::string(1, '\0') + password;
  sendText("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
           base64Encode(credentials) + "</auth>");
  auto outcome = readText();
  if (!outcome || outcome->find("<success") == std::string::npos) return std::nullopt;
  features = openStream();
  if (!features || features->find("bind") == std::string::npos) return std::nullopt;
  sendText(
      "<iq xmlns='jabber:client' type='set' id='bind1'><bind "
      "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>" +
      resource + "</resource></bind></iq>");
  auto bound = readTextContaining("bind1");
  if (!bound) return std::nullopt;
  std::smatch match;
  static const std::regex kJid("<jid>([^<]+)</jid>");
  if (!std::regex_search(*bound, match, kJid)) return std::nullopt;
  return match[1].str();
}

}  // namespace parley::integration
