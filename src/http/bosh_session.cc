// BOSH sessions: rid order, held requests, wait and inactivity (XEP-0124 §7-§14, XEP-0206).
#include "http/bosh_session.h"

#include <algorithm>
#include <utility>

#include "auth/credentials.h"
#include "util/log.h"
#include "xml/namespaces.h"
#include "xml/serializer.h"

namespace parley::http {

using bosh::Condition;

// --- BoshResponder ---

BoshResponder::BoshResponder(std::shared_ptr<Exchange> exchange)
    : home_(&exchange->worker()), exchange_(std::move(exchange)) {}

BoshResponder& BoshResponder::operator=(BoshResponder&& other) noexcept {
  if (this != &other) {
    // The request this one replaces (a resent rid) still gets an answer.
    if (exchange_) respond(bosh::xmlResponse(bosh::payloadBody({})));
    home_ = other.home_;
    exchange_ = std::move(other.exchange_);
  }
  return *this;
}

BoshResponder::~BoshResponder() {
  if (exchange_) respond(bosh::xmlResponse(bosh::payloadBody({})));
}

void BoshResponder::respond(core::HttpResponse response) {
  if (!exchange_) return;
  auto exchange = std::move(exchange_);
  exchange_.reset();
  if (home_->loop().isLoopThread()) {
    exchange->respond(std::move(response));
    return;
  }
  // The exchange belongs to its connection's worker: answer there, and let go of it there.
  home_->loop().post([exchange = std::move(exchange), response = std::move(response)]() mutable {
    exchange->respond(std::move(response));
    exchange.reset();
  });
}

// --- BoshSessionTable ---

std::string BoshSessionTable::add(uint32_t worker, BoshTransport* transport) {
  std::lock_guard lock(mutex_);
  expireTombstones(std::chrono::steady_clock::now());
  for (;;) {
    // XEP-0124 §7.2: an opaque, unpredictable sid.
    auto sid = auth::hexEncode(auth::randomBytes(16));
    if (sessions_.contains(sid) || tombstones_.contains(sid)) continue;
    sessions_.emplace(sid, Entry{worker, transport});
    return sid;
  }
}

void BoshSessionTable::remove(const std::string& sid, std::optional<std::string> last_body) {
  std::lock_guard lock(mutex_);
  sessions_.erase(sid);
  if (last_body) {
    tombstones_[sid] =
        Tombstone{std::move(*last_body), std::chrono::steady_clock::now() + tombstone_life_};
  }
}

BoshSessionTable::Lookup BoshSessionTable::lookup(const std::string& sid) {
  std::lock_guard lock(mutex_);
  Lookup found;
  if (auto it = sessions_.find(sid); it != sessions_.end()) {
    found.worker = it->second.worker;
  } else if (auto tomb = tombstones_.find(sid); tomb != tombstones_.end()) {
    if (tomb->second.expires > std::chrono::steady_clock::now())
      found.last_body = std::move(tomb->second.body);
    tombstones_.erase(tomb);
  }
  return found;
}

BoshTransport* BoshSessionTable::find(const std::string& sid, uint32_t worker) const {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(sid);
  if (it == sessions_.end() || it->second.worker != worker) return nullptr;
  return it->second.transport;
}

size_t BoshSessionTable::size() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

void BoshSessionTable::expireTombstones(std::chrono::steady_clock::time_point now) {
  std::erase_if(tombstones_, [now](const auto& entry) { return entry.second.expires <= now; });
}

// --- BoshTransport ---

BoshTransport::BoshTransport(std::shared_ptr<BoshSessionTable> table, core::Worker& worker,
                             const BoshSettings& settings, const bosh::Request& creation,
                             BoshResponder creation_responder, bool secure, std::string peer_ip)
    : table_(std::move(table)),
      worker_(worker),
      settings_(settings),
      to_(creation.to),
      lang_(creation.lang),
      xmpp_version_(creation.xmpp_version),
      ver_(bosh::negotiatedVersion(creation.ver)),
      content_type_(creation.content.empty() ? std::string(bosh::kContentType) : creation.content),
      legacy_(creation.ver.empty()),
      secure_(secure),
      peer_ip_(std::move(peer_ip)) {
  // XEP-0124 §7.2: our wait and hold never exceed the client's; hold+1 requests at once.
  auto max_wait = static_cast<unsigned>(settings_.max_wait.count());
  wait_ = std::min(creation.wait.value_or(max_wait), max_wait);
  hold_ = std::min(creation.hold.value_or(1), settings_.max_hold);
  if (wait_ == 0) hold_ = 0;  // §12: a polling session
  requests_ = hold_ + 1;
  next_rid_ = creation.rid + 1;
  sid_ = table_->add(worker_.index(), this);
  // Payloads in the creation request (unusual, but allowed) follow the stream header.
  creation_input_ = bosh::streamBytes(creation);
  hold(creation.rid, std::move(creation_responder));
}

BoshTransport::~BoshTransport() {
  worker_.loop().cancelTimer(inactivity_timer_);
  for (auto& held : held_) worker_.loop().cancelTimer(held.wait_timer);
  if (!ended_) table_->remove(sid_);
  // Destroyed without a close (the worker is stopping): every waiting request is told.
  for (auto& held : held_)
    held.responder.respond(bosh::terminalResponse(Condition::SystemShutdown, false, content_type_));
  for (auto& [rid, waiting] : waiting_)
    waiting.responder.respond(
        bosh::terminalResponse(Condition::SystemShutdown, false, content_type_));
}

std::string BoshTransport::logPrefix() const { return "bosh " + sid_.substr(0, 8); }

core::HttpResponse BoshTransport::response(std::string body) const {
  return bosh::xmlResponse(std::move(body), content_type_);
}

void BoshTransport::start() {
  log::debug(logPrefix(), ": session created for ", peer_ip_, " (wait ", wait_, " s, hold ", hold_,
             ")");
  // XEP-0206 §3: the session creation request stands for the client's stream header.
  scheduleFlush();
  feed(bosh::streamHeader(to_, lang_, xmpp_version_));
  if (!creation_input_.empty()) feed(std::exchange(creation_input_, {}));
}

void BoshTransport::handle(bosh::Request request, BoshResponder responder) {
  if (ended_) {
    responder.respond(bosh::terminalResponse(Condition::ItemNotFound, legacy_, content_type_));
    return;
  }
  worker_.loop().cancelTimer(inactivity_timer_);
  inactivity_timer_ = 0;
  if (closing_) {
    // The stream is closing this turn: this request may carry the terminate body.
    held_.push_back(Held{request.rid, std::move(responder), 0});
    return;
  }
  uint64_t rid = request.rid;
  if (rid < next_rid_) {
    // §14.3: a request sent again (its connection broke): the same answer again.
    for (auto& held : held_) {
      if (held.rid == rid) {
        held.responder = std::move(responder);
        return;
      }
    }
    for (const auto& [answered_rid, body] : answered_) {
      if (answered_rid == rid) {
        log::debug(logPrefix(), ": rid ", rid, " again: the same response");
        responder.respond(response(body));
        return;
      }
    }
    return terminate(Condition::ItemNotFound, &responder, "repeated rid no longer buffered");
  }
  // §14.2: the window is as wide as the requests we allow at once.
  if (rid - next_rid_ >= requests_) {
    return terminate(Condition::ItemNotFound, &responder, "rid outside the window");
  }
  if (auto it = waiting_.find(rid); it != waiting_.end()) {
    it->second.responder = std::move(responder);
    return;
  }
  // §11: more simultaneous requests than announced; one extra may come to terminate.
  if (held_.size() + waiting_.size() >= requests_ && !request.isTerminate()) {
    return terminate(Condition::PolicyViolation, &responder, "too many simultaneous requests");
  }
  waiting_.emplace(rid, Waiting{std::move(request), std::move(responder)});
  drain();
  armInactivity();
}

void BoshTransport::abandon(uint64_t rid) {
  auto it = std::find_if(held_.begin(), held_.end(), [rid](const Held& h) { return h.rid == rid; });
  if (it != held_.end()) {
    // Nothing was sent on it, so nothing is lost; a resend of the rid gets an empty body.
    worker_.loop().cancelTimer(it->wait_timer);
    held_.erase(it);
    answered_.emplace_back(rid, bosh::payloadBody({}));
    while (answered_.size() > requests_) answered_.pop_front();
  }
  waiting_.erase(rid);
  armInactivity();
}

void BoshTransport::drain() {
  while (!paused_ && !closing_ && !ended_ && !waiting_.empty() &&
         waiting_.begin()->first == next_rid_) {
    auto node = waiting_.extract(waiting_.begin());
    ++next_rid_;
    process(std::move(node.mapped().request), std::move(node.mapped().responder));
  }
}

void BoshTransport::hold(uint64_t rid, BoshResponder responder) {
  net::Loop::TimerId timer = 0;
  if (wait_ != 0) {
    auto alive = std::weak_ptr<bool>(alive_);
    timer = worker_.loop().addTimer(std::chrono::seconds(wait_), [this, alive, rid] {
      if (alive.expired()) return;
      answerUpTo(rid);
    });
  }
  held_.push_back(Held{rid, std::move(responder), timer});
}

void BoshTransport::process(bosh::Request request, BoshResponder responder) {
  // Held before the payloads go in, so what the session answers (even a stream error) has a
  // request to travel in.
  hold(request.rid, std::move(responder));
  scheduleFlush();
  if (request.restart) {
    // XEP-0206 §5: after SASL success the client asks for a new stream.
    awaiting_restart_ = false;
    feed(bosh::streamHeader(request.to.empty() ? std::string_view(to_) : request.to,
                            request.lang.empty() ? std::string_view(lang_) : request.lang,
                            xmpp_version_));
  }
  if (request.isTerminate() && awaiting_restart_) {
    // No stream is open to close (the session waits for a new header): just end.
    closing_ = true;
    return;
  }
  auto bytes = bosh::streamBytes(request);
  if (!bytes.empty()) feed(bytes);
  // §13: payloads of a terminate request are delivered, then the stream ends.
  if (request.isTerminate()) feed("</stream:stream>");
}

void BoshTransport::feed(std::string_view bytes) {
  if (closing_ || ended_) return;
  handler_->onData(bytes);
}

void BoshTransport::queue(std::string_view xml) {
  if (ended_) return;
  output_.append(xml);
  scheduleFlush();
}

void BoshTransport::sendStreamHeader(std::string_view stream_id, std::string_view from_domain) {
  // BOSH has no stream header: the session creation response carries its attributes.
  authid_ = stream_id;
  from_ = from_domain;
}

void BoshTransport::sendElement(std::string_view xml) {
  if (xml.starts_with("<stream:error")) stream_error_ = true;
  std::string success = "<success xmlns='";
  success.append(ns::kSasl).append("'");
  if (xml.starts_with(success)) awaiting_restart_ = true;
  queue(xml);
}

void BoshTransport::sendStanza(const xml::Element& stanza) {
  thread_local std::string buffer;
  buffer.clear();
  xml::serialize(stanza, buffer, {});  // with its own xmlns='jabber:client' (XEP-0206 §2)
  queue(buffer);
}

void BoshTransport::close() {
  if (closing_ || ended_) return;
  closing_ = true;
  scheduleFlush();
}

void BoshTransport::setReadPaused(bool paused) {
  paused_ = paused;
  if (!paused_) drain();
}

void BoshTransport::releaseIdleBuffers() {
  if (output_.empty()) std::string().swap(output_);
}

void BoshTransport::scheduleFlush() {
  if (flush_scheduled_ || ended_) return;
  flush_scheduled_ = true;
  auto alive = std::weak_ptr<bool>(alive_);
  worker_.loop().atEndOfTurn([this, alive] {
    if (alive.expired()) return;
    flush();
  });
}

void BoshTransport::flush() {
  flush_scheduled_ = false;
  if (ended_) return;
  if (closing_) return finishClose();
  // What the session said this turn goes out at once in the oldest held request; requests
  // beyond `hold` return empty (§7: the client sends one to get the previous one back).
  if (!output_.empty() && !held_.empty()) {
    answerOldest(output_);
    output_.clear();
  }
  while (held_.size() > hold_) answerOldest({});
  if (output_.size() > settings_.max_queued_bytes) {
    return terminate(Condition::PolicyViolation, nullptr, "too much output waiting for a request");
  }
  armInactivity();
}

void BoshTransport::answerOldest(std::string_view payloads) {
  Held held = std::move(held_.front());
  held_.pop_front();
  worker_.loop().cancelTimer(held.wait_timer);
  std::string body;
  if (!creation_answered_) {
    creation_answered_ = true;
    bosh::SessionCreation creation;
    creation.sid = sid_;
    creation.wait = wait_;
    creation.requests = requests_;
    creation.inactivity = static_cast<unsigned>(settings_.inactivity.count());
    creation.polling = static_cast<unsigned>(settings_.polling.count());
    creation.hold = hold_;
    creation.ver = ver_;
    creation.from = from_;
    creation.authid = authid_;
    creation.secure = secure_;
    body = bosh::sessionCreationBody(creation, payloads);
  } else {
    body = bosh::payloadBody(payloads);
  }
  answered_.emplace_back(held.rid, body);
  while (answered_.size() > requests_) answered_.pop_front();
  held.responder.respond(response(std::move(body)));
}

void BoshTransport::answerUpTo(uint64_t rid) {
  if (ended_ || closing_) return;
  // §7: a request held for `wait` seconds returns (empty, unless output is waiting); older
  // ones go first, so responses stay in rid order.
  while (!held_.empty() && held_.front().rid <= rid) {
    answerOldest(output_);
    output_.clear();
  }
  armInactivity();
}

void BoshTransport::finishClose() {
  // The session closed its stream: the newest request carries the terminate body with the
  // rest of the output (a stream error makes it remote-stream-error, XEP-0206 §6); older
  // ones return first, empty.
  std::optional<Condition> condition;
  if (stream_error_) condition = Condition::RemoteStreamError;
  auto body = bosh::terminateBody(condition, output_);
  output_.clear();
  while (held_.size() > 1) answerOldest({});
  std::optional<std::string> last_body;
  if (!held_.empty()) {
    Held held = std::move(held_.front());
    held_.pop_front();
    worker_.loop().cancelTimer(held.wait_timer);
    held.responder.respond(response(std::move(body)));
  } else {
    last_body = std::move(body);
  }
  for (auto& [rid, waiting] : waiting_) {
    waiting.responder.respond(response(bosh::terminateBody(condition)));
  }
  waiting_.clear();
  end(stream_error_ ? "stream error" : "stream closed", std::move(last_body));
}

void BoshTransport::terminate(Condition condition, BoshResponder* responder,
                              std::string_view reason) {
  log::debug(logPrefix(), ": terminated (", bosh::conditionName(condition), "): ", reason);
  auto error = [&] { return bosh::terminalResponse(condition, legacy_, content_type_); };
  for (auto& held : held_) {
    worker_.loop().cancelTimer(held.wait_timer);
    held.responder.respond(error());
  }
  held_.clear();
  for (auto& [rid, waiting] : waiting_) waiting.responder.respond(error());
  waiting_.clear();
  if (responder) responder->respond(error());
  output_.clear();
  end(std::string("BOSH ") + std::string(bosh::conditionName(condition)) + ": " +
          std::string(reason),
      std::nullopt);
}

void BoshTransport::end(std::string reason, std::optional<std::string> last_body) {
  if (ended_) return;
  ended_ = true;
  closing_ = true;
  worker_.loop().cancelTimer(inactivity_timer_);
  inactivity_timer_ = 0;
  table_->remove(sid_, std::move(last_body));
  // The session learns it as a closed connection, never from inside its own call.
  auto alive = std::weak_ptr<bool>(alive_);
  worker_.loop().post([this, alive, reason = std::move(reason)] {
    if (alive.expired()) return;
    handler_->onClosed(reason);
  });
}

void BoshTransport::armInactivity() {
  if (inactivity_timer_ != 0 || closing_ || ended_ || !held_.empty() || !waiting_.empty()) return;
  // §10: no request held for `inactivity` seconds: the client is gone.
  auto alive = std::weak_ptr<bool>(alive_);
  inactivity_timer_ = worker_.loop().addTimer(
      std::chrono::duration_cast<std::chrono::milliseconds>(settings_.inactivity), [this, alive] {
        if (alive.expired()) return;
        inactivity_timer_ = 0;
        if (held_.empty() && waiting_.empty()) {
          log::debug(logPrefix(), ": inactive for ", settings_.inactivity.count(), " s");
          end("BOSH client inactive", std::nullopt);
        }
      });
}

}  // namespace parley::http
