// A remote domain's queue, connection attempts and routes (RFC 6120 §3.2, §8.3.3.15-16, §13.3).
#include "s2s/remote_domain.h"

#include <algorithm>

#include "s2s/outgoing_stream.h"
#include "s2s/service.h"
#include "util/log.h"

namespace parley::s2s {
namespace {

using namespace std::chrono_literals;
using xmpp::StanzaError;
using Condition = xmpp::StanzaError::Condition;

constexpr auto kFirstRetry = 1s;
constexpr auto kMaxRetry = 60s;

}  // namespace

RemoteDomain::RemoteDomain(S2sService& service, core::Worker& worker, std::string domain)
    : service_(service), worker_(worker), domain_(std::move(domain)) {}

RemoteDomain::~RemoteDomain() {
  worker_.loop().cancelTimer(retry_timer_);
  worker_.loop().cancelTimer(expiry_timer_);
}

OutgoingStream* RemoteDomain::stream() {
  if (!stream_.valid()) return nullptr;
  auto* stream = dynamic_cast<OutgoingStream*>(worker_.find(stream_));
  return stream != nullptr && !stream->isClosing() ? stream : nullptr;
}

// ---- Sending ----

void RemoteDomain::send(const std::string& local_domain, xmpp::StanzaPtr stanza) {
  if (auto* out = stream(); out && out->isAuthenticated(local_domain)) {
    out->sendStanza(*stanza);
    return;
  }
  if (sendOverBidi(local_domain, stanza)) return;
  if (queue_.size() >= service_.config().max_queued_stanzas) {
    return bounce(service_.server().router(), stanza,
                  StanzaError::of(Condition::ResourceConstraint,
                                  "Too many stanzas are waiting for " + domain_));
  }
  queue_.push_back({local_domain, std::move(stanza), worker_.loop().now()});
  armExpiry();
  if (auto* out = stream()) {
    out->authenticate(local_domain);  // no-op until negotiated, or if already under way
    return;
  }
  ensureStream();
}

bool RemoteDomain::sendOverBidi(const std::string& local_domain, const xmpp::StanzaPtr& stanza) {
  auto it = bidi_routes_.find(local_domain);
  if (it == bidi_routes_.end()) return false;
  core::SessionRef ref = it->second;
  core::Worker& target = service_.server().worker(ref.worker);
  auto deliver = [&service = service_, &target, ref, stanza, local_domain, domain = domain_] {
    auto* session = target.find(ref);
    if (session != nullptr && session->deliver(stanza)) return;
    // That stream is closing: forget it and send the usual way.
    service.onHome(domain, [local_domain, ref, stanza](RemoteDomain& remote) {
      remote.removeBidiRoute(local_domain, ref);
      remote.send(local_domain, stanza);
    });
  };
  if (target.loop().isLoopThread()) {
    deliver();
  } else {
    target.loop().post(std::move(deliver));
  }
  return true;
}

void RemoteDomain::addBidiRoute(const std::string& local_domain, core::SessionRef stream) {
  bidi_routes_.emplace(local_domain, stream);
  log::debug("s2s ", domain_, ": stanzas from ", local_domain, " may use the peer's stream");
  flush(local_domain);
}

void RemoteDomain::removeBidiRoute(const std::string& local_domain, core::SessionRef stream) {
  auto [begin, end] = bidi_routes_.equal_range(local_domain);
  for (auto it = begin; it != end; ++it) {
    if (it->second == stream) {
      bidi_routes_.erase(it);
      return;
    }
  }
}

std::vector<xmpp::StanzaPtr> RemoteDomain::takeQueued(const std::string& local_domain) {
  std::deque<Queued> kept;
  std::vector<xmpp::StanzaPtr> taken;
  for (auto& entry : queue_) {
    if (entry.local_domain == local_domain) {
      taken.push_back(std::move(entry.stanza));
    } else {
      kept.push_back(std::move(entry));
    }
  }
  queue_.swap(kept);
  return taken;
}

void RemoteDomain::flush(const std::string& local_domain) {
  // In their order; send() takes the stream or bidi route that is now there.
  for (auto& stanza : takeQueued(local_domain)) send(local_domain, std::move(stanza));
}

std::vector<std::string> RemoteDomain::waitingLocalDomains() const {
  std::vector<std::string> domains;
  for (const auto& entry : queue_) {
    if (std::find(domains.begin(), domains.end(), entry.local_domain) == domains.end()) {
      domains.push_back(entry.local_domain);
    }
  }
  return domains;
}

// ---- Dialback verification (we are the receiving server; this domain is authoritative) ----

void RemoteDomain::verify(const std::string& local_domain, const std::string& stream_id,
                          std::string key, VerifyDone done) {
  verifies_.push_back(
      {local_domain, stream_id, std::move(key), std::move(done), worker_.loop().now(), false});
  armExpiry();
  if (auto* out = stream(); out && out->isNegotiated()) {
    sendPendingVerifies();
    return;
  }
  ensureStream();
}

void RemoteDomain::sendPendingVerifies() {
  auto* out = stream();
  if (out == nullptr || !out->isNegotiated()) return;
  for (auto& pending : verifies_) {
    if (pending.sent) continue;
    pending.sent = true;
    out->sendVerify(verifyRequest(pending.local_domain, domain_, pending.stream_id, pending.key));
  }
}

void RemoteDomain::onVerifyAnswer(const DialbackRequest& answer) {
  auto it = std::find_if(verifies_.begin(), verifies_.end(), [&](const PendingVerify& pending) {
    return pending.sent && answer.from == domain_ && answer.to == pending.local_domain &&
           answer.id == pending.stream_id;
  });
  if (it == verifies_.end()) {
    log::debug("s2s ", domain_, ": ignoring an unrequested dialback verification answer");
    return;
  }
  auto done = std::move(it->done);
  verifies_.erase(it);
  done(VerifyOutcome{answer.type, answer.error});
}

// ---- The outgoing stream ----

void RemoteDomain::ensureStream() {
  if (stream() != nullptr || attempting_ || retry_timer_ != 0 || service_.isStopping()) return;
  startAttempt();
}

void RemoteDomain::startAttempt() {
  attempting_ = true;
  candidates_.clear();
  candidate_index_ = 0;
  resolved_any_ = false;
  dns_error_ = false;
  const auto& routes = service_.config().routes;
  if (auto it = routes.find(domain_); it != routes.end()) {
    // A static route skips SRV: one candidate, STARTTLS.
    onCandidates({net::ServerCandidate{it->second.host, it->second.port, false}});
    return;
  }
  net::Resolver* resolver = service_.local(worker_).resolver(worker_, service_.config());
  if (resolver == nullptr) return attemptFailed(Failure::DnsError, "no DNS resolver");
  std::weak_ptr<bool> alive = alive_;
  resolver->resolveXmppServer(domain_, [this, alive](std::vector<net::ServerCandidate> found) {
    if (alive.expired()) return;
    if (found.empty()) {
      // RFC 2782 / RFC 6120 §3.2.1: a "." target says the service is decidedly not there.
      return attemptFailed(Failure::NotFound, domain_ + " offers no XMPP server-to-server service");
    }
    onCandidates(std::move(found));
  });
}

void RemoteDomain::onCandidates(std::vector<net::ServerCandidate> candidates) {
  candidates_ = std::move(candidates);
  candidate_index_ = 0;
  tryNextCandidate();
}

void RemoteDomain::tryNextCandidate() {
  if (candidate_index_ >= candidates_.size()) {
    // RFC 6120 §3.2.1: every candidate was tried.
    if (resolved_any_) return attemptFailed(Failure::Unreachable, last_failure_text_);
    if (dns_error_) return attemptFailed(Failure::DnsError, "cannot resolve " + domain_);
    return attemptFailed(Failure::NotFound, domain_ + " does not exist in DNS");
  }
  const auto& candidate = candidates_[candidate_index_];
  net::Resolver* resolver = service_.local(worker_).resolver(worker_, service_.config());
  if (resolver == nullptr) return attemptFailed(Failure::DnsError, "no DNS resolver");
  std::weak_ptr<bool> alive = alive_;
  resolver->resolveAddresses(
      candidate.host, candidate.port,
      [this, alive](Result<std::vector<net::SocketAddress>, net::DnsError> addresses) {
        if (alive.expired()) return;
        if (!addresses) {
          if (addresses.error() != net::DnsError::NotFound) dns_error_ = true;
          log::debug("s2s ", domain_, ": ", candidates_[candidate_index_].host, ": ",
                     net::toString(addresses.error()));
          ++candidate_index_;
          return tryNextCandidate();
        }
        resolved_any_ = true;
        addresses_ = std::move(*addresses);
        address_index_ = 0;
        tryNextAddress();
      });
}

void RemoteDomain::tryNextAddress() {
  if (address_index_ >= addresses_.size()) {
    ++candidate_index_;
    return tryNextCandidate();
  }
  const auto& address = addresses_[address_index_];
  auto timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(service_.config().connect_timeout);
  connector_ = net::Connector::start(
      worker_.loop(), address, timeout, [this](Result<net::Fd, std::string> fd) {
        connector_.reset();
        if (!fd) {
          last_failure_text_ = "cannot connect to " + domain_ + " at " +
                               addresses_[address_index_].toString() + ": " + fd.error();
          log::debug("s2s ", domain_, ": ", last_failure_text_);
          ++address_index_;
          return tryNextAddress();
        }
        onConnected(std::move(*fd));
      });
}

void RemoteDomain::onConnected(net::Fd fd) {
  attempting_ = false;
  std::string local_domain;
  if (!queue_.empty()) {
    local_domain = queue_.front().local_domain;
  } else if (!verifies_.empty()) {
    local_domain = verifies_.front().local_domain;
  } else {
    local_domain = service_.server().hosts().front()->domain();
  }
  const auto& candidate = candidates_[candidate_index_];
  auto& out = worker_.emplace<OutgoingStream>(service_, worker_, *this, std::move(fd),
                                              addresses_[address_index_], candidate.direct_tls,
                                              std::move(local_domain));
  stream_ = out.ref();
  out.start();
}

void RemoteDomain::onStreamNegotiated() {
  backoff_ = std::chrono::milliseconds(0);
  last_failure_ = Failure::None;
  sendPendingVerifies();
  if (auto* out = stream()) {
    for (const auto& local_domain : waitingLocalDomains()) out->authenticate(local_domain);
  }
}

void RemoteDomain::onPairAuthenticated(const std::string& local_domain) {
  log::info("s2s ", domain_, ": ", local_domain, " -> ", domain_, " is up");
  flush(local_domain);
}

void RemoteDomain::onPairRefused(const std::string& local_domain, const std::string& why) {
  last_failure_ = Failure::Negotiation;
  last_failure_text_ = why;
  for (const auto& stanza : takeQueued(local_domain)) {
    bounce(service_.server().router(), stanza, bounceError(Failure::Negotiation, why));
  }
}

void RemoteDomain::onStreamEnded(bool negotiated, bool refused, const std::string& why) {
  stream_ = {};
  for (auto& pending : verifies_) pending.sent = false;  // asked again on the next stream
  if (service_.isStopping()) {
    attempting_ = false;
    return;
  }
  if (refused) {
    attempting_ = false;
    return attemptFailed(Failure::Negotiation, why);
  }
  if (!negotiated && !candidates_.empty() && candidate_index_ < candidates_.size()) {
    // That address took the connection but not the stream: the next one may do better.
    last_failure_text_ = "stream to " + domain_ + " failed: " + why;
    attempting_ = true;
    ++address_index_;
    return tryNextAddress();
  }
  if (!queue_.empty() || !verifies_.empty()) ensureStream();
}

// ---- Failures, retries and the queue window ----

void RemoteDomain::attemptFailed(Failure failure, const std::string& why) {
  attempting_ = false;
  connector_.reset();
  last_failure_ = failure;
  last_failure_text_ = why;
  log::info("s2s ", domain_, ": ", why);
  if (failure == Failure::NotFound || failure == Failure::Negotiation) {
    return failAll(failure, why);  // trying again would end the same way
  }
  if (!queue_.empty() || !verifies_.empty()) scheduleRetry();
}

void RemoteDomain::scheduleRetry() {
  if (retry_timer_ != 0) return;
  backoff_ = std::clamp(backoff_ * 2, std::chrono::milliseconds(kFirstRetry),
                        std::chrono::milliseconds(kMaxRetry));
  retry_timer_ = worker_.loop().addTimer(backoff_, [this] {
    retry_timer_ = 0;
    if (!queue_.empty() || !verifies_.empty()) ensureStream();
  });
}

void RemoteDomain::failAll(Failure failure, const std::string& why) {
  auto queued = std::move(queue_);
  queue_.clear();
  auto verifies = std::move(verifies_);
  verifies_.clear();
  auto error = bounceError(failure, why);
  for (const auto& entry : queued) bounce(service_.server().router(), entry.stanza, error);
  for (auto& pending : verifies) pending.done(VerifyOutcome{DialbackType::Error, error});
}

xmpp::StanzaError RemoteDomain::bounceError(Failure failure, const std::string& why) const {
  // RFC 6120 §8.3.3.15: not found (or not resolvable); §8.3.3.16: resolved, but no stream.
  bool not_found = failure == Failure::NotFound || failure == Failure::DnsError;
  return StanzaError::of(
      not_found ? Condition::RemoteServerNotFound : Condition::RemoteServerTimeout,
      why.empty() ? "Cannot reach " + domain_ : why);
}

void RemoteDomain::armExpiry() {
  if (expiry_timer_ != 0) return;
  std::optional<std::chrono::steady_clock::time_point> oldest;
  if (!queue_.empty()) oldest = queue_.front().since;
  for (const auto& pending : verifies_) {
    if (!oldest || pending.since < *oldest) oldest = pending.since;
  }
  if (!oldest) return;
  auto deadline = *oldest + service_.config().queue_timeout;
  auto delay =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - worker_.loop().now());
  expiry_timer_ = worker_.loop().addTimer(std::max(delay, std::chrono::milliseconds(1)), [this] {
    expiry_timer_ = 0;
    expire();
  });
}

void RemoteDomain::expire() {
  auto cutoff = worker_.loop().now() - service_.config().queue_timeout;
  Failure failure = last_failure_ == Failure::None ? Failure::Unreachable : last_failure_;
  std::string why =
      last_failure_text_.empty() ? "No stream to " + domain_ + " in time" : last_failure_text_;
  auto error = bounceError(failure, why);
  std::vector<xmpp::StanzaPtr> expired;
  while (!queue_.empty() && queue_.front().since <= cutoff) {
    expired.push_back(std::move(queue_.front().stanza));
    queue_.pop_front();
  }
  std::vector<VerifyDone> failed;
  std::erase_if(verifies_, [&](PendingVerify& pending) {
    if (pending.since > cutoff) return false;
    failed.push_back(std::move(pending.done));
    return true;
  });
  if (!expired.empty()) {
    log::info("s2s ", domain_, ": ", expired.size(), " stanza(s) bounced: ", why);
  }
  for (const auto& stanza : expired) bounce(service_.server().router(), stanza, error);
  for (auto& done : failed) done(VerifyOutcome{DialbackType::Error, error});
  armExpiry();
}

}  // namespace parley::s2s
