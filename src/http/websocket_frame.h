// WebSocket framing (RFC 6455 §5): reading the frames a client sends into whole messages, and
// writing the server's frames. Pure logic; the transport in websocket_transport.h uses it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace parley::http::ws {

enum class Opcode : uint8_t {
  Continuation = 0x0,
  Text = 0x1,
  Binary = 0x2,
  Close = 0x8,
  Ping = 0x9,
  Pong = 0xA,
};

// RFC 6455 §7.4.1.
namespace close_code {
constexpr uint16_t kNormal = 1000;
constexpr uint16_t kGoingAway = 1001;
constexpr uint16_t kProtocolError = 1002;
constexpr uint16_t kUnsupportedData = 1003;
constexpr uint16_t kNoStatus = 1005;  // never sent: "the close frame had no code"
constexpr uint16_t kInvalidPayload = 1007;
constexpr uint16_t kPolicyViolation = 1008;
constexpr uint16_t kMessageTooBig = 1009;
constexpr uint16_t kInternalError = 1011;
}  // namespace close_code

struct Event {
  enum class Kind {
    Text,    // a whole text message (UTF-8 checked)
    Binary,  // a whole binary message
    Ping,    // payload: to echo in the pong
    Pong,
    Close,  // the peer's close frame: code (kNoStatus if none) and reason
    Error,  // the peer broke the protocol: close with `code`; nothing more is read
  };
  Kind kind;
  std::string payload;  // the message, ping data, close reason or error description
  uint16_t code = 0;    // Close and Error
};

// Reads client-to-server frames: they must be masked (§5.1). Fragmented messages are
// reassembled; control frames may arrive between fragments. Bounded: a message larger than
// `max_message_bytes` is an Error with kMessageTooBig before its payload is buffered.
class FrameReader {
 public:
  explicit FrameReader(size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

  // Appends what `bytes` completes to `out`. After an Error (or a Close), input is ignored.
  void feed(std::string_view bytes, std::vector<Event>& out);
  bool hasStopped() const { return stopped_; }
  // Frees buffer capacity when nothing is pending (an idle connection's).
  void releaseIdleBuffers();

 private:
  // Parses one frame from the front of pending_; false if it is not complete yet.
  bool readFrame(std::vector<Event>& out);
  void fail(std::vector<Event>& out, uint16_t code, std::string why);
  void onControl(Opcode opcode, std::string payload, std::vector<Event>& out);

  size_t max_message_bytes_;
  std::string pending_;  // bytes not yet parsed
  size_t pending_offset_ = 0;
  std::string message_;  // fragments of the message being reassembled
  bool in_message_ = false;
  Opcode message_opcode_ = Opcode::Text;
  bool stopped_ = false;
};

// One unfragmented, unmasked server frame.
std::string encodeFrame(Opcode opcode, std::string_view payload);
// A close frame with a status code and a (short, UTF-8) reason.
std::string encodeClose(uint16_t code, std::string_view reason = {});
// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (§4.2.2): base64(SHA-1(key + GUID)).
std::string acceptKey(std::string_view client_key);
// Whether the Sec-WebSocket-Key is the base64 of 16 bytes (§4.1).
bool isValidClientKey(std::string_view client_key);
bool isValidUtf8(std::string_view text);

}  // namespace parley::http::ws
