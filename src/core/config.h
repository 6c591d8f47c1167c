// Server configuration: parley.toml parsed, validated and resolved, with FILE:LINE:COL errors.
//
// The file format is documented in man/parley.toml.5 and conf/parley.toml. Everything here is
// plain data built once at start-up (or reload) and then only read, from any thread.
// Validation is strict: an unknown key, a wrong type or an out-of-range value is an error that
// names the key and its position, so `parleyd --check` can print "FILE:LINE:COL: message".
#pragma once

#include <toml++/toml.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"

namespace parley::core {

// A place in the configuration file. line and column are 1-based; 0 means "no position"
// (the file could not be read, or the value is a built-in default).
struct SourcePos {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;

  // "FILE:LINE:COL", or just "FILE" when there is no position.
  std::string toString() const;
};

struct ConfigError {
  SourcePos pos;
  std::string message;

  // "FILE:LINE:COL: message" (or "FILE: message" when there is no position).
  std::string toString() const;
};

// An address to listen on or connect to. host is an IP literal without brackets ("::1",
// "127.0.0.1"), "*" for every interface (IPv6 dual-stack, falling back to IPv4), or, only where
// a peer is named (s2s.routes), a DNS name. port 0 lets the kernel choose (listeners only).
struct ListenAddress {
  std::string host;
  uint16_t port = 0;

