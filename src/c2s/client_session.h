// One client stream (RFC 6120): negotiation (STARTTLS, SASL, bind) and then
// the bound session that the router delivers to.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "c2s/ip_limits.h"
#include "c2s/sasl.h"
#include "c2s/transport.h"
#include "core/server.h"
#include "core/session.h"
#include "net/address.h"
#include "net/fd.h"
#include "util/token_bucket.h"
#include "xml/stream_parser.h"

namespace parley::c2s {

// What every client stream on the server shares: TLS contexts and limits.
struct C2sShared {
  core::Server& server;
  SSL_CTX* tls_ctx;  // per-host certificates picked by SNI; owned by the listener set
  IpLimits ip_limits;
};

// Lives on its worker thread; never shared. Owned by the worker's session table. The same
// session serves TCP, WebSocket and BOSH clients: only its transport differs.
class ClientSession final : public core::Session,
                            private Transport::Handler,
                            private xml::StreamHandler {
 public:
  ClientSession(C2sShared& shared, core::Worker& worker, std::unique_ptr<Transport> transport);
  ~ClientSession() override;

  void start();

  // core::Session
  bool deliver(const xmpp::StanzaPtr& stanza) override;
  void sendStanza(const xml::Element& stanza) override;
  void closeWithStreamError(xmpp::StreamErrorCondition condition,
                            std::string_view text = {}) override;
  const xmpp::FullJid* jid() const override { return jid_ ? &*jid_ : nullptr; }
  std::string peerIp() const override { return ip_; }
  bool isAnonymous() const override { return anonymous_; }
  bool releaseIdleMemory(std::chrono::steady_clock::time_point now) override;

 private:
  enum class State {
    AwaitingHeader,  // before the (next) stream header
    Negotiating,     // features sent; STARTTLS and SASL
    Authenticated,   // SASL done: waiting for bind
    Bound,           // a full JID: stanzas are routed
    Closing,         // our </stream:stream> sent
  };

  // Transport::Handler
  void onData(std::string_view bytes) override;
  void onClosed(std::string_view reason) override;
  void onTlsEstablished() override;
  // xml::StreamHandler
  void onStreamOpen(const xml::Element& header) override;
  void onStanza(std::unique_ptr<xml::Element> stanza) override;
  void onStreamClose() override;

  void sendHeader(std::string_view from_domain);
  void sendFeatures();
  void handleNegotiation(xml::Element& element);
  void handleStartTls();
  void handleSasl(const xml::Element& element);
  void sendSaslOutcome(const SaslNegotiation::Outcome& outcome);
  void handleBound(std::unique_ptr<xml::Element> stanza);
  void handleBind(const xml::Element& iq);
  void handlePreAuthIq(const xml::Element& iq);
  void restartStream();
  void cleanup();
  void throttle(size_t bytes);
  std::string logPrefix() const;

  C2sShared& shared_;
  core::Worker& worker_;
  std::unique_ptr<Transport> transport_;
  xml::StreamParser parser_;
  State state_ = State::AwaitingHeader;
  bool header_sent_ = false;
  bool closed_ = false;
  core::Host* host_ = nullptr;
  std::string stream_id_;
  std::optional<SaslNegotiation> sasl_;
  std::string username_;              // after SASL success
  std::optional<xmpp::FullJid> jid_;  // after bind
  net::Loop::TimerId auth_timer_ = 0;
  net::Loop::TimerId throttle_timer_ = 0;
  std::optional<TokenBucket> rate_;  // c2s.bytes_per_second, when set
  std::string ip_;
  bool counted_ = false;    // counts against c2s.connections_per_ip
  bool anonymous_ = false;  // logged in with SASL ANONYMOUS
  unsigned failed_auths_ = 0;
  std::chrono::steady_clock::time_point last_activity_;  // data in or a stanza out
};

// Creates a session for an accepted TCP connection and hands it to its worker.
void acceptClient(C2sShared& shared, core::Worker& worker, net::Fd fd,
                  const net::SocketAddress& peer, bool direct_tls);
// The same for a client on another transport (WebSocket, BOSH), on the current worker.
ClientSession& startClientSession(C2sShared& shared, core::Worker& worker,
                                  std::unique_ptr<Transport> transport);

}  // namespace parley::c2s
