// Outgoing s2s stream negotiation: TLS, certificate check, SASL EXTERNAL or dialback, bidi.
#include "s2s/outgoing_stream.h"

#include "auth/base64.h"
#include "s2s/remote_domain.h"
#include "s2s/service.h"
#include "util/log.h"
#include "xml/namespaces.h"
#include "xmpp/jid.h"
#include "xmpp/stream.h"

namespace parley::s2s {
namespace {

using xmpp::StreamErrorCondition;

}  // namespace

OutgoingStream::OutgoingStream(S2sService& service, core::Worker& worker, RemoteDomain& remote,
                               net::Fd fd, net::SocketAddress peer, bool direct_tls,
                               std::string local_domain)
    : ServerStream(service, worker, std::move(fd), std::move(peer), ns::kServer,
                   service.config().max_stanza_bytes),
      remote_(remote),
      remote_domain_(remote.domain()),
      local_domain_(std::move(local_domain)),
      direct_tls_(direct_tls) {}

std::string OutgoingStream::logPrefix() const {
  return "s2s#" + std::to_string(ref().id) + " out " + local_domain_ + " -> " + remote_domain_;
}

void OutgoingStream::start() {
  if (direct_tls_) {
    // XEP-0368: TLS from the first byte; the header waits for the handshake.
    connection_->startClientTls(service_.clientTls(local_domain_), remote_domain_);
  } else {
    connection_->start();
  }
  sendHeader(local_domain_, remote_domain_, {}, true);
  // Connecting, TLS and authenticating one domain must fit in connect_timeout.
  startDeadline(
      service_.config().connect_timeout,
      [this] {
        for (const auto& [domain, pair] : pairs_) {
          if (pair == Pair::Valid) return true;
        }
        return negotiated_ && pairs_.empty();  // only verifications: nothing to wait for
      },
      StreamErrorCondition::ConnectionTimeout);
  log::debug(logPrefix(), ": connected to ", connection_->peer().toString(),
             direct_tls_ ? " (direct TLS)" : "");
}

bool OutgoingStream::isAuthenticated(const std::string& local_domain) const {
  auto it = pairs_.find(local_domain);
  return state_ == State::Ready && it != pairs_.end() && it->second == Pair::Valid;
}

void OutgoingStream::onTlsEstablished() {
  // RFC 6120 §13.7.2: check the receiving server's certificate before trusting the stream.
  auto chain = connection_->peerCertificates();
  peer_certificate_ = service_.trust().check(remote_domain_, chain.get());
  log::debug(logPrefix(), ": TLS ", connection_->tlsVersion(), ", peer certificate ",
             peer_certificate_.valid ? "valid" : "not valid: " + peer_certificate_.problem);
}

void OutgoingStream::onStreamOpen(const xml::Element& header) {
  if (header.attr("xmlns") != ns::kServer || header.xmlns() != ns::kStreams) {
    return closeWithStreamError(StreamErrorCondition::InvalidNamespace);
  }
  if (!xmpp::isSupportedVersion(header.attr("version"))) {
    return refuse(StreamErrorCondition::UnsupportedVersion, "the peer does not speak XMPP 1.0");
  }
  stream_id_ = std::string(header.attr("id"));
  state_ = State::AwaitingFeatures;
}

void OutgoingStream::onStanza(std::unique_ptr<xml::Element> element) {
  if (isClosing() || isPeerStreamError(*element)) return;
  if (element->is("features", ns::kStreams) && state_ == State::AwaitingFeatures) {
    return onFeatures(*element);
  }
  if (state_ == State::StartingTls && element->xmlns() == ns::kTls) {
    if (element->name() != "proceed")
      return refuse(StreamErrorCondition::PolicyViolation, "the peer refused STARTTLS");
    connection_->startClientTls(service_.clientTls(local_domain_), remote_domain_);
    restartStream();
    sendHeader(local_domain_, remote_domain_, {}, true);
    state_ = State::AwaitingHeader;
    return;
  }
  if (state_ == State::Sasl && element->xmlns() == ns::kSasl) return onSaslAnswer(*element);
  if (element->xmlns() == ns::kDialback && state_ == State::Ready) return onDialback(*element);
  if (state_ == State::Ready && xmpp::isStanzaName(element->name()) &&
      element->xmlns() == ns::kServer) {
    return onStanzaFromPeer(std::move(element));
  }
  closeWithStreamError(StreamErrorCondition::UnsupportedStanzaType);
}

void OutgoingStream::onFeatures(const xml::Element& features) {
  const auto& config = service_.config();
  if (!connection_->isTls()) {
    if (features.child("starttls", ns::kTls) != nullptr) {
      sendRaw("<starttls xmlns='" + std::string(ns::kTls) + "'/>");
      state_ = State::StartingTls;
      return;
    }
    if (config.require_encryption) {
      return refuse(StreamErrorCondition::PolicyViolation, "the peer does not offer TLS");
    }
  } else if (!peer_certificate_.valid && config.require_valid_certificates) {
    return refuse(StreamErrorCondition::PolicyViolation,
                  "the certificate is not trusted: " + peer_certificate_.problem);
  }
  if (sasl_done_) {
    // The stream restarted after SASL EXTERNAL succeeded: our domain is authenticated.
    state_ = State::Ready;
    pairs_[local_domain_] = Pair::Valid;
    log::info(logPrefix(), ": authenticated with SASL EXTERNAL");
    remote_.onPairAuthenticated(local_domain_);
    remote_.onStreamNegotiated();  // what waited for the SASL exchange to end
    return;
  }
  offers_dialback_ = features.child("dialback", ns::kDialbackFeature) != nullptr;
  if (const xml::Element* mechanisms = features.child("mechanisms", ns::kSasl)) {
    for (const auto& node : mechanisms->children()) {
      if (node.isElement() && node.element->name() == "mechanism" &&
          node.element->text() == "EXTERNAL") {
        offers_external_ = true;
      }
    }
  }
  if (features.child("bidi", ns::kBidiFeature) != nullptr) {
    // XEP-0288 §2.2: before authenticating, after TLS.
    sendRaw("<bidi xmlns='" + std::string(ns::kBidi) + "'/>");
    bidi_ = true;
  }
  state_ = State::Ready;
  negotiated_ = true;
  startIdleTimer(config.idle_timeout);
  remote_.onStreamNegotiated();
}

void OutgoingStream::authenticate(const std::string& local_domain) {
  if (!isNegotiated() || isClosing() || pairs_.count(local_domain) != 0) return;
  // Whatever authentication starts now must end within connect_timeout.
  startDeadline(
      service_.config().connect_timeout,
      [this] {
        for (const auto& [domain, pair] : pairs_) {
          if (pair == Pair::Pending) return false;
        }
        return true;
      },
      StreamErrorCondition::ConnectionTimeout);
  if (local_domain == local_domain_ && offers_external_ && !sasl_failed_ &&
      state_ == State::Ready) {
    // XEP-0178 §3: the authorization identity is our domain, as in the stream header.
    pairs_[local_domain] = Pair::Pending;
    state_ = State::Sasl;
    sendRaw("<auth xmlns='" + std::string(ns::kSasl) + "' mechanism='EXTERNAL'>" +
            auth::base64Encode(local_domain) + "</auth>");
    return;
  }
  startDialback(local_domain);
}

void OutgoingStream::startDialback(const std::string& local_domain) {
  if (!offers_dialback_) {
    pairs_.erase(local_domain);
    remote_.onPairRefused(local_domain, remote_domain_ + " offers no authentication we can use");
    return;
  }
  // XEP-0220 §2.1.1 with the key of XEP-0185, bound to the receiving server's stream id.
  pairs_[local_domain] = Pair::Pending;
  auto key = dialbackKey(service_.dialbackSecret(), remote_domain_, local_domain, stream_id_);
  sendRaw(dialbackXml(resultRequest(local_domain, remote_domain_, std::move(key))));
}

void OutgoingStream::onSaslAnswer(const xml::Element& answer) {
  if (answer.name() == "success") {
    sasl_done_ = true;
    restartStream();
    sendHeader(local_domain_, remote_domain_, {}, true);
    state_ = State::AwaitingHeader;
    return;
  }
  if (answer.name() == "challenge") {
    // EXTERNAL has nothing more to say (RFC 4422 Appendix A): an empty response.
    sendRaw("<response xmlns='" + std::string(ns::kSasl) + "'/>");
    return;
  }
  // <failure/>: the peer does not accept our certificate; dialback may still work.
  const xml::Element* condition = answer.firstChild();
  log::info(logPrefix(), ": SASL EXTERNAL failed (",
            condition ? condition->name() : std::string("no condition"), "), trying dialback");
  sasl_failed_ = true;
  state_ = State::Ready;
  pairs_.erase(local_domain_);
  startDialback(local_domain_);
  remote_.onStreamNegotiated();  // verifications and other domains waited for SASL
}

void OutgoingStream::onDialback(const xml::Element& element) {
  auto parsed = parseDialback(element);
  if (!parsed) return closeWithStreamError(parsed.error().condition, parsed.error().text);
  const DialbackRequest& answer = *parsed;
  if (answer.kind == DialbackKind::Verify) {
    if (!answer.isRequest()) remote_.onVerifyAnswer(answer);
    return;
  }
  if (answer.isRequest()) {
    // The peer wants to authenticate one of its domains to us on our stream (XEP-0288 §2.2
    // reverse piggybacking); we verify on streams the peer opens instead.
    sendRaw(dialbackXml(
        replyTo(answer, DialbackType::Error,
                xmpp::StanzaError::of(xmpp::StanzaError::Condition::FeatureNotImplemented))));
    return;
  }
  // The answer to our db:result: from = the remote domain, to = ours.
  auto it = pairs_.find(answer.to);
  if (answer.from != remote_domain_ || it == pairs_.end() || it->second != Pair::Pending) {
    // XEP-0288 §4: never trust an answer to a request we did not make.
    log::warn(logPrefix(), ": ignoring an unrequested dialback answer for ", answer.to);
    return;
  }
  if (answer.type == DialbackType::Valid) {
    it->second = Pair::Valid;
    log::info(logPrefix(), ": ", answer.to, " authenticated with dialback");
    startIdleTimer(service_.config().idle_timeout);
    remote_.onPairAuthenticated(answer.to);
    return;
  }
  pairs_.erase(it);
  std::string why =
      answer.type == DialbackType::Invalid
          ? remote_domain_ + " did not accept our dialback key"
          : remote_domain_ + " answered dialback with " +
                std::string(answer.error ? xmpp::conditionName(answer.error->condition)
                                         : "an error");
  log::info(logPrefix(), ": ", why);
  remote_.onPairRefused(answer.to, why);
}

void OutgoingStream::sendVerify(const DialbackRequest& request) { sendRaw(dialbackXml(request)); }

void OutgoingStream::onStanzaFromPeer(std::unique_ptr<xml::Element> stanza) {
  // XEP-0288 §2.2: on a bidirectional stream the peer may send from the domain we connected to,
  // to our domains it accepted.
  auto from = xmpp::Jid::parse(stanza->attr("from"));
  auto to = xmpp::Jid::parse(stanza->attr("to"));
  if (!from || !to) return closeWithStreamError(StreamErrorCondition::ImproperAddressing);
  if (!bidi_ || from->domainpart() != remote_domain_) {
    return closeWithStreamError(StreamErrorCondition::InvalidFrom);
  }
  if (!isAuthenticated(std::string(to->domainpart()))) {
    return closeWithStreamError(StreamErrorCondition::ImproperAddressing);
  }
  touch();
  stanza->renameNamespace(ns::kServer, ns::kClient);
  service_.server().router().routeFromRemote(xmpp::StanzaPtr(std::move(stanza)));
}

void OutgoingStream::refuse(StreamErrorCondition condition, const std::string& why) {
  refused_ = true;
  log::info(logPrefix(), ": ", why);
  closeWithStreamError(condition, why);
}

void OutgoingStream::onEnded(std::string_view reason) {
  remote_.onStreamEnded(negotiated_, refused_, std::string(reason));
}

}  // namespace parley::s2s