  bool isAnyAddress() const { return host == "*"; }
  bool isIpv6() const { return host.find(':') != std::string::npos; }
  // "127.0.0.1:5222", "[::1]:5222", "*:5222".
  std::string toString() const;
  friend bool operator==(const ListenAddress&, const ListenAddress&) = default;
};

// Parses "127.0.0.1:5222", "[::1]:5222", "0.0.0.0:5222" or "*:5222". The host must be an IP
// literal or "*"; the port is required, 0..65535. The error is a message without position.
Result<ListenAddress, std::string> parseListenAddress(std::string_view text);
// Like parseListenAddress, but the host may also be a DNS name and the port may be omitted when
// default_port is given. Used for s2s.routes ("host:port") and s2s.dns_servers (port 53).
Result<ListenAddress, std::string> parseHostPort(std::string_view text,
                                                 std::optional<uint16_t> default_port,
                                                 bool allow_names);

// Parses a duration: "30s", "5m", "2h", "1d", or a sum such as "1h30m". A unit is required.
Result<std::chrono::seconds, std::string> parseDuration(std::string_view text);

// Checks a host's domain name and returns it in lowercase: ASCII letters, digits, '-' and '.'
// in labels of 1..63 characters (IDNs in their xn-- form), an IPv4 literal, or an IPv6 literal
// in brackets ("[::1]", as in a JID).
Result<std::string, std::string> normalizeDomain(std::string_view text);

// SASL mechanisms the server implements, strongest first; c2s.sasl_mechanisms must name these.
inline constexpr std::string_view kSaslMechanisms[] = {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS",
                                                       "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"};

struct C2sConfig {
  std::vector<ListenAddress> listen{{"127.0.0.1", 5222}};      // STARTTLS; empty = off
  std::vector<ListenAddress> direct_tls{{"127.0.0.1", 5223}};  // XEP-0368; empty = off
  bool require_encryption = true;
  std::vector<std::string> sasl_mechanisms;  // empty = all of kSaslMechanisms, in that order
  size_t max_stanza_bytes = 262144;          // 1024 .. 16 MiB
  unsigned max_depth = 32;                   // XML nesting depth, 4 .. 256
  std::chrono::seconds auth_timeout{30};     // unauthenticated stream lifetime, 1s .. 1h
  unsigned connections_per_ip = 64;          // 0 = unlimited
  size_t bytes_per_second = 0;               // per-session read rate limit, 0 = unlimited
  unsigned failed_logins_per_ip = 10;        // per minute, 0 = unlimited
  // A bound session quiet this long gives back its parser and buffer capacity, 1s .. 1h.
  std::chrono::seconds release_idle_after{30};
};

// Federation (RFC 6120 server-to-server streams).
struct S2sConfig {
  std::vector<ListenAddress> listen{{"127.0.0.1", 5269}};
  std::vector<ListenAddress> direct_tls{{"127.0.0.1", 5270}};
  std::vector<ListenAddress> dns_servers;              // empty = the system resolver
  std::map<std::string, ListenAddress> routes;         // domain -> host:port, skips DNS
  std::map<std::string, std::filesystem::path> trust;  // domain -> CA or certificate file
  size_t max_stanza_bytes = 524288;                    // 1024 .. 16 MiB
  bool require_encryption = true;                      // TLS both ways, nothing before it
  bool require_valid_certificates = false;             // true: no dialback for unverified peers
  std::chrono::seconds connect_timeout{10};            // one address: connect, TLS, authentication
  std::chrono::seconds auth_timeout{30};               // incoming: authenticate a domain by then
  std::chrono::seconds queue_timeout{60};              // a stanza waits this long for its stream
  size_t max_queued_stanzas = 1000;        // per remote domain, while its stream comes up
  std::chrono::seconds idle_timeout{600};  // a stream without stanzas is closed
};

// XEP-0114 external components: they connect to us and are routed like a remote domain.
struct ComponentConfig {
  std::vector<ListenAddress> listen{{"127.0.0.1", 5347}};  // opened only with a component
  std::map<std::string, std::string> secrets;              // domain -> shared secret
};

struct HttpConfig {
  std::vector<ListenAddress> listen{{"127.0.0.1", 5280}};
  std::vector<ListenAddress> tls_listen{{"127.0.0.1", 5281}};
  std::string public_url = "https://localhost:5281/";  // always ends in '/'
  // The web page's directory, absolute; empty = no web page ("/" is 404).
  std::filesystem::path web_root;
  size_t max_header_bytes = 16384;             // header fields of one request, 1024 .. 65536
  std::chrono::seconds request_timeout{30};    // a request must arrive by then, 1s .. 1h
  std::chrono::seconds keepalive_timeout{60};  // an idle connection is closed, 1s .. 1h
  unsigned max_connections_per_ip = 64;        // 0 = unlimited
  // Origin values a WebSocket handshake may carry ("https://chat.example"); empty = any.
  std::vector<std::string> websocket_origins;
  // BOSH (XEP-0124): the longest a request is held, 1s .. 1h; a session with no request held
  // this long ends, 1s .. 1h.
  std::chrono::seconds bosh_max_wait{60};
  std::chrono::seconds bosh_inactivity{60};
};

// A module-options table found in a host table, e.g. [hosts."localhost".version].
struct ModuleOptionTable {
  std::string module;
  SourcePos pos;
};

struct HostConfig {
  std::string domain;  // normalized to lowercase
  // Default data_dir/certs/DOMAIN.crt and .key; relative paths are resolved against the
  // directory of the configuration file. Always absolute after parsing.
  std::filesystem::path cert, key;
  std::vector<std::string> modules;  // names matching [a-z0-9_]+, no duplicates
  bool modules_given = false;        // false: `modules` was omitted, load the default set
  bool registration = false;         // XEP-0077 in-band registration
  bool anonymous = false;            // SASL ANONYMOUS host
  std::vector<std::string> admins;   // bare JIDs
  // Subtables [hosts."d".<module>], in file order. The module manager should reject those
  // naming a module that is not loaded on this host (most likely a typo).
  std::vector<ModuleOptionTable> option_tables;
  SourcePos pos;  // where [hosts."d"] is; no position for the implicit "localhost"

  // The subtable [hosts."d".<module>] holding that module's own options, or nullptr. The
  // pointer stays valid as long as the Config (its `raw` tree) lives.
  const toml::table* module_options(std::string_view module) const;
  // The dotted TOML path of that subtable for messages: hosts."localhost".version
  std::string moduleOptionsPath(std::string_view module) const;

