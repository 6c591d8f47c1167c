// The listening sockets of a service (c2s, s2s, components): one SO_REUSEPORT socket per
// worker per address, closed again on their own workers.
#pragma once

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/worker.h"
#include "net/listener.h"

namespace parley::core {

class Server;

// Built on the main thread before the workers start; close() while they run (or before they
// started). Each socket is touched only by its own worker once that runs.
class ListenerSet {
 public:
  // Runs on the accepting worker's thread for each new connection.
  using Accept = std::function<void(Worker& worker, net::Fd fd, const net::SocketAddress& peer)>;

  ListenerSet() = default;
  ~ListenerSet() { close(); }
  ListenerSet(const ListenerSet&) = delete;
  ListenerSet& operator=(const ListenerSet&) = delete;

  // Opens `address` on every worker of `server`; with port 0 the first socket picks the port
  // and the others share it. `service` ("c2s", "s2s") and `note` (" (direct TLS)") are for the
  // log line and errors.
  Result<void> listen(Server& server, const ListenAddress& address, std::string_view service,
                      std::string_view note, const Accept& accept);
  // Stops accepting: closes every socket on its own worker thread and waits for that.
  void close();

 private:
  struct Entry {
    Worker* worker;
    std::unique_ptr<net::Listener> listener;
  };
  std::vector<Entry> listeners_;
};

}  // namespace parley::core
