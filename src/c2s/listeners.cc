// c2s listeners and the client TLS context with one certificate per host.
#include "c2s/listeners.h"

#include <chrono>
#include <future>

#include "util/log.h"

namespace parley::c2s {

C2sService::~C2sService() { stopListening(); }

void C2sService::stopListening() {
  for (auto& entry : listeners_) {
    if (!entry.worker->hasStarted()) {
      entry.listener.reset();  // the loop has not run yet: this thread still owns it
      continue;
    }
    auto closed = std::make_shared<std::promise<void>>();
    auto listener = std::shared_ptr<net::Listener>(std::move(entry.listener));
    entry.worker->loop().post([listener = std::move(listener), closed]() mutable {
      listener.reset();
      closed->set_value();
    });
    if (closed->get_future().wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
      log::warn("c2s: a worker did not close its listener in time");
    }
  }
  listeners_.clear();
}

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
  for (const auto& address : server.config().c2s.listen) {
    if (auto ok = service->listen(address, false); !ok) return Unexpected(std::move(ok).error());
  }
  for (const auto& address : server.config().c2s.direct_tls) {
    if (auto ok = service->listen(address, true); !ok) return Unexpected(std::move(ok).error());
  }
  return service;
}

Result<void> C2sService::listen(const core::ListenAddress& address, bool direct_tls) {
  auto socket_address = net::SocketAddress::parse(address.host, address.port);
  if (!socket_address)
    return fail("c2s listen ", address.toString(), ": ", socket_address.error().message);
  // One SO_REUSEPORT socket per worker. With port 0 the first one picks the port.
  for (auto& worker : shared_.server.workers()) {
    core::Worker* w = worker.get();
    auto listener =
        net::Listener::open(w->loop(), *socket_address,
                            [this, w, direct_tls](net::Fd fd, const net::SocketAddress& peer) {
                              acceptClient(shared_, *w, std::move(fd), peer, direct_tls);
                            });
    if (!listener) return fail("c2s listen ", address.toString(), ": ", listener.error().message);
    if (socket_address->port() == 0) {
      socket_address = net::SocketAddress::parse(address.host, (*listener)->port());
    }
    listeners_.push_back({w, std::move(*listener)});
  }
  log::info("c2s listening on ", socket_address->toString(), direct_tls ? " (direct TLS)" : "");
  return {};
}

}  // namespace parley::c2s