  std::map<std::string, const toml::table*, std::less<>> module_tables;  // into Config::raw
};

struct Config {
  std::filesystem::path file;      // as given to loadConfig/parseConfig
  std::filesystem::path dir;       // absolute directory of the configuration file
  std::filesystem::path data_dir;  // absolute; default "var" relative to dir
  unsigned threads = 0;            // 0 = one per CPU, see resolvedThreads(); at most 1024
  std::string log_level = "info";  // debug, info, warn or error
  C2sConfig c2s;
  S2sConfig s2s;
  ComponentConfig components;
  HttpConfig http;
  std::vector<HostConfig> hosts;     // in file order; never empty after parsing
  std::shared_ptr<toml::table> raw;  // the parsed tree; keeps module option tables alive

  // The host with that domain (compared case-insensitively), or nullptr.
  const HostConfig* host(std::string_view domain) const;
  // threads, or the number of CPUs when threads is 0; always >= 1.
  unsigned resolvedThreads() const;
};

// Reads and parses a configuration file. Errors carry the file name as given.
Result<Config, ConfigError> loadConfig(const std::filesystem::path& file);
// Parses configuration text. file names the source in errors, and its directory is the base
// for relative paths (a relative file is taken relative to the current directory).
Result<Config, ConfigError> parseConfig(
    std::string_view text, const std::filesystem::path& file_for_errors_and_relative_paths);

// ---- Module options -------------------------------------------------------------------------
//
// Modules read their own table (HostConfig::module_options) with readOption, which checks type
// and bounds and reports errors at the value's position:
//
//   auto hide = readOption<bool>(host.module_options("version"), "hide_os", false);
//   auto every = readOption<std::chrono::seconds>(tbl, "interval", 5min, {.min = 10s});
//
// A missing table or key gives the default. Durations accept an integer number of seconds or a
// string such as "30s", "5m", "2h", "1d". `path`, if given, is the table's dotted path
// (HostConfig::moduleOptionsPath) and prefixes the key in messages.

template <class T>
struct Bounds;  // defined for the supported option types only

template <>
struct Bounds<bool> {};
template <>
struct Bounds<int64_t> {
  std::optional<int64_t> min = std::nullopt;
  std::optional<int64_t> max = std::nullopt;
};
template <>
struct Bounds<std::chrono::seconds> {
  std::optional<std::chrono::seconds> min = std::nullopt;
  std::optional<std::chrono::seconds> max = std::nullopt;
};
template <>
struct Bounds<std::string> {
  std::vector<std::string> one_of = {};  // empty = any string
  bool allow_empty = true;
};
template <>
struct Bounds<std::vector<std::string>> {
  std::vector<std::string> one_of = {};  // allowed items; empty = any string
  bool allow_duplicates = false;
};

template <class T>
Result<T, ConfigError> readOption(const toml::table* tbl, std::string_view key, T default_value,
                                  const Bounds<T>& bounds = {}, std::string_view path = {});

extern template Result<bool, ConfigError> readOption(const toml::table*, std::string_view, bool,
                                                     const Bounds<bool>&, std::string_view);
extern template Result<int64_t, ConfigError> readOption(const toml::table*, std::string_view,
                                                        int64_t, const Bounds<int64_t>&,
                                                        std::string_view);
extern template Result<std::chrono::seconds, ConfigError> readOption(
    const toml::table*, std::string_view, std::chrono::seconds, const Bounds<std::chrono::seconds>&,
    std::string_view);
extern template Result<std::string, ConfigError> readOption(const toml::table*, std::string_view,
                                                            std::string, const Bounds<std::string>&,
                                                            std::string_view);
extern template Result<std::vector<std::string>, ConfigError> readOption(
    const toml::table*, std::string_view, std::vector<std::string>,
    const Bounds<std::vector<std::string>>&, std::string_view);

// An error at the first key of tbl (in file order) that is not in known. file is used only when
// the parsed tree carries no source path; path prefixes the key in the message.
Result<void, ConfigError> rejectUnknownKeys(const toml::table& tbl,
                                            std::initializer_list<std::string_view> known,
                                            const std::filesystem::path& file = {},
                                            std::string_view path = {});

}  // namespace parley::core
