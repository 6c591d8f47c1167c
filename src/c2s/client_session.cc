// c2s stream negotiation and the bound client session (RFC 6120 §4-§8).
#include "c2s/client_session.h"

#include "auth/base64.h"
#include "auth/credentials.h"
#include "c2s/tcp_transport.h"
#include "util/log.h"
#include "xml/namespaces.h"
#include "xml/serializer.h"
#include "xmpp/stanza_error.h"
#include "xmpp/stream.h"

namespace parley::c2s {
namespace {

using auth::randomToken;
using xmpp::isStanzaName;
using xmpp::isSupportedVersion;
using xmpp::StreamErrorCondition;
using xmpp::streamErrorFor;

constexpr unsigned kMaxFailedAuths = 5;

xml::Limits parserLimits(const core::Config& config) {
  return xml::Limits{config.c2s.max_stanza_bytes, config.c2s.max_depth};
}

}  // namespace

ClientSession::ClientSession(C2sShared& shared, core::Worker& worker,
                             std::unique_ptr<Transport> transport)
    : shared_(shared),
      worker_(worker),
      transport_(std::move(transport)),
      parser_(*this, parserLimits(shared.server.config())) {
  transport_->setHandler(*this);
  ip_ = transport_->peerIp();
  counted_ = shared_.ip_limits.tryOpen(ip_);
  const auto& config = shared_.server.config().c2s;
  if (config.bytes_per_second != 0) {
    // One second of traffic, and never less than one stanza of the largest size.
    rate_.emplace(config.bytes_per_second,
                  std::max<uint64_t>(config.bytes_per_second, config.max_stanza_bytes),
                  worker.loop().now());
  }
}

ClientSession::~ClientSession() {
  worker_.loop().cancelTimer(auth_timer_);
  worker_.loop().cancelTimer(throttle_timer_);
  if (counted_) shared_.ip_limits.closed(ip_);
}

void ClientSession::start() {
  transport_->start();
  // RFC 6120 §4.9.3: a stream that does not authenticate in time is closed.
  auto ref = this->ref();
  auto& worker = worker_;
  auth_timer_ = worker_.loop().addTimer(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          shared_.server.config().c2s.auth_timeout),
      [&worker, ref] {
        if (auto* session = static_cast<ClientSession*>(worker.find(ref))) {
          session->auth_timer_ = 0;
          if (session->state_ != State::Bound) {
            session->closeWithStreamError(StreamErrorCondition::ConnectionTimeout);
          }
        }
      });
}

std::string ClientSession::logPrefix() const {
  std::string prefix = "c2s#" + std::to_string(ref().id);
  if (jid_)
    prefix.append(" ").append(jid_->toString());
  else
    prefix.append(" ").append(transport_->describePeer());
  return prefix;
}

void ClientSession::onData(std::string_view bytes) {
  if (state_ == State::Closing) return;
  last_activity_ = worker_.loop().now();
  auto fed = parser_.feed(bytes);
  if (!fed) {
    log::debug(logPrefix(), ": ", fed.error().message);
    return closeWithStreamError(streamErrorFor(fed.error().kind));
  }
  if (rate_) throttle(bytes.size());
}

// c2s.bytes_per_second: past the budget, stop reading until it refills. TCP
// backpressure then slows the client; nothing it sent is lost.
void ClientSession::throttle(size_t bytes) {
  auto wait = rate_->take(bytes, worker_.loop().now());
  if (wait.count() == 0 || throttle_timer_ != 0 || state_ == State::Closing) return;
  transport_->setReadPaused(true);
  auto ref = this->ref();
  auto& worker = worker_;
  throttle_timer_ = worker_.loop().addTimer(wait, [&worker, ref] {
    if (auto* session = static_cast<ClientSession*>(worker.find(ref))) {
      session->throttle_timer_ = 0;
      session->transport_->setReadPaused(false);
    }
  });
}

void ClientSession::onTlsEstablished() {
  log::debug(logPrefix(), ": TLS established (", transport_->tlsVersion(), ")");
}

void ClientSession::onClosed(std::string_view reason) {
  log::debug(logPrefix(), ": closed: ", reason);
  cleanup();
  worker_.release(ref());
}

