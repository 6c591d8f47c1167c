// parley-loadgen: XMPP load generator for benchmarks (contrib/bench/README.md). Clients behave
// like real ones (bench_client.h); several processes, each with its own epoll loop, share the
// work; the parent process coordinates them over pipes and prints the results.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench_client.h"
#include "histogram.h"
#include "options.h"
#include "server_probe.h"
#include "worker_process.h"

namespace parley::bench {
namespace {

// A child process: its pipes and pid.
struct Child {
  pid_t pid = -1;
  int to_child = -1;
  int from_child = -1;
  std::string pending;  // bytes read but not yet a whole line
};

bool writeLine(int fd, const std::string& line) {
  std::string data = line + "\n";
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// The next line a child wrote; empty if it died.
std::string readLine(Child& child) {
  for (;;) {
    auto newline = child.pending.find('\n');
    if (newline != std::string::npos) {
      std::string line = child.pending.substr(0, newline);
      child.pending.erase(0, newline + 1);
      return line;
    }
    char buffer[4096];
    ssize_t n = ::read(child.from_child, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return {};
    child.pending.append(buffer, static_cast<size_t>(n));
  }
}

// "key=value key=value": the value of KEY, or "".
std::string field(const std::string& line, const std::string& key) {
  std::istringstream in(line);
  std::string word;
  while (in >> word) {
    if (word.rfind(key + "=", 0) == 0) return word.substr(key.size() + 1);
  }
  return {};
}

uint64_t number(const std::string& line, const std::string& key) {
  auto value = field(line, key);
  return value.empty() ? 0 : std::stoull(value);
}

void raiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

std::vector<Child> spawn(const Options& options) {
  std::vector<Child> children;
  size_t per = (options.users + options.processes - 1) / options.processes;
  for (size_t p = 0; p < options.processes; ++p) {
    size_t lo = options.first + p * per;
    size_t hi = std::min(options.first + options.users, lo + per);
    if (lo >= hi) break;
    int down[2], up[2];
    if (pipe2(down, O_CLOEXEC) != 0 || pipe2(up, O_CLOEXEC) != 0) {
      std::perror("pipe2");
      std::exit(1);
    }
    pid_t pid = fork();
    if (pid == 0) {
      ::close(down[1]);
      ::close(up[0]);
      for (const auto& earlier : children) {
        ::close(earlier.to_child);
        ::close(earlier.from_child);
      }
      std::exit(runWorkerProcess(options, p, lo, hi, down[0], up[1]));
    }
    ::close(down[0]);
    ::close(up[1]);
    children.push_back(Child{pid, down[1], up[0], {}});
  }
  return children;
}

void reap(std::vector<Child>& children) {
  for (auto& child : children) {
    writeLine(child.to_child, "QUIT");
    ::close(child.to_child);
    ::close(child.from_child);
    int status = 0;
    waitpid(child.pid, &status, 0);
  }
}

// Waits until every child said READY; returns the sum of their online and failed counts.
std::pair<uint64_t, uint64_t> awaitReady(std::vector<Child>& children) {
  uint64_t online = 0, failed = 0;
  for (auto& child : children) {
    std::string line = readLine(child);
    online += number(line, "online");
    failed += number(line, "failed");
  }
  return {online, failed};
}

struct Totals {
  uint64_t logins = 0, failed = 0, sent = 0, received = 0, duplicates = 0;
  Histogram latency;
};

Totals collect(std::vector<Child>& children) {
  Totals totals;
  for (auto& child : children) {
    std::string line = readLine(child);
    totals.logins += number(line, "logins");
    totals.failed += number(line, "failed");
    totals.sent += number(line, "sent");
    totals.received += number(line, "received");
    totals.duplicates += number(line, "duplicates");
    auto at = line.find("histogram=");
    if (at != std::string::npos) {
      std::string text = line.substr(at + 10);
      for (char& c : text) {
        if (c == ',') c = ' ';
      }
      totals.latency.merge(Histogram::parse(text));
    }
  }
  return totals;
}

double millis(uint64_t micros) { return static_cast<double>(micros) / 1000.0; }

// One result: a JSON line on stdout, and a readable line on stderr.
void report(const Options& options, const std::string& scenario, const std::string& extra,
            const std::string& readable) {
  std::cout << "{\"server\":\"" << options.label << "\",\"scenario\":\"" << scenario
            << "\",\"users\":" << options.users << "," << extra << "}" << std::endl;
  if (!options.json_only) std::cerr << options.label << " " << scenario << ": " << readable << "\n";
}

std::string latencyJson(const Histogram& h) {
  std::ostringstream out;
  out.precision(3);
  out << std::fixed << "\"p50_ms\":" << millis(h.percentile(0.50))
      << ",\"p90_ms\":" << millis(h.percentile(0.90))
      << ",\"p99_ms\":" << millis(h.percentile(0.99)) << ",\"max_ms\":" << millis(h.max());
  return out.str();
}

std::string probeJson(const ServerProbe::Sample& before, const ServerProbe::Sample& after,
                      double seconds) {
  std::ostringstream out;
  out.precision(1);
  out << std::fixed << "\"server_cpu_percent\":" << ServerProbe::cpuPercent(before, after, seconds)
      << ",\"server_rss_kib\":" << after.rss_kib;
  return out.str();
}

int runLogin(const Options& options, std::vector<Child>& children, ServerProbe& probe) {
  awaitReady(children);  // the children have their settings; nobody is connected yet
  auto before = probe.sample();
  for (auto& child : children)
    writeLine(child.to_child, "GO 0 " + std::to_string(options.duration_ms));
  Totals totals = collect(children);
  auto after = probe.sample();
  double seconds = static_cast<double>(options.duration_ms) / 1000.0;
  double rate = static_cast<double>(totals.logins) / seconds;
  std::ostringstream extra;
  extra.precision(1);
  extra << std::fixed << "\"logins_per_s\":" << rate << ",\"logins\":" << totals.logins
        << ",\"errors\":" << totals.failed << "," << latencyJson(totals.latency) << ","
        << probeJson(before, after, seconds);
  std::ostringstream readable;
  readable.precision(1);
  readable << std::fixed << rate << " logins/s (" << totals.logins << " in " << seconds << " s, "
           << totals.failed << " errors), login p50 " << millis(totals.latency.percentile(0.5))
           << " ms p99 " << millis(totals.latency.percentile(0.99)) << " ms";
  report(options, "login", extra.str(), readable.str());
  return totals.failed == 0 ? 0 : 1;
}

int runIdle(const Options& options, std::vector<Child>& children, ServerProbe& probe,
            const ServerProbe::Sample& empty) {
  auto [online, failed] = awaitReady(children);
  // Hold the sessions quiet for the duration before reading the server's size: servers shrink
  // quiet sessions after a while (parleyd: [c2s] release_idle_after, 30 s by default).
  ::usleep(static_cast<useconds_t>(options.duration_ms * 1000));
  auto full = probe.sample();
  for (auto& child : children) writeLine(child.to_child, "STOP");
  collect(children);
  double per_session =
      online == 0 ? 0.0
                  : (static_cast<double>(full.rss_kib) - static_cast<double>(empty.rss_kib)) /
                        static_cast<double>(online);
  std::ostringstream extra;
  extra.precision(2);
  extra << std::fixed << "\"sessions\":" << online << ",\"errors\":" << failed
        << ",\"rss_empty_kib\":" << empty.rss_kib << ",\"rss_full_kib\":" << full.rss_kib
        << ",\"kib_per_session\":" << per_session;
  std::ostringstream readable;
  readable.precision(2);
  readable << std::fixed << online << " sessions (" << failed << " errors): RSS " << empty.rss_kib
           << " -> " << full.rss_kib << " KiB, " << per_session << " KiB per session";
  report(options, "idle", extra.str(), readable.str());
  return failed == 0 && online > 0 ? 0 : 1;
}

// One chat step at RATE messages per second; returns the delivered rate.
double chatStep(const Options& options, std::vector<Child>& children, ServerProbe& probe,
                uint64_t rate, bool& clean) {
  auto before = probe.sample();
  for (auto& child : children) {
    writeLine(child.to_child,
              "GO " + std::to_string(rate) + " " + std::to_string(options.duration_ms));
  }
  Totals totals = collect(children);
  auto after = probe.sample();
  double seconds = static_cast<double>(options.duration_ms) / 1000.0;
  uint64_t unique = totals.received - totals.duplicates;
  uint64_t lost = totals.sent > unique ? totals.sent - unique : 0;
  double delivered = static_cast<double>(unique) / seconds;
  double cpu_seconds = ServerProbe::cpuSeconds(before, after);
  double cpu_per_message = unique == 0 ? 0.0 : cpu_seconds * 1e6 / static_cast<double>(unique);
  clean = clean && lost == 0 && totals.duplicates == 0;
  std::ostringstream extra;
  extra.precision(1);
  extra << std::fixed << "\"offered_per_s\":" << rate << ",\"delivered_per_s\":" << delivered
        << ",\"sent\":" << totals.sent << ",\"lost\":" << lost
        << ",\"duplicated\":" << totals.duplicates << "," << latencyJson(totals.latency) << ","
        << probeJson(before, after, seconds)
        << ",\"server_cpu_us_per_message\":" << cpu_per_message;
  std::ostringstream readable;
  readable.precision(1);
  readable << std::fixed << "offered " << rate << "/s, delivered " << delivered << "/s, lost "
           << lost << ", duplicated " << totals.duplicates << ", latency p50 "
           << millis(totals.latency.percentile(0.5)) << " p90 "
           << millis(totals.latency.percentile(0.9)) << " p99 "
           << millis(totals.latency.percentile(0.99)) << " max " << millis(totals.latency.max())
           << " ms, server " << cpu_per_message << " µs CPU/message";
  report(options, "chat", extra.str(), readable.str());
  // Saturated: a tenth of the offered load did not get through in time, or it queues.
  bool saturated =
      delivered < 0.9 * static_cast<double>(rate) || totals.latency.percentile(0.99) > 1000000;
  return saturated ? -delivered : delivered;
}

int runChat(const Options& options, std::vector<Child>& children, ServerProbe& probe) {
  auto [online, failed] = awaitReady(children);
  if (online != options.users) {
    std::cerr << "chat: only " << online << " of " << options.users << " users online (" << failed
              << " failed)\n";
    return 1;
  }
  bool clean = true;
  if (!options.sweep) {
    chatStep(options, children, probe, options.rate, clean);
  } else {
    // Double the offered rate until the server saturates, then halve the interval between the
    // last rate it sustained and the first it did not, twice (to within 1.25x instead of 2x).
    // The best rate sustained (not saturated: 90% delivered, p99 under a second) counts.
    double best = 0;
    uint64_t good = 0, bad = 0;
    for (uint64_t rate = options.rate; rate <= options.max_rate; rate *= 2) {
      double delivered = chatStep(options, children, probe, rate, clean);
      if (delivered < 0) {
        bad = rate;
        break;
      }
      good = rate;
      best = std::max(best, delivered);
    }
    for (int i = 0; i < 2 && bad != 0 && good != 0 && bad - good > 1; ++i) {
      uint64_t rate = good + (bad - good) / 2;
      double delivered = chatStep(options, children, probe, rate, clean);
      if (delivered < 0) {
        bad = rate;
      } else {
        good = rate;
        best = std::max(best, delivered);
      }
    }
    std::ostringstream extra;
    extra.precision(1);
    extra << std::fixed << "\"saturation_delivered_per_s\":" << best;
    report(options, "chat-saturation", extra.str(),
           "best sustained " + std::to_string(static_cast<uint64_t>(best)) + " messages/s");
  }
  for (auto& child : children) writeLine(child.to_child, "STOP");
  collect(children);
  return clean ? 0 : 1;
}

int runRegister(const Options& options, std::vector<Child>& children) {
  awaitReady(children);
  for (auto& child : children) writeLine(child.to_child, "GO 0 0");
  Totals totals = collect(children);
  report(options, "register",
         "\"registered\":" + std::to_string(totals.logins) +
             ",\"errors\":" + std::to_string(totals.failed),
         std::to_string(totals.logins) + " accounts signed up or present, " +
             std::to_string(totals.failed) + " errors");
  return totals.failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace parley::bench

int main(int argc, char** argv) {
  using namespace parley::bench;
  auto options = parseOptions(argc, argv);
  if (!options) return 2;
  signal(SIGPIPE, SIG_IGN);
  raiseFileLimit();
  ServerProbe probe(options->server_pid);
  auto empty = probe.sample();
  auto children = spawn(*options);
  int status = 1;
  switch (options->scenario) {
    case Scenario::Register:
      status = runRegister(*options, children);
      break;
    case Scenario::Login:
      status = runLogin(*options, children, probe);
      break;
    case Scenario::Idle:
      status = runIdle(*options, children, probe, empty);
      break;
    case Scenario::Chat:
      status = runChat(*options, children, probe);
      break;
  }
  reap(children);
  if (!options->cache_path.empty()) {
    // Each worker saved what it derived; one file for the next run.
    SaltedPasswordCache cache;
    cache.load(options->cache_path);
    for (size_t p = 0; p < options->processes; ++p) {
      std::string part = options->cache_path + ".part" + std::to_string(p);
      if (cache.load(part)) std::remove(part.c_str());
    }
    cache.save(options->cache_path);
  }
  return status;
}
