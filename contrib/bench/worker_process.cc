// The worker process of the load generator: logins, sign-ups, idle sessions and chat traffic.
#include "worker_process.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bench_client.h"
#include "histogram.h"
#include "net/tls.h"

namespace parley::bench {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

uint64_t microsNow() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch())
          .count());
}

class WorkerProcess {
 public:
  WorkerProcess(const Options& options, size_t index, size_t lo, size_t hi, int commands,
                int results)
      : options_(options),
        index_(index),
        lo_(lo),
        hi_(hi),
        commands_(commands),
        results_(results),
        random_(static_cast<uint32_t>(index * 7919 + 17)) {}

  int run() {
    auto tls = net::TlsClientContext::create({});
    if (!tls) {
      std::fprintf(stderr, "loadgen: TLS: %s\n", tls.error().message.c_str());
      return 1;
    }
    tls_ = std::move(*tls);
    if (!options_.cache_path.empty()) cache_.load(options_.cache_path);
    settings_.server = options_.server;
    settings_.domain = options_.domain;
    settings_.tls = tls_->ctx();
    if (!options_.openssl_client) settings_.server_keys = &server_keys_;
    settings_.cache = &cache_;
    events_.online = [this](BenchClient& client) { onOnline(client); };
    events_.registered = [this](BenchClient&) { ++done_ok_; };
    events_.failed = [this](BenchClient& client, const std::string& why) { onFailed(client, why); };
    events_.closed = [this](BenchClient& client) { onClosed(client); };
    events_.message = [this](BenchClient&, const xml::Element& message) { onMessage(message); };
    local_seq_.assign(hi_ - lo_, 0);
    loop_.add(commands_, EPOLLIN, [this](uint32_t) { readCommands(); });
    if (options_.scenario == Scenario::Idle || options_.scenario == Scenario::Chat) {
      phase_ = Phase::LoggingIn;
      next_user_ = lo_;
      launch();
    } else {
      say("READY online=0 failed=0");
    }
    loop_.run();
    loop_.remove(commands_);
    clients_.clear();
    if (!options_.cache_path.empty() && cache_.derived() > 0) {
      cache_.save(options_.cache_path + ".part" + std::to_string(index_));
    }
    return 0;
  }

 private:
  enum class Phase { Waiting, LoggingIn, Online, Registering, Churning, Chatting, Stopping };

