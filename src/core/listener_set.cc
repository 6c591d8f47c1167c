// Listener sets: open on every worker, close on each worker's own thread.
#include "core/listener_set.h"

#include <chrono>
#include <future>

#include "core/server.h"
#include "util/log.h"

namespace parley::core {

Result<void> ListenerSet::listen(Server& server, const ListenAddress& address,
                                 std::string_view service, std::string_view note,
                                 const Accept& accept) {
  auto socket_address = net::SocketAddress::parse(address.host, address.port);
  if (!socket_address) {
    return fail(service, " listen ", address.toString(), ": ", socket_address.error().message);
  }
  for (auto& worker : server.workers()) {
    Worker* w = worker.get();
    auto listener = net::Listener::open(w->loop(), *socket_address,
                                        [w, accept](net::Fd fd, const net::SocketAddress& peer) {
                                          accept(*w, std::move(fd), peer);
                                        });
    if (!listener) {
      return fail(service, " listen ", address.toString(), ": ", listener.error().message);
    }
    if (socket_address->port() == 0) {
      socket_address = net::SocketAddress::parse(address.host, (*listener)->port());
    }
    listeners_.push_back({w, std::move(*listener)});
  }
  log::info(service, " listening on ", socket_address->toString(), note);
  return {};
}

void ListenerSet::close() {
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
      log::warn("a worker did not close its listener in time");
    }
  }
  listeners_.clear();
}

}  // namespace parley::core
