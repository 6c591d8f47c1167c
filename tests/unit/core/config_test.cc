// Unit tests for parley.toml parsing: defaults, a full file, every kind of error with its position.
#include "core/config.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>

namespace parley::core {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path kFile = "/srv/parley/conf/parley.toml";

Config parseOk(std::string_view text, const fs::path& file = kFile) {
  auto config = parseConfig(text, file);
  if (!config) FAIL("unexpected error: " << config.error().toString());
  return std::move(config).value();
}

std::string parseError(std::string_view text) {
  auto config = parseConfig(text, "t.toml");
  if (config) return "(no error)";
  return config.error().toString();
}

TEST_CASE("config: an empty file gives the defaults", "[config]") {
  Config config = parseOk("");
  CHECK(config.file == kFile);
  CHECK(config.dir == "/srv/parley/conf");
  CHECK(config.data_dir == "/srv/parley/conf/var");
  CHECK(config.threads == 0);
  CHECK(config.resolvedThreads() >= 1);
  CHECK(config.log_level == "info");

  CHECK(config.c2s.listen == std::vector<ListenAddress>{{"127.0.0.1", 5222}});
  CHECK(config.c2s.direct_tls == std::vector<ListenAddress>{{"127.0.0.1", 5223}});
  CHECK(config.c2s.require_encryption);
  CHECK(config.c2s.sasl_mechanisms.empty());
  CHECK(config.c2s.max_stanza_bytes == 262144);
  CHECK(config.c2s.max_depth == 32);
  CHECK(config.c2s.auth_timeout == 30s);
  CHECK(config.c2s.connections_per_ip == 64);
  CHECK(config.c2s.bytes_per_second == 0);
  CHECK(config.c2s.failed_logins_per_ip == 10);
  CHECK(config.c2s.release_idle_after == 30s);

  CHECK(config.s2s.listen == std::vector<ListenAddress>{{"127.0.0.1", 5269}});
  CHECK(config.s2s.direct_tls == std::vector<ListenAddress>{{"127.0.0.1", 5270}});
  CHECK(config.s2s.dns_servers.empty());
  CHECK(config.s2s.routes.empty());
  CHECK(config.s2s.trust.empty());
  CHECK(config.s2s.max_stanza_bytes == 524288);
  CHECK(config.s2s.require_encryption);
  CHECK_FALSE(config.s2s.require_valid_certificates);
  CHECK(config.s2s.connect_timeout == 10s);
  CHECK(config.s2s.auth_timeout == 30s);
  CHECK(config.s2s.queue_timeout == 60s);
  CHECK(config.s2s.max_queued_stanzas == 1000);
  CHECK(config.s2s.idle_timeout == 600s);
  CHECK(config.components.listen == std::vector<ListenAddress>{{"127.0.0.1", 5347}});
  CHECK(config.components.secrets.empty());

  CHECK(config.http.listen == std::vector<ListenAddress>{{"127.0.0.1", 5280}});
  CHECK(config.http.tls_listen == std::vector<ListenAddress>{{"127.0.0.1", 5281}});
  CHECK(config.http.public_url == "https://localhost:5281/");
  CHECK(config.http.web_root.empty());
  CHECK(config.http.max_header_bytes == 16384);
  CHECK(config.http.request_timeout == 30s);
  CHECK(config.http.keepalive_timeout == 60s);
  CHECK(config.http.max_connections_per_ip == 64);
  CHECK(config.http.websocket_origins.empty());
  CHECK(config.http.bosh_max_wait == 60s);
  CHECK(config.http.bosh_inactivity == 60s);

  REQUIRE(config.hosts.size() == 1);
  const HostConfig& host = config.hosts[0];
  CHECK(host.domain == "localhost");
  CHECK(host.cert == "/srv/parley/conf/var/certs/localhost.crt");
  CHECK(host.key == "/srv/parley/conf/var/certs/localhost.key");
  CHECK_FALSE(host.modules_given);
  CHECK(host.modules.empty());
  CHECK_FALSE(host.registration);
  CHECK_FALSE(host.anonymous);
  CHECK(host.admins.empty());
  CHECK(host.module_options("version") == nullptr);
  CHECK(config.host("localhost") == &host);
  CHECK(config.host("LocalHost") == &host);
  CHECK(config.host("example.com") == nullptr);
}

constexpr std::string_view kFullExample = R"(# every key, none at its default
data_dir = "/var/lib/parley"
threads = 4
log_level = "debug"

[c2s]
listen = ["*:5222", "[::1]:15222"]
direct_tls = []
require_encryption = false
sasl_mechanisms = ["SCRAM-SHA-256", "plain"]
max_stanza_bytes = 65536
max_depth = 16
auth_timeout = "1m"
connections_per_ip = 0
bytes_per_second = 10240
failed_logins_per_ip = 3
release_idle_after = "2m"

[s2s]
listen = ["0.0.0.0:5269"]
direct_tls = ["0.0.0.0:0"]
dns_servers = ["127.0.0.53", "[2606:4700:4700::1111]:53"]
routes = { "Example.org" = "xmpp.example.org:5269", "test.local" = "10.0.0.2:5270" }
trust = { "example.org" = "ca/example.pem" }
max_stanza_bytes = 1048576
require_encryption = false
require_valid_certificates = true
connect_timeout = "5s"
auth_timeout = "1m"
queue_timeout = "2m"
max_queued_stanzas = 50
idle_timeout = "1h"

[components]
listen = ["127.0.0.1:15347"]
secrets = { "Gateway.example.com" = "s3cret" }

[http]
listen = []
tls_listen = ["0.0.0.0:443"]
public_url = "https://chat.example.com"

[hosts."Example.COM"]
cert = "/etc/ssl/example.crt"
key = "keys/example.key"
modules = ["disco", "ping", "version"]
registration = true
admins = ["admin@Example.com"]

[hosts."Example.COM".version]
hide_os = true

[hosts."anon.example.com"]
anonymous = true
)";

