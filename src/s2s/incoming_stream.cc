// Incoming s2s stream negotiation, authentication of the peer's domains, and its stanzas.
#include "s2s/incoming_stream.h"

#include "auth/base64.h"
#include "auth/credentials.h"
#include "s2s/service.h"
#include "util/log.h"
#include "xml/namespaces.h"
#include "xmpp/jid.h"
#include "xmpp/stream.h"

namespace parley::s2s {
namespace {

using xmpp::StanzaError;
using xmpp::StreamErrorCondition;

std::string saslElement(std::string_view name, std::string_view child = {}) {
  std::string out = "<" + std::string(name) + " xmlns='" + std::string(ns::kSasl) + "'";
  if (child.empty()) return out + "/>";
  return out + "><" + std::string(child) + "/></" + std::string(name) + ">";
}

}  // namespace

IncomingStream::IncomingStream(S2sService& service, core::Worker& worker, net::Fd fd,
                               net::SocketAddress peer, bool direct_tls)
    : ServerStream(service, worker, std::move(fd), std::move(peer), ns::kServer,
                   service.config().max_stanza_bytes),
      direct_tls_(direct_tls) {}

std::string IncomingStream::logPrefix() const {
  std::string prefix = "s2s#" + std::to_string(ref().id) + " in ";
  prefix.append(remote_header_.empty() ? connection_->peer().toString() : remote_header_);
  if (!local_domain_.empty()) prefix.append(" -> ").append(local_domain_);
  return prefix;
}

void IncomingStream::start() {
  if (direct_tls_) {
    connection_->startServerTls(service_.serverTls());
  } else {
    connection_->start();
  }
  // RFC 6120 §4.9.3: a stream that authenticates nothing (or answers no verification) in time
  // is closed.
  startDeadline(
      service_.config().auth_timeout, [this] { return !authenticated_.empty() || served_; },
      StreamErrorCondition::ConnectionTimeout);
}

void IncomingStream::onTlsEstablished() {
  log::debug(logPrefix(), ": TLS ", connection_->tlsVersion());
}

const CertificateStatus& IncomingStream::certificateFor(const std::string& domain) {
  auto it = certificates_.find(domain);
  if (it == certificates_.end()) {
    auto chain = connection_->peerCertificates();
    it = certificates_.emplace(domain, service_.trust().check(domain, chain.get())).first;
    log::debug(logPrefix(), ": certificate for ", domain, ": ",
               it->second.valid ? "valid" : it->second.problem);
  }
  return it->second;
}

void IncomingStream::onStreamOpen(const xml::Element& header) {
  if (header.attr("xmlns") != ns::kServer || header.xmlns() != ns::kStreams) {
    return closeWithStreamError(StreamErrorCondition::InvalidNamespace);
  }
  auto to = xmpp::nameprep(header.attr("to"));
  std::string domain = to ? *to : std::string();
  if (header.attr("to").empty()) domain = service_.server().hosts().front()->domain();
  if (!service_.isLocalDomain(domain) || (!local_domain_.empty() && domain != local_domain_)) {
    return closeWithStreamError(StreamErrorCondition::HostUnknown);
  }
  local_domain_ = domain;
  if (auto from = xmpp::Jid::parse(header.attr("from")); from && from->isDomain()) {
    if (!remote_header_.empty() && from->toString() != remote_header_) {
      return closeWithStreamError(StreamErrorCondition::InvalidFrom);
    }
    remote_header_ = from->toString();
  } else if (!header.attr("from").empty()) {
    return closeWithStreamError(StreamErrorCondition::InvalidFrom);
  }
  stream_id_ = auth::randomToken(20);
  sendHeader(local_domain_, remote_header_, stream_id_, true);
  if (!xmpp::isSupportedVersion(header.attr("version"))) {
    return closeWithStreamError(StreamErrorCondition::UnsupportedVersion);
  }
  state_ = State::Negotiating;
  sendFeatures();
  offerBidiRoutes();  // after a restart, the routes may carry stanzas again
}

void IncomingStream::sendFeatures() {
  const auto& config = service_.config();
  bool tls = connection_->isTls();
  std::string features = "<stream:features>";
  if (!tls) {
    features.append("<starttls xmlns='").append(ns::kTls).append("'>");
    if (config.require_encryption) features.append("<required/>");
    features.append("</starttls>");
  }
  if (tls && !sasl_done_ && !remote_header_.empty() && certificateFor(remote_header_).valid) {
    // XEP-0178 §3: EXTERNAL only when the certificate is valid for the stream's 'from'.
    features.append("<mechanisms xmlns='").append(ns::kSasl).append("'>");
    features.append("<mechanism>EXTERNAL</mechanism></mechanisms>");
  }
  if (tls || !config.require_encryption) features.append(dialbackStreamFeature());
  if (!sasl_done_) features.append(bidiStreamFeature());
  features.append("</stream:features>");
  sendRaw(features);
}

void IncomingStream::onStanza(std::unique_ptr<xml::Element> element) {
  if (isClosing() || isPeerStreamError(*element) || state_ != State::Negotiating) return;
  const auto& xmlns = element->xmlns();
  if (xmlns == ns::kTls && element->name() == "starttls") return handleStartTls();
  if (xmlns == ns::kSasl) return handleSasl(*element);
  if (element->is("bidi", ns::kBidi)) {
    bidi_ = true;  // XEP-0288 §2.2: takes effect for each pair as it is authenticated
    return;
  }
  if (xmlns == ns::kDialback) return handleDialback(*element);
  if (xmlns == ns::kServer && xmpp::isStanzaName(element->name())) {
    return handleStanza(std::move(element));
  }
  closeWithStreamError(StreamErrorCondition::UnsupportedStanzaType);
}

void IncomingStream::handleStartTls() {
  if (connection_->isTls()) {
    // RFC 6120 §5.4.2.2: a failure closes the stream.
    sendRaw("<failure xmlns='" + std::string(ns::kTls) + "'/></stream:stream>");
    closeStream();
    return;
  }
  sendRaw("<proceed xmlns='" + std::string(ns::kTls) + "'/>");
  connection_->startServerTls(service_.serverTls());
  restartStream();
  state_ = State::AwaitingHeader;
}

void IncomingStream::handleSasl(const xml::Element& element) {
  if (!connection_->isTls()) {
    sendRaw(saslElement("failure", "encryption-required"));
    return;
  }
  if (sasl_done_) return closeWithStreamError(StreamErrorCondition::PolicyViolation);
  if (element.name() == "abort") {
    sasl_awaiting_response_ = false;
    return saslFailure("aborted");
  }
  if (element.name() == "response" && sasl_awaiting_response_) {
    sasl_awaiting_response_ = false;
    auto text = element.text();
    if (text.empty() || text == "=") return saslExternal({});
    auto decoded = auth::base64Decode(text);
    if (!decoded) return saslFailure("incorrect-encoding");
    return saslExternal(*decoded);
  }
  if (element.name() != "auth") return saslFailure("malformed-request");
  if (element.attr("mechanism") != "EXTERNAL") return saslFailure("invalid-mechanism");
  auto text = element.text();
  if (text.empty()) {
    // RFC 6120 §6.4.2: no initial response: an empty challenge asks for it.
    sasl_awaiting_response_ = true;
    sendRaw(saslElement("challenge"));
    return;
  }
  if (text == "=") return saslExternal({});
  auto decoded = auth::base64Decode(text);
  if (!decoded) return saslFailure("incorrect-encoding");
  saslExternal(*decoded);
}

void IncomingStream::saslExternal(std::string_view authzid) {
  // XEP-0178 §3: the identity is the authorization identity, or else the stream's 'from';
  // either way the certificate must be valid for it.
  std::string identity = authzid.empty() ? remote_header_ : std::string(authzid);
  auto jid = xmpp::Jid::parse(identity);
  if (identity.empty() || !jid || !jid->isDomain() ||
      (!remote_header_.empty() && jid->toString() != remote_header_)) {
    return saslFailure("invalid-authzid");
  }
  identity = jid->toString();
  if (service_.isLocalDomain(identity) || !certificateFor(identity).valid) {
    return saslFailure("not-authorized");
  }
  sendRaw(saslElement("success"));
  sasl_done_ = true;
  remote_header_ = identity;
  restartStream();  // first: no bidi stanza may go out before our next header
  state_ = State::AwaitingHeader;
  authenticated(identity, local_domain_, "SASL EXTERNAL");
}

void IncomingStream::saslFailure(std::string_view condition) {
  log::info(logPrefix(), ": SASL EXTERNAL failed: ", condition);
  sendRaw(saslElement("failure", condition));
}

void IncomingStream::handleDialback(const xml::Element& element) {
  if (!connection_->isTls() && service_.config().require_encryption) {
    return closeWithStreamError(StreamErrorCondition::PolicyViolation, "TLS is required");
  }
  auto parsed = parseDialback(element);
  if (!parsed) return closeWithStreamError(parsed.error().condition, parsed.error().text);
  if (!parsed->isRequest()) {
    log::debug(logPrefix(), ": ignoring a dialback answer on an incoming stream");
    return;
  }
  if (parsed->kind == DialbackKind::Verify) return answerVerify(*parsed);
  answerResult(*parsed);
}

// XEP-0220 §2.2: we are the authoritative server for `to`; the receiving server `from` asks
// whether we issued `key` on the stream `id` it gave us.
void IncomingStream::answerVerify(const DialbackRequest& request) {
  served_ = true;
  if (!service_.isLocalDomain(request.to)) {
    sendRaw(dialbackXml(replyTo(request, DialbackType::Error,
                                StanzaError::of(StanzaError::Condition::ItemNotFound))));
    return;
  }
  bool valid = dialbackKeyMatches(request.key, service_.dialbackSecret(), request.from, request.to,
                                  request.id);
  log::debug(logPrefix(), ": dialback verification for ", request.to, " -> ", request.from, ": ",
             valid ? "valid" : "invalid");
  sendRaw(dialbackXml(replyTo(request, valid ? DialbackType::Valid : DialbackType::Invalid)));
}

// XEP-0220 §2.1: the peer wants to send from `from` (its domain) to `to` (ours).
void IncomingStream::answerResult(const DialbackRequest& request) {
  const DomainPair pair{request.from, request.to};
  auto refuse = [&](StanzaError::Condition condition) {
    sendRaw(dialbackXml(replyTo(request, DialbackType::Error, StanzaError::of(condition))));
  };
  if (!service_.isLocalDomain(request.to)) return refuse(StanzaError::Condition::ItemNotFound);
  if (service_.isLocalDomain(request.from)) return refuse(StanzaError::Condition::NotAuthorized);
  if (authenticated_.count(pair) != 0) {
    sendRaw(dialbackXml(replyTo(request, DialbackType::Valid)));
    return;
  }
  if (pending_.count(pair) != 0) return;  // the answer is on its way
  const CertificateStatus& certificate = certificateFor(request.from);
  if (certificate.valid) {
    // A valid certificate already proves the domain; no need to dial back (XEP-0344 §2.4).
    sendRaw(dialbackXml(replyTo(request, DialbackType::Valid)));
    return authenticated(request.from, request.to, "a valid certificate and dialback");
  }
  if (service_.config().require_valid_certificates) {
    log::info(logPrefix(), ": refusing dialback for ", request.from, ": ", certificate.problem);
    return refuse(StanzaError::Condition::NotAuthorized);
  }
  pending_.insert(pair);
  auto& worker = worker_;
  auto ref = this->ref();
  service_.onHome(request.from, [&worker, ref, pair, id = stream_id_,
                                 key = request.key](RemoteDomain& remote) mutable {
    remote.verify(pair.second, id, std::move(key), [&worker, ref, pair](VerifyOutcome outcome) {
      auto answer = [&worker, ref, pair, outcome] {
        if (auto* stream = dynamic_cast<IncomingStream*>(worker.find(ref))) {
          stream->onVerified(pair.first, pair.second, outcome);
        }
      };
      if (worker.loop().isLoopThread()) {
        answer();
      } else {
        worker.loop().post(std::move(answer));
      }
    });
  });
}

void IncomingStream::onVerified(const std::string& remote_domain, const std::string& local_domain,
                                const VerifyOutcome& outcome) {
  const DomainPair pair{remote_domain, local_domain};
  if (pending_.erase(pair) == 0 || isClosing()) return;
  DialbackRequest answer;
  answer.kind = DialbackKind::Result;
  answer.from = local_domain;
  answer.to = remote_domain;
  answer.type = outcome.type;
  answer.error = outcome.error;
  sendRaw(dialbackXml(answer));
  if (outcome.type == DialbackType::Valid) {
    authenticated(remote_domain, local_domain, "dialback");
  } else {
    log::info(logPrefix(), ": dialback for ", remote_domain, " failed: ", typeName(outcome.type));
  }
}

void IncomingStream::authenticated(const std::string& remote_domain,
                                   const std::string& local_domain, std::string_view how) {
  authenticated_.insert({remote_domain, local_domain});
  log::info(logPrefix(), ": ", remote_domain, " authenticated with ", how);
  startIdleTimer(service_.config().idle_timeout);
  offerBidiRoutes();
}

// XEP-0288: every authenticated pair of a bidirectional stream may carry our stanzas back,
// once our header after the last restart is out.
void IncomingStream::offerBidiRoutes() {
  if (!bidi_ || !headerSent()) return;
  for (const auto& pair : authenticated_) {
    if (!bidi_offered_.insert(pair).second) continue;
    service_.onHome(pair.first, [local = pair.second, ref = ref()](RemoteDomain& remote) {
      remote.addBidiRoute(local, ref);
    });
  }
}

bool IncomingStream::isAuthenticatedRemote(std::string_view remote_domain) const {
  for (const auto& [remote, local] : authenticated_) {
    if (remote == remote_domain) return true;
  }
  return false;
}

void IncomingStream::handleStanza(std::unique_ptr<xml::Element> stanza) {
  if (authenticated_.empty()) return closeWithStreamError(StreamErrorCondition::NotAuthorized);
  // RFC 6120 §8.1.1.1, §4.9.3.7, §4.9.3.10: between servers both addresses are required, and
  // 'from' must be a domain this stream authenticated, to the domain it authenticated for.
  auto from = xmpp::Jid::parse(stanza->attr("from"));
  auto to = xmpp::Jid::parse(stanza->attr("to"));
  if (!from || !to) return closeWithStreamError(StreamErrorCondition::ImproperAddressing);
  std::string from_domain(from->domainpart());
  std::string to_domain(to->domainpart());
  if (!isAuthenticatedRemote(from_domain)) {
    log::warn(logPrefix(), ": stanza from unauthenticated domain ", from_domain);
    return closeWithStreamError(StreamErrorCondition::InvalidFrom);
  }
  if (authenticated_.count({from_domain, to_domain}) == 0) {
    return closeWithStreamError(service_.isLocalDomain(to_domain)
                                    ? StreamErrorCondition::ImproperAddressing
                                    : StreamErrorCondition::HostUnknown);
  }
  touch();
  stanza->renameNamespace(ns::kServer, ns::kClient);
  if (!xmpp::isWellFormedIq(*stanza)) {
    return bounce(service_.server().router(), xmpp::StanzaPtr(std::move(stanza)),
                  StanzaError::of(StanzaError::Condition::BadRequest));
  }
  service_.server().router().routeFromRemote(xmpp::StanzaPtr(std::move(stanza)));
}

void IncomingStream::onEnded(std::string_view reason) {
  if (authenticated_.empty()) {
    log::debug(logPrefix(), ": stream ended: ", reason);
  } else {
    log::info(logPrefix(), ": stream ended: ", reason);
  }
  for (const auto& pair : bidi_offered_) {
    service_.onHome(pair.first, [local = pair.second, ref = ref()](RemoteDomain& remote) {
      remote.removeBidiRoute(local, ref);
    });
  }
}

void acceptServer(S2sService& service, core::Worker& worker, net::Fd fd,
                  const net::SocketAddress& peer, bool direct_tls) {
  worker.emplace<IncomingStream>(service, worker, std::move(fd), peer, direct_tls).start();
}

}  // namespace parley::s2s
