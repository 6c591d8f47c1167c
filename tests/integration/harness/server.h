// ParleyServer: runs the real parleyd on loopback with a throwaway config and data dir.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace parley::integration {

inline constexpr const char* kRomeoPassword = "r0meo-pass";
inline constexpr const char* kJulietPassword = "jul1et-pass";

struct ServerOptions {
  // Accounts created with `parleyctl adduser` before the server starts: {"romeo", "secret"}
  // on the server's host, or {"mercutio@other.host", "secret"} on another host it serves.
  std::vector<std::pair<std::string, std::string>> users = {{"romeo", kRomeoPassword},
                                                            {"juliet", kJulietPassword}};
  // [c2s] sasl_mechanisms; empty = the key is omitted (the server offers all of them).
  std::vector<std::string> sasl_mechanisms;
  bool require_encryption = true;
  int auth_timeout_seconds = 30;
  int max_stanza_bytes = 65536;
  // Extra lines placed inside [c2s], e.g. "some_key = 1".
  std::string c2s_extra;
  // Extra lines placed inside [hosts."localhost"].
  std::string host_extra;
  // Appended after everything; must start with its own [table] header.
  std::string extra_toml;
  std::string log_level = "debug";
  int threads = 2;

  // The one host this server serves (ParleyServer::kDomain unless a test federates).
  std::string domain = "localhost";
  // Federation: -1 = no s2s listener; 0 = a port picked at start; else that port. Tests that
  // route two servers to each other pick the ports first (pickFreePort) and give them here.
  int s2s_port = -1;
  // The s2s direct TLS listener (XEP-0368): -1 = none, else that port.
  int s2s_direct_tls_port = -1;
  // Extra lines placed inside [s2s] (routes, trust, dns_servers, timeouts).
  std::string s2s_extra;
  // Certificate and key files copied in for the host instead of a self-signed pair.
  std::string cert_file, key_file;

  // HTTP ([http] listen and tls_listen): -1 = no listener; 0 = a port picked at start; else
  // that port. The TLS listener serves the host's certificate.
  int http_port = -1;
  int https_port = -1;
  // Extra lines placed inside [http] (web_root, timeouts, limits). web_root stays unset (no
  // web page) unless given here; a relative path is relative to directory().
  std::string http_extra;
};

struct CommandResult {
  int exit_status = -1;  // exit code, or -signal, or -1000 when it could not be run or timed out
  std::string output;    // stdout and stderr together
};

// One parleyd process and its temporary directory (/tmp/parley-it-XXXXXX). Not thread-safe.
// The directory is removed when the object dies, unless a test failure was noted while it
// lived (noteTestFailure(), called by the Catch2 listener in main.cc), or stop() returned a
// non-zero status: then the path and the tail of parleyd's stderr are printed and it stays.
class ParleyServer {
 public:
  static constexpr const char* kDomain = "localhost";

  explicit ParleyServer(ServerOptions options = {});
  ~ParleyServer();
  ParleyServer(const ParleyServer&) = delete;
  ParleyServer& operator=(const ParleyServer&) = delete;

  // Creates the directory, cert and users, then starts parleyd and waits (10 s) until both
  // c2s ports (and the s2s and HTTP ports it was given) accept TCP connections. Retries on fresh
  // ports if parleyd exits early saying the address is in use. Returns false (and prints why) on
  // failure.
  [[nodiscard]] bool start();

  // SIGTERM, then wait up to TIMEOUT for the exit; SIGKILL if it does not come.
  // Returns the exit status (0 = clean), -signal if killed by one, or -1000 when not running.
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // The two halves of stop(), for tests that talk to clients between them.
  void terminate();
  std::optional<int> waitExit(std::chrono::milliseconds timeout);
  bool isRunning() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // SIGKILL, no clean shutdown (a crash), and reap it; not counted as a failure. True once
  // it is gone. start() again then restarts parleyd on the same directory and data.
  bool kill9();

  const std::string& domain() const { return options_.domain; }
  uint16_t c2sPort() const { return c2s_port_; }
  uint16_t s2sPort() const { return s2s_port_; }
  // The host's certificate (PEM), e.g. to pin it in another server's [s2s] trust.
  std::string certPath() const { return dir_ + "/certs/" + options_.domain + ".crt"; }
  uint16_t directTlsPort() const { return direct_tls_port_; }
  // The [http] ports (0 when that listener is off).
  uint16_t httpPort() const { return http_port_; }
  uint16_t httpsPort() const { return https_port_; }
  const std::string& directory() const { return dir_; }
  const std::string& configPath() const { return config_path_; }
  std::string stderrPath() const { return dir_ + "/parleyd.stderr"; }
  // The last LINES lines of parleyd's stderr.
  std::string logTail(size_t lines = 60) const;

  // Runs parleyctl --config <ours> ARGS with STDIN on its standard input (10 s limit).
  CommandResult ctl(const std::vector<std::string>& args, const std::string& stdin_text = "");
  // Runs parleyd --config PATH --check (PATH defaults to our config).
  CommandResult check(const std::string& path = "");

  // Writes our config with the given ports to PATH (used by start(); public for --check tests).
  void writeConfig(const std::string& path, uint16_t c2s_port, uint16_t direct_tls_port) const;

  // Called by the test runner on every failed assertion; the server keeps its directory then.
  static void noteTestFailure();
  // What to do when a server still running at the end of its test does not exit cleanly on
  // SIGTERM (a crash, a sanitizer report): the test runner makes it a failed check.
  static void setUncleanExitHandler(void (*handler)(const std::string& why));

  static std::string parleydPath();
  static std::string parleyctlPath();

 private:
  bool prepareDirectory();
  bool launch();  // one attempt on fresh ports; sets pid_ or returns false
  void reportFailure(const std::string& why) const;

  ServerOptions options_;
  std::string dir_;
  std::string config_path_;
  uint16_t c2s_port_ = 0;
  uint16_t direct_tls_port_ = 0;
  uint16_t s2s_port_ = 0;
  uint16_t http_port_ = 0;
  uint16_t https_port_ = 0;
  pid_t pid_ = -1;
  int exit_status_ = 0;
  bool failed_ = false;
  unsigned long failures_at_start_ = 0;
};

// Runs ARGV[0] (a path) with ARGV, STDIN_TEXT on its standard input; stdout and stderr are
// captured together. Killed after TIMEOUT (exit_status -1000 then).
CommandResult runCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                         const std::string& stdin_text = "");

// Binds port 0 on 127.0.0.1 and returns the port the kernel chose (the socket is closed).
uint16_t pickFreePort();
// True once a TCP connect to 127.0.0.1:PORT succeeds.
bool canConnect(uint16_t port);

}  // namespace parley::integration