TEST_CASE("config: a full file sets every key", "[config]") {
  Config config = parseOk(kFullExample);
  CHECK(config.data_dir == "/var/lib/parley");
  CHECK(config.threads == 4);
  CHECK(config.resolvedThreads() == 4);
  CHECK(config.log_level == "debug");

  CHECK(config.c2s.listen == std::vector<ListenAddress>{{"*", 5222}, {"::1", 15222}});
  CHECK(config.c2s.direct_tls.empty());
  CHECK_FALSE(config.c2s.require_encryption);
  CHECK(config.c2s.sasl_mechanisms == std::vector<std::string>{"SCRAM-SHA-256", "PLAIN"});
  CHECK(config.c2s.max_stanza_bytes == 65536);
  CHECK(config.c2s.max_depth == 16);
  CHECK(config.c2s.auth_timeout == 60s);
  CHECK(config.c2s.connections_per_ip == 0);
  CHECK(config.c2s.bytes_per_second == 10240);
  CHECK(config.c2s.failed_logins_per_ip == 3);
  CHECK(config.c2s.release_idle_after == 120s);

  CHECK(config.s2s.listen == std::vector<ListenAddress>{{"0.0.0.0", 5269}});
  CHECK(config.s2s.direct_tls == std::vector<ListenAddress>{{"0.0.0.0", 0}});
  CHECK(config.s2s.dns_servers ==
        std::vector<ListenAddress>{{"127.0.0.53", 53}, {"2606:4700:4700::1111", 53}});
  REQUIRE(config.s2s.routes.size() == 2);
  CHECK(config.s2s.routes.at("example.org") == ListenAddress{"xmpp.example.org", 5269});
  CHECK(config.s2s.routes.at("test.local") == ListenAddress{"10.0.0.2", 5270});
  CHECK(config.s2s.trust.at("example.org") == "/srv/parley/conf/ca/example.pem");
  CHECK(config.s2s.max_stanza_bytes == 1048576);
  CHECK_FALSE(config.s2s.require_encryption);
  CHECK(config.s2s.require_valid_certificates);
  CHECK(config.s2s.connect_timeout == 5s);
  CHECK(config.s2s.auth_timeout == 60s);
  CHECK(config.s2s.queue_timeout == 120s);
  CHECK(config.s2s.max_queued_stanzas == 50);
  CHECK(config.s2s.idle_timeout == 3600s);
  CHECK(config.components.listen == std::vector<ListenAddress>{{"127.0.0.1", 15347}});
  CHECK(config.components.secrets ==
        std::map<std::string, std::string>{{"gateway.example.com", "s3cret"}});

  CHECK(config.http.listen.empty());
  CHECK(config.http.tls_listen == std::vector<ListenAddress>{{"0.0.0.0", 443}});
  CHECK(config.http.public_url == "https://chat.example.com/");

  REQUIRE(config.hosts.size() == 2);
  const HostConfig& example = config.hosts[0];  // file order, not name order
  CHECK(example.domain == "example.com");
  CHECK(example.pos.toString() == "/srv/parley/conf/parley.toml:43:8");
  CHECK(example.cert == "/etc/ssl/example.crt");
  CHECK(example.key == "/srv/parley/conf/keys/example.key");
  CHECK(example.modules_given);
  CHECK(example.modules == std::vector<std::string>{"disco", "ping", "version"});
  CHECK(example.registration);
  CHECK_FALSE(example.anonymous);
  CHECK(example.admins == std::vector<std::string>{"admin@example.com"});

  const HostConfig& anon = config.hosts[1];
  CHECK(anon.domain == "anon.example.com");
  CHECK(anon.anonymous);
  CHECK(anon.cert == "/var/lib/parley/certs/anon.example.com.crt");
  CHECK(anon.key == "/var/lib/parley/certs/anon.example.com.key");
  CHECK_FALSE(anon.modules_given);
  CHECK(readOption<bool>(example.module_options("version"), "hide_os", false).value());
  CHECK(anon.module_options("version") == nullptr);
}

