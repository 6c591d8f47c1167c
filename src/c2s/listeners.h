// The c2s listeners: STARTTLS and direct TLS (XEP-0368) ports on every worker.
#pragma once

#include <memory>
#include <vector>

#include "c2s/client_session.h"
#include "core/server.h"
#include "net/listener.h"
#include "net/tls.h"

namespace parley::c2s {

// Owns the client TLS context and one listening socket per configured address
// per worker. Created on the main thread before the workers start; destroyed
// after they stopped.
class C2sService {
 public:
  static Result<std::unique_ptr<C2sService>> start(core::Server& server);
  ~C2sService();

 private:
  explicit C2sService(core::Server& server) : shared_{server, nullptr} {}
  Result<void> listen(const core::ListenAddress& address, bool direct_tls);

  std::unique_ptr<net::TlsServerContext> tls_;
  C2sShared shared_;
  std::vector<std::unique_ptr<net::Listener>> listeners_;
};

}  // namespace parley::c2s
