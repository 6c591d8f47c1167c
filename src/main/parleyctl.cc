// parleyctl: administer a Parley server's accounts and certificates from the shell.
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <future>
#include <iostream>
#include <string>
#include <vector>

#include "core/accounts.h"
#include "core/config.h"
#include "net/tls.h"
#include "register/invites.h"
#include "storage/store.h"
#include "xmpp/jid.h"

namespace {

using namespace parley;

constexpr const char* kUsage =
    "usage: parleyctl [--config FILE] COMMAND\n"
    "commands:\n"
    "  adduser USER@DOMAIN     create an account (password: first line of stdin)\n"
    "  passwd USER@DOMAIN      change a password (password: first line of stdin)\n"
    "  deluser USER@DOMAIN     delete an account\n"
    "  users DOMAIN            list the accounts of a host\n"
    "  cert [--force] DOMAIN   write a self-signed certificate and key for a host\n"
    "  invite DOMAIN           print a one-time sign-up token and its xmpp: URI\n";

int usage() {
  std::fputs(kUsage, stderr);
  return 2;
}

int error(const std::string& message) {
  std::fprintf(stderr, "parleyctl: %s\n", message.c_str());
  return 1;
}

struct Account {
  std::string user;
  std::string domain;
};

// USER@DOMAIN, prepared as a JID, on a host the config serves.
Result<Account> parseAccount(const core::Config& config, std::string_view text) {
  auto jid = xmpp::Jid::parse(text);
  if (!jid || !jid->hasLocalpart() || jid->hasResource()) {
    return fail("'", text, "' is not a valid USER@DOMAIN");
  }
  if (!config.host(jid->domainpart())) {
    return fail("'", jid->domainpart(), "' is not a host in ", config.file.string());
  }
  return Account{std::string(jid->localpart()), std::string(jid->domainpart())};
}

Result<std::string> readPassword() {
  std::string password;
  if (!std::getline(std::cin, password)) return fail("no password on standard input");
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) return fail("the password is empty");
  return password;
}

int accountCommand(const core::Config& config, const std::string& command,
                   const std::string& target) {
  auto account = parseAccount(config, target);
  if (!account) return error(account.error().message);
  auto storage = storage::Storage::open(config.data_dir);
  if (!storage) return error("cannot open storage: " + storage.error().message);
  auto& accounts = (*storage)->accounts();

  std::promise<Result<void, storage::AccountError>> done;
  auto finished = done.get_future();
  auto callback = [&done](Result<void, storage::AccountError> result) {
    done.set_value(std::move(result));
  };
  if (command == "deluser") {
    accounts.remove(account->domain, account->user, callback);
  } else {
    auto password = readPassword();
    if (!password) return error(password.error().message);
    auto record = core::makeAccountRecord(*password);
    if (command == "adduser") {
      accounts.create(account->domain, account->user, std::move(record), callback);
    } else {
      accounts.update(account->domain, account->user, std::move(record), callback);
    }
  }
  auto result = finished.get();
  if (!result) {
    switch (result.error()) {
      case storage::AccountError::Conflict:
        return error(target + " already exists");
      case storage::AccountError::NotFound:
        return error(target + " does not exist");
      case storage::AccountError::Storage:
        return error("storage failed; see the log above");
    }
  }
  return 0;
}

int usersCommand(const core::Config& config, const std::string& domain_text) {
  auto domain = xmpp::nameprep(domain_text);
  if (!domain || !config.host(*domain)) {
    return error("'" + domain_text + "' is not a host in " + config.file.string());
  }
  auto storage = storage::Storage::open(config.data_dir);
  if (!storage) return error("cannot open storage: " + storage.error().message);
  for (const auto& user : (*storage)->accounts().users(*domain)) {
    std::printf("%s@%s\n", user.c_str(), domain->c_str());
  }
  return 0;
}

int certCommand(const core::Config& config, const std::string& domain_text, bool force) {
  auto domain = xmpp::nameprep(domain_text);
  const auto* host = domain ? config.host(*domain) : nullptr;
  if (!host) return error("'" + domain_text + "' is not a host in " + config.file.string());
  if (!force && (std::filesystem::exists(host->cert) || std::filesystem::exists(host->key))) {
    return error(host->cert.string() + " already exists (use --force to replace it)");
  }
  if (auto made = net::generateSelfSigned(host->domain, host->cert, host->key); !made) {
    return error(made.error().message);
  }
  std::printf("wrote %s and %s\n", host->cert.c_str(), host->key.c_str());
  return 0;
}

// XEP-0401: a one-time token the register module accepts for one sign-up on DOMAIN, even where
// open registration is off. Printed as two lines: the token, then the invitation URI.
int inviteCommand(const core::Config& config, const std::string& domain_text) {
  auto domain = xmpp::nameprep(domain_text);
  const auto* host = domain ? config.host(*domain) : nullptr;
  if (!host) return error("'" + domain_text + "' is not a host in " + config.file.string());
  if (host->anonymous) return error(host->domain + " is an anonymous host: it has no sign-up");
  auto token = modules::invites::makeToken();
  if (!token) return error("the system's random number generator failed");
  auto storage = storage::Storage::open(config.data_dir);
  if (!storage) return error("cannot open storage: " + storage.error().message);
  auto& store = (*storage)->userStore(modules::invites::kStoreName);

  std::promise<Result<void>> done;
  auto finished = done.get_future();
  store.put(host->domain, modules::invites::kInviteUser, *token,
            modules::invites::encodeCreated(std::chrono::system_clock::now()),
            [&done](Result<void> result) { done.set_value(std::move(result)); });
  if (auto stored = finished.get(); !stored) {
    return error("cannot store the invitation: " + stored.error().message);
  }
  std::printf("%s\n%s\n", token->c_str(),
              modules::invites::inviteUri(host->domain, *token).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = "conf/parley.toml";
  std::vector<std::string> args;
  bool force = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg == "--force") {
      force = true;
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      args.push_back(arg);
    }
  }
  if (args.size() != 2) return usage();
  auto config = core::loadConfig(config_path);
  if (!config) return error(config.error().toString());
  const auto& command = args[0];
  if (command == "adduser" || command == "passwd" || command == "deluser") {
    return accountCommand(*config, command, args[1]);
  }
  if (command == "users") return usersCommand(*config, args[1]);
  if (command == "cert") return certCommand(*config, args[1], force);
  if (command == "invite") return inviteCommand(*config, args[1]);
  return usage();
}