TEST_CASE("config: the [http] keys", "[config]") {
  Config config = parseOk(R"(
[http]
web_root = "../web"
max_header_bytes = 8192
request_timeout = "5s"
keepalive_timeout = "2m"
max_connections_per_ip = 0
websocket_origins = ["https://Chat.Example.com", "http://localhost:5280", "https://[::1]:8443"]
bosh_max_wait = "30s"
bosh_inactivity = 90
)");
  CHECK(config.http.bosh_max_wait == 30s);
  CHECK(config.http.bosh_inactivity == 90s);
  CHECK(config.http.web_root == "/srv/parley/web");
  CHECK(config.http.max_header_bytes == 8192);
  CHECK(config.http.request_timeout == 5s);
  CHECK(config.http.keepalive_timeout == 120s);
  CHECK(config.http.max_connections_per_ip == 0);
  CHECK(config.http.websocket_origins == std::vector<std::string>{"https://chat.example.com",
                                                                  "http://localhost:5280",
                                                                  "https://[::1]:8443"});
  // "" spells out the default: no web page.
  CHECK(parseOk("[http]\nweb_root = \"\"\n").http.web_root.empty());
}

TEST_CASE("config: module option tables are kept with the host", "[config]") {
  Config ok = parseOk(R"([hosts."Example.COM"]
modules = ["version"]
[hosts."Example.COM".version]
hide_os = true
)");
  const HostConfig* host = ok.host("example.com");
  REQUIRE(host != nullptr);
  const toml::table* options = host->module_options("version");
  REQUIRE(options != nullptr);
  CHECK(readOption<bool>(options, "hide_os", false).value());
  REQUIRE(host->option_tables.size() == 1);
  CHECK(host->option_tables[0].module == "version");
  CHECK(host->option_tables[0].pos.line == 3);
  CHECK(host->moduleOptionsPath("version") == "hosts.\"example.com\".version");
  CHECK(host->module_options("ping") == nullptr);

  Config copy = ok;  // option tables live in the shared raw tree
  ok = Config{};
  CHECK(readOption<bool>(copy.host("example.com")->module_options("version"), "hide_os", false)
            .value());
}

struct ErrorCase {
  std::string_view text;
  std::string_view expected;
};

