// ParleyServer: runs the real parleyd on loopback with a throwaway config and data dir.
#include "harness/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace parley::integration {
namespace {

using Clock = std::chrono::steady_clock;

std::atomic<unsigned long> g_test_failures{0};
void (*g_unclean_exit_handler)(const std::string&) = nullptr;
constexpr int kNotRun = -1000;

std::string envOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

int decodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return kNotRun;
}

// Waits for PID to exit until DEADLINE; returns its decoded status, or nullopt on timeout.
// Uses a pidfd so the wait is a poll() on the exit itself, not a sleep loop.
std::optional<int> waitForExit(pid_t pid, Clock::time_point deadline) {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  for (;;) {
    int status = 0;
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      if (pidfd >= 0) close(pidfd);
      return decodeStatus(status);
    }
    if (done < 0 && errno != EINTR) {
      if (pidfd >= 0) close(pidfd);
      return kNotRun;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      if (pidfd >= 0) close(pidfd);
      return std::nullopt;
    }
    if (pidfd >= 0) {
      pollfd pfd{pidfd, POLLIN, 0};
      poll(&pfd, 1, static_cast<int>(left.count()));
    } else {  // kernels before 5.3: fall back to a short bounded poll
      poll(nullptr, 0, static_cast<int>(std::min<long>(left.count(), 20)));
    }
  }
}

