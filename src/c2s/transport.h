// How a client stream reaches its client: the XML stream of RFC 6120 over TCP (tcp_transport.h),
// or one element per message over WebSocket (RFC 7395) or BOSH (XEP-0206) in src/http. The
// client session speaks in stream terms (header, top-level elements, close); the transport
// frames them and turns what arrives back into the bytes of one XML stream.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/tls.h"
#include "xml/element.h"

namespace parley::c2s {

// Lives on its session's worker thread; owned by the session.
class Transport {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // Bytes of the client's XML stream: a stream header, stanzas, nonzas, the closing tag.
    // A message-framed transport synthesizes the header and closing tag from its framing.
    virtual void onData(std::string_view stream_bytes) = 0;
    // The client went away, or our close() completed. Called once, never from inside a call
    // into the transport; nothing is called after it.
    virtual void onClosed(std::string_view reason) = 0;
    virtual void onTlsEstablished() {}
  };

  virtual ~Transport() = default;

  void setHandler(Handler& handler) { handler_ = &handler; }
  // Begins reading. The handler must be set.
  virtual void start() = 0;

  // The response stream header (RFC 6120 §4.7; RFC 7395 <open/>).
  virtual void sendStreamHeader(std::string_view stream_id, std::string_view from_domain) = 0;
  // One top-level element already serialized: stream features or errors written with the
  // "stream:" prefix, SASL and TLS nonzas with their own xmlns.
  virtual void sendElement(std::string_view xml) = 0;
  // A stanza of the jabber:client stream.
  virtual void sendStanza(const xml::Element& stanza) = 0;
  // The end of our stream (</stream:stream>; RFC 7395 <close/>).
  virtual void sendStreamClose() = 0;
  // Flushes what is queued, then closes; onClosed follows.
  virtual void close() = 0;

  // Whether what the client sends is safe from eavesdroppers: TLS, or (for HTTP transports)
  // a connection that never left this machine.
  virtual bool isSecure() const = 0;
  // Whether STARTTLS can be offered (only the TCP transport before TLS).
  virtual bool canStartTls() const { return false; }
  // Sends nothing itself: the caller has queued <proceed/>; TLS starts after it.
  virtual void startTls(SSL_CTX* /*ctx*/) {}
  // Channel binding data for SCRAM-*-PLUS (net::Connection::channelBinding), or nullopt.
  virtual std::optional<std::string> channelBinding(std::string_view /*type*/) const {
    return std::nullopt;
  }
  virtual std::string peerIp() const = 0;
  // For log lines: "127.0.0.1:41234", "ws 127.0.0.1:41234".
  virtual std::string describePeer() const = 0;
  virtual std::string tlsVersion() const { return {}; }
  // Backpressure / rate limiting: stop reading while paused.
  virtual void setReadPaused(bool paused) = 0;
  // An idle session gives back buffer capacity (refilled on the next send).
  virtual void releaseIdleBuffers() {}

 protected:
  Handler* handler_ = nullptr;
};

}  // namespace parley::c2s