TEST_CASE("config: each error names its key at FILE:LINE:COL", "[config]") {
  const ErrorCase cases[] = {
      // TOML syntax, positioned by toml++.
      {"a = 1\nb = = 2\n", "t.toml:2:5: could not determine value type"},
      // Unknown keys, at the key.
      {"foo = 1\n", "t.toml:1:1: unknown key 'foo'"},
      {"[c2s]\nlisten = []\nlistne = [\"x\"]\n", "t.toml:3:1: unknown key 'c2s.listne'"},
      {"\nc2s.listne = 1\n", "t.toml:2:5: unknown key 'c2s.listne'"},
      {"[s2s]\nroute = {}\n", "t.toml:2:1: unknown key 's2s.route'"},
      {"[http]\n\npublic = \"x\"\n", "t.toml:3:1: unknown key 'http.public'"},
      {"[hosts.localhost]\nregistraton = true\n",
       "t.toml:2:1: unknown key 'hosts.localhost.registraton'"},
      {"[hosts.\"a.example\"]\nx = 1\n", "t.toml:2:1: unknown key 'hosts.\"a.example\".x'"},
      {"[hosts.localhost.Version]\n", "t.toml:1:18: unknown key 'hosts.localhost.Version'"},
      // Wrong types, at the value.
      {"threads = \"x\"\n", "t.toml:1:11: 'threads' must be an integer"},
      {"data_dir = 5\n", "t.toml:1:12: 'data_dir' must be a string"},
      {"c2s = 1\n", "t.toml:1:7: 'c2s' must be a table"},
      {"hosts = 1\n", "t.toml:1:9: 'hosts' must be a table"},
      {"[c2s]\nrequire_encryption = 1\n",
       "t.toml:2:22: 'c2s.require_encryption' must be true or false"},
      {"[c2s]\nlisten = \"127.0.0.1:5222\"\n",
       "t.toml:2:10: 'c2s.listen' must be an array of strings"},
      {"[c2s]\nlisten = [5222]\n", "t.toml:2:11: 'c2s.listen' must contain only strings"},
      {"[c2s]\nauth_timeout = 1.5\n",
       "t.toml:2:16: 'c2s.auth_timeout' must be a duration: seconds, or a string like \"5m\""},
      {"[hosts]\nlocalhost = 1\n", "t.toml:2:13: 'hosts.localhost' must be a table"},
      {"[hosts.localhost]\ncert = 5\n", "t.toml:2:8: 'hosts.localhost.cert' must be a string"},
      // Out of range or invalid values.
      {"\n\nthreads = 5000\n", "t.toml:3:11: 'threads' must be between 0 and 1024, not 5000"},
      {"threads = -1\n", "t.toml:1:11: 'threads' must be between 0 and 1024, not -1"},
      {"data_dir = \"\"\n", "t.toml:1:12: 'data_dir' must not be empty"},
      {"log_level = \"loud\"\n",
       "t.toml:1:13: 'log_level' must be one of debug, info, warn, error, not 'loud'"},
      {"[c2s]\nmax_stanza_bytes = 10\n",
       "t.toml:2:20: 'c2s.max_stanza_bytes' must be between 1024 and 16777216, not 10"},
      {"[c2s]\nmax_depth = 300\n",
       "t.toml:2:13: 'c2s.max_depth' must be between 4 and 256, not 300"},
      {"[c2s]\nauth_timeout = \"2h\"\n",
       "t.toml:2:16: 'c2s.auth_timeout' must be between 1s and 3600s"},
      {"[c2s]\nauth_timeout = 0\n", "t.toml:2:16: 'c2s.auth_timeout' must be between 1s and 3600s"},
      {"[c2s]\nrelease_idle_after = \"2h\"\n",
       "t.toml:2:22: 'c2s.release_idle_after' must be between 1s and 3600s"},
      {"[c2s]\nauth_timeout = \"5x\"\n",
       "t.toml:2:16: 'c2s.auth_timeout': invalid duration '5x' (units: s, m, h, d)"},
      {"[c2s]\nbytes_per_second = 10\n",
       "t.toml:2:20: 'c2s.bytes_per_second' must be 0 (unlimited) or at least 1024"},
      {"[c2s]\nsasl_mechanisms = [\"PLAIN\", \"CRAM-MD5\"]\n",
       "t.toml:2:29: 'c2s.sasl_mechanisms': unknown mechanism 'CRAM-MD5'"},
      {"[c2s]\nsasl_mechanisms = [\"PLAIN\", \"plain\"]\n",
       "t.toml:2:29: 'c2s.sasl_mechanisms': duplicate mechanism 'plain'"},
      {"[s2s]\nmax_stanza_bytes = 0\n",
       "t.toml:2:20: 's2s.max_stanza_bytes' must be between 1024 and 16777216, not 0"},
      {"[http]\npublic_url = \"ftp://x\"\n",
       "t.toml:2:14: 'http.public_url' must be an http:// or https:// URL"},
      {"[http]\nmax_header_bytes = 100\n",
       "t.toml:2:20: 'http.max_header_bytes' must be between 1024 and 65536, not 100"},
      {"[http]\nrequest_timeout = \"0s\"\n",
       "t.toml:2:19: 'http.request_timeout' must be between 1s and 3600s"},
      {"[http]\nkeepalive_timeout = true\n",
       "t.toml:2:21: 'http.keepalive_timeout' must be a duration: seconds, or a string like "
       "\"5m\""},
      {"[http]\nmax_connections_per_ip = -1\n",
       "t.toml:2:26: 'http.max_connections_per_ip' must be between 0 and 1000000, not -1"},
      {"[http]\nbosh_inactivity = \"0s\"\n",
       "t.toml:2:19: 'http.bosh_inactivity' must be between 1s and 3600s"},
      {"[http]\nbosh_max_wait = \"2h\"\n",
       "t.toml:2:17: 'http.bosh_max_wait' must be between 1s and 3600s"},
      {"[http]\nweb_root = 5\n", "t.toml:2:12: 'http.web_root' must be a string"},
      {"[http]\nwebsocket_origins = [\"https://ok.example\", \"https://x.example/path\"]\n",
       "t.toml:2:44: 'http.websocket_origins': 'https://x.example/path' is not an origin "
       "(scheme://host or scheme://host:port)"},
      {"[http]\nwebsocket_origins = [\"chat.example\"]\n",
       "t.toml:2:22: 'http.websocket_origins': 'chat.example' is not an origin "
       "(scheme://host or scheme://host:port)"},
      {"[http]\nwebsocket_origins = [\"https://x.example:99999\"]\n",
       "t.toml:2:22: 'http.websocket_origins': 'https://x.example:99999' is not an origin "
       "(scheme://host or scheme://host:port)"},
      // Addresses.
      {"[c2s]\nlisten = [\"127.0.0.1:70000\"]\n",
       "t.toml:2:11: 'c2s.listen': invalid address '127.0.0.1:70000': port 70000 is out of range"},
      {"[http]\nlisten = [\"127.0.0.1\"]\n",
       "t.toml:2:11: 'http.listen': invalid address '127.0.0.1': missing port"},
      {"[s2s]\nlisten = [\"localhost:5269\"]\n",
       "t.toml:2:11: 's2s.listen': invalid address 'localhost:5269': 'localhost' is not an IP "
       "address (use e.g. 127.0.0.1, [::1] or *)"},
      {"[http]\nlisten = [\"127.0.0.1:5222\"]\n",
       "t.toml:2:11: 'http.listen': 127.0.0.1:5222 is already used by 'c2s.listen'"},
      {"[c2s]\nlisten = [\"*:5222\", \"*:5222\"]\n",
       "t.toml:2:21: 'c2s.listen': *:5222 is already used by 'c2s.listen'"},
      {"[s2s]\ndns_servers = [\"dns.example\"]\n",
       "t.toml:2:16: 's2s.dns_servers': invalid address 'dns.example': 'dns.example' is not an IP "
       "address (use e.g. 127.0.0.1 or [::1])"},
      {"[s2s]\nroutes = { \"example.org\" = \"xmpp.example.org\" }\n",
       "t.toml:2:28: 's2s.routes.\"example.org\"': invalid address 'xmpp.example.org': missing "
       "port"},
      {"[s2s]\nroutes = { \"bad domain\" = \"10.0.0.1:5269\" }\n",
       "t.toml:2:12: 's2s.routes': invalid domain 'bad domain': invalid character ' '"},
      {"[s2s]\ntrust = { \"example.org\" = 1 }\n",
       "t.toml:2:27: 's2s.trust.\"example.org\"' must be a string"},
      {"[s2s]\nqueue_timeout = \"0s\"\n",
       "t.toml:2:17: 's2s.queue_timeout' must be between 1s and 86400s"},
      {"[s2s]\nmax_queued_stanzas = 0\n",
       "t.toml:2:22: 's2s.max_queued_stanzas' must be between 1 and 1000000, not 0"},
      {"[s2s]\nrequire_valid_certificates = \"yes\"\n",
       "t.toml:2:30: 's2s.require_valid_certificates' must be true or false"},
      {"[components]\nsecret = {}\n", "t.toml:2:1: unknown key 'components.secret'"},
      {"[components]\nsecrets = { \"gw.example\" = \"\" }\n",
       "t.toml:2:28: 'components.secrets.\"gw.example\"' must not be empty"},
      {"[components]\nsecrets = { \"gw example\" = \"x\" }\n",
       "t.toml:2:13: 'components.secrets': invalid domain 'gw example': invalid character ' '"},
      {"[components]\nsecrets = { \"localhost\" = \"x\" }\n",
       "t.toml:2:13: 'components.secrets': 'localhost' is a host; a component needs a domain of "
       "its own"},
      {"[c2s]\nlisten = [\"127.0.0.1:5347\"]\n[components]\nsecrets = { \"gw.example\" = \"x\" }\n",
       "t.toml:2:11: 'c2s.listen': 127.0.0.1:5347 is already used by 'components.listen'"},
      // Hosts.
      {"[hosts]\n", "t.toml:1:1: 'hosts' must name at least one host"},
      {"[hosts.\"bad_name\"]\n", "t.toml:1:8: invalid host name 'bad_name': invalid character '_'"},
      {"[hosts.\"-a.example\"]\n",
       "t.toml:1:8: invalid host name '-a.example': label starts or ends with '-'"},
      {"[hosts.\"Example.com\"]\n[hosts.\"example.com\"]\n",
       "t.toml:2:8: duplicate host 'example.com'"},
      {"[hosts.localhost]\nmodules = [\"ping\", \"Bad\"]\n",
       "t.toml:2:20: 'hosts.localhost.modules': invalid module name 'Bad' (use a-z, 0-9 and _)"},
      {"[hosts.localhost]\nmodules = [\"ping\", \"ping\"]\n",
       "t.toml:2:20: 'hosts.localhost.modules': duplicate module 'ping'"},
      {"[hosts.localhost]\nadmins = [\"nobody\"]\n",
       "t.toml:2:11: 'hosts.localhost.admins': 'nobody' is not a bare JID (user@domain)"},
      {"[hosts.localhost]\nadmins = [\"a@b/c\"]\n",
       "t.toml:2:11: 'hosts.localhost.admins': 'a@b/c' is not a bare JID (user@domain)"},
      // With several errors, the first in the file is reported, whatever the section order.
      {"[http]\nbogus = 1\n[c2s]\nmax_depth = 1\n", "t.toml:2:1: unknown key 'http.bogus'"},
      {"[c2s]\nmax_depth = 1\n[http]\nbogus = 1\n",
       "t.toml:2:13: 'c2s.max_depth' must be between 4 and 256, not 1"},
  };
  for (const ErrorCase& c : cases) {
    INFO("source:\n" << c.text);
    CHECK(parseError(c.text) == c.expected);
  }
}