// fork+exec ARGV; stdin from STDIN_TEXT, stdout+stderr captured. Kills it after TIMEOUT.
CommandResult runCaptured(const std::vector<std::string>& argv, const std::string& stdin_text,
                          std::chrono::milliseconds timeout) {
  CommandResult result;
  int in_pipe[2];
  int out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) return result;
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    close(in_pipe[0]);
    close(in_pipe[1]);
    return result;
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(out_pipe[1], 2);
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  if (pid < 0) {
    close(in_pipe[1]);
    close(out_pipe[0]);
    return result;
  }
  // The input is one short line; it fits the pipe buffer, so a blocking write cannot hang.
  size_t written = 0;
  while (written < stdin_text.size()) {
    ssize_t n = write(in_pipe[1], stdin_text.data() + written, stdin_text.size() - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  close(in_pipe[1]);

  auto deadline = Clock::now() + timeout;
  char buffer[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    pollfd pfd{out_pipe[0], POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = read(out_pipe[0], buffer, sizeof buffer);
    if (n <= 0) break;  // EOF: the child closed its output
    result.output.append(buffer, static_cast<size_t>(n));
  }
  close(out_pipe[0]);
  auto status = waitForExit(pid, deadline);
  if (!status) {
    kill(pid, SIGKILL);
    waitForExit(pid, Clock::now() + std::chrono::seconds(5));
    result.output += "\n[harness] killed after timeout\n";
    result.exit_status = kNotRun;
  } else {
    result.exit_status = *status;
  }
  return result;
}

std::string tomlString(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

CommandResult runCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                         const std::string& stdin_text) {
  return runCaptured(argv, stdin_text, timeout);
}

uint16_t pickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

bool canConnect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return ok;
}

void ParleyServer::noteTestFailure() { ++g_test_failures; }

void ParleyServer::setUncleanExitHandler(void (*handler)(const std::string& why)) {
  g_unclean_exit_handler = handler;
}

std::string ParleyServer::parleydPath() {
#ifdef PARLEYD_PATH
  return envOr("PARLEY_TEST_PARLEYD", PARLEYD_PATH);
#else
  return envOr("PARLEY_TEST_PARLEYD", "parleyd");
#endif
}

std::string ParleyServer::parleyctlPath() {
#ifdef PARLEYCTL_PATH
  return envOr("PARLEY_TEST_PARLEYCTL", PARLEYCTL_PATH);
#else
  return envOr("PARLEY_TEST_PARLEYCTL", "parleyctl");
#endif
}

ParleyServer::ParleyServer(ServerOptions options)
    : options_(std::move(options)), failures_at_start_(g_test_failures.load()) {}

ParleyServer::~ParleyServer() {
  if (isRunning()) {
    int status = stop();
    if (status != 0) {
      failed_ = true;
      if (g_unclean_exit_handler != nullptr && std::uncaught_exceptions() == 0) {
        g_unclean_exit_handler("parleyd (" + dir_ + ") exited with status " +
                               std::to_string(status) + " on SIGTERM:\n" + logTail(40));
      }
    }
  }
  if (dir_.empty()) return;
  bool keep = failed_ || g_test_failures.load() != failures_at_start_ ||
              std::uncaught_exceptions() > 0 || std::getenv("PARLEY_TEST_KEEP") != nullptr;
  if (keep) {
    std::cerr << "[harness] keeping " << dir_ << "; parleyd stderr tail:\n"
              << logTail() << "\n[harness] end of " << stderrPath() << "\n";
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void ParleyServer::reportFailure(const std::string& why) const {
  std::cerr << "[harness] " << why << " (dir " << dir_ << ")\n";
}

std::string ParleyServer::logTail(size_t lines) const {
  std::ifstream in(stderrPath());
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line);
    if (tail.size() > lines) tail.pop_front();
  }
  std::string out;
  for (const auto& kept : tail) out += kept + "\n";
  return out;
}

void ParleyServer::writeConfig(const std::string& path, uint16_t c2s_port,
                               uint16_t direct_tls_port) const {
  std::ostringstream toml;
  toml << "# Written by the Parley integration tests.\n"
       << "data_dir = \"var\"\n"
       << "threads = " << options_.threads << "\n"
       << "log_level = " << tomlString(options_.log_level) << "\n\n"
       << "[c2s]\n"
       << "listen = [\"127.0.0.1:" << c2s_port << "\"]\n"
       << "direct_tls = [\"127.0.0.1:" << direct_tls_port << "\"]\n"
       << "require_encryption = " << (options_.require_encryption ? "true" : "false") << "\n"
       << "max_stanza_bytes = " << options_.max_stanza_bytes << "\n"
       << "auth_timeout = " << options_.auth_timeout_seconds << "\n";
  if (!options_.sasl_mechanisms.empty()) {
    toml << "sasl_mechanisms = [";
    for (size_t i = 0; i < options_.sasl_mechanisms.size(); ++i) {
      toml << (i ? ", " : "") << tomlString(options_.sasl_mechanisms[i]);
    }
    toml << "]\n";
  }
  toml << options_.c2s_extra << "\n\n"
       << "[s2s]\nlisten = [";
  if (options_.s2s_port >= 0) toml << "\"127.0.0.1:" << s2s_port_ << "\"";
  toml << "]\ndirect_tls = [";
  if (options_.s2s_direct_tls_port > 0) {
    toml << "\"127.0.0.1:" << options_.s2s_direct_tls_port << "\"";
  }
  toml << "]\n"
       << options_.s2s_extra << "\n\n"
       << "[http]\nlisten = [";
  if (options_.http_port >= 0) toml << "\"127.0.0.1:" << http_port_ << "\"";
  toml << "]\ntls_listen = [";
  if (options_.https_port >= 0) toml << "\"127.0.0.1:" << https_port_ << "\"";
  toml << "]\n"
       << options_.http_extra << "\n\n"
       << "[hosts.\"" << options_.domain << "\"]\n"
       << "cert = \"certs/" << options_.domain << ".crt\"\n"
       << "key = \"certs/" << options_.domain << ".key\"\n"
       << options_.host_extra << "\n\n"
       << options_.extra_toml << "\n";
  std::ofstream(path) << toml.str();
}

bool ParleyServer::prepareDirectory() {
  char pattern[] = "/tmp/parley-it-XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    std::cerr << "[harness] mkdtemp: " << std::strerror(errno) << "\n";
    return false;
  }
  dir_ = pattern;
  config_path_ = dir_ + "/parley.toml";
  std::error_code ignored;
  std::filesystem::create_directories(dir_ + "/certs", ignored);
  std::filesystem::create_directories(dir_ + "/var", ignored);
  // Placeholder ports: parleyctl reads the config but does not listen.
  writeConfig(config_path_, 5222, 5223);

  if (!options_.cert_file.empty()) {
    std::filesystem::copy_file(options_.cert_file, certPath(),
                               std::filesystem::copy_options::overwrite_existing, ignored);
    std::filesystem::copy_file(options_.key_file, dir_ + "/certs/" + options_.domain + ".key",
                               std::filesystem::copy_options::overwrite_existing, ignored);
    if (ignored) {
      reportFailure("cannot copy the certificate: " + ignored.message());
      return false;
    }
  } else {
    CommandResult cert = ctl({"cert", options_.domain});
    if (cert.exit_status != 0) {
      reportFailure("parleyctl cert failed (" + std::to_string(cert.exit_status) +
                    "): " + cert.output);
      return false;
    }
  }
  for (const auto& [user, password] : options_.users) {
    std::string jid = user.find('@') == std::string::npos ? user + "@" + options_.domain : user;
    CommandResult add = ctl({"adduser", jid}, password + "\n");
    if (add.exit_status != 0) {
      reportFailure("parleyctl adduser " + user + " failed (" + std::to_string(add.exit_status) +
                    "): " + add.output);
      return false;
    }
  }
  return true;
}