void ClientSession::cleanup() {
  if (closed_) return;
  closed_ = true;
  worker_.loop().cancelTimer(auth_timer_);
  auth_timer_ = 0;
  if (jid_ && host_) {
    shared_.server.registry().unbind(*jid_, ref());
    core::SessionEvent event{*host_, *this, *jid_};
    host_->events().fire(core::events::resourceUnbind(), event);
    log::info(logPrefix(), ": session ended");
    if (anonymous_) {
      // An anonymous user exists only as long as its one session.
      host_->forgetUser(username_);
      core::UserEvent gone{*host_, username_};
      host_->events().fire(core::events::userDeleted(), gone);
    }
  }
}

void ClientSession::sendHeader(std::string_view from_domain) {
  stream_id_ = randomToken(16);
  transport_->sendStreamHeader(stream_id_, from_domain);
  header_sent_ = true;
}

void ClientSession::closeWithStreamError(StreamErrorCondition condition, std::string_view text) {
  if (state_ == State::Closing || closed_) return;
  // RFC 6120 §4.9.1.2: an error before our header still needs a header first.
  if (!header_sent_) sendHeader(host_ ? host_->domain() : std::string_view{});
  log::debug(logPrefix(), ": stream error ", xmpp::conditionName(condition));
  transport_->sendElement(xmpp::streamErrorXml(condition, text));
  transport_->sendStreamClose();
  state_ = State::Closing;
  cleanup();  // unbound from now on: stanzas for this resource go elsewhere
  parser_.stop();
  transport_->close();
}

void ClientSession::onStreamOpen(const xml::Element& header) {
  if (header.attr("xmlns") != ns::kClient || header.xmlns() != ns::kStreams) {
    return closeWithStreamError(StreamErrorCondition::InvalidNamespace);
  }
  auto to = header.attr("to");
  core::Host* host = nullptr;
  if (to.empty()) {
    // RFC 6120 §4.7.2: 'to' SHOULD be there; without it, the first host answers.
    host = shared_.server.hosts().front();
  } else {
    auto domain = xmpp::nameprep(to);
    host = domain ? shared_.server.host(*domain) : nullptr;
  }
  if (!host || (host_ && host != host_)) {
    return closeWithStreamError(StreamErrorCondition::HostUnknown);
  }
  host_ = host;
  sendHeader(host_->domain());
  if (!isSupportedVersion(header.attr("version"))) {
    return closeWithStreamError(StreamErrorCondition::UnsupportedVersion);
  }
  if (!counted_) {
    return closeWithStreamError(StreamErrorCondition::PolicyViolation,
                                "Too many connections from your address");
  }
  sendFeatures();
  if (state_ == State::AwaitingHeader)
    state_ = username_.empty() ? State::Negotiating : State::Authenticated;
}

void ClientSession::sendFeatures() {
  const auto& config = shared_.server.config().c2s;
  bool tls = transport_->isSecure();
  std::string features = "<stream:features>";
  if (!username_.empty()) {
    features.append("<bind xmlns='").append(ns::kBind).append("'/>");
    features.append("<session xmlns='").append(ns::kSession).append("'><optional/></session>");
    for (const auto& feature : host_->boundFeatures()) features.append(feature);
  } else {
    if (transport_->canStartTls()) {
      features.append("<starttls xmlns='").append(ns::kTls).append("'>");
      if (config.require_encryption) features.append("<required/>");
      features.append("</starttls>");
    }
    if (tls || !config.require_encryption) {
      auto source = [transport = transport_.get()](std::string_view type) {
        return transport->channelBinding(type);
      };
      auto cb_types = tls ? channelBindingTypes(source) : std::vector<std::string>{};
      features.append("<mechanisms xmlns='").append(ns::kSasl).append("'>");
      for (const auto& mechanism :
           offeredMechanisms(config, tls, !cb_types.empty(), host_->isAnonymous())) {
        features.append("<mechanism>").append(mechanism).append("</mechanism>");
      }
      features.append("</mechanisms>");
      if (!cb_types.empty()) {
        // XEP-0440: tell the client which channel binding types we support.
        features.append("<sasl-channel-binding xmlns='")
            .append(ns::kSaslChannelBinding)
            .append("'>");
        for (const auto& type : cb_types) {
          features.append("<channel-binding type='").append(type).append("'/>");
        }
        features.append("</sasl-channel-binding>");
      }
      for (const auto& feature : host_->preAuthFeatures()) features.append(feature);
    }
  }
  features.append("</stream:features>");
  transport_->sendElement(features);
}

