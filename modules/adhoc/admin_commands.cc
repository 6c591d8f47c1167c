// XEP-0133 service administration over ad-hoc commands: add, delete and change the password
// of users, list online users, announce to them; and a 'ping' command anyone may run.
#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <set>

#include "command.h"

namespace parley::modules::adhoc {
namespace {

using Condition = xmpp::StanzaError::Condition;

FormField formType() { return {"FORM_TYPE", "hidden", "", false, {std::string(kAdminFormType)}}; }

std::string adminNode(std::string_view command) {
  return std::string(kAdminFormType) + "#" + std::string(command);
}

// The account a form names: a bare JID with a localpart, on this host.
Result<std::string, Outcome> accountOn(const core::Host& host, const std::string& text) {
  auto jid = xmpp::Jid::parse(text);
  if (!jid || !jid->hasLocalpart() || jid->hasResource()) {
    return Unexpected(Outcome::failed(Condition::JidMalformed, "not an account JID: " + text));
  }
  if (jid->domainpart() != host.domain()) {
    return Unexpected(Outcome::failed(Condition::NotAllowed, "not an account of this host"));
  }
  return std::string(jid->localpart());
}

Outcome accountFailure(storage::AccountError error) {
  switch (error) {
    case storage::AccountError::Conflict:
      return Outcome::failed(Condition::Conflict, "the account exists");
    case storage::AccountError::NotFound:
      return Outcome::failed(Condition::ItemNotFound, "no such account");
    case storage::AccountError::Storage:
      break;
  }
  return Outcome::failed(Condition::InternalServerError);
}

// Visits every bound session of HOST, each on its own worker thread (VISIT must be
// thread-safe), then calls DONE on the calling loop.
void forEachHostSession(core::Host& host, std::function<void(core::Session&)> visit,
                        std::function<void()> done) {
  auto& workers = host.server().workers();
  auto back = core::postBack();
  auto remaining = std::make_shared<std::atomic<size_t>>(workers.size());
  auto shared_visit = std::make_shared<std::function<void(core::Session&)>>(std::move(visit));
  auto shared_done = std::make_shared<std::function<void()>>(std::move(done));
  std::string domain = host.domain();
  for (auto& worker_ptr : workers) {
    core::Worker* worker = worker_ptr.get();
    worker->loop().post([worker, domain, remaining, shared_visit, shared_done, back] {
      worker->forEachSession([&](core::Session& session) {
        const auto* jid = session.jid();
        if (jid && jid->domainpart() == domain) (*shared_visit)(session);
      });
      if (remaining->fetch_sub(1) == 1) back([shared_done] { (*shared_done)(); });
    });
  }
}

Command addUser() {
  Command command;
  command.node = adminNode("add-user");
  command.name = "Add User";
  command.form = [] {
    return makeForm(
        "form", "Adding a User", "Fill out this form to add a user.",
        {formType(),
         {"accountjid", "jid-single", "The Jabber ID for the account to be added", true, {}},
         {"password", "text-private", "The password for this account", true, {}},
         {"password-verify", "text-private", "Retype password", false, {}}});
  };
  command.run = [](Invocation& call, Finish finish) {
    auto user = accountOn(call.host, firstValue(call.values, "accountjid"));
    if (!user) return finish(user.error());
    auto password = firstValue(call.values, "password");
    if (password.empty()) return finish(Outcome::failed(Condition::NotAcceptable, "no password"));
    if (call.values.count("password-verify") &&
        firstValue(call.values, "password-verify") != password) {
      return finish(Outcome::failed(Condition::NotAcceptable, "the passwords differ"));
    }
    call.host.server().createUser(call.host, *user, password, [finish](auto result) {
      finish(result ? Outcome::done("User added") : accountFailure(result.error()));
    });
  };
  return command;
}

Command deleteUser() {
  Command command;
  command.node = adminNode("delete-user");
  command.name = "Delete User";
  command.form = [] {
    return makeForm(
        "form", "Deleting a User", "Fill out this form to delete a user.",
        {formType(), {"accountjids", "jid-multi", "The Jabber ID(s) to delete", true, {}}});
  };
  command.run = [](Invocation& call, Finish finish) {
    auto it = call.values.find("accountjids");
    if (it == call.values.end() || it->second.empty()) {
      return finish(Outcome::failed(Condition::BadRequest, "no account given"));
    }
    std::vector<std::string> users;
    for (const auto& text : it->second) {
      auto user = accountOn(call.host, text);
      if (!user) return finish(user.error());
      users.push_back(*user);
    }
    // All callbacks run on this loop: plain counters suffice.
    struct Progress {
      size_t total;
      size_t remaining;
      std::vector<std::string> failed;
      std::optional<storage::AccountError> last_error;
      Finish finish;
    };
    auto progress = std::make_shared<Progress>(
        Progress{users.size(), users.size(), {}, std::nullopt, std::move(finish)});
    for (const auto& user : users) {
      call.host.server().deleteUser(call.host, user, [progress, user](auto result) {
        if (!result) {
          progress->failed.push_back(user + " (" + toString(result.error()) + ")");
          progress->last_error = result.error();
        }
        if (--progress->remaining != 0) return;
        if (progress->failed.empty()) return progress->finish(Outcome::done("Users deleted"));
        // One account asked for and it failed: say so as an error.
        if (progress->total == 1) return progress->finish(accountFailure(*progress->last_error));
        auto outcome = Outcome::done("Not deleted:");
        for (const auto& failure : progress->failed) outcome.note += " " + failure;
        outcome.note_type = "warn";
        progress->finish(std::move(outcome));
      });
    }
  };
  return command;
}

Command changePassword() {
  Command command;
  command.node = adminNode("change-user-password");
  command.name = "Change User Password";
  command.form = [] {
    return makeForm("form", "Changing a User Password",
                    "Fill out this form to change a user's password.",
                    {formType(),
                     {"accountjid", "jid-single", "The Jabber ID", true, {}},
                     {"password", "text-private", "The new password", true, {}}});
  };
  command.run = [](Invocation& call, Finish finish) {
    auto user = accountOn(call.host, firstValue(call.values, "accountjid"));
    if (!user) return finish(user.error());
    auto password = firstValue(call.values, "password");
    if (password.empty()) return finish(Outcome::failed(Condition::NotAcceptable, "no password"));
    call.host.server().setPassword(call.host, *user, password, [finish](auto result) {
      finish(result ? Outcome::done("Password changed") : accountFailure(result.error()));
    });
  };
  return command;
}

// XEP-0133 §4.17 as a single stage: the bare JIDs of users with a bound session. With
// FULL_JIDS, every session instead (Prosody's older get-online-users).
Command onlineUsers(std::string_view name, bool full_jids) {
  Command command;
  command.node = adminNode(name);
  command.name = full_jids ? "Get List of Online Sessions" : "Get List of Online Users";
  command.run = [full_jids](Invocation& call, Finish finish) {
    struct Collected {
      std::mutex mutex;
      std::set<std::string> jids;
    };
    auto collected = std::make_shared<Collected>();
    forEachHostSession(
        call.host,
        [collected, full_jids](core::Session& session) {
          std::lock_guard lock(collected->mutex);
          const auto* jid = session.jid();
          collected->jids.insert(full_jids ? jid->toString() : jid->bare().toString());
        },
        [collected, finish] {
          FormField field{"onlineuserjids", "jid-multi", "The list of all online users", false, {}};
          field.values.assign(collected->jids.begin(), collected->jids.end());
          Outcome outcome;
          outcome.form = makeForm("result", "Online Users", "", {formType(), field});
          finish(std::move(outcome));
        });
  };
  return command;
}

// XEP-0133 §4.23: a headline from the server to every available session of the host.
Command announce() {
  Command command;
  command.node = adminNode("announce");
  command.name = "Send Announcement to Online Users";
  command.form = [] {
    return makeForm("form", "Making an Announcement",
                    "Fill out this form to make an announcement to all active users.",
                    {formType(),
                     {"subject", "text-single", "Subject", false, {}},
                     {"announcement", "text-multi", "Announcement", true, {}}});
  };
  command.run = [](Invocation& call, Finish finish) {
    std::string body;
    if (auto it = call.values.find("announcement"); it != call.values.end()) {
      for (const auto& line : it->second) body += (body.empty() ? "" : "\n") + line;
    }
    if (body.empty()) return finish(Outcome::failed(Condition::BadRequest, "no announcement"));
    xml::Element message("message", std::string(ns::kClient));
    message.setAttr("type", "headline");
    message.setAttr("from", call.host.domain());
    if (auto subject = firstValue(call.values, "subject"); !subject.empty()) {
      message.addChild("subject", std::string(ns::kClient)).addText(subject);
    }
    message.addChild("body", std::string(ns::kClient)).addText(body);
    auto* registry = &call.host.server().registry();
    auto sent = std::make_shared<std::atomic<size_t>>(0);
    forEachHostSession(
        call.host,
        [message = std::move(message), registry, sent](core::Session& session) {
          auto bound = registry->find(*session.jid());
          if (!bound || !bound->available || !(bound->session == session.ref())) return;
          auto copy = message;
          copy.setAttr("to", session.jid()->toString());
          session.deliver(std::make_shared<const xml::Element>(std::move(copy)));
          sent->fetch_add(1);
        },
        [sent, finish] {
          finish(
              Outcome::done("Announcement sent to " + std::to_string(sent->load()) + " sessions"));
        });
  };
  return command;
}

Command ping() {
  Command command;
  command.node = "ping";
  command.name = "Ping";
  command.admin_only = false;
  command.run = [](Invocation&, Finish finish) { finish(Outcome::done("Pong")); };
  return command;
}

}  // namespace

std::vector<Command> serverCommands() {
  return {addUser(),
          deleteUser(),
          changePassword(),
          onlineUsers("get-online-users-list", false),
          onlineUsers("get-online-users", true),
          announce(),
          ping()};
}

}  // namespace parley::modules::adhoc
