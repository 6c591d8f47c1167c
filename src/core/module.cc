// Module registry, module contexts and per-host module loading.
#include "core/module.h"

#include <algorithm>
#include <map>
#include <mutex>

#include "core/server.h"
#include "storage/memory_user_store.h"

namespace parley::core {
namespace {

std::map<std::string, ModuleFactory, std::less<>>& registry() {
  static std::map<std::string, ModuleFactory, std::less<>> modules;
  return modules;
}

// Re-arms itself after each run until the task is cancelled.
void schedule(net::Loop& loop, const std::shared_ptr<PeriodicTask>& task);

}  // namespace

// A ModuleContext::every() timer. The mutex is held while fn runs, so once the context has
// cleared fn (unload, main thread) it never runs again.
struct PeriodicTask {
  std::chrono::milliseconds interval;
  std::mutex mutex;
  std::function<void()> fn;  // guarded by mutex; empty once cancelled
};

namespace {

void schedule(net::Loop& loop, const std::shared_ptr<PeriodicTask>& task) {
  loop.addTimer(task->interval, [&loop, task] {
    {
      std::lock_guard lock(task->mutex);
      if (!task->fn) return;
      task->fn();
    }
    schedule(loop, task);
  });
}

template <class T>
void eraseOne(std::vector<T>& list, const T& value) {
  auto it = std::find(list.begin(), list.end(), value);
  if (it != list.end()) list.erase(it);
}

}  // namespace

void registerModule(std::string_view name, ModuleFactory factory) {
  registry().emplace(std::string(name), factory);
}

ModuleFactory findModule(std::string_view name) {
  auto it = registry().find(name);
  return it == registry().end() ? nullptr : it->second;
}

std::vector<std::string> registeredModules() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : registry()) names.push_back(name);
  return names;
}

const std::vector<std::string>& defaultModules() {
  static const std::vector<std::string> modules = {
      "disco", "ping",         "version", "time",  "register", "roster", "presence", "blocking",
      "adhoc", "contact_info", "offline", "vcard", "private",  "last",   "caps",     "http_upload"};
  return modules;
}

ModuleContext::ModuleContext(Host& host, std::string module_name, std::string config_file)
    : host_(host), name_(std::move(module_name)), config_file_(std::move(config_file)) {}

ModuleContext::~ModuleContext() {
  host_.events_.unhookAll(this);
  for (const auto& task : periodic_tasks_) {
    std::lock_guard lock(task->mutex);
    task->fn = nullptr;
  }
  if (host_.hasServer()) host_.server().httpRoutes().removeAll(this);
  for (const auto& feature : features_) eraseOne(host_.features_, feature);
  for (const auto& feature : account_features_) eraseOne(host_.account_features_, feature);
  for (const auto& identity : identities_) eraseOne(host_.identities_, identity);
  for (const auto& [phase, xml] : stream_features_) {
    eraseOne(
        phase == StreamPhase::Unauthenticated ? host_.pre_auth_features_ : host_.bound_features_,
        xml);
  }
}

Result<void> ModuleContext::addHttpRoute(HttpRoute route) {
  if (!host_.hasServer()) return {};  // parleyd --check: nothing is served
  route.owner = this;
  std::string prefix = route.prefix;
  if (!host_.server().httpRoutes().add(std::move(route)))
    return Unexpected(Error{"HTTP path " + prefix + " is already served by another module"});
  return {};
}

void ModuleContext::every(std::chrono::milliseconds interval, std::function<void()> fn) {
  if (!host_.hasServer()) return;
  auto task = std::make_shared<PeriodicTask>();
  task->interval = interval;
  task->fn = std::move(fn);
  periodic_tasks_.push_back(task);
  Server& server = host_.server();
  server.whenRunning([&server, task] { schedule(server.worker(0).loop(), task); });
}

void ModuleContext::addFeature(std::string_view feature) {
  features_.emplace_back(feature);
  host_.features_.emplace_back(feature);
}

void ModuleContext::addAccountFeature(std::string_view feature) {
  account_features_.emplace_back(feature);
  host_.account_features_.emplace_back(feature);
}