void ClientSession::onStreamClose() {
  if (state_ == State::Closing) return;
  // RFC 6120 §4.4: answer the closing tag with ours, then close.
  transport_->sendStreamClose();
  state_ = State::Closing;
  cleanup();
  transport_->close();
}

void ClientSession::onStanza(std::unique_ptr<xml::Element> stanza) {
  if (state_ == State::Closing) return;
  switch (state_) {
    case State::Negotiating:
    case State::Authenticated:
      return handleNegotiation(*stanza);
    case State::Bound:
      return handleBound(std::move(stanza));
    case State::AwaitingHeader:
    case State::Closing:
      return;
  }
}

void ClientSession::handleNegotiation(xml::Element& element) {
  const auto& config = shared_.server.config().c2s;
  if (element.is("starttls", ns::kTls)) return handleStartTls();
  if (element.xmlns() == ns::kSasl && username_.empty()) {
    if (!transport_->isSecure() && config.require_encryption) {
      // RFC 6120 §5.3.1 / §6.5.5: no authentication before TLS when TLS is required.
      transport_->sendElement(std::string("<failure xmlns='") + std::string(ns::kSasl) +
                              "'><encryption-required/></failure>");
      return;
    }
    return handleSasl(element);
  }
  if (state_ == State::Authenticated && element.name() == "iq" && element.xmlns() == ns::kClient) {
    if (const auto* bind = element.child("bind", ns::kBind);
        bind && element.attr("type") == "set") {
      return handleBind(element);
    }
  }
  bool encrypted_enough = transport_->isSecure() || !config.require_encryption;
  if (state_ == State::Negotiating && encrypted_enough && element.is("iq", ns::kClient)) {
    return handlePreAuthIq(element);
  }
  // RFC 6120 §7.1 (and §6.4.x): nothing but negotiation before the stream is bound.
  closeWithStreamError(StreamErrorCondition::NotAuthorized);
}

// XEP-0077 §3: an unauthenticated client may talk to the server about in-band
// registration; any other iq gets service-unavailable, and nothing is routed.
void ClientSession::handlePreAuthIq(const xml::Element& iq) {
  auto type = iq.attr("type");
  const auto* payload = iq.firstChild();
  auto reply_error = [&](xmpp::StanzaError::Condition condition) {
    auto error = xmpp::errorReply(iq, xmpp::StanzaError::of(condition));
    error.removeAttr("to");
    error.removeAttr("from");
    sendStanza(error);
  };
  if ((type != "get" && type != "set") || !iq.findAttr("id") || iq.childElementCount() != 1) {
    if (type != "result" && type != "error") reply_error(xmpp::StanzaError::Condition::BadRequest);
    return;
  }
  core::PreAuthEvent event{*host_, *this, iq};
  auto key = core::events::preAuthIq(payload->xmlns(), payload->name());
  if (host_->events().fire(key, event) == core::Handled::No) {
    reply_error(xmpp::StanzaError::Condition::ServiceUnavailable);
  }
}

void ClientSession::handleStartTls() {
  if (!transport_->canStartTls() || state_ != State::Negotiating) {
    // RFC 6120 §5.4.2.2: a failure closes the stream.
    transport_->sendElement(std::string("<failure xmlns='") + std::string(ns::kTls) + "'/>");
    transport_->sendStreamClose();
    state_ = State::Closing;
    parser_.stop();
    transport_->close();
    return;
  }
  transport_->sendElement(std::string("<proceed xmlns='") + std::string(ns::kTls) + "'/>");
  transport_->startTls(shared_.tls_ctx);
  restartStream();
}

void ClientSession::restartStream() {
  state_ = State::AwaitingHeader;
  header_sent_ = false;
  parser_.requestReset();
}

