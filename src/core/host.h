// A virtual host: its domain, config, loaded modules, events and disco data.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/events.h"
#include "storage/user_store.h"

namespace parley::core {

class Module;
class ModuleContext;
class Server;

struct Identity {
  std::string category;
  std::string type;
  std::string name;
  bool operator==(const Identity&) const = default;
};

// Built on the main thread at start; read-only once the workers run.
class Host {
 public:
  // `server` is null when only checking the configuration (parleyd --check).
  Host(const HostConfig& config, Server* server);
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  const std::string& domain() const { return config_.domain; }
  const HostConfig& config() const { return config_; }
  bool isAnonymous() const { return config_.anonymous; }
  // The server, for use while handling events (never null then; null only under --check).
  Server& server() const;
  bool hasServer() const { return server_ != nullptr; }

  // A per-user store by name: LMDB normally; in memory on anonymous hosts and under
  // --check, so nothing an anonymous user keeps outlives the process.
  storage::UserStore& store(std::string_view name);
  // Drops everything an anonymous user kept in the in-memory stores.
  void forgetUser(std::string_view user);
  // Whether an account exists: in storage, or (anonymous host) as a live session.
  bool userExists(std::string_view user) const;
  // Extra stream features a module offers (e.g. XEP-0077's <register/>), as XML.
  const std::vector<std::string>& preAuthFeatures() const { return pre_auth_features_; }
  const std::vector<std::string>& boundFeatures() const { return bound_features_; }
  EventBus& events() { return events_; }
  const EventBus& events() const { return events_; }

  // Loads the configured (or default) modules; on error nothing of the failing module stays.
  Result<void, ConfigError> loadModules(const std::string& config_file);
  bool hasModule(std::string_view name) const;

  // disco#info data, fed by ModuleContext (server features and account features).
  const std::vector<std::string>& features() const { return features_; }
  const std::vector<std::string>& accountFeatures() const { return account_features_; }
  const std::vector<Identity>& identities() const { return identities_; }

 private:
  friend class ModuleContext;
  struct Loaded;

  const HostConfig& config_;
  Server* server_;
  EventBus events_;
  std::mutex stores_mutex_;
  std::map<std::string, std::unique_ptr<storage::UserStore>, std::less<>> memory_stores_;
  std::vector<std::string> pre_auth_features_;
  std::vector<std::string> bound_features_;
  std::vector<std::string> features_;
  std::vector<std::string> account_features_;
  std::vector<Identity> identities_;
  std::vector<std::unique_ptr<Loaded>> modules_;
};

}  // namespace parley::core