TEST_CASE("config: relative paths are resolved against the config file's directory", "[config]") {
  Config config = parseOk(R"(data_dir = "../var"
[hosts.localhost]
[hosts."example.net"]
cert = "certs/example.net.pem"
key = "/etc/ssl/private/example.net.key"
)");
  CHECK(config.data_dir == "/srv/parley/var");
  CHECK(config.host("localhost")->cert == "/srv/parley/var/certs/localhost.crt");
  CHECK(config.host("example.net")->cert == "/srv/parley/conf/certs/example.net.pem");
  CHECK(config.host("example.net")->key == "/etc/ssl/private/example.net.key");

  // A relative config file is relative to the current directory.
  Config relative = parseOk("", "conf/parley.toml");
  CHECK(relative.dir == (fs::current_path() / "conf").lexically_normal());
  CHECK(relative.data_dir == (fs::current_path() / "conf" / "var").lexically_normal());
}

TEST_CASE("config: parseDuration", "[config]") {
  struct Case {
    std::string_view text;
    std::optional<std::chrono::seconds> expected;
  };
  const Case cases[] = {
      {"30s", 30s},     {"5m", 300s},
      {"2h", 7200s},    {"1d", 86400s},
      {"1h30m", 5400s}, {"0s", 0s},
      {"", {}},         {"30", {}},
      {"s", {}},        {"5x", {}},
      {"-5s", {}},      {"5 m", {}},
      {"1.5h", {}},     {"99999999999999999999s", {}},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto parsed = parseDuration(c.text);
    REQUIRE(parsed.hasValue() == c.expected.has_value());
    if (c.expected) CHECK(*parsed == *c.expected);
  }
}