void ClientSession::handleSasl(const xml::Element& element) {
  const auto& name = element.name();
  if (name == "abort") {
    sasl_.reset();
    transport_->sendElement(std::string("<failure xmlns='") + std::string(ns::kSasl) +
                            "'><aborted/></failure>");
    return;
  }
  auto text = element.text();
  std::optional<std::string> decoded;
  bool empty = text.empty();
  if (!empty && text != "=") {
    decoded = auth::base64Decode(text);
    if (!decoded) {
      sasl_.reset();
      return sendSaslOutcome(
          {SaslNegotiation::Outcome::Kind::Failure, {}, auth::SaslError::IncorrectEncoding, {}});
    }
  } else if (text == "=") {
    decoded = std::string();
  }
  if (name == "auth") {
    if (!shared_.ip_limits.loginAllowed(ip_, worker_.loop().now())) {
      transport_->sendElement(
          std::string("<failure xmlns='") + std::string(ns::kSasl) +
          "'><temporary-auth-failure/><text xml:lang='en'>Too many failed logins; "
          "try again later</text></failure>");
      return closeWithStreamError(StreamErrorCondition::PolicyViolation, "Too many failed logins");
    }
    if (sasl_) {
      // A new <auth/> while one is in progress: start over (RFC 6120 §6.4.5 allows retries).
      sasl_.reset();
    }
    const auto& config = shared_.server.config().c2s;
    auto source = [transport = transport_.get()](std::string_view type) {
      return transport->channelBinding(type);
    };
    bool tls = transport_->isSecure();
    auto offered = offeredMechanisms(config, tls, tls && !channelBindingTypes(source).empty(),
                                     host_->isAnonymous());
    sasl_.emplace(shared_.server.storage().accounts(), host_->domain(), std::move(offered), source);
    std::optional<std::string_view> initial;
    if (decoded) initial = *decoded;
    return sendSaslOutcome(sasl_->start(element.attr("mechanism"), initial));
  }
  if (name == "response") {
    if (!sasl_) {
      return sendSaslOutcome(
          {SaslNegotiation::Outcome::Kind::Failure, {}, auth::SaslError::MalformedRequest, {}});
    }
    return sendSaslOutcome(sasl_->step(decoded ? *decoded : std::string_view{}));
  }
  closeWithStreamError(StreamErrorCondition::UnsupportedStanzaType);
}

void ClientSession::sendSaslOutcome(const SaslNegotiation::Outcome& outcome) {
  using Kind = SaslNegotiation::Outcome::Kind;
  std::string out;
  switch (outcome.kind) {
    case Kind::Challenge:
      out.append("<challenge xmlns='").append(ns::kSasl).append("'>");
      out.append(auth::base64Encode(outcome.data)).append("</challenge>");
      transport_->sendElement(out);
      return;
    case Kind::Success:
      out.append("<success xmlns='").append(ns::kSasl).append("'>");
      if (!outcome.data.empty()) out.append(auth::base64Encode(outcome.data));
      out.append("</success>");
      transport_->sendElement(out);
      username_ = outcome.username;
      anonymous_ = outcome.anonymous;
      sasl_.reset();
      log::info(logPrefix(), ": authenticated as ", username_, "@", host_->domain());
      restartStream();
      return;
    case Kind::Failure:
      sasl_.reset();
      out.append("<failure xmlns='").append(ns::kSasl).append("'><");
      out.append(auth::conditionName(outcome.error)).append("/>");
      if (!outcome.data.empty()) {
        out.append("<text xml:lang='en'>").append(xml::escapeText(outcome.data)).append("</text>");
      }
      out.append("</failure>");
      transport_->sendElement(out);
      log::info(logPrefix(), ": SASL failed: ", auth::conditionName(outcome.error));
      if (outcome.wrong_credentials) shared_.ip_limits.loginFailed(ip_, worker_.loop().now());
      // RFC 6120 §6.4.5: retries are allowed, a configurable number of times.
      if (++failed_auths_ >= kMaxFailedAuths) {
        closeWithStreamError(StreamErrorCondition::PolicyViolation, "Too many failed logins");
      }
      return;
  }
}

void ClientSession::handleBind(const xml::Element& iq) {
  using Condition = xmpp::StanzaError::Condition;
  auto reply_error = [&](Condition condition) {
    auto error = xmpp::errorReply(iq, xmpp::StanzaError::of(condition));
    error.removeAttr("to");
    error.removeAttr("from");
    sendStanza(error);
  };
  const auto* bind = iq.child("bind", ns::kBind);
  auto requested = bind->childText("resource");
  auto bare = xmpp::BareJid::fromParts(username_, host_->domain());
  if (!bare) return reply_error(Condition::InternalServerError);
  // RFC 6120 §7.6: the client may ask for a resource; the server may generate one.
  auto full = bare->withResource(requested.empty() ? randomToken(12) : requested);
  if (!full) return reply_error(Condition::BadRequest);
  jid_ = *full;
  state_ = State::Bound;
  worker_.loop().cancelTimer(auth_timer_);
  auth_timer_ = 0;
  if (auto previous = shared_.server.registry().bind(*jid_, ref())) {
    // RFC 6120 §7.7.2.2: the newer session wins; the older one gets <conflict/>.
    auto& old_worker = shared_.server.worker(previous->worker);
    auto prev = *previous;
    auto close_old = [&old_worker, prev] {
      if (auto* old = old_worker.find(prev)) {
        old->closeWithStreamError(StreamErrorCondition::Conflict, "Replaced by a new session");
      }
    };
    if (old_worker.loop().isLoopThread())
      close_old();
    else
      old_worker.loop().post(close_old);
  }
  xml::Element jid_element("jid", std::string(ns::kBind));
  jid_element.addText(jid_->toString());
  xml::Element bound("bind", std::string(ns::kBind));
  bound.addChild(std::move(jid_element));
  auto result = xmpp::resultWith(iq, std::move(bound));
  result.removeAttr("to");
  result.removeAttr("from");
  sendStanza(result);
  log::info(logPrefix(), ": bound");
  core::SessionEvent event{*host_, *this, *jid_};
  host_->events().fire(core::events::resourceBind(), event);
}

