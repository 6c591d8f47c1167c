// The federation service: s2s listeners, TLS contexts, trust, the per-worker table of remote
// domains, and the component registry. It is the router's RemoteRoute.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/listener_set.h"
#include "core/remote_route.h"
#include "core/server.h"
#include "net/resolver.h"
#include "net/tls.h"
#include "s2s/peer_trust.h"

namespace parley::s2s {

class RemoteDomain;

// Per-worker s2s state. Lives on its worker thread; never shared.
class WorkerState {
 public:
  WorkerState() = default;
  ~WorkerState();
  // The worker's resolver, created on first use (on the worker thread).
  net::Resolver* resolver(core::Worker& worker, const core::S2sConfig& config);
  // The remote domains whose home is this worker, created on first use.
  std::unordered_map<std::string, std::unique_ptr<RemoteDomain>> remotes;
  // Destroys the resolver first (its callbacks reach into the remote domains), then them.
  void clear();

 private:
  std::unique_ptr<net::Resolver> resolver_;
  bool resolver_failed_ = false;
};

// Created on the main thread before the workers start; destroyed after they stopped.
// send() and isLocalDomain() are thread-safe; the rest is read-only after start().
class S2sService final : public core::RemoteRoute {
 public:
  // Opens the s2s and component listeners, loads certificates and trust, and installs
  // itself as the server's remote route.
  static Result<std::unique_ptr<S2sService>> start(core::Server& server);
  ~S2sService() override;

  // Stops accepting (s2s and components) and starting connections; call while the workers
  // run, before shutdown.
  void stopListening();
  bool isStopping() const { return stopping_; }

  // core::RemoteRoute
  bool isLocalDomain(std::string_view domain) const override;
  void send(xmpp::StanzaPtr stanza, std::string_view from_domain,
            std::string_view to_domain) override;

  core::Server& server() { return server_; }
  const core::S2sConfig& config() const { return server_.config().s2s; }
  const PeerTrust& trust() const { return *trust_; }
  // The per-process secret dialback keys are derived from (XEP-0185).
  const std::string& dialbackSecret() const { return dialback_secret_; }
  SSL_CTX* serverTls() { return server_tls_->defaultCtx(); }
  // The client context presenting `local_domain`'s certificate (a host, or for a component
  // the first host's).
  SSL_CTX* clientTls(std::string_view local_domain);
  // Whether a component is configured for this domain (connected or not).
  bool isComponent(std::string_view domain) const;
  const std::string* componentSecret(std::string_view domain) const;
  // Component registry (any thread): a component stream that completed its handshake.
  // register fails (false) if another stream already serves the domain.
  bool registerComponent(const std::string& domain, core::SessionRef ref);
  void unregisterComponent(const std::string& domain, core::SessionRef ref);

  // The worker that owns everything about `remote_domain`.
  core::Worker& homeOf(std::string_view remote_domain);
  // Runs `fn` on the home worker of `remote_domain` with its RemoteDomain (created if needed);
  // now if this is that worker, else posted.
  void onHome(std::string_view remote_domain, std::function<void(RemoteDomain&)> fn);
  // This worker's s2s state. Worker thread only.
  WorkerState& local(core::Worker& worker) { return *states_.at(worker.index()); }

 private:
  explicit S2sService(core::Server& server) : server_(server) {}
  Result<void> loadTls();
  Result<void> listen();
  RemoteDomain& remote(core::Worker& home, const std::string& domain);
  // Hands `stanza` to the component serving `to_domain`, or bounces it.
  void sendToComponent(xmpp::StanzaPtr stanza, const std::string& to_domain);

  core::Server& server_;
  std::unique_ptr<PeerTrust> trust_;
  std::unique_ptr<net::TlsServerContext> server_tls_;
  std::map<std::string, std::unique_ptr<net::TlsClientContext>, std::less<>> client_tls_;
  std::string dialback_secret_;
  std::vector<std::shared_ptr<WorkerState>> states_;  // one per worker, by index
  std::atomic<bool> stopping_{false};

  mutable std::mutex components_mutex_;
  std::map<std::string, core::SessionRef, std::less<>> components_;  // guarded

  core::ListenerSet listeners_;
};

// Answers `stanza` with a stanza error, unless it must not be answered (RFC 6120 §8.3.1).
void bounce(core::Router& router, const xmpp::StanzaPtr& stanza, xmpp::StanzaError error);

}  // namespace parley::s2s
