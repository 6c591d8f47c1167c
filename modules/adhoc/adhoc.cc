// XEP-0050 ad-hoc commands on the server: discovery of the commands node, execution with
// multi-stage forms and sessions, and permission checks (admins from the host config).
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <set>

#include "command.h"

namespace parley::modules {
namespace {

using adhoc::Command;
using adhoc::kCommandsNs;
using adhoc::Outcome;
using core::Addressee;
using core::Handled;
using core::StanzaEvent;
using Condition = xmpp::StanzaError::Condition;
using Clock = std::chrono::steady_clock;

constexpr auto kSessionLifetime = std::chrono::minutes(10);
constexpr size_t kMaxSessions = 1000;

// An iq error with a XEP-0050 §4.6 application condition (bad-action, bad-sessionid, ...).
xml::Element commandError(const xml::Element& iq, Condition condition, std::string_view specific) {
  auto reply = xmpp::errorReply(iq, xmpp::StanzaError::of(condition));
  for (auto& node : reply.children()) {
    if (node.isElement() && node.element->name() == "error") {
      node.element->addChild(std::string(specific), std::string(kCommandsNs));
    }
  }
  return reply;
}

// A multi-stage execution in progress: the form was sent, its submission is awaited.
struct PendingCommand {
  std::string node;
  std::string requester;  // full JID
  Clock::time_point expires;
};

class Adhoc final : public core::Module {
 public:
  Result<void> load(core::ModuleContext& ctx) override {
    for (const auto& admin : ctx.host().config().admins) {
      auto jid = xmpp::Jid::parse(admin);
      if (!jid || jid->hasResource()) return fail("admins: not a bare JID: ", admin);
      admins_.insert(jid->toString());
    }
    commands_ = adhoc::serverCommands();
    ctx.addFeature(kCommandsNs);
    // Above the disco module (0), which answers only the node-less queries.
    int above_disco = core::priority::kDefault + 10;
    ctx.hook(core::events::iqGet(Addressee::Host, ns::kDiscoItems, "query"),
             handler(&Adhoc::discoItems), above_disco);
    ctx.hook(core::events::iqGet(Addressee::Host, ns::kDiscoInfo, "query"),
             handler(&Adhoc::discoInfo), above_disco);
    ctx.hook(core::events::iqSet(Addressee::Host, kCommandsNs, "command"),
             handler(&Adhoc::execute));
    return {};
  }

 private:
  std::function<Handled(StanzaEvent&)> handler(Handled (Adhoc::*method)(StanzaEvent&)) {
    return [this, method](StanzaEvent& ev) { return (this->*method)(ev); };
  }

  bool mayRun(const Command& command, const xmpp::Jid& requester) const {
    return !command.admin_only || admins_.count(requester.bare().toString()) != 0;
  }

  const Command* find(std::string_view node) const {
    for (const auto& command : commands_) {
      if (command.node == node) return &command;
    }
    return nullptr;
  }

  // XEP-0050 §2.2: the commands this requester may run.
  Handled discoItems(StanzaEvent& ev) {
    if (ev.element().firstChild()->attr("node") != kCommandsNs) return Handled::No;
    xml::Element query("query", std::string(ns::kDiscoItems));
    query.setAttr("node", std::string(kCommandsNs));
    for (const auto& command : commands_) {
      if (!mayRun(command, ev.from)) continue;
      auto& item = query.addChild("item", std::string(ns::kDiscoItems));
      item.setAttr("jid", ev.host.domain());
      item.setAttr("node", command.node);
      item.setAttr("name", command.name);
    }
    return ev.reply(xmpp::resultWith(ev.element(), std::move(query)));
  }

  // XEP-0050 §2.1 and §2.3: the command list node and each command node.
  Handled discoInfo(StanzaEvent& ev) {
    auto node = ev.element().firstChild()->attr("node");
    xml::Element query("query", std::string(ns::kDiscoInfo));
    query.setAttr("node", std::string(node));
    auto& identity = query.addChild("identity", std::string(ns::kDiscoInfo));
    identity.setAttr("category", "automation");
    if (node == kCommandsNs) {
      identity.setAttr("type", "command-list");
      return ev.reply(xmpp::resultWith(ev.element(), std::move(query)));
    }
    const Command* command = find(node);
    if (!command) return Handled::No;
    if (!mayRun(*command, ev.from)) return ev.bounce(Condition::Forbidden);
    identity.setAttr("type", "command-node");
    identity.setAttr("name", command->name);
    query.addChild("feature", std::string(ns::kDiscoInfo)).setAttr("var", std::string(kCommandsNs));
    query.addChild("feature", std::string(ns::kDiscoInfo))
        .setAttr("var", std::string(adhoc::kDataFormsNs));
    return ev.reply(xmpp::resultWith(ev.element(), std::move(query)));
  }