void ClientSession::handleBound(std::unique_ptr<xml::Element> stanza) {
  if (stanza->xmlns() != ns::kClient || !isStanzaName(stanza->name())) {
    return closeWithStreamError(StreamErrorCondition::UnsupportedStanzaType);
  }
  if (stanza->name() == "iq") {
    auto type = stanza->attr("type");
    bool request = type == "get" || type == "set";
    if (!xmpp::isWellFormedIq(*stanza)) {
      auto error = xmpp::errorReply(
          *stanza, xmpp::StanzaError::of(xmpp::StanzaError::Condition::BadRequest));
      error.removeAttr("from");
      if (type != "error") sendStanza(error);
      return;
    }
    if (request && stanza->is("iq", ns::kClient)) {
      // Legacy session establishment (RFC 3921 §3, draft-cridland-xmpp-session-01): a no-op.
      const auto* payload = stanza->firstChild();
      if (payload->is("session", ns::kSession) && !stanza->findAttr("to")) {
        auto result = xmpp::emptyResult(*stanza);
        result.removeAttr("from");
        return sendStanza(result);
      }
      if (payload->is("bind", ns::kBind)) {
        auto error = xmpp::errorReply(
            *stanza, xmpp::StanzaError::of(xmpp::StanzaError::Condition::NotAllowed));
        error.removeAttr("from");
        return sendStanza(error);
      }
    }
  }
  // RFC 6120 §8.1.2.1: the server stamps the full JID; whatever the client wrote is replaced.
  stanza->setAttr("from", jid_->toString());
  shared_.server.router().routeFromClient(*this,
                                          std::shared_ptr<const xml::Element>(std::move(stanza)));
}

void ClientSession::sendStanza(const xml::Element& stanza) {
  transport_->sendStanza(stanza);
  last_activity_ = worker_.loop().now();
}

// A bound session quiet for c2s.release_idle_after gives back the parser (about 10 KiB) and its
// buffers' capacity; the next byte from the client revives the parser. Memory per idle session
// is what a server with many mostly quiet mobile clients lives on. The wait is long enough that
// a user chatting now and then keeps the parser: freeing and rebuilding it for every message
// cost more CPU than the messages themselves at 10,000 users (contrib/bench/RESULTS.md).
bool ClientSession::releaseIdleMemory(std::chrono::steady_clock::time_point now) {
  if (state_ != State::Bound ||
      now - last_activity_ < shared_.server.config().c2s.release_idle_after) {
    return false;
  }
  transport_->releaseIdleBuffers();
  if (!parser_.hibernate()) return false;
  log::debug(logPrefix(), ": idle, parser released");
  return true;
}

bool ClientSession::deliver(const xmpp::StanzaPtr& stanza) {
  if (state_ != State::Bound) return false;
  sendStanza(*stanza);
  return true;
}

void acceptClient(C2sShared& shared, core::Worker& worker, net::Fd fd,
                  const net::SocketAddress& peer, bool direct_tls) {
  auto transport = std::make_unique<TcpTransport>(worker.loop(), std::move(fd), peer,
                                                  direct_tls ? shared.tls_ctx : nullptr);
  startClientSession(shared, worker, std::move(transport));
}

ClientSession& startClientSession(C2sShared& shared, core::Worker& worker,
                                  std::unique_ptr<Transport> transport) {
  auto& session = worker.emplace<ClientSession>(shared, worker, std::move(transport));
  session.start();
  return session;
}

}  // namespace parley::c2s