TEST_CASE("config: parseListenAddress", "[config]") {
  struct Case {
    std::string_view text;
    std::optional<ListenAddress> expected;
    std::string_view error;
  };
  const Case cases[] = {
      {"127.0.0.1:5222", ListenAddress{"127.0.0.1", 5222}, ""},
      {"[::1]:5222", ListenAddress{"::1", 5222}, ""},
      {"0.0.0.0:5222", ListenAddress{"0.0.0.0", 5222}, ""},
      {"*:5222", ListenAddress{"*", 5222}, ""},
      {"127.0.0.1:0", ListenAddress{"127.0.0.1", 0}, ""},
      {"[::]:65535", ListenAddress{"::", 65535}, ""},
      {"127.0.0.1:70000", {}, "port 70000 is out of range"},
      {"127.0.0.1", {}, "missing port"},
      {"127.0.0.1:", {}, "missing port"},
      {"[::1]", {}, "missing port"},
      {"127.0.0.1:52x", {}, "invalid port '52x'"},
      {"127.0.0.1:-1", {}, "invalid port '-1'"},
      {"::1:5222", {}, "write IPv6 addresses in brackets, as [::1]:5222"},
      {"[::1:5222", {}, "missing ']'"},
      {"[127.0.0.1]:5222", {}, "'127.0.0.1' is not an IPv6 address"},
      {"[::1]5222", {}, "expected ':' after ']'"},
      {":5222", {}, "missing host"},
      {"", {}, "empty address"},
      {"256.1.1.1:5222", {}, "'256.1.1.1' is not an IP address (use e.g. 127.0.0.1, [::1] or *)"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto parsed = parseListenAddress(c.text);
    REQUIRE(parsed.hasValue() == c.expected.has_value());
    if (c.expected) {
      CHECK(*parsed == *c.expected);
    } else {
      CHECK(parsed.error() == c.error);
    }
  }
  CHECK(ListenAddress{"::1", 5222}.toString() == "[::1]:5222");
  CHECK(ListenAddress{"*", 5222}.toString() == "*:5222");
  CHECK(ListenAddress{"*", 5222}.isAnyAddress());
  CHECK(ListenAddress{"127.0.0.1", 0}.toString() == "127.0.0.1:0");

  // Peers may be named, and a default port may apply.
  CHECK(*parseHostPort("XMPP.Example.org:5269", std::nullopt, true) ==
        ListenAddress{"xmpp.example.org", 5269});
  CHECK(*parseHostPort("9.9.9.9", 53, false) == ListenAddress{"9.9.9.9", 53});
  CHECK_FALSE(parseHostPort("*:53", 53, false));
}

TEST_CASE("config: normalizeDomain", "[config]") {
  struct Case {
    std::string_view text;
    std::string_view expected;  // empty: an error
  };
  const Case cases[] = {
      {"localhost", "localhost"},
      {"Example.COM", "example.com"},
      {"xn--bcher-kva.de", "xn--bcher-kva.de"},
      {"127.0.0.1", "127.0.0.1"},
      {"[::1]", "[::1]"},
      {"a-b.c", "a-b.c"},
      {"", ""},
      {"bücher.de", ""},
      {"a..b", ""},
      {"a.b.", ""},
      {"-a.b", ""},
      {"a-.b", ""},
      {"a_b", ""},
      {"[zz]", ""},
      {"a@b", ""},
      {"user@example.com", ""},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto normalized = normalizeDomain(c.text);
    REQUIRE(normalized.hasValue() == !c.expected.empty());
    if (normalized) CHECK(*normalized == c.expected);
  }
  CHECK_FALSE(normalizeDomain(std::string(64, 'a') + ".com"));
  CHECK(normalizeDomain(std::string(63, 'a') + ".com"));
}

TEST_CASE("config: readOption checks type and bounds at the value's position", "[config]") {
  toml::table tbl = toml::parse(std::string_view(R"(flag = true
count = 7
name = "fast"
every = "5m"
every_seconds = 20
list = ["a", "b"]
bad_flag = "yes"
big = 1000
dup = ["a", "a"]
)"),
                                std::string_view("m.toml"));

  CHECK(readOption<bool>(&tbl, "flag", false).value());
  CHECK_FALSE(readOption<bool>(&tbl, "missing", false).value());
  CHECK(readOption<bool>(nullptr, "flag", true).value());
  CHECK(readOption<int64_t>(&tbl, "count", 1, {.min = 0, .max = 10}).value() == 7);
  CHECK(readOption<std::string>(&tbl, "name", "slow", {.one_of = {"fast", "slow"}}).value() ==
        "fast");
  CHECK(readOption<std::chrono::seconds>(&tbl, "every", 1min, {.min = 10s}).value() == 5min);
  CHECK(readOption<std::chrono::seconds>(&tbl, "every_seconds", 1min).value() == 20s);
  CHECK(readOption<std::vector<std::string>>(&tbl, "list", {}).value() ==
        std::vector<std::string>{"a", "b"});

  auto error = [](auto result) { return result ? "(no error)" : result.error().toString(); };
  CHECK(error(readOption<bool>(&tbl, "bad_flag", false, {}, "hosts.localhost.x")) ==
        "m.toml:7:12: 'hosts.localhost.x.bad_flag' must be true or false");
  CHECK(error(readOption<int64_t>(&tbl, "big", 1, {.max = 100})) ==
        "m.toml:8:7: 'big' must be at most 100, not 1000");
  CHECK(error(readOption<int64_t>(&tbl, "count", 1, {.min = 8})) ==
        "m.toml:2:9: 'count' must be at least 8, not 7");
  CHECK(error(readOption<std::string>(&tbl, "name", "", {.one_of = {"slow"}})) ==
        "m.toml:3:8: 'name' must be one of slow, not 'fast'");
  CHECK(error(readOption<std::chrono::seconds>(&tbl, "every", 1h, {.min = 1h})) ==
        "m.toml:4:9: 'every' must be at least 3600s");
  CHECK(error(readOption<std::vector<std::string>>(&tbl, "list", {}, {.one_of = {"a"}})) ==
        "m.toml:6:14: 'list': unknown value 'b'");
  CHECK(error(readOption<std::vector<std::string>>(&tbl, "dup", {})) ==
        "m.toml:9:13: 'dup': duplicate value 'a'");
  CHECK(error(readOption<std::string>(&tbl, "count", "")) ==
        "m.toml:2:9: 'count' must be a string");
}

TEST_CASE("config: rejectUnknownKeys reports the first unknown key in the file", "[config]") {
  toml::table tbl = toml::parse(std::string_view("hide_os = true\nzzz = 1\naaa = 2\n"),
                                std::string_view("m.toml"));
  CHECK(rejectUnknownKeys(tbl, {"hide_os", "zzz", "aaa"}));
  auto result = rejectUnknownKeys(tbl, {"hide_os"}, "other.toml", "hosts.localhost.version");
  REQUIRE_FALSE(result);
  CHECK(result.error().toString() == "m.toml:2:1: unknown key 'hosts.localhost.version.zzz'");
}

TEST_CASE("config: loadConfig reads a file", "[config]") {
  fs::path dir =
      fs::temp_directory_path() / ("parley-config-test-" + std::to_string(std::random_device{}()));
  fs::create_directories(dir);
  fs::path file = dir / "parley.toml";
  {
    std::ofstream out(file);
    out << "threads = 2\n[hosts.\"example.org\"]\nregistration = true\n";
  }
  auto config = loadConfig(file);
  REQUIRE(config);
  CHECK(config->threads == 2);
  CHECK(config->dir == dir);
  CHECK(config->host("example.org")->registration);
  CHECK(config->host("example.org")->cert == dir / "var" / "certs" / "example.org.crt");

  auto missing = loadConfig(dir / "nope.toml");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().toString() ==
        (dir / "nope.toml").string() + ": cannot open: No such file or directory");
  fs::remove_all(dir);
}

TEST_CASE("config: the example conf/parley.toml is valid", "[config]") {
  fs::path example = fs::path(PARLEY_SOURCE_DIR) / "conf" / "parley.toml";
  auto config = loadConfig(example);
  if (!config) FAIL(config.error().toString());
  CHECK(config->data_dir == (example.parent_path() / "../var").lexically_normal());
  REQUIRE(config->hosts.size() == 1);
  const HostConfig& host = config->hosts[0];
  CHECK(host.domain == "localhost");
  CHECK_FALSE(host.modules_given);
  CHECK(host.cert == config->data_dir / "certs" / "localhost.crt");
  CHECK(readOption<bool>(host.module_options("version"), "hide_os", true).value() == false);
}

}  // namespace
}  // namespace parley::core
