// Server assembly, start and orderly shutdown.
#include "core/server.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "core/accounts.h"
#include "util/log.h"

namespace parley::core {

Server::Server(Config config) : config_(std::move(config)) {}

Server::~Server() {
  for (auto& worker : workers_) worker->stop();
  for (auto& worker : workers_) worker->join();
}

Result<std::unique_ptr<Server>, ConfigError> Server::create(Config config) {
  std::unique_ptr<Server> server(new Server(std::move(config)));
  auto storage = storage::Storage::open(server->config_.data_dir);
  if (!storage) {
    return Unexpected(ConfigError{{server->config_.file.string(), 0, 0},
                                  "cannot open storage in " + server->config_.data_dir.string() +
                                      ": " + storage.error().message});
  }
  server->storage_ = std::move(*storage);
  server->router_ = std::make_unique<Router>(*server);
  for (const auto& host_config : server->config_.hosts) {
    auto host = std::make_unique<Host>(host_config, server.get());
    if (auto loaded = host->loadModules(server->config_.file.string()); !loaded) {
      return Unexpected(std::move(loaded).error());
    }
    log::info("host ", host_config.domain, " loaded");
    server->hosts_.emplace(host_config.domain, std::move(host));
  }
  unsigned threads = server->config_.resolvedThreads();
  for (unsigned i = 0; i < threads; ++i) {
    server->workers_.push_back(std::make_unique<Worker>(i));
  }
  return server;
}

Host* Server::host(std::string_view domain) {
  auto it = hosts_.find(domain);
  return it == hosts_.end() ? nullptr : it->second.get();
}

std::vector<Host*> Server::hosts() {
  std::vector<Host*> list;
  for (const auto& host_config : config_.hosts) list.push_back(host(host_config.domain));
  return list;
}

void Server::createUser(Host& host, std::string user, std::string_view password, AccountDone done) {
  auto back = postBack();
  auto record = makeAccountRecord(password);
  storage_->accounts().create(
      host.domain(), user, std::move(record),
      [back, &host, user, done = std::move(done)](Result<void, storage::AccountError> result) {
        back([&host, user, done, result = std::move(result)]() mutable {
          if (result) {
            UserEvent event{host, user};
            host.events().fire(events::userCreated(), event);
            log::info("account ", user, "@", host.domain(), " created");
          }
          done(std::move(result));
        });
      });
}

void Server::setPassword(Host& host, std::string user, std::string_view password,
                         AccountDone done) {
  auto back = postBack();
  storage_->accounts().update(
      host.domain(), user, makeAccountRecord(password),
      [back, done = std::move(done)](Result<void, storage::AccountError> result) {
        back([done, result = std::move(result)]() mutable { done(std::move(result)); });
      });
}

void Server::deleteUser(Host& host, std::string user, AccountDone done) {
  auto back = postBack();
  if (host.userExists(user)) {
    UserEvent deleting{host, user};
    host.events().fire(events::userDeleting(), deleting);
  }
  storage_->removeUser(host.domain(), user,
                       [this, back, &host, user,
                        done = std::move(done)](Result<void, storage::AccountError> result) {
                         back([this, &host, user, done, result = std::move(result)]() mutable {
                           if (result) {
                             UserEvent event{host, user};
                             host.events().fire(events::userDeleted(), event);
                             if (auto bare = xmpp::BareJid::fromParts(user, host.domain())) {
                               closeSessions(*bare, xmpp::StreamErrorCondition::NotAuthorized,
                                             "The account was deleted");
                             }
                             log::info("account ", user, "@", host.domain(), " deleted");
                           }
                           done(std::move(result));
                         });
                       });
}

void Server::closeSessions(const xmpp::BareJid& jid, xmpp::StreamErrorCondition condition,
                           std::string_view text) {
  for (const auto& resource : registry_.routes(jid)) {
    auto& worker = *workers_.at(resource.session.worker);
    auto ref = resource.session;
    auto close = [&worker, ref, condition, text = std::string(text)] {
      if (auto* session = worker.find(ref)) session->closeWithStreamError(condition, text);
    };
    if (worker.loop().isLoopThread()) {
      close();
    } else {
      worker.loop().post(std::move(close));
    }
  }
}

void Server::whenRunning(std::function<void()> fn) {
  if (running_) {
    workers_.at(0)->loop().post(std::move(fn));
  } else {
    when_running_.push_back(std::move(fn));
  }
}

void Server::start() {
  for (auto& worker : workers_) worker->start();
  running_ = true;
  for (auto& fn : when_running_) workers_.at(0)->loop().post(std::move(fn));
  when_running_.clear();
  log::info("parleyd started with ", workers_.size(), " worker threads");
}

void Server::shutdown() {
  log::info("shutting down: closing all streams");
  for (auto& worker : workers_) {
    Worker* w = worker.get();
    w->loop().post([w] {
      w->forEachSession([](Session& session) {
        session.closeWithStreamError(xmpp::StreamErrorCondition::SystemShutdown);
      });
    });
  }
  // Give the closing streams a bounded time to flush their last bytes.
  struct Census {
    std::atomic<size_t> live{0};
    std::atomic<size_t> answered{0};
  };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (std::chrono::steady_clock::now() < deadline) {
    auto census = std::make_shared<Census>();
    for (auto& worker : workers_) {
      Worker* w = worker.get();
      w->loop().post([w, census] {
        census->live += w->sessionCount();
        ++census->answered;
      });
    }
    while (census->answered < workers_.size() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (census->answered == workers_.size() && census->live == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& worker : workers_) worker->stop();
  for (auto& worker : workers_) worker->join();
  storage_.reset();  // drains the writer queue and syncs
  log::info("parleyd stopped");
}

}  // namespace parley::core
