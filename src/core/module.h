// The module API: what a feature module sees of the core (STYLE.md "The module API").
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/events.h"
#include "core/host.h"
#include "core/server.h"
#include "core/worker.h"
#include "util/log.h"
#include "util/result.h"
#include "xml/namespaces.h"
#include "xmpp/stanza.h"

namespace parley::core {

class Module;
struct PeriodicTask;

// When a stream feature is offered: before authentication, or once authenticated.
enum class StreamPhase { Unauthenticated, Authenticated };

// Everything a module registers goes through its context, which records it so
// unloading undoes all of it. Used on the main thread during load().
class ModuleContext {
 public:
  ModuleContext(Host& host, std::string module_name, std::string config_file);
  ~ModuleContext();  // unhooks and withdraws features and identities
  ModuleContext(const ModuleContext&) = delete;
  ModuleContext& operator=(const ModuleContext&) = delete;

  Host& host() { return host_; }
  const std::string& domain() const { return host_.domain(); }
  const std::string& moduleName() const { return name_; }

  // Hooks a handler. Handlers run on any worker thread, concurrently: module
  // state touched by a handler is immutable after load() or synchronized.
  template <class Payload>
  void hook(const EventKey<Payload>& key, std::function<Handled(Payload&)> fn,
            int prio = priority::kDefault) {
    host_.events().hook(key, std::move(fn), prio, this);
  }
  template <class Payload>
  void hook(const EventKey<Payload>& key, Handled (*fn)(Payload&), int prio = priority::kDefault) {
    hook(key, std::function<Handled(Payload&)>(fn), prio);
  }

  // disco#info of the server (XEP-0030), and of every account on it.
  void addFeature(std::string_view feature);
  void addAccountFeature(std::string_view feature);
  void addIdentity(std::string_view category, std::string_view type, std::string_view name = {});

  // Offers a stream feature (RFC 6120 §4.3.2), given as XML, e.g.
  // "<register xmlns='http://jabber.org/features/iq-register'/>".
  void addStreamFeature(StreamPhase phase, std::string xml);

  // Serves HTTP requests under `route.prefix` on the [http] listeners (removed at unload).
  // Fails if another module has that prefix. The handler runs on any worker thread.
  Result<void> addHttpRoute(HttpRoute route);

  // Runs `fn` every `interval` on one worker's loop thread, from when the workers run until
  // the module unloads; never again once unloading returned. For housekeeping (expiring old
  // data): bounded work per call, as for any loop callback. Nothing runs under --check.
  void every(std::chrono::milliseconds interval, std::function<void()> fn);

  // A per-user store (storage/user_store.h), opened at load. Its `done` callbacks
  // run on the storage writer thread: use core::postBack() to continue on the loop.
  storage::UserStore& openStore(std::string_view name);

  // This module's options from [hosts."domain".<module>]. Errors carry FILE:LINE:COL.
  template <class T>
  Result<T, ConfigError> option(std::string_view key, T default_value,
                                const Bounds<T>& bounds = {}) {
    return readOption<T>(host_.config().module_options(name_), key, std::move(default_value),
                         bounds, optionPath());
  }
  // Declares which option keys exist; any other key in the module's table is an error.
  Result<void, ConfigError> knownOptions(std::initializer_list<std::string_view> keys);

  // Module log lines carry the module and host: "mod_ping localhost: ...".
  template <class... Parts>
  void log(log::Level level, const Parts&... parts) {
    if (log::enabled(level)) log::detail::emit(level, "mod_", name_, " ", domain(), ": ", parts...);
  }

 private:
  std::string optionPath() const;  // "hosts.localhost.version", for error messages

  Host& host_;
  std::string name_;
  std::string config_file_;
  std::vector<std::string> features_;
  std::vector<std::string> account_features_;
  std::vector<Identity> identities_;
  std::vector<std::pair<StreamPhase, std::string>> stream_features_;
  std::vector<std::shared_ptr<PeriodicTask>> periodic_tasks_;
};

enum class Scope { Host, Global };

// A feature module. The constructor does nothing that can fail; load() reads
// options and hooks events; an error from load() undoes what it registered.
class Module {
 public:
  virtual ~Module() = default;
  virtual Result<void> load(ModuleContext& ctx) = 0;
  // Called once every module of the host has loaded, for what depends on the
  // others (XEP-0115 hashes every feature the host advertises).
  virtual Result<void> allLoaded(ModuleContext& /*ctx*/) { return {}; }
};

// The registry of compiled-in modules, filled by PARLEY_MODULE at static init.
using ModuleFactory = std::unique_ptr<Module> (*)();
void registerModule(std::string_view name, ModuleFactory factory);
ModuleFactory findModule(std::string_view name);
std::vector<std::string> registeredModules();
// The modules a host loads when its config lists none: everything a standard IM server enables.
const std::vector<std::string>& defaultModules();

}  // namespace parley::core

#define PARLEY_MODULE(name, Type)                                                          \
  namespace {                                                                              \
  const bool parley_module_registered_##Type = [] {                                        \
    ::parley::core::registerModule(name, []() -> std::unique_ptr<::parley::core::Module> { \
      return std::make_unique<Type>();                                                     \
    });                                                                                    \
    return true;                                                                           \
  }();                                                                                     \
  }
