// The server: config, storage, hosts, workers, registry and router, wired together.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/host.h"
#include "core/http_route.h"
#include "core/registry.h"
#include "core/remote_route.h"
#include "core/router.h"
#include "core/worker.h"
#include "storage/store.h"

namespace parley::core {

// Built and started on the main thread; after start() its parts are used from
// the workers (hosts read-only, registry and storage thread-safe).
class Server {
 public:
  static Result<std::unique_ptr<Server>, ConfigError> create(Config config);
  ~Server();

  const Config& config() const { return config_; }
  storage::Storage& storage() { return *storage_; }
  SessionRegistry& registry() { return registry_; }
  Router& router() { return *router_; }
  std::vector<std::unique_ptr<Worker>>& workers() { return workers_; }
  Worker& worker(uint32_t index) { return *workers_.at(index); }

  // Components and s2s: where stanzas for other domains go. Set before start(), then only
  // read; null = no federation (such stanzas bounce with remote-server-not-found).
  void setRemoteRoute(RemoteRoute* route) { remote_route_ = route; }
  RemoteRoute* remoteRoute() const { return remote_route_; }

  // What modules serve over HTTP (src/http dispatches on it); any thread.
  HttpRoutes& httpRoutes() { return http_routes_; }

  // The local host serving this domain, or nullptr.
  Host* host(std::string_view domain);
  std::vector<Host*> hosts();

  // Account life, for modules (in-band registration, admin commands). `done` runs
  // on the calling worker's loop once the change is durable. Creating fires
  // user-created; deleting removes the account and every stored trace of the user,
  // fires user-deleted and ends the user's sessions with <not-authorized/>.
  using AccountDone = std::function<void(Result<void, storage::AccountError>)>;
  void createUser(Host& host, std::string user, std::string_view password, AccountDone done);
  void setPassword(Host& host, std::string user, std::string_view password, AccountDone done);
  void deleteUser(Host& host, std::string user, AccountDone done);
  // Ends every session of a bare JID with a stream error (any thread).
  void closeSessions(const xmpp::BareJid& jid, xmpp::StreamErrorCondition condition,
                     std::string_view text);

  // Runs `fn` on worker 0's loop thread once the workers run: queued until start(), posted
  // at once after it. Main thread (module load: ModuleContext::every).
  void whenRunning(std::function<void()> fn);

  void start();  // starts the worker threads
  // Ends every session with a system-shutdown stream error, waits for them to
  // close (bounded), stops the workers and flushes storage. Main thread.
  void shutdown();

 private:
  explicit Server(Config config);

  Config config_;
  std::unique_ptr<storage::Storage> storage_;
  SessionRegistry registry_;
  std::unique_ptr<Router> router_;
  HttpRoutes http_routes_;  // before hosts_: outlives the modules that registered routes
  std::map<std::string, std::unique_ptr<Host>, std::less<>> hosts_;
  std::vector<std::unique_ptr<Worker>> workers_;
  RemoteRoute* remote_route_ = nullptr;
  std::vector<std::function<void()>> when_running_;  // queued until start()
  bool running_ = false;
};

}  // namespace parley::core
