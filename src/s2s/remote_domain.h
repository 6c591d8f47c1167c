// One remote domain, as seen from its home worker: stanzas waiting for a stream, the outgoing
// stream and its connection attempts (DNS, every candidate address, backoff), streams the
// peer opened that may carry our stanzas back (XEP-0288), and dialback verifications asked of
// the domain's authoritative server (XEP-0220 §2.1.2).
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/session.h"
#include "core/worker.h"
#include "net/connector.h"
#include "net/resolver.h"
#include "s2s/dialback.h"
#include "xmpp/stanza.h"

namespace parley::s2s {

class OutgoingStream;
class S2sService;

// The outcome of a dialback verification: type Valid or Invalid, or Error with its condition.
struct VerifyOutcome {
  DialbackType type = DialbackType::Error;
  std::optional<xmpp::StanzaError> error;
};

// Lives on its home worker thread (S2sService::homeOf); never shared. Lives as long as the
// worker, so the streams and callbacks of that worker may refer to it.
class RemoteDomain {
 public:
  using VerifyDone = std::function<void(VerifyOutcome)>;

  RemoteDomain(S2sService& service, core::Worker& worker, std::string domain);
  ~RemoteDomain();
  RemoteDomain(const RemoteDomain&) = delete;
  RemoteDomain& operator=(const RemoteDomain&) = delete;

  const std::string& domain() const { return domain_; }

  // A stanza from `local_domain` (a host or component of ours) to this domain. Sent at once
  // if a stream is authenticated for the pair, else queued while one comes up.
  void send(const std::string& local_domain, xmpp::StanzaPtr stanza);
  // Asks the authoritative server of this domain whether `key` (from a db:result this domain
  // sent to `local_domain` on a stream whose id is `stream_id`) is valid. `done` runs on this
  // worker, exactly once.
  void verify(const std::string& local_domain, const std::string& stream_id, std::string key,
              VerifyDone done);
  // XEP-0288: an incoming stream from this domain, authenticated for the pair and bidirectional,
  // that may carry our stanzas from `local_domain`. Removed when that stream ends.
  void addBidiRoute(const std::string& local_domain, core::SessionRef stream);
  void removeBidiRoute(const std::string& local_domain, core::SessionRef stream);

  // ---- From our outgoing stream (same worker) ----
  // TLS and the stream features are done: dialback requests and verifications can go.
  void onStreamNegotiated();
  void onPairAuthenticated(const std::string& local_domain);
  void onPairRefused(const std::string& local_domain, const std::string& why);
  void onVerifyAnswer(const DialbackRequest& answer);
  // The stream is gone. `negotiated`: it got as far as onStreamNegotiated(); `refused`: it
  // ended because the peer will not take us (TLS, certificate, authentication).
  void onStreamEnded(bool negotiated, bool refused, const std::string& why);

  // Local domains that want to send here (queued stanzas), for the outgoing stream to
  // authenticate.
  std::vector<std::string> waitingLocalDomains() const;

 private:
  struct Queued {
    std::string local_domain;
    xmpp::StanzaPtr stanza;
    std::chrono::steady_clock::time_point since;
  };
  struct PendingVerify {
    std::string local_domain;
    std::string stream_id;
    std::string key;
    VerifyDone done;
    std::chrono::steady_clock::time_point since;
    bool sent = false;
  };
  // Why the last attempt to reach the domain failed, for the bounces (RFC 6120 §8.3.3).
  enum class Failure {
    None,
    NotFound,     // DNS: no such domain, or SRV '.': remote-server-not-found, no retry
    DnsError,     // DNS timeout or failure: retried; remote-server-not-found in the end
    Unreachable,  // no address answered: retried; remote-server-timeout in the end
    Negotiation,  // TLS, certificate or authentication refused: remote-server-timeout now
  };

  OutgoingStream* stream();
  void ensureStream();
  void startAttempt();
  void onCandidates(std::vector<net::ServerCandidate> candidates);
  void tryNextCandidate();
  void tryNextAddress();
  void onConnected(net::Fd fd);
  void attemptFailed(Failure failure, const std::string& why);
  void scheduleRetry();
  // Removes and returns, in order, the queued stanzas from `local_domain`.
  std::vector<xmpp::StanzaPtr> takeQueued(const std::string& local_domain);
  void flush(const std::string& local_domain);
  void sendPendingVerifies();
  void failAll(Failure failure, const std::string& why);
  void armExpiry();
  void expire();
  xmpp::StanzaError bounceError(Failure failure, const std::string& why) const;
  bool sendOverBidi(const std::string& local_domain, const xmpp::StanzaPtr& stanza);

  S2sService& service_;
  core::Worker& worker_;
  std::string domain_;

  std::deque<Queued> queue_;
  std::vector<PendingVerify> verifies_;
  std::multimap<std::string, core::SessionRef> bidi_routes_;  // local domain -> stream

  core::SessionRef stream_;  // our outgoing stream, on this worker
  bool attempting_ = false;  // resolving or connecting
  std::vector<net::ServerCandidate> candidates_;
  size_t candidate_index_ = 0;
  std::vector<net::SocketAddress> addresses_;
  size_t address_index_ = 0;
  bool resolved_any_ = false;  // some candidate had addresses (so DNS is not the problem)
  bool dns_error_ = false;     // some lookup failed otherwise than "no such name"
  std::unique_ptr<net::Connector> connector_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // guards DNS callbacks

  Failure last_failure_ = Failure::None;
  std::string last_failure_text_;
  std::chrono::milliseconds backoff_{0};
  net::Loop::TimerId retry_timer_ = 0;
  net::Loop::TimerId expiry_timer_ = 0;
};

}  // namespace parley::s2s