  void say(const std::string& line) {
    std::string data = line + "\n";
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(results_, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }

  void readCommands() {
    char buffer[512];
    ssize_t n = ::read(commands_, buffer, sizeof buffer);
    if (n <= 0) {
      loop_.stop();  // the parent is gone
      return;
    }
    pending_.append(buffer, static_cast<size_t>(n));
    for (auto newline = pending_.find('\n'); newline != std::string::npos;
         newline = pending_.find('\n')) {
      std::string line = pending_.substr(0, newline);
      pending_.erase(0, newline + 1);
      command(line);
    }
  }

  void command(const std::string& line) {
    std::istringstream in(line);
    std::string verb;
    in >> verb;
    if (verb == "QUIT") return loop_.stop();
    if (verb == "STOP") return stopAll();
    if (verb != "GO") return;
    uint64_t rate = 0, duration_ms = 0;
    in >> rate >> duration_ms;
    latency_ = Histogram();
    done_ok_ = failed_ = sent_ = received_ = duplicates_ = 0;
    seen_.clear();
    switch (options_.scenario) {
      case Scenario::Register:
        phase_ = Phase::Registering;
        next_user_ = lo_;
        launch();
        break;
      case Scenario::Login:
        phase_ = Phase::Churning;
        next_user_ = lo_;
        deadline_ = loop_.now() + std::chrono::milliseconds(duration_ms);
        loop_.addTimer(std::chrono::milliseconds(duration_ms), [this] { finishChurn(); });
        launch();
        break;
      case Scenario::Chat:
        startChat(rate, duration_ms);
        break;
      case Scenario::Idle:
        break;
    }
  }

  // ---- connections ----

  const net::SocketAddress* nextSource() {
    if (options_.sources.empty()) return nullptr;
    return &options_.sources[source_counter_++ % options_.sources.size()];
  }

  // Starts clients until `window` are in flight, for the phases that walk through the users.
  void launch() {
    // Never two logins of one user at once (the second would replace the first).
    size_t window = std::min(options_.window, hi_ - lo_);
    while (in_flight_ < window) {
      size_t user = next_user_;
      if (phase_ == Phase::Churning) {
        if (loop_.now() >= deadline_) return;
        // The next user whose previous session is gone (a closing one may still be bound).
        size_t tries = 0;
        while (busy_.count(next_user_) != 0 && tries++ < hi_ - lo_) {
          next_user_ = next_user_ + 1 >= hi_ ? lo_ : next_user_ + 1;
        }
        if (busy_.count(next_user_) != 0) return;
        user = next_user_;
        next_user_ = next_user_ + 1 >= hi_ ? lo_ : next_user_ + 1;
      } else if (phase_ == Phase::LoggingIn || phase_ == Phase::Registering) {
        if (next_user_ >= hi_) return;
        ++next_user_;
      } else {
        return;
      }
      auto client =
          std::make_unique<BenchClient>(loop_, settings_, events_, user, options_.userName(user),
                                        options_.password(user), nextSource());
      BenchClient* raw = client.get();
      clients_.emplace(raw, std::move(client));
      busy_.insert(user);
      ++in_flight_;
      raw->start(phase_ == Phase::Registering ? BenchClient::Goal::Register
                                              : BenchClient::Goal::Login);
    }
  }

  // A started client stops counting against the window once it is online or gone.
  bool settle(BenchClient* client) {
    if (!settled_.insert(client).second) return false;
    --in_flight_;
    return true;
  }

  void onOnline(BenchClient& client) {
    settle(&client);
    ++done_ok_;
    latency_.add(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                           client.onlineAt() - client.startedAt())
                                           .count()));
    if (phase_ == Phase::Churning) {
      client.close();
      return;
    }
    if (phase_ == Phase::LoggingIn) {
      online_.push_back(&client);
      launch();
      checkLoggedIn();
    }
  }

  void onFailed(BenchClient& client, const std::string& why) {
    bool starting = settle(&client);
    if (starting || phase_ == Phase::Chatting || phase_ == Phase::Online) {
      if (++failed_ <= 3) {
        std::fprintf(stderr, "loadgen: %s: %s\n", client.user().c_str(), why.c_str());
      }
    }
  }

  void onClosed(BenchClient& client) {
    BenchClient* raw = &client;
    settle(raw);
    busy_.erase(client.index());
    std::erase(online_, raw);
    // Freed at the end of the turn: we are inside its callback.
    loop_.atEndOfTurn([this, raw] {
      clients_.erase(raw);
      settled_.erase(raw);
      if (phase_ == Phase::Stopping && clients_.empty()) report();
    });
    if (phase_ == Phase::Churning || phase_ == Phase::Registering) {
      launch();
      bool churn_over = phase_ == Phase::Churning && loop_.now() >= deadline_;
      bool signed_up = phase_ == Phase::Registering && next_user_ >= hi_;
      if ((churn_over || signed_up) && in_flight_ == 0) report();
    }
    if (phase_ == Phase::LoggingIn) {
      launch();
      checkLoggedIn();
    }
  }

  void checkLoggedIn() {
    if (phase_ != Phase::LoggingIn || next_user_ < hi_ || in_flight_ != 0) return;
    phase_ = Phase::Online;
    say("READY online=" + std::to_string(online_.size()) + " failed=" + std::to_string(failed_));
  }

  void finishChurn() {
    if (phase_ == Phase::Churning && in_flight_ == 0) report();
  }

  void stopAll() {
    phase_ = Phase::Stopping;
    if (clients_.empty()) return report();
    for (auto& [raw, client] : clients_) client->close();
    loop_.addTimer(5s, [this] {
      if (phase_ == Phase::Stopping) report();
    });
  }

  void report() {
    Phase was = phase_;
    phase_ = Phase::Waiting;
    if (was == Phase::Chatting || was == Phase::Online) phase_ = Phase::Online;
    std::string histogram = latency_.serialize();
    for (char& c : histogram) {
      if (c == ' ') c = ',';
    }
    say("RESULT logins=" + std::to_string(done_ok_) + " failed=" + std::to_string(failed_) +
        " sent=" + std::to_string(sent_) + " received=" + std::to_string(received_) +
        " duplicates=" + std::to_string(duplicates_) + " histogram=" + histogram);
  }

  // ---- chat ----

  void startChat(uint64_t rate, uint64_t duration_ms) {
    phase_ = Phase::Chatting;
    ++step_;
    share_ = static_cast<double>(rate) * static_cast<double>(hi_ - lo_) /
             static_cast<double>(options_.users);
    chat_started_ = loop_.now();
    chat_end_ = chat_started_ + std::chrono::milliseconds(duration_ms);
    last_received_ = loop_.now();
    tick();
  }

  void tick() {
    auto now = loop_.now();
    if (now < chat_end_ && !online_.empty()) {
      double elapsed = std::chrono::duration<double>(now - chat_started_).count();
      auto due = static_cast<uint64_t>(elapsed * share_);
      while (sent_ < due) sendOne();
      loop_.addTimer(2ms, [this] { tick(); });
      return;
    }
    // Sending is over: wait for the last deliveries (1 s of quiet, at most 10 s).
    drain();
  }

  void drain() {
    auto now = loop_.now();
    if (now - last_received_ < 1s && now - chat_end_ < 10s) {
      loop_.addTimer(100ms, [this] { drain(); });
      return;
    }
    report();
  }

  void sendOne() {
    BenchClient* sender = online_[random_() % online_.size()];
    size_t to = options_.first + random_() % options_.users;
    if (to == sender->index()) to = options_.first + (to - options_.first + 1) % options_.users;
    uint32_t seq = ++local_seq_[sender->index() - lo_];
    std::string xml = "<message type='chat' to='" + options_.userName(to) + "@" + options_.domain +
                      "'><body>b " + std::to_string(step_) + " " + std::to_string(sender->index()) +
                      " " + std::to_string(seq) + " " + std::to_string(microsNow()) +
                      "</body></message>";
    sender->send(xml);
    ++sent_;
  }

  void onMessage(const xml::Element& message) {
    if (message.attr("type") == "error") return;
    std::string body = message.childText("body");
    unsigned long long step = 0, sender = 0, seq = 0, sent_at = 0;
    if (std::sscanf(body.c_str(), "b %llu %llu %llu %llu", &step, &sender, &seq, &sent_at) != 4) {
      return;
    }
    last_received_ = loop_.now();
    if (step != step_) return;  // a straggler of an earlier step
    ++received_;
    if (!seen_.insert((sender << 32) | seq).second) ++duplicates_;
    uint64_t now = microsNow();
    latency_.add(now > sent_at ? now - sent_at : 0);
  }

  const Options& options_;
  size_t index_, lo_, hi_;
  int commands_, results_;
  net::Loop loop_;
  std::unique_ptr<net::TlsClientContext> tls_;
  SaltedPasswordCache cache_;
  ServerKeyCache server_keys_;
  ClientSettings settings_;
  ClientEvents events_;
  std::unordered_map<BenchClient*, std::unique_ptr<BenchClient>> clients_;
  std::unordered_set<BenchClient*> settled_;
  std::unordered_set<size_t> busy_;  // users with a session open or opening
  std::vector<BenchClient*> online_;
  std::string pending_;
  Phase phase_ = Phase::Waiting;
  size_t next_user_ = 0;
  size_t in_flight_ = 0;
  size_t source_counter_ = 0;
  std::chrono::steady_clock::time_point deadline_;
  // Counters of the current phase.
  uint64_t done_ok_ = 0, failed_ = 0, sent_ = 0, received_ = 0, duplicates_ = 0;
  Histogram latency_;
  // Chat.
  std::mt19937 random_;
  std::vector<uint32_t> local_seq_;
  std::unordered_set<uint64_t> seen_;
  uint64_t step_ = 0;
  double share_ = 0;
  std::chrono::steady_clock::time_point chat_started_, chat_end_, last_received_;
};

}  // namespace

int runWorkerProcess(const Options& options, size_t index, size_t lo, size_t hi, int commands,
                     int results) {
  WorkerProcess worker(options, index, lo, hi, commands, results);
  return worker.run();
}

}  // namespace parley::bench
