// The c2s listeners: STARTTLS and direct TLS (XEP-0368) ports on every worker.
#pragma once

#include <memory>
#include <vector>

#include "c2s/client_session.h"
#include "core/listener_set.h"
#include "core/server.h"
#include "net/tls.h"

namespace parley::c2s {

// Owns the client TLS context and one listening socket per configured address
// per worker. Created on the main thread before the workers start; destroyed
// after they stopped.
class C2sService {
 public:
  static Result<std::unique_ptr<C2sService>> start(core::Server& server);
  ~C2sService();

  // Stops accepting: closes every listening socket on its own worker thread and
  // waits for that. Call while the workers still run, before Server::shutdown().
  void stopListening() { listeners_.close(); }

  // For the other transports' sessions (WebSocket, BOSH): the same TLS context and limits.
  C2sShared& shared() { return shared_; }

 private:
  explicit C2sService(core::Server& server)
      : shared_{server, nullptr,
                IpLimits(server.config().c2s.connections_per_ip,
                         server.config().c2s.failed_logins_per_ip)} {}
  std::unique_ptr<net::TlsServerContext> tls_;
  C2sShared shared_;
  core::ListenerSet listeners_;
};

}  // namespace parley::c2s