bool ParleyServer::start() {
  if (dir_.empty() && !prepareDirectory()) {
    failed_ = true;
    return false;
  }
  constexpr int kAttempts = 5;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    if (launch()) return true;
    std::string tail = logTail(20);
    bool port_race =
        tail.find("in use") != std::string::npos || tail.find("EADDRINUSE") != std::string::npos;
    if (!port_race) break;
  }
  failed_ = true;
  reportFailure("parleyd did not start; stderr tail:\n" + logTail());
  return false;
}

bool ParleyServer::launch() {
  c2s_port_ = pickFreePort();
  do {
    direct_tls_port_ = pickFreePort();
  } while (direct_tls_port_ == c2s_port_);
  if (options_.s2s_port > 0) {
    s2s_port_ = static_cast<uint16_t>(options_.s2s_port);
  } else if (options_.s2s_port == 0) {
    do {
      s2s_port_ = pickFreePort();
    } while (s2s_port_ == c2s_port_ || s2s_port_ == direct_tls_port_);
  }
  // HTTP ports: as given, or fresh ones distinct from the others.
  auto pickHttpPort = [this](int option, uint16_t other) -> uint16_t {
    if (option < 0) return 0;
    if (option > 0) return static_cast<uint16_t>(option);
    uint16_t port = 0;
    do {
      port = pickFreePort();
    } while (port == c2s_port_ || port == direct_tls_port_ || port == s2s_port_ || port == other);
    return port;
  };
  http_port_ = pickHttpPort(options_.http_port, 0);
  https_port_ = pickHttpPort(options_.https_port, http_port_);
  writeConfig(config_path_, c2s_port_, direct_tls_port_);

  std::string log_path = stderrPath();
  std::string binary = parleydPath();
  pid_t pid = fork();
  if (pid == 0) {
    int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int null_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log >= 0) {
      dup2(log, 1);
      dup2(log, 2);
    }
    if (null_in >= 0) dup2(null_in, 0);
    execl(binary.c_str(), binary.c_str(), "--config", config_path_.c_str(),
          static_cast<char*>(nullptr));
    std::fprintf(stderr, "[harness] exec %s: %s\n", binary.c_str(), std::strerror(errno));
    _exit(127);
  }
  if (pid < 0) {
    reportFailure(std::string("fork: ") + std::strerror(errno));
    return false;
  }
  pid_ = pid;

  // Ready when both listeners accept; an early exit means this attempt failed.
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    if (auto status = waitForExit(pid_, Clock::now() + std::chrono::milliseconds(20))) {
      pid_ = -1;
      exit_status_ = *status;
      return false;
    }
    if (canConnect(c2s_port_) && canConnect(direct_tls_port_) &&
        (options_.s2s_port < 0 || canConnect(s2s_port_)) &&
        (options_.http_port < 0 || canConnect(http_port_)) &&
        (options_.https_port < 0 || canConnect(https_port_))) {
      return true;
    }
  }
  reportFailure("parleyd not accepting connections after 10 s");
  stop();
  return false;
}

bool ParleyServer::kill9() {
  if (pid_ <= 0) return false;
  kill(pid_, SIGKILL);
  if (!waitForExit(pid_, Clock::now() + std::chrono::seconds(5))) return false;
  pid_ = -1;
  exit_status_ = 0;  // asked for: the next start() reuses the directory
  return true;
}

void ParleyServer::terminate() {
  if (pid_ > 0) kill(pid_, SIGTERM);
}

std::optional<int> ParleyServer::waitExit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return exit_status_;
  auto status = waitForExit(pid_, Clock::now() + timeout);
  if (status) {
    pid_ = -1;
    exit_status_ = *status;
    if (exit_status_ != 0) failed_ = true;
  }
  return status;
}

int ParleyServer::stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return kNotRun;
  terminate();
  if (auto status = waitExit(timeout)) return *status;
  reportFailure("parleyd ignored SIGTERM; sending SIGKILL");
  kill(pid_, SIGKILL);
  waitExit(std::chrono::seconds(5));
  failed_ = true;
  return exit_status_ == 0 ? kNotRun : exit_status_;
}

CommandResult ParleyServer::ctl(const std::vector<std::string>& args,
                                const std::string& stdin_text) {
  std::vector<std::string> argv = {parleyctlPath(), "--config", config_path_};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCaptured(argv, stdin_text, std::chrono::seconds(10));
}

CommandResult ParleyServer::check(const std::string& path) {
  return runCaptured({parleydPath(), "--config", path.empty() ? config_path_ : path, "--check"}, "",
                     std::chrono::seconds(10));
}

}  // namespace parley::integration
