// The federation service: listeners and TLS, routing to remote domains and components.
#include "s2s/service.h"

#include "auth/credentials.h"
#include "s2s/component_stream.h"
#include "s2s/incoming_stream.h"
#include "s2s/remote_domain.h"
#include "util/log.h"

namespace parley::s2s {
namespace {

using xmpp::StanzaError;

}  // namespace

void bounce(core::Router& router, const xmpp::StanzaPtr& stanza, StanzaError error) {
  if (xmpp::mustNotBounce(*stanza)) return;
  router.routeFromServer(std::make_shared<const xml::Element>(xmpp::errorReply(*stanza, error)));
}

// ---- WorkerState ----

WorkerState::~WorkerState() { clear(); }

net::Resolver* WorkerState::resolver(core::Worker& worker, const core::S2sConfig& config) {
  if (resolver_ || resolver_failed_) return resolver_.get();
  std::vector<net::SocketAddress> servers;
  for (const auto& server : config.dns_servers) {
    auto address = net::SocketAddress::parse(server.host, server.port);
    if (address) servers.push_back(*address);
  }
  auto created = net::Resolver::create(worker.loop(), std::move(servers));
  if (!created) {
    resolver_failed_ = true;
    log::error("s2s: cannot start the DNS resolver: ", created.error().message);
    return nullptr;
  }
  resolver_ = std::move(*created);
  return resolver_.get();
}

void WorkerState::clear() {
  resolver_.reset();
  remotes.clear();
}

// ---- S2sService ----

S2sService::~S2sService() {
  stopListening();
  server_.setRemoteRoute(nullptr);
}

Result<std::unique_ptr<S2sService>> S2sService::start(core::Server& server) {
  std::unique_ptr<S2sService> service(new S2sService(server));
  auto trust = PeerTrust::create(server.config().s2s);
  if (!trust) return Unexpected(std::move(trust).error());
  service->trust_ = std::move(*trust);
  if (auto ok = service->loadTls(); !ok) return Unexpected(std::move(ok).error());
  service->dialback_secret_ = auth::randomToken(32);
  for (auto& worker : server.workers()) {
    auto state = std::make_shared<WorkerState>();
    // The resolver and the remote domains die on their own thread, after the streams. The
    // hook keeps the state alive: the service may be gone first (a failed start-up).
    worker->atExit([state] { state->clear(); });
    service->states_.push_back(std::move(state));
  }
  if (auto ok = service->listen(); !ok) return Unexpected(std::move(ok).error());
  server.setRemoteRoute(service.get());
  return service;
}

Result<void> S2sService::loadTls() {
  // XEP-0368: ALPN "xmpp-server"; peers' certificates are requested for SASL EXTERNAL.
  auto tls = net::TlsServerContext::create({"xmpp-server"},
                                           net::TlsServerContext::ClientCertificates::Request);
  if (!tls) return Unexpected(std::move(tls).error());
  server_tls_ = std::move(*tls);
  for (const auto& host : server_.config().hosts) {
    if (auto added = server_tls_->addCertificate(host.domain, host.cert, host.key); !added) {
      return fail("host ", host.domain, ": ", added.error().message);
    }
    auto client = net::TlsClientContext::create({"xmpp-server"}, host.cert, host.key);
    if (!client) return fail("host ", host.domain, ": ", client.error().message);
    client_tls_.emplace(host.domain, std::move(*client));
  }
  return {};
}

Result<void> S2sService::listen() {
  const auto& config = server_.config();
  for (bool direct_tls : {false, true}) {
    for (const auto& address : direct_tls ? config.s2s.direct_tls : config.s2s.listen) {
      auto ok = listeners_.listen(
          server_, address, "s2s", direct_tls ? " (direct TLS)" : "",
          [this, direct_tls](core::Worker& worker, net::Fd fd, const net::SocketAddress& peer) {
            acceptServer(*this, worker, std::move(fd), peer, direct_tls);
          });
      if (!ok) return ok;
    }
  }
  if (config.components.secrets.empty()) return {};
  for (const auto& address : config.components.listen) {
    auto ok =
        listeners_.listen(server_, address, "components", "",
                          [this](core::Worker& worker, net::Fd fd, const net::SocketAddress& peer) {
                            acceptComponent(*this, worker, std::move(fd), peer);
                          });
    if (!ok) return ok;
  }
  return {};
}

void S2sService::stopListening() {
  stopping_ = true;
  listeners_.close();
}

SSL_CTX* S2sService::clientTls(std::string_view local_domain) {
  auto it = client_tls_.find(local_domain);
  if (it == client_tls_.end()) it = client_tls_.begin();  // a component: the first host's
  return it->second->ctx();
}

bool S2sService::isComponent(std::string_view domain) const {
  const auto& secrets = server_.config().components.secrets;
  return secrets.find(std::string(domain)) != secrets.end();
}

const std::string* S2sService::componentSecret(std::string_view domain) const {
  const auto& secrets = server_.config().components.secrets;
  auto it = secrets.find(std::string(domain));
  return it == secrets.end() ? nullptr : &it->second;
}

bool S2sService::isLocalDomain(std::string_view domain) const {
  return server_.host(domain) != nullptr || isComponent(domain);
}

bool S2sService::registerComponent(const std::string& domain, core::SessionRef ref) {
  std::lock_guard lock(components_mutex_);
  return components_.emplace(domain, ref).second;
}

void S2sService::unregisterComponent(const std::string& domain, core::SessionRef ref) {
  std::lock_guard lock(components_mutex_);
  auto it = components_.find(domain);
  if (it != components_.end() && it->second == ref) components_.erase(it);
}

core::Worker& S2sService::homeOf(std::string_view remote_domain) {
  auto& workers = server_.workers();
  return *workers[std::hash<std::string_view>{}(remote_domain) % workers.size()];
}

RemoteDomain& S2sService::remote(core::Worker& home, const std::string& domain) {
  auto& remotes = local(home).remotes;
  auto it = remotes.find(domain);
  if (it == remotes.end()) {
    it = remotes.emplace(domain, std::make_unique<RemoteDomain>(*this, home, domain)).first;
  }
  return *it->second;
}

void S2sService::onHome(std::string_view remote_domain, std::function<void(RemoteDomain&)> fn) {
  core::Worker& home = homeOf(remote_domain);
  auto run = [this, &home, domain = std::string(remote_domain), fn = std::move(fn)] {
    fn(remote(home, domain));
  };
  if (home.loop().isLoopThread()) {
    run();
  } else {
    home.loop().post(std::move(run));
  }
}

void S2sService::send(xmpp::StanzaPtr stanza, std::string_view from_domain,
                      std::string_view to_domain) {
  if (isComponent(to_domain)) return sendToComponent(std::move(stanza), std::string(to_domain));
  if (!isLocalDomain(from_domain)) {
    // Only our own domains send to other servers; we are nobody's relay (RFC 6120 §13.2).
    log::warn("s2s: not relaying a stanza from ", from_domain, " to ", to_domain);
    return bounce(server_.router(), stanza,
                  StanzaError::of(StanzaError::Condition::RemoteServerNotFound));
  }
  onHome(to_domain, [from = std::string(from_domain), stanza = std::move(stanza)](
                        RemoteDomain& remote) mutable { remote.send(from, std::move(stanza)); });
}

void S2sService::sendToComponent(xmpp::StanzaPtr stanza, const std::string& to_domain) {
  std::optional<core::SessionRef> ref;
  {
    std::lock_guard lock(components_mutex_);
    if (auto it = components_.find(to_domain); it != components_.end()) ref = it->second;
  }
  auto unavailable = [this](const xmpp::StanzaPtr& undelivered) {
    bounce(server_.router(), undelivered,
           StanzaError::of(StanzaError::Condition::ServiceUnavailable));
  };
  if (!ref) return unavailable(stanza);
  core::Worker& worker = server_.worker(ref->worker);
  auto deliver = [&worker, ref = *ref, stanza = std::move(stanza), unavailable] {
    auto* session = worker.find(ref);
    if (session == nullptr || !session->deliver(stanza)) unavailable(stanza);
  };
  if (worker.loop().isLoopThread()) {
    deliver();
  } else {
    worker.loop().post(std::move(deliver));
  }
}

}  // namespace parley::s2s
