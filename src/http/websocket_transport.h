// XMPP over WebSocket (RFC 7395): a client stream on an upgraded HTTP connection, one XML
// element per text message, <open/> and <close/> in place of the stream tags.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "c2s/transport.h"
#include "http/websocket_frame.h"
#include "net/connection.h"

namespace parley::http {

class WebSocketTransport final : public c2s::Transport, private net::Connection::Handler {
 public:
  // `connection` has just sent the 101 response; `leftover` is what the client sent after its
  // handshake request. A message may be at most `max_message_bytes`.
  WebSocketTransport(std::unique_ptr<net::Connection> connection, std::string leftover,
                     size_t max_message_bytes);

  void start() override;
  void sendStreamHeader(std::string_view stream_id, std::string_view from_domain) override;
  void sendElement(std::string_view xml) override;
  void sendStanza(const xml::Element& stanza) override;
  void sendStreamClose() override;
  void close() override;

  bool isSecure() const override;
  std::string peerIp() const override { return connection_->peer().ip(); }
  std::string describePeer() const override { return "ws " + connection_->peer().toString(); }
  std::string tlsVersion() const override { return connection_->tlsVersion(); }
  void setReadPaused(bool paused) override { connection_->setReadPaused(paused); }
  void releaseIdleBuffers() override;

 private:
  // net::Connection::Handler
  void onData(std::string_view bytes) override;
  void onClosed(std::string_view reason) override { handler_->onClosed(reason); }

  void onMessage(std::string_view text);
  void sendText(std::string_view text);
  // Ends the WebSocket with a close frame (RFC 6455 §7.1.2), then the TCP connection.
  void closeWith(uint16_t code, std::string_view reason);

  std::unique_ptr<net::Connection> connection_;
  std::string leftover_;
  ws::FrameReader reader_;
  std::vector<ws::Event> events_;
  bool close_sent_ = false;
};

// The stream header a <open/> element stands for, as the client session's parser reads it.
// The element's namespace is carried over as the stream namespace, so an <open/> in the wrong
// namespace ends in <invalid-namespace/> as a wrong TCP stream header does.
std::string streamHeaderForOpen(const xml::Element& open);

// Whether this peer address never left the machine (127.0.0.0/8, ::1).
bool isLoopbackIp(std::string_view ip);

}  // namespace parley::http
