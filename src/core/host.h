// A virtual host: its domain, config, loaded modules, events and disco data.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/events.h"

namespace parley::core {

class Module;
class ModuleContext;

struct Identity {
  std::string category;
  std::string type;
  std::string name;
  bool operator==(const Identity&) const = default;
};

// Built on the main thread at start; read-only once the workers run.
class Host {
 public:
  explicit Host(const HostConfig& config);
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  const std::string& domain() const { return config_.domain; }
  const HostConfig& config() const { return config_; }
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
  EventBus events_;
  std::vector<std::string> features_;
  std::vector<std::string> account_features_;
  std::vector<Identity> identities_;
  std::vector<std::unique_ptr<Loaded>> modules_;
};

}  // namespace parley::core
