// Configuration parsing: walks the TOML tree, checks every key, type and bound, resolves paths.
#include "core/config.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>
#include <tuple>

namespace parley::core {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

constexpr int64_t kMiB = 1024 * 1024;
constexpr std::string_view kHostKeys[] = {"cert",         "key",       "modules",
                                          "registration", "anonymous", "admins"};

// ---- Small text helpers ---------------------------------------------------------------------

char asciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), asciiLower);
  return out;
}

bool isBareKey(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

// The TOML spelling of prefix.key, quoting the key when it is not a bare key.
std::string dotted(std::string_view prefix, std::string_view key) {
  std::string out(prefix);
  if (!out.empty()) out += '.';
  if (isBareKey(key)) {
    out += key;
  } else {
    out += '"';
    for (char c : key) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out;
}

// A web origin (RFC 6454 §6.1) as browsers send it in Origin: "https://host" or
// "http://host:port"; no path, not even "/".
bool isOrigin(std::string_view text) {
  std::string lower = lowercase(text);
  std::string_view rest = lower;
  if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else {
    return false;
  }
  std::string_view host = rest;
  std::string_view port;
  if (rest.starts_with("[")) {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return false;
    host = rest.substr(0, close + 1);
    rest.remove_prefix(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    if (!rest.empty()) port = rest.substr(1);
  } else if (size_t colon = rest.find(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (port.empty()) return false;
  }
  if (host.empty() || (!host.starts_with("[") && !normalizeDomain(host))) return false;
  if (port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  return port.empty() || std::stoi(std::string(port)) <= 65535;
}

bool isModuleName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// ---- Positions and typed values ---------------------------------------------------------------

SourcePos positionOf(const toml::source_region& region, std::string_view fallback_file) {
  SourcePos pos;
  pos.file = region.path ? *region.path : std::string(fallback_file);
  pos.line = region.begin.line;
  pos.column = region.begin.column;
  return pos;
}

Unexpected<ConfigError> errorAt(const toml::node& node, std::string message) {
  return Unexpected(ConfigError{positionOf(node.source(), {}), std::move(message)});
}

std::string inQuotes(std::string_view name) { return "'" + std::string(name) + "'"; }

Result<bool, ConfigError> toBool(const toml::node& node, std::string_view name) {
  if (const auto* value = node.as_boolean()) return value->get();
  return errorAt(node, inQuotes(name) + " must be true or false");
}

Result<int64_t, ConfigError> toInteger(const toml::node& node, std::string_view name,
                                       std::optional<int64_t> min, std::optional<int64_t> max) {
  const auto* value = node.as_integer();
  if (!value) return errorAt(node, inQuotes(name) + " must be an integer");
  int64_t number = value->get();
  bool too_small = min && number < *min;
  bool too_big = max && number > *max;
  if (too_small || too_big) {
    std::string range;
    if (min && max) {
      range = "between " + std::to_string(*min) + " and " + std::to_string(*max);
    } else if (min) {
      range = "at least " + std::to_string(*min);
    } else {
      range = "at most " + std::to_string(*max);
    }
    return errorAt(node, inQuotes(name) + " must be " + range + ", not " + std::to_string(number));
  }
  return number;
}

std::string durationText(seconds value) { return std::to_string(value.count()) + "s"; }

Result<seconds, ConfigError> toDuration(const toml::node& node, std::string_view name,
                                        std::optional<seconds> min, std::optional<seconds> max) {
  seconds value{};
  if (const auto* number = node.as_integer()) {
    if (number->get() < 0) return errorAt(node, inQuotes(name) + " must not be negative");
    value = seconds(number->get());
  } else if (const auto* text = node.as_string()) {
    auto parsed = parseDuration(text->get());
    if (!parsed) return errorAt(node, inQuotes(name) + ": " + parsed.error());
    value = *parsed;
  } else {
    return errorAt(node, inQuotes(name) + " must be a duration: seconds, or a string like \"5m\"");
  }
  bool too_small = min && value < *min;
  bool too_big = max && value > *max;
  if (too_small || too_big) {
    std::string range;
    if (min && max) {
      range = "between " + durationText(*min) + " and " + durationText(*max);
    } else if (min) {
      range = "at least " + durationText(*min);
    } else {
      range = "at most " + durationText(*max);
    }
    return errorAt(node, inQuotes(name) + " must be " + range);
  }
  return value;
}

Result<std::string, ConfigError> toString(const toml::node& node, std::string_view name) {
  if (const auto* value = node.as_string()) return value->get();
  return errorAt(node, inQuotes(name) + " must be a string");
}

// The array's string items with their nodes, for per-item positions.
using StringItems = std::vector<std::pair<std::string, const toml::node*>>;

Result<StringItems, ConfigError> toStringItems(const toml::node& node, std::string_view name) {
  const auto* array = node.as_array();
  if (!array) return errorAt(node, inQuotes(name) + " must be an array of strings");
  StringItems items;
  for (const toml::node& item : *array) {
    const auto* text = item.as_string();
    if (!text) return errorAt(item, inQuotes(name) + " must contain only strings");
    items.emplace_back(text->get(), &item);
  }
  return items;
}

// Keys of a table sorted by their position in the file (toml::table is sorted by name).
std::vector<std::pair<const toml::key*, const toml::node*>> inFileOrder(const toml::table& tbl) {
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (const auto& [key, node] : tbl) entries.emplace_back(&key, &node);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const auto& pa = a.first->source().begin;
    const auto& pb = b.first->source().begin;
    return std::tie(pa.line, pa.column) < std::tie(pb.line, pb.column);
  });
  return entries;
}

// ---- The configuration walker -----------------------------------------------------------------

// Walks the parsed tree into a Config, collecting every error; the earliest in the file wins,
// so the operator fixes problems top to bottom.
class Parser {
 public:
  Parser(std::string file, Config& config) : file_(std::move(file)), config_(config) {}

  void parse(const toml::table& root);
  std::optional<ConfigError> firstError() const;

 private:
  void add(const ConfigError& error) { errors_.push_back(error); }
  void add(const toml::source_region& region, std::string message) {
    errors_.push_back(ConfigError{positionOf(region, file_), std::move(message)});
  }
  template <class T>
  bool take(Result<T, ConfigError> result, T& out) {
    if (!result) {
      add(result.error());
      return false;
    }
    out = std::move(*result);
    return true;
  }

  void rejectUnknown(const toml::table& tbl, std::string_view prefix,
                     std::initializer_list<std::string_view> known);
  const toml::table* section(const toml::table& root, std::string_view name);

  template <class Int>
  void readInteger(const toml::table& tbl, std::string_view prefix, std::string_view key,
                   int64_t min, int64_t max, Int& out);
  void readBool(const toml::table& tbl, std::string_view prefix, std::string_view key, bool& out);
  void readDuration(const toml::table& tbl, std::string_view prefix, std::string_view key,
                    seconds min, seconds max, seconds& out);
  void readPath(const toml::table& tbl, std::string_view prefix, std::string_view key,
                fs::path& out);
  void readListen(const toml::table& tbl, std::string_view prefix, std::string_view key,
                  std::vector<ListenAddress>& out);

  void parseTopLevel(const toml::table& root);
  void parseC2s(const toml::table& tbl);
  void parseS2s(const toml::table& tbl);
  void parseComponents(const toml::table& tbl);
  void checkComponentDomains();
  void parseHttp(const toml::table& tbl);
  void parseHosts(const toml::table& root);
  void parseHost(const toml::key& key, const toml::node& node, HostConfig& host);
  void checkListenerClashes();

  fs::path resolve(const fs::path& path) const {
    return path.is_absolute() ? path.lexically_normal() : (config_.dir / path).lexically_normal();
  }

  std::string file_;
  Config& config_;
  std::vector<ConfigError> errors_;
  // Where each listener address was written ("c2s.listen" -> one position per address), to
  // point at the second of two listeners on one address.
  std::map<std::string, std::vector<SourcePos>, std::less<>> listen_positions_;
  std::map<std::string, SourcePos> component_positions_;  // components.secrets keys
};

std::optional<ConfigError> Parser::firstError() const {
  if (errors_.empty()) return std::nullopt;
  return *std::min_element(errors_.begin(), errors_.end(), [](const auto& a, const auto& b) {
    return std::tie(a.pos.line, a.pos.column) < std::tie(b.pos.line, b.pos.column);
  });
}

void Parser::rejectUnknown(const toml::table& tbl, std::string_view prefix,
                           std::initializer_list<std::string_view> known) {
  for (const auto& [key, node] : tbl) {
    if (std::find(known.begin(), known.end(), key.str()) == known.end()) {
      add(key.source(), "unknown key " + inQuotes(dotted(prefix, key.str())));
    }
  }
}

const toml::table* Parser::section(const toml::table& root, std::string_view name) {
  const toml::node* node = root.get(name);
  if (!node) return nullptr;
  if (const auto* tbl = node->as_table()) return tbl;
  add(node->source(), inQuotes(name) + " must be a table");
  return nullptr;
}

template <class Int>
void Parser::readInteger(const toml::table& tbl, std::string_view prefix, std::string_view key,
                         int64_t min, int64_t max, Int& out) {
  const toml::node* node = tbl.get(key);
  if (!node) return;
  int64_t value = 0;
  if (take(toInteger(*node, dotted(prefix, key), min, max), value)) out = static_cast<Int>(value);
}

void Parser::readBool(const toml::table& tbl, std::string_view prefix, std::string_view key,
                      bool& out) {
  if (const toml::node* node = tbl.get(key)) take(toBool(*node, dotted(prefix, key)), out);
}

void Parser::readDuration(const toml::table& tbl, std::string_view prefix, std::string_view key,
                          seconds min, seconds max, seconds& out) {
  if (const toml::node* node = tbl.get(key)) {
    take(toDuration(*node, dotted(prefix, key), min, max), out);
  }
}

void Parser::readPath(const toml::table& tbl, std::string_view prefix, std::string_view key,
                      fs::path& out) {
  const toml::node* node = tbl.get(key);
  if (!node) return;
  std::string name = dotted(prefix, key);
  std::string text;
  if (!take(toString(*node, name), text)) return;
  if (text.empty()) return add(node->source(), inQuotes(name) + " must not be empty");
  out = resolve(fs::path(text));
}

void Parser::readListen(const toml::table& tbl, std::string_view prefix, std::string_view key,
                        std::vector<ListenAddress>& out) {
  const toml::node* node = tbl.get(key);
  if (!node) return;
  std::string name = dotted(prefix, key);
  StringItems items;
  if (!take(toStringItems(*node, name), items)) return;
  out.clear();
  std::vector<SourcePos>& positions = listen_positions_[name];
  for (const auto& [text, item] : items) {
    auto address = parseListenAddress(text);
    if (!address) {
      add(item->source(), inQuotes(name) + ": invalid address '" + text + "': " + address.error());
      continue;
    }
    out.push_back(*address);
    positions.push_back(positionOf(item->source(), file_));
  }
}

void Parser::parse(const toml::table& root) {
  parseTopLevel(root);
  if (const auto* tbl = section(root, "c2s")) parseC2s(*tbl);
  if (const auto* tbl = section(root, "s2s")) parseS2s(*tbl);
  if (const auto* tbl = section(root, "components")) parseComponents(*tbl);
  if (const auto* tbl = section(root, "http")) parseHttp(*tbl);
  parseHosts(root);
  checkComponentDomains();
  checkListenerClashes();
}

void Parser::parseTopLevel(const toml::table& root) {
  rejectUnknown(root, "",
                {"data_dir", "threads", "log_level", "c2s", "s2s", "components", "http", "hosts"});
  config_.data_dir = resolve("var");
  readPath(root, "", "data_dir", config_.data_dir);
  readInteger(root, "", "threads", 0, 1024, config_.threads);
  if (const toml::node* node = root.get("log_level")) {
    std::string level;
    if (take(toString(*node, "log_level"), level)) {
      if (level == "debug" || level == "info" || level == "warn" || level == "error") {
        config_.log_level = level;
      } else {
        add(node->source(),
            "'log_level' must be one of debug, info, warn, error, not '" + level + "'");
      }
    }
  }
}

void Parser::parseC2s(const toml::table& tbl) {
  C2sConfig& c2s = config_.c2s;
  rejectUnknown(tbl, "c2s",
                {"listen", "direct_tls", "require_encryption", "sasl_mechanisms",
                 "max_stanza_bytes", "max_depth", "auth_timeout", "connections_per_ip",
                 "bytes_per_second", "failed_logins_per_ip", "release_idle_after"});
  readListen(tbl, "c2s", "listen", c2s.listen);
  readListen(tbl, "c2s", "direct_tls", c2s.direct_tls);
  readBool(tbl, "c2s", "require_encryption", c2s.require_encryption);
  readInteger(tbl, "c2s", "max_stanza_bytes", 1024, 16 * kMiB, c2s.max_stanza_bytes);
  readInteger(tbl, "c2s", "max_depth", 4, 256, c2s.max_depth);
  readDuration(tbl, "c2s", "auth_timeout", seconds(1), seconds(3600), c2s.auth_timeout);
  readDuration(tbl, "c2s", "release_idle_after", seconds(1), seconds(3600), c2s.release_idle_after);
  readInteger(tbl, "c2s", "connections_per_ip", 0, 1000000, c2s.connections_per_ip);
  readInteger(tbl, "c2s", "failed_logins_per_ip", 0, 1000000, c2s.failed_logins_per_ip);
  readInteger(tbl, "c2s", "bytes_per_second", 0, 1024 * kMiB, c2s.bytes_per_second);
  if (const toml::node* node = tbl.get("bytes_per_second");
      node && c2s.bytes_per_second != 0 && c2s.bytes_per_second < 1024) {
    add(node->source(), "'c2s.bytes_per_second' must be 0 (unlimited) or at least 1024");
  }
  if (const toml::node* node = tbl.get("sasl_mechanisms")) {
    StringItems items;
    if (!take(toStringItems(*node, "c2s.sasl_mechanisms"), items)) return;
    for (const auto& [text, item] : items) {
      std::string name = text;
      std::transform(name.begin(), name.end(), name.begin(),
                     [](char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; });
      bool known = std::find(std::begin(kSaslMechanisms), std::end(kSaslMechanisms), name) !=
                   std::end(kSaslMechanisms);
      if (!known) {
        add(item->source(), "'c2s.sasl_mechanisms': unknown mechanism '" + text + "'");
      } else if (std::find(c2s.sasl_mechanisms.begin(), c2s.sasl_mechanisms.end(), name) !=
                 c2s.sasl_mechanisms.end()) {
        add(item->source(), "'c2s.sasl_mechanisms': duplicate mechanism '" + text + "'");
      } else {
        c2s.sasl_mechanisms.push_back(name);
      }
    }
  }
}

void Parser::parseS2s(const toml::table& tbl) {
  S2sConfig& s2s = config_.s2s;
  rejectUnknown(tbl, "s2s",
                {"listen", "direct_tls", "dns_servers", "routes", "trust", "max_stanza_bytes",
                 "require_encryption", "require_valid_certificates", "connect_timeout",
                 "auth_timeout", "queue_timeout", "max_queued_stanzas", "idle_timeout"});
  readListen(tbl, "s2s", "listen", s2s.listen);
  readListen(tbl, "s2s", "direct_tls", s2s.direct_tls);
  readInteger(tbl, "s2s", "max_stanza_bytes", 1024, 16 * kMiB, s2s.max_stanza_bytes);
  readBool(tbl, "s2s", "require_encryption", s2s.require_encryption);
  readBool(tbl, "s2s", "require_valid_certificates", s2s.require_valid_certificates);
  readDuration(tbl, "s2s", "connect_timeout", seconds(1), seconds(600), s2s.connect_timeout);
  readDuration(tbl, "s2s", "auth_timeout", seconds(1), seconds(3600), s2s.auth_timeout);
  readDuration(tbl, "s2s", "queue_timeout", seconds(1), seconds(86400), s2s.queue_timeout);
  readInteger(tbl, "s2s", "max_queued_stanzas", 1, 1000000, s2s.max_queued_stanzas);
  readDuration(tbl, "s2s", "idle_timeout", seconds(1), seconds(86400), s2s.idle_timeout);
  if (const toml::node* node = tbl.get("dns_servers")) {
    StringItems items;
    if (take(toStringItems(*node, "s2s.dns_servers"), items)) {
      for (const auto& [text, item] : items) {
        auto address = parseHostPort(text, 53, false);
        if (address && address->port == 0) address = Unexpected(std::string("port 0"));
        if (!address) {
          add(item->source(),
              "'s2s.dns_servers': invalid address '" + text + "': " + address.error());
        } else {
          s2s.dns_servers.push_back(*address);
        }
      }
    }
  }
  // routes and trust are tables keyed by the remote domain.
  auto domainTable = [&](std::string_view key, auto&& read_value) {
    const toml::node* node = tbl.get(key);
    if (!node) return;
    std::string name = dotted("s2s", key);
    const auto* table = node->as_table();
    if (!table) return add(node->source(), inQuotes(name) + " must be a table");
    for (const auto& [domain_key, value] : *table) {
      auto domain = normalizeDomain(domain_key.str());
      if (!domain) {
        add(domain_key.source(), inQuotes(name) + ": invalid domain '" +
                                     std::string(domain_key.str()) + "': " + domain.error());
        continue;
      }
      read_value(*domain, value, dotted(name, domain_key.str()));
    }
  };
  domainTable(
      "routes", [&](const std::string& domain, const toml::node& value, const std::string& name) {
        std::string text;
        if (!take(toString(value, name), text)) return;
        auto address = parseHostPort(text, std::nullopt, true);
        if (address && address->port == 0) address = Unexpected(std::string("port 0"));
        if (!address) {
          return add(value.source(),
                     inQuotes(name) + ": invalid address '" + text + "': " + address.error());
        }
        s2s.routes[domain] = *address;
      });
  domainTable("trust",
              [&](const std::string& domain, const toml::node& value, const std::string& name) {
                std::string text;
                if (!take(toString(value, name), text)) return;
                if (text.empty()) return add(value.source(), inQuotes(name) + " must not be empty");
                s2s.trust[domain] = resolve(text);
              });
}

void Parser::parseComponents(const toml::table& tbl) {
  ComponentConfig& components = config_.components;
  rejectUnknown(tbl, "components", {"listen", "secrets"});
  readListen(tbl, "components", "listen", components.listen);
  const toml::node* node = tbl.get("secrets");
  if (!node) return;
  const auto* secrets = node->as_table();
  if (!secrets) return add(node->source(), "'components.secrets' must be a table");
  for (const auto& [key, value] : *secrets) {
    std::string name = dotted("components.secrets", key.str());
    auto domain = normalizeDomain(key.str());
    if (!domain) {
      add(key.source(), "'components.secrets': invalid domain '" + std::string(key.str()) +
                            "': " + domain.error());
      continue;
    }
    std::string secret;
    if (!take(toString(value, name), secret)) continue;
    if (secret.empty()) {
      add(value.source(), inQuotes(name) + " must not be empty");
      continue;
    }
    components.secrets[*domain] = std::move(secret);
    component_positions_[*domain] = positionOf(key.source(), file_);
  }
}

void Parser::parseHttp(const toml::table& tbl) {
  HttpConfig& http = config_.http;
  rejectUnknown(tbl, "http",
                {"listen", "tls_listen", "public_url", "web_root", "max_header_bytes",
                 "request_timeout", "keepalive_timeout", "max_connections_per_ip",
                 "websocket_origins", "bosh_max_wait", "bosh_inactivity"});
  readListen(tbl, "http", "listen", http.listen);
  readListen(tbl, "http", "tls_listen", http.tls_listen);
  readInteger(tbl, "http", "max_header_bytes", 1024, 65536, http.max_header_bytes);
  readDuration(tbl, "http", "request_timeout", seconds(1), seconds(3600), http.request_timeout);
  readDuration(tbl, "http", "keepalive_timeout", seconds(1), seconds(3600), http.keepalive_timeout);
  readInteger(tbl, "http", "max_connections_per_ip", 0, 1000000, http.max_connections_per_ip);
  readDuration(tbl, "http", "bosh_max_wait", seconds(1), seconds(3600), http.bosh_max_wait);
  readDuration(tbl, "http", "bosh_inactivity", seconds(1), seconds(3600), http.bosh_inactivity);
  if (const toml::node* node = tbl.get("web_root")) {
    std::string text;
    // "" is the default spelled out: no web page.
    if (take(toString(*node, "http.web_root"), text) && !text.empty()) {
      http.web_root = resolve(fs::path(text));
    }
  }
  if (const toml::node* node = tbl.get("websocket_origins")) {
    StringItems items;
    if (take(toStringItems(*node, "http.websocket_origins"), items)) {
      for (const auto& [text, item] : items) {
        if (!isOrigin(text)) {
          add(item->source(), "'http.websocket_origins': '" + text +
                                  "' is not an origin (scheme://host or scheme://host:port)");
          continue;
        }
        http.websocket_origins.push_back(lowercase(text));
      }
    }
  }
  if (const toml::node* node = tbl.get("public_url")) {
    std::string url;
    if (!take(toString(*node, "http.public_url"), url)) return;
    std::string lower = lowercase(url);
    size_t scheme_end = lower.rfind("https://", 0) == 0  ? 8
                        : lower.rfind("http://", 0) == 0 ? 7
                                                         : 0;
    if (scheme_end == 0 || url.size() == scheme_end || url[scheme_end] == '/') {
      return add(node->source(), "'http.public_url' must be an http:// or https:// URL");
    }
    if (url.back() != '/') url += '/';
    http.public_url = url;
  }
}

void Parser::parseHosts(const toml::table& root) {
  const toml::node* hosts_node = root.get("hosts");
  if (!hosts_node) {
    HostConfig host;
    host.domain = "localhost";
    host.cert = config_.data_dir / "certs" / "localhost.crt";
    host.key = config_.data_dir / "certs" / "localhost.key";
    host.pos.file = file_;
    config_.hosts.push_back(std::move(host));
    return;
  }
  const auto* hosts = hosts_node->as_table();
  if (!hosts) return add(hosts_node->source(), "'hosts' must be a table");
  if (hosts->empty()) return add(hosts_node->source(), "'hosts' must name at least one host");
  for (const auto& [key, node] : inFileOrder(*hosts)) {
    HostConfig host;
    parseHost(*key, *node, host);
    if (host.domain.empty()) continue;  // an error was recorded
    if (config_.host(host.domain)) {
      add(key->source(), "duplicate host '" + host.domain + "'");
      continue;
    }
    config_.hosts.push_back(std::move(host));
  }
}

void Parser::parseHost(const toml::key& key, const toml::node& node, HostConfig& host) {
  std::string prefix = dotted("hosts", key.str());
  auto domain = normalizeDomain(key.str());
  if (!domain) {
    return add(key.source(),
               "invalid host name '" + std::string(key.str()) + "': " + domain.error());
  }
  const auto* tbl = node.as_table();
  if (!tbl) return add(node.source(), inQuotes(prefix) + " must be a table");
  host.domain = *domain;
  host.pos = positionOf(key.source(), file_);
  host.cert = config_.data_dir / "certs" / (host.domain + ".crt");
  host.key = config_.data_dir / "certs" / (host.domain + ".key");

  for (const auto& [sub_key, sub_node] : inFileOrder(*tbl)) {
    std::string_view name = sub_key->str();
    bool known = std::find(std::begin(kHostKeys), std::end(kHostKeys), name) != std::end(kHostKeys);
    if (known) continue;
    if (sub_node->is_table() && isModuleName(name)) {
      host.option_tables.push_back({std::string(name), positionOf(sub_key->source(), file_)});
      host.module_tables.emplace(std::string(name), sub_node->as_table());
      continue;
    }
    add(sub_key->source(), "unknown key " + inQuotes(dotted(prefix, name)));
  }

  readPath(*tbl, prefix, "cert", host.cert);
  readPath(*tbl, prefix, "key", host.key);
  readBool(*tbl, prefix, "registration", host.registration);
  readBool(*tbl, prefix, "anonymous", host.anonymous);
  if (const toml::node* modules = tbl->get("modules")) {
    std::string name = dotted(prefix, "modules");
    StringItems items;
    if (take(toStringItems(*modules, name), items)) {
      host.modules_given = true;
      for (const auto& [module, item] : items) {
        if (!isModuleName(module)) {
          add(item->source(),
              inQuotes(name) + ": invalid module name '" + module + "' (use a-z, 0-9 and _)");
        } else if (std::find(host.modules.begin(), host.modules.end(), module) !=
                   host.modules.end()) {
          add(item->source(), inQuotes(name) + ": duplicate module '" + module + "'");
        } else {
          host.modules.push_back(module);
        }
      }
    }
  }
  if (const toml::node* admins = tbl->get("admins")) {
    std::string name = dotted(prefix, "admins");
    StringItems items;
    if (take(toStringItems(*admins, name), items)) {
      for (const auto& [jid, item] : items) {
        size_t at = jid.find('@');
        std::string_view local = std::string_view(jid).substr(0, at);
        bool ok = at != std::string::npos && at > 0 &&
                  local.find_first_of(" \t\"&'/:<>@") == std::string_view::npos;
        auto admin_domain = ok ? normalizeDomain(std::string_view(jid).substr(at + 1))
                               : Result<std::string, std::string>(Unexpected(std::string()));
        if (!ok || !admin_domain) {
          add(item->source(), inQuotes(name) + ": '" + jid + "' is not a bare JID (user@domain)");
          continue;
        }
        host.admins.push_back(std::string(local) + "@" + *admin_domain);
      }
    }
  }
}

void Parser::checkComponentDomains() {
  for (const auto& [domain, pos] : component_positions_) {
    if (config_.host(domain)) {
      errors_.push_back({pos, "'components.secrets': '" + domain +
                                  "' is a host; a component needs a domain of its own"});
    }
  }
}

void Parser::checkListenerClashes() {
  struct Listener {
    const ListenAddress* address;
    std::string key;
    SourcePos pos;  // no position for a default
  };
  std::vector<Listener> listeners;
  auto collect = [&](std::string key, const std::vector<ListenAddress>& addresses) {
    const auto& positions = listen_positions_[key];
    for (size_t i = 0; i < addresses.size(); ++i) {
      listeners.push_back({&addresses[i], key, i < positions.size() ? positions[i] : SourcePos{}});
    }
  };
  collect("c2s.listen", config_.c2s.listen);
  collect("c2s.direct_tls", config_.c2s.direct_tls);
  collect("s2s.listen", config_.s2s.listen);
  collect("s2s.direct_tls", config_.s2s.direct_tls);
  if (!config_.components.secrets.empty()) {
    collect("components.listen", config_.components.listen);
  }
  collect("http.listen", config_.http.listen);
  collect("http.tls_listen", config_.http.tls_listen);
  for (size_t i = 0; i < listeners.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      const Listener* first = &listeners[j];
      const Listener* second = &listeners[i];
      if (second->address->port == 0 || !(*first->address == *second->address)) continue;
      // Report at the later of the two written in the file.
      if (std::tie(first->pos.line, first->pos.column) >
          std::tie(second->pos.line, second->pos.column)) {
        std::swap(first, second);
      }
      errors_.push_back({second->pos, inQuotes(second->key) + ": " + second->address->toString() +
                                          " is already used by '" + first->key + "'"});
      break;
    }
  }
}

// ---- readOption -----------------------------------------------------------------------------

template <class T>
Result<T, ConfigError> convertOption(const toml::node& node, std::string_view name,
                                     const Bounds<T>& bounds) {
  if constexpr (std::is_same_v<T, bool>) {
    return toBool(node, name);
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return toInteger(node, name, bounds.min, bounds.max);
  } else if constexpr (std::is_same_v<T, seconds>) {
    return toDuration(node, name, bounds.min, bounds.max);
  } else if constexpr (std::is_same_v<T, std::string>) {
    auto text = toString(node, name);
    if (!text) return text;
    if (!bounds.allow_empty && text->empty()) {
      return errorAt(node, inQuotes(name) + " must not be empty");
    }
    if (!bounds.one_of.empty() &&
        std::find(bounds.one_of.begin(), bounds.one_of.end(), *text) == bounds.one_of.end()) {
      std::string choices;
      for (const auto& choice : bounds.one_of) choices += (choices.empty() ? "" : ", ") + choice;
      return errorAt(node, inQuotes(name) + " must be one of " + choices + ", not '" + *text + "'");
    }
    return text;
  } else {
    static_assert(std::is_same_v<T, std::vector<std::string>>);
    auto items = toStringItems(node, name);
    if (!items) return Unexpected(std::move(items).error());
    std::vector<std::string> out;
    for (const auto& [text, item] : *items) {
      if (!bounds.one_of.empty() &&
          std::find(bounds.one_of.begin(), bounds.one_of.end(), text) == bounds.one_of.end()) {
        return errorAt(*item, inQuotes(name) + ": unknown value '" + text + "'");
      }
      if (!bounds.allow_duplicates && std::find(out.begin(), out.end(), text) != out.end()) {
        return errorAt(*item, inQuotes(name) + ": duplicate value '" + text + "'");
      }
      out.push_back(text);
    }
    return out;
  }
}

}  // namespace

// ---- Public functions -------------------------------------------------------------------------

std::string SourcePos::toString() const {
  if (line == 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string ConfigError::toString() const { return pos.toString() + ": " + message; }

const toml::table* HostConfig::module_options(std::string_view module) const {
  auto it = module_tables.find(module);
  return it == module_tables.end() ? nullptr : it->second;
}

std::string HostConfig::moduleOptionsPath(std::string_view module) const {
  return dotted(dotted("hosts", domain), module);
}

const HostConfig* Config::host(std::string_view domain) const {
  std::string wanted = lowercase(domain);
  for (const HostConfig& candidate : hosts) {
    if (candidate.domain == wanted) return &candidate;
  }
  return nullptr;
}

unsigned Config::resolvedThreads() const {
  if (threads > 0) return threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

Result<Config, ConfigError> parseConfig(std::string_view text, const fs::path& file) {
  std::string file_name = file.string();
  Config config;
  config.file = file;
  std::error_code ec;
  fs::path absolute = fs::absolute(file, ec);
  config.dir = (ec ? file : absolute).parent_path().lexically_normal();

  try {
    config.raw = std::make_shared<toml::table>(toml::parse(text, std::string_view(file_name)));
  } catch (const toml::parse_error& error) {
    std::string message(error.description());
    // toml++ says "Error while parsing key-value pair: <what>"; keep only <what>.
    if (message.rfind("Error while parsing", 0) == 0) {
      if (size_t colon = message.find(": "); colon != std::string::npos) {
        message = message.substr(colon + 2);
      }
    }
    return Unexpected(ConfigError{positionOf(error.source(), file_name), message});
  }

  Parser parser(file_name, config);
  parser.parse(*config.raw);
  if (auto error = parser.firstError()) return Unexpected(std::move(*error));
  return config;
}

Result<Config, ConfigError> loadConfig(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return Unexpected(
        ConfigError{{file.string(), 0, 0}, std::string("cannot open: ") + std::strerror(errno)});
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return Unexpected(
        ConfigError{{file.string(), 0, 0}, "cannot read: " + std::string(std::strerror(errno))});
  }
  return parseConfig(text.str(), file);
}

template <class T>
Result<T, ConfigError> readOption(const toml::table* tbl, std::string_view key, T default_value,
                                  const Bounds<T>& bounds, std::string_view path) {
  if (!tbl) return default_value;
  const toml::node* node = tbl->get(key);
  if (!node) return default_value;
  return convertOption<T>(*node, dotted(path, key), bounds);
}

template Result<bool, ConfigError> readOption(const toml::table*, std::string_view, bool,
                                              const Bounds<bool>&, std::string_view);
template Result<int64_t, ConfigError> readOption(const toml::table*, std::string_view, int64_t,
                                                 const Bounds<int64_t>&, std::string_view);
template Result<seconds, ConfigError> readOption(const toml::table*, std::string_view, seconds,
                                                 const Bounds<seconds>&, std::string_view);
template Result<std::string, ConfigError> readOption(const toml::table*, std::string_view,
                                                     std::string, const Bounds<std::string>&,
                                                     std::string_view);
template Result<std::vector<std::string>, ConfigError> readOption(
    const toml::table*, std::string_view, std::vector<std::string>,
    const Bounds<std::vector<std::string>>&, std::string_view);

Result<void, ConfigError> rejectUnknownKeys(const toml::table& tbl,
                                            std::initializer_list<std::string_view> known,
                                            const fs::path& file, std::string_view path) {
  for (const auto& [key, node] : inFileOrder(tbl)) {
    if (std::find(known.begin(), known.end(), key->str()) == known.end()) {
      return Unexpected(ConfigError{positionOf(key->source(), file.string()),
                                    "unknown key " + inQuotes(dotted(path, key->str()))});
    }
  }
  return {};
}

}  // namespace parley::core
