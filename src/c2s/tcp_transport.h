// The client stream over TCP: RFC 6120's one XML document per direction, STARTTLS or direct TLS
// (XEP-0368).
#pragma once

#include "c2s/transport.h"
#include "net/connection.h"

namespace parley::c2s {

class TcpTransport final : public Transport, private net::Connection::Handler {
 public:
  // With `direct_tls_ctx`, the TLS handshake comes before any XML (XEP-0368).
  TcpTransport(net::Loop& loop, net::Fd fd, net::SocketAddress peer, SSL_CTX* direct_tls_ctx);

  void start() override;
  void sendStreamHeader(std::string_view stream_id, std::string_view from_domain) override;
  void sendElement(std::string_view xml) override { connection_.send(xml); }
  void sendStanza(const xml::Element& stanza) override;
  void sendStreamClose() override { connection_.send("</stream:stream>"); }
  void close() override { connection_.close(); }

  bool isSecure() const override { return connection_.isTls(); }
  bool canStartTls() const override { return !connection_.isTls(); }
  void startTls(SSL_CTX* ctx) override { connection_.startServerTls(ctx); }
  std::optional<std::string> channelBinding(std::string_view type) const override {
    return connection_.channelBinding(type);
  }
  std::string peerIp() const override { return connection_.peer().ip(); }
  std::string describePeer() const override { return connection_.peer().toString(); }
  std::string tlsVersion() const override { return connection_.tlsVersion(); }
  void setReadPaused(bool paused) override { connection_.setReadPaused(paused); }
  void releaseIdleBuffers() override { connection_.releaseIdleBuffers(); }

 private:
  // net::Connection::Handler
  void onData(std::string_view bytes) override { handler_->onData(bytes); }
  void onClosed(std::string_view reason) override { handler_->onClosed(reason); }
  void onTlsEstablished() override { handler_->onTlsEstablished(); }

  // In the transport itself, not behind a pointer: a delivery at 10,000 sessions reaches the
  // connection without one more cold cache line to chase.
  net::Connection connection_;
};

// The opening tag of a server's response stream header for jabber:client.
std::string streamHeaderXml(std::string_view stream_id, std::string_view from_domain);

}  // namespace parley::c2s
