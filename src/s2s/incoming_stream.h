// An s2s stream a peer opened to us (RFC 6120 §4-§6, §9): STARTTLS, then the peer's domains
// authenticated by SASL EXTERNAL (XEP-0178) or Server Dialback (XEP-0220, several domain pairs
// on one stream). Answers dialback verifications as the authoritative server, and carries our
// stanzas back when the peer asked for a bidirectional stream (XEP-0288).
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>

#include "s2s/dialback.h"
#include "s2s/peer_trust.h"
#include "s2s/remote_domain.h"
#include "s2s/server_stream.h"

namespace parley::s2s {

// Lives on the worker that accepted it; never shared. Owned by that worker's session table.
class IncomingStream final : public ServerStream {
 public:
  IncomingStream(S2sService& service, core::Worker& worker, net::Fd fd, net::SocketAddress peer,
                 bool direct_tls);

  void start();
  // The authoritative server's answer for a db:result the peer sent (remote -> local).
  void onVerified(const std::string& remote_domain, const std::string& local_domain,
                  const VerifyOutcome& outcome);

 private:
  enum class State { AwaitingHeader, Negotiating };
  using DomainPair = std::pair<std::string, std::string>;  // remote, local

  // ServerStream
  bool carriesStanzas() const override { return bidi_ && headerSent() && !authenticated_.empty(); }
  void onEnded(std::string_view reason) override;
  std::string logPrefix() const override;
  // net::Connection::Handler, xml::StreamHandler
  void onTlsEstablished() override;
  void onStreamOpen(const xml::Element& header) override;
  void onStanza(std::unique_ptr<xml::Element> stanza) override;

  void sendFeatures();
  void handleStartTls();
  void handleSasl(const xml::Element& element);
  void saslExternal(std::string_view authzid);
  void saslFailure(std::string_view condition);
  void handleDialback(const xml::Element& element);
  void answerVerify(const DialbackRequest& request);
  void answerResult(const DialbackRequest& request);
  void handleStanza(std::unique_ptr<xml::Element> stanza);
  void authenticated(const std::string& remote_domain, const std::string& local_domain,
                     std::string_view how);
  void offerBidiRoutes();
  // Whether the peer's certificate is valid for `domain` (checked once per domain).
  const CertificateStatus& certificateFor(const std::string& domain);
  bool isAuthenticatedRemote(std::string_view remote_domain) const;

  bool direct_tls_;
  State state_ = State::AwaitingHeader;
  std::string stream_id_;
  std::string local_domain_;   // the header's 'to'
  std::string remote_header_;  // the header's 'from' (may be empty)
  bool sasl_done_ = false;
  bool sasl_awaiting_response_ = false;
  bool bidi_ = false;    // XEP-0288 requested by the peer
  bool served_ = false;  // answered a verification: the stream had a purpose
  std::set<DomainPair> authenticated_;
  std::set<DomainPair> pending_;  // db:result waiting for the authoritative server
  std::set<DomainPair> bidi_offered_;
  std::map<std::string, CertificateStatus, std::less<>> certificates_;
};

// Creates a stream for an accepted s2s connection and hands it to its worker.
void acceptServer(S2sService& service, core::Worker& worker, net::Fd fd,
                  const net::SocketAddress& peer, bool direct_tls);

}  // namespace parley::s2s
