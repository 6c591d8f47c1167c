// c2s listeners and the client TLS context with one certificate per host.
#include "c2s/listeners.h"

#include "util/log.h"

namespace parley::c2s {

C2sService::~C2sService() { stopListening(); }

Result<std::unique_ptr<C2sService>> C2sService::start(core::Server& server) {
  std::unique_ptr<C2sService> service(new C2sService(server));
  // XEP-0368: ALPN "xmpp-client" on direct TLS; clients without ALPN are accepted too.
  auto tls = net::TlsServerContext::create({"xmpp-client"});
  if (!tls) return Unexpected(std::move(tls).error());
  service->tls_ = std::move(*tls);
  for (const auto& host : server.config().hosts) {
    if (auto added = service->tls_->addCertificate(host.domain, host.cert, host.key); !added) {
      return fail("host ", host.domain, ": ", added.error().message,
                  " (create one with: parleyctl --config ", server.config().file.string(), " cert ",
                  host.domain, ")");
    }
  }
  service->shared_.tls_ctx = service->tls_->defaultCtx();
  C2sShared* shared = &service->shared_;
  for (bool direct_tls : {false, true}) {
    const auto& addresses =
        direct_tls ? server.config().c2s.direct_tls : server.config().c2s.listen;
    for (const auto& address : addresses) {
      auto ok = service->listeners_.listen(
          server, address, "c2s", direct_tls ? " (direct TLS)" : "",
          [shared, direct_tls](core::Worker& worker, net::Fd fd, const net::SocketAddress& peer) {
            acceptClient(*shared, worker, std::move(fd), peer, direct_tls);
          });
      if (!ok) return Unexpected(std::move(ok).error());
    }
  }
  return service;
}

}  // namespace parley::c2s