storage::UserStore& ModuleContext::openStore(std::string_view name) { return host_.store(name); }

void ModuleContext::addStreamFeature(StreamPhase phase, std::string xml) {
  auto& list =
      phase == StreamPhase::Unauthenticated ? host_.pre_auth_features_ : host_.bound_features_;
  stream_features_.push_back({phase, xml});
  list.push_back(std::move(xml));
}

void ModuleContext::addIdentity(std::string_view category, std::string_view type,
                                std::string_view name) {
  Identity identity{std::string(category), std::string(type), std::string(name)};
  identities_.push_back(identity);
  host_.identities_.push_back(std::move(identity));
}

Result<void, ConfigError> ModuleContext::knownOptions(
    std::initializer_list<std::string_view> keys) {
  const auto* table = host_.config().module_options(name_);
  if (!table) return {};
  return rejectUnknownKeys(*table, keys, config_file_, optionPath());
}

std::string ModuleContext::optionPath() const { return host_.config().moduleOptionsPath(name_); }

struct Host::Loaded {
  std::unique_ptr<Module> module;
  std::unique_ptr<ModuleContext> context;
};

Host::Host(const HostConfig& config, Server* server) : config_(config), server_(server) {}

Server& Host::server() const {
  PARLEY_CHECK(server_ != nullptr);
  return *server_;
}

storage::UserStore& Host::store(std::string_view name) {
  if (server_ && !isAnonymous()) return server_->storage().userStore(name);
  std::lock_guard lock(stores_mutex_);
  auto it = memory_stores_.find(name);
  if (it == memory_stores_.end()) {
    it = memory_stores_.emplace(std::string(name), storage::makeMemoryUserStore()).first;
  }
  return *it->second;
}

void Host::forgetUser(std::string_view user) {
  std::lock_guard lock(stores_mutex_);
  for (auto& [name, store] : memory_stores_) store->removeAll(domain(), user, [](Result<void>) {});
}

bool Host::userExists(std::string_view user) const {
  if (!server_) return false;
  if (isAnonymous()) {
    auto bare = xmpp::BareJid::fromParts(user, domain());
    return bare && server_->registry().hasResources(*bare);
  }
  return server_->storage().accounts().exists(domain(), user);
}

Host::~Host() {
  // Unload in reverse order: contexts withdraw what they registered.
  while (!modules_.empty()) modules_.pop_back();
}

Result<void, ConfigError> Host::loadModules(const std::string& config_file) {
  const auto& names = config_.modules_given ? config_.modules : defaultModules();
  for (const auto& name : names) {
    auto factory = findModule(name);
    if (!factory) {
      return Unexpected(ConfigError{config_.pos, "unknown module '" + name + "'"});
    }
    auto loaded = std::make_unique<Loaded>();
    loaded->module = factory();
    loaded->context = std::make_unique<ModuleContext>(*this, name, config_file);
    if (auto result = loaded->module->load(*loaded->context); !result) {
      return Unexpected(ConfigError{
          config_.pos, "module '" + name + "' on " + domain() + ": " + result.error().message});
    }
    modules_.push_back(std::move(loaded));
  }
  for (auto& loaded : modules_) {
    if (auto result = loaded->module->allLoaded(*loaded->context); !result) {
      return Unexpected(ConfigError{config_.pos, "module '" + loaded->context->moduleName() +
                                                     "' on " + domain() + ": " +
                                                     result.error().message});
    }
  }
  // Options for a module this host does not load are a mistake (a typo, or a
  // module left out of `modules`): say so rather than ignore them.
  for (const auto& table : config_.option_tables) {
    if (!hasModule(table.module)) {
      return Unexpected(ConfigError{table.pos, "options for module '" + table.module +
                                                   "', which is not loaded on " + domain()});
    }
  }
  return {};
}

bool Host::hasModule(std::string_view name) const {
  return std::any_of(modules_.begin(), modules_.end(),
                     [&](const auto& loaded) { return loaded->context->moduleName() == name; });
}

}  // namespace parley::core