  // XEP-0050 §3: execute, complete (or next), cancel.
  Handled execute(StanzaEvent& ev) {
    const auto& request = *ev.element().firstChild();
    auto node = request.attr("node");
    auto action = request.attr("action");
    if (action.empty()) action = "execute";
    const Command* command = find(node);
    if (!command) return ev.bounce(Condition::ItemNotFound);
    if (!mayRun(*command, ev.from)) return ev.bounce(Condition::Forbidden);
    if (action != "execute" && action != "complete" && action != "next" && action != "cancel" &&
        action != "prev") {
      return ev.reply(commandError(ev.element(), Condition::BadRequest, "malformed-action"));
    }
    std::string sessionid(request.attr("sessionid"));
    if (!sessionid.empty() && !takeSession(sessionid, *command, ev.from)) {
      return ev.reply(commandError(ev.element(), Condition::BadRequest, "bad-sessionid"));
    }
    if (action == "cancel") return ev.reply(answer(ev, *command, sessionid, "canceled", {}));
    if (action == "prev") {
      return ev.reply(commandError(ev.element(), Condition::BadRequest, "bad-action"));
    }
    const auto* form = adhoc::findForm(request);
    bool submitted = form && form->attr("type") == "submit";
    if (!submitted && command->form) {
      if (!sessionid.empty() || action != "execute") {
        // A later stage without the filled form.
        return ev.reply(commandError(ev.element(), Condition::BadRequest, "bad-payload"));
      }
      // First stage: send the form and remember the session.
      auto id = openSession(*command, ev.from);
      auto reply = answer(ev, *command, id, "executing", {});
      auto& payload = *reply.children().back().element;
      auto& actions = payload.addChild("actions", std::string(kCommandsNs));
      actions.setAttr("execute", "complete");
      actions.addChild("complete", std::string(kCommandsNs));
      payload.addChild(*command->form());
      return ev.reply(std::move(reply));
    }
    adhoc::Invocation call{ev.host, ev.from,
                           submitted ? adhoc::formValues(*form) : adhoc::FormValues{}};
    auto* router = &ev.router;
    auto stanza = ev.stanza;
    auto from = ev.to;
    std::string command_node = command->node;
    command->run(call, [router, stanza, from, command_node, sessionid](Outcome outcome) {
      router->routeFromServer(std::make_shared<const xml::Element>(
          completed(*stanza, from, command_node, sessionid, std::move(outcome))));
    });
    return Handled::Yes;
  }

  // <iq type='result'><command node sessionid status/></iq>
  static xml::Element answer(const StanzaEvent& ev, const Command& command,
                             const std::string& sessionid, std::string_view status,
                             std::optional<Outcome> outcome) {
    return shell(ev.element(), ev.to, command.node, sessionid, status, std::move(outcome));
  }

  static xml::Element completed(const xml::Element& iq, const xmpp::Jid& from,
                                const std::string& node, const std::string& sessionid,
                                Outcome outcome) {
    if (outcome.error) {
      auto reply = xmpp::errorReply(iq, *outcome.error);
      if (!reply.findAttr("from")) reply.setAttr("from", from.toString());
      return reply;
    }
    return shell(iq, from, node, sessionid, "completed", std::move(outcome));
  }

  static xml::Element shell(const xml::Element& iq, const xmpp::Jid& from, const std::string& node,
                            const std::string& sessionid, std::string_view status,
                            std::optional<Outcome> outcome) {
    xml::Element command("command", std::string(kCommandsNs));
    command.setAttr("node", node);
    if (!sessionid.empty()) command.setAttr("sessionid", sessionid);
    command.setAttr("status", std::string(status));
    if (outcome) {
      if (!outcome->note.empty()) {
        auto& note = command.addChild("note", std::string(kCommandsNs));
        note.setAttr("type", outcome->note_type);
        note.addText(outcome->note);
      }
      if (outcome->form) command.addChild(std::move(*outcome->form));
    }
    auto reply = xmpp::resultWith(iq, std::move(command));
    if (!reply.findAttr("from")) reply.setAttr("from", from.toString());
    return reply;
  }

  std::string openSession(const Command& command, const xmpp::Jid& requester) {
    static thread_local std::mt19937_64 random{std::random_device{}()};
    char id[17];
    std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(random()));
    auto now = Clock::now();
    std::lock_guard lock(mutex_);
    std::erase_if(sessions_, [now](const auto& entry) { return entry.second.expires < now; });
    if (sessions_.size() >= kMaxSessions) sessions_.erase(sessions_.begin());
    sessions_[id] = PendingCommand{command.node, requester.toString(), now + kSessionLifetime};
    return id;
  }

  // Ends a session; false if it does not exist, expired, or belongs to someone else.
  bool takeSession(const std::string& id, const Command& command, const xmpp::Jid& requester) {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return false;
    bool valid = it->second.node == command.node && it->second.requester == requester.toString() &&
                 it->second.expires >= Clock::now();
    if (valid) sessions_.erase(it);
    return valid;
  }

  std::set<std::string> admins_;   // bare JIDs; read-only after load
  std::vector<Command> commands_;  // read-only after load
  std::mutex mutex_;
  std::map<std::string, PendingCommand> sessions_;
};

}  // namespace
PARLEY_MODULE("adhoc", Adhoc);
}  // namespace parley::modules
