// WebSocket frames (RFC 6455 §5): client frames in, server frames out.
#include "http/websocket_frame.h"

#include <openssl/sha.h>

#include "auth/base64.h"

namespace parley::http::ws {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr size_t kMaxControlPayload = 125;

bool isControl(Opcode opcode) { return (static_cast<uint8_t>(opcode) & 0x8) != 0; }

bool isKnown(uint8_t opcode) { return opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xA); }

// §7.4: codes a peer may send in a close frame.
bool isValidCloseCode(uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006;
}

}  // namespace

bool isValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra;
    uint32_t code_point;
    if ((c & 0xE0) == 0xC0) {
      extra = 1;
      code_point = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      code_point = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      code_point = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= extra; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code_point = (code_point << 6) | (next & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
    if ((extra == 1 && code_point < 0x80) || (extra == 2 && code_point < 0x800) ||
        (extra == 3 && code_point < 0x10000) || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

void FrameReader::feed(std::string_view bytes, std::vector<Event>& out) {
  if (stopped_) return;
  pending_.append(bytes);
  while (!stopped_ && readFrame(out)) {
  }
  if (pending_offset_ == pending_.size()) {
    pending_.clear();
    pending_offset_ = 0;
  } else if (pending_offset_ > 65536) {
    pending_.erase(0, pending_offset_);
    pending_offset_ = 0;
  }
}

void FrameReader::releaseIdleBuffers() {
  if (pending_offset_ == pending_.size() && !in_message_) {
    std::string().swap(pending_);
    std::string().swap(message_);
    pending_offset_ = 0;
  }
}

void FrameReader::fail(std::vector<Event>& out, uint16_t code, std::string why) {
  stopped_ = true;
  std::string().swap(pending_);
  std::string().swap(message_);
  pending_offset_ = 0;
  out.push_back({Event::Kind::Error, std::move(why), code});
}

bool FrameReader::readFrame(std::vector<Event>& out) {
  std::string_view data(pending_);
  data.remove_prefix(pending_offset_);
  if (data.size() < 2) return false;
  auto b0 = static_cast<uint8_t>(data[0]);
  auto b1 = static_cast<uint8_t>(data[1]);
  bool fin = (b0 & 0x80) != 0;
  uint8_t raw_opcode = b0 & 0x0F;
  bool masked = (b1 & 0x80) != 0;
  uint64_t length = b1 & 0x7F;
  size_t header = 2;
  if ((b0 & 0x70) != 0) {
    fail(out, close_code::kProtocolError, "reserved bits set without an extension");
    return false;
  }
  if (!isKnown(raw_opcode)) {
    fail(out, close_code::kProtocolError, "unknown opcode");
    return false;
  }
  auto opcode = static_cast<Opcode>(raw_opcode);
  if (!masked) {
    fail(out, close_code::kProtocolError, "client frames must be masked");
    return false;
  }
  if (length == 126) {
    if (data.size() < 4) return false;
    length = (uint64_t{static_cast<uint8_t>(data[2])} << 8) | static_cast<uint8_t>(data[3]);
    header = 4;
  } else if (length == 127) {
    if (data.size() < 10) return false;
    length = 0;
    for (size_t i = 2; i < 10; ++i) length = (length << 8) | static_cast<uint8_t>(data[i]);
    header = 10;
    if (length >> 63) {
      fail(out, close_code::kProtocolError, "frame length out of range");
      return false;
    }
  }
  if (isControl(opcode)) {
    if (!fin || length > kMaxControlPayload) {
      fail(out, close_code::kProtocolError, "fragmented or oversized control frame");
      return false;
    }
  } else {
    if (opcode == Opcode::Continuation && !in_message_) {
      fail(out, close_code::kProtocolError, "continuation frame without a message");
      return false;
    }
    if (opcode != Opcode::Continuation && in_message_) {
      fail(out, close_code::kProtocolError, "new message before the last one ended");
      return false;
    }
    // Checked before the payload is buffered: a huge length costs nothing.
    if (length > max_message_bytes_ || message_.size() + length > max_message_bytes_) {
      fail(out, close_code::kMessageTooBig, "message too big");
      return false;
    }
  }
  if (data.size() < header + 4 + length) return false;
  const char* mask = data.data() + header;
  std::string payload(data.substr(header + 4, static_cast<size_t>(length)));
  for (size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<char>(payload[i] ^ mask[i % 4]);
  pending_offset_ += header + 4 + static_cast<size_t>(length);

  if (isControl(opcode)) {
    onControl(opcode, std::move(payload), out);
    return !stopped_;
  }
  if (opcode != Opcode::Continuation) {
    in_message_ = true;
    message_opcode_ = opcode;
  }
  message_.append(payload);
  if (!fin) return true;
  in_message_ = false;
  std::string message;
  message.swap(message_);
  if (message_opcode_ == Opcode::Text) {
    if (!isValidUtf8(message)) {
      fail(out, close_code::kInvalidPayload, "text message is not UTF-8");
      return false;
    }
    out.push_back({Event::Kind::Text, std::move(message), 0});
  } else {
    out.push_back({Event::Kind::Binary, std::move(message), 0});
  }
  return true;
}

void FrameReader::onControl(Opcode opcode, std::string payload, std::vector<Event>& out) {
  switch (opcode) {
    case Opcode::Ping:
      out.push_back({Event::Kind::Ping, std::move(payload), 0});
      return;
    case Opcode::Pong:
      out.push_back({Event::Kind::Pong, std::move(payload), 0});
      return;
    case Opcode::Close: {
      if (payload.size() == 1)
        return fail(out, close_code::kProtocolError, "close frame of 1 byte");
      uint16_t code = close_code::kNoStatus;
      std::string reason;
      if (payload.size() >= 2) {
        code = static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) |
                                     static_cast<uint8_t>(payload[1]));
        reason = payload.substr(2);
        if (!isValidCloseCode(code)) {
          return fail(out, close_code::kProtocolError, "invalid close code");
        }
        if (!isValidUtf8(reason)) {
          return fail(out, close_code::kInvalidPayload, "close reason is not UTF-8");
        }
      }
      stopped_ = true;
      out.push_back({Event::Kind::Close, std::move(reason), code});
      return;
    }
    default:
      return;
  }
}

std::string encodeFrame(Opcode opcode, std::string_view payload) {
  std::string frame;
  frame.reserve(payload.size() + 10);
  frame.push_back(static_cast<char>(0x80 | static_cast<uint8_t>(opcode)));
  if (payload.size() < 126) {
    frame.push_back(static_cast<char>(payload.size()));
  } else if (payload.size() <= 0xFFFF) {
    frame.push_back(static_cast<char>(126));
    frame.push_back(static_cast<char>((payload.size() >> 8) & 0xFF));
    frame.push_back(static_cast<char>(payload.size() & 0xFF));
  } else {
    frame.push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      frame.push_back(static_cast<char>((static_cast<uint64_t>(payload.size()) >> shift) & 0xFF));
    }
  }
  frame.append(payload);
  return frame;
}

std::string encodeClose(uint16_t code, std::string_view reason) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  payload.append(reason.substr(0, kMaxControlPayload - 2));
  return encodeFrame(Opcode::Close, payload);
}

std::string acceptKey(std::string_view client_key) {
  std::string input(client_key);
  input.append(kGuid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return auth::base64Encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

bool isValidClientKey(std::string_view client_key) {
  auto decoded = auth::base64Decode(client_key);
  return decoded && decoded->size() == 16;
}

}  // namespace parley::http::ws
