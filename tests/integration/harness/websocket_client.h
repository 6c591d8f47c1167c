// WebSocketClient: an XMPP-over-WebSocket test client (RFC 6455 + RFC 7395) written from the
// RFCs, not from src/http, with the byte-level control the protocol tests need (unmasked,
// binary, oversized and fragmented frames). Runs over a RawClient connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "harness/raw_client.h"

namespace parley::integration {

struct WebSocketFrame {
  uint8_t opcode = 0;  // 1 text, 2 binary, 8 close, 9 ping, 10 pong
  std::string payload;
  uint16_t closeCode() const;  // for close frames; 1005 when the frame has none
};

class WebSocketClient {
 public:
  using Millis = std::chrono::milliseconds;
  static constexpr Millis kTimeout = std::chrono::seconds(5);

  // TCP (and TLS, SNI "localhost", ALPN "http/1.1") to 127.0.0.1:PORT.
  bool connect(uint16_t port, bool tls = false);
  // Sends REQUEST as is and reads the response head; returns its status (0 on failure).
  int sendHandshake(const std::string& request);
  // A valid handshake for PATH with subprotocol PROTOCOL ("" = no header) and extra header
  // lines ("Origin: x\r\n"). Returns the status.
  int handshake(const std::string& protocol = "xmpp", const std::string& extra_headers = "",
                const std::string& path = "/xmpp-websocket");
  // The response head (status line and headers) of the last handshake.
  const std::string& responseHead() const { return response_head_; }
  // A header of the handshake response (case-insensitive name), or "".
  std::string responseHeader(const std::string& name) const;

  // One frame: FIRST_BYTE carries FIN and the opcode (0x81 = final text frame).
  bool sendFrame(uint8_t first_byte, const std::string& payload, bool masked = true);
  bool sendText(const std::string& text) { return sendFrame(0x81, text); }
  // The next frame from the server, or nullopt on timeout / close.
  std::optional<WebSocketFrame> readFrame(Millis timeout = kTimeout);
  // The next text message (pongs skipped); nullopt on a close, timeout or other frame.
  std::optional<std::string> readText(Millis timeout = kTimeout);
  // Reads text messages until one contains LITERAL; returns it.
  std::optional<std::string> readTextContaining(const std::string& literal,
                                                Millis timeout = kTimeout);
  // Reads frames until the server's close frame; returns its code (0 if none came).
  uint16_t readClose(Millis timeout = kTimeout);
  bool waitClosed(Millis timeout = kTimeout) { return raw_.waitClosed(timeout); }

  // --- XMPP steps (RFC 7395) ---
  // <open/>; returns the <stream:features/> message that follows.
  std::optional<std::string> openStream(const std::string& to = "localhost");
  // SASL PLAIN, <open/> again, bind RESOURCE. Returns the bound JID.
  std::optional<std::string> login(const std::string& user, const std::string& password,
                                   const std::string& resource = "ws");

 private:
  RawClient raw_;
  std::string response_head_;
};

}  // namespace parley::integration
