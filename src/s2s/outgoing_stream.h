// An s2s stream we initiate to a remote domain (RFC 6120 §4-§6, §9): STARTTLS or direct TLS
// (XEP-0368), the peer's certificate checked, then each local domain that wants to send
// authenticated by SASL EXTERNAL (XEP-0178) or Server Dialback (XEP-0220, several domains on
// one stream), optionally bidirectional (XEP-0288). Also carries our dialback verifications.
#pragma once

#include <map>
#include <string>

#include "s2s/dialback.h"
#include "s2s/peer_trust.h"
#include "s2s/server_stream.h"

namespace parley::s2s {

class RemoteDomain;

// Lives on the remote domain's home worker; owned by that worker's session table. Reports to
// its RemoteDomain (same worker, outlives it).
class OutgoingStream final : public ServerStream {
 public:
  // `fd` is connected to one candidate address of `remote`. `local_domain` goes in our stream
  // header ('from') and is the domain SASL EXTERNAL can authenticate.
  OutgoingStream(S2sService& service, core::Worker& worker, RemoteDomain& remote, net::Fd fd,
                 net::SocketAddress peer, bool direct_tls, std::string local_domain);

  void start();

  // TLS done (where required), the peer's features read and no SASL exchange under way:
  // dialback requests and verifications can go.
  bool isNegotiated() const { return negotiated_ && state_ == State::Ready; }
  bool isAuthenticated(const std::string& local_domain) const;
  // Starts authenticating `local_domain` for this stream, unless that is done or under way.
  // The outcome comes back as RemoteDomain::onPairAuthenticated / onPairRefused. Only once
  // isNegotiated().
  void authenticate(const std::string& local_domain);
  // Sends <db:verify/> (XEP-0220 §2.1.2); the answer goes to RemoteDomain::onVerifyAnswer.
  void sendVerify(const DialbackRequest& request);

 private:
  enum class State { AwaitingHeader, AwaitingFeatures, StartingTls, Sasl, Ready };
  enum class Pair { Pending, Valid };

  // ServerStream
  bool carriesStanzas() const override { return state_ == State::Ready; }
  void onEnded(std::string_view reason) override;
  std::string logPrefix() const override;
  // net::Connection::Handler, xml::StreamHandler
  void onTlsEstablished() override;
  void onStreamOpen(const xml::Element& header) override;
  void onStanza(std::unique_ptr<xml::Element> stanza) override;

  void onFeatures(const xml::Element& features);
  void onSaslAnswer(const xml::Element& answer);
  void onDialback(const xml::Element& element);
  void onStanzaFromPeer(std::unique_ptr<xml::Element> stanza);
  void startDialback(const std::string& local_domain);
  // Ends the stream because the peer will not do what we need: RemoteDomain bounces then
  // instead of trying other addresses.
  void refuse(xmpp::StreamErrorCondition condition, const std::string& why);

  RemoteDomain& remote_;
  std::string remote_domain_;
  std::string local_domain_;
  bool direct_tls_;
  State state_ = State::AwaitingHeader;
  std::string stream_id_;  // the receiving server's, for dialback keys
  bool negotiated_ = false;
  bool refused_ = false;
  bool sasl_done_ = false;
  bool sasl_failed_ = false;
  bool offers_dialback_ = false;
  bool offers_external_ = false;
  bool bidi_ = false;  // XEP-0288 negotiated: the peer may send to us on this stream
  CertificateStatus peer_certificate_;
  std::map<std::string, Pair, std::less<>> pairs_;  // local domain -> state
};

}  // namespace parley::s2s
