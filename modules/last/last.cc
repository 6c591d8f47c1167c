// XEP-0012 last activity: the server's uptime, and how long ago an account was last
// connected (with its last unavailable status), shown to those who may see its presence.
#include <chrono>
#include <memory>

#include "core/module.h"
#include "last_activity.h"

namespace parley::modules {
namespace {

using core::Addressee;
using core::Handled;
using core::SessionEvent;
using core::StanzaEvent;
using Condition = xmpp::StanzaError::Condition;

// Sees the unavailable presence before the presence module (default priority) handles it.
constexpr int kBeforePresence = core::priority::kDefault + 10;

int64_t nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The status text of the session's latest unavailable presence. Session thread only.
struct UnavailableStatus {
  std::string text;
};

// Immutable after load.
struct LastState {
  storage::UserStore& store;
  storage::UserStore& roster;
  std::string domain;
  std::chrono::steady_clock::time_point started;
};

class Last final : public core::Module {
 public:
  Result<void> load(core::ModuleContext& ctx) override {
    auto state = std::make_shared<const LastState>(
        LastState{ctx.openStore(last::kStoreName), ctx.openStore(last::kRosterStore), ctx.domain(),
                  std::chrono::steady_clock::now()});
    ctx.addFeature(last::kLastNs);
    ctx.addAccountFeature(last::kLastNs);
    using Handler = std::function<Handled(StanzaEvent&)>;
    ctx.hook(core::events::iqGet(Addressee::Host, last::kLastNs, "query"),
             Handler([state](StanzaEvent& ev) { return uptime(*state, ev); }));
    ctx.hook(core::events::iqGet(Addressee::Bare, last::kLastNs, "query"),
             Handler([state](StanzaEvent& ev) { return account(*state, ev); }));
    ctx.hook(core::events::iqGet(Addressee::Self, last::kLastNs, "query"),
             Handler([state](StanzaEvent& ev) { return account(*state, ev); }));
    ctx.hook(core::events::presence(Addressee::Self), Handler(&Last::noteStatus), kBeforePresence);
    ctx.hook(core::events::resourceUnbind(),
             std::function<Handled(SessionEvent&)>(
                 [state](SessionEvent& ev) { return recordLogout(*state, ev); }));
    return {};
  }

 private:
  // XEP-0012 §5: to the server, its uptime.
  static Handled uptime(const LastState& state, StanzaEvent& ev) {
    auto up = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                               state.started);
    return ev.reply(xmpp::resultWith(ev.element(), last::lastQuery(up.count())));
  }

  // XEP-0012 §3: to an account, answered by the server on its behalf.
  static Handled account(const LastState& state, StanzaEvent& ev) {
    auto user = ev.to.localpart();
    // RFC 6121 §8.5.2.2.3: an iq to an account that does not exist.
    if (!ev.host.userExists(user)) return ev.bounce(Condition::ServiceUnavailable);
    // XEP-0012 §3 and §8: only those who may see the user's presence.
    if (!mayView(state, ev)) return ev.bounce(Condition::Forbidden);
    auto resources = ev.host.server().registry().resources(ev.to.bare());
    for (const auto& resource : resources) {
      if (resource.available) return ev.reply(xmpp::resultWith(ev.element(), last::lastQuery(0)));
    }
    auto text = state.store.get(state.domain, user, last::kRecordKey);
    auto record = text ? last::decodeRecord(*text) : std::nullopt;
    if (!record) return ev.bounce(Condition::ItemNotFound);  // never logged out since we keep it
    return ev.reply(
        xmpp::resultWith(ev.element(), last::lastQuery(nowSeconds() - record->at, record->status)));
  }

  static bool mayView(const LastState& state, const StanzaEvent& ev) {
    auto requester = ev.from.bare();
    if (requester == ev.to.bare()) return true;
    auto item = state.roster.get(state.domain, ev.to.localpart(), requester.toString());
    return item && last::allowsPresence(*item);
  }

  // Keeps the status of the session's unavailable presence for its logout record.
  static Handled noteStatus(StanzaEvent& ev) {
    const auto& presence = ev.element();
    if (!ev.origin || presence.findAttr("to")) return Handled::No;
    auto type = presence.attr("type");
    if (type == "unavailable") {
      ev.origin->data<UnavailableStatus>().text = presence.childText("status");
    } else if (type.empty()) {
      ev.origin->data<UnavailableStatus>().text.clear();  // available again: that status is old
    }
    return Handled::No;
  }

  // The user's last resource is gone: remember when, and what they said.
  static Handled recordLogout(const LastState& state, SessionEvent& ev) {
    auto bare = ev.jid.bare();
    if (!ev.host.server().registry().resources(bare).empty()) return Handled::No;
    last::LogoutRecord record{nowSeconds(), {}};
    if (auto* status = ev.session.findData<UnavailableStatus>()) record.status = status->text;
    auto account = bare.toString();
    state.store.put(state.domain, std::string(ev.jid.localpart()), last::kRecordKey,
                    last::encodeRecord(record), [account](Result<void> done) {
                      if (!done) {
                        log::warn("mod_last ", account,
                                  ": storing the logout time failed: ", done.error().message);
                      }
                    });
    return Handled::No;
  }
};

}  // namespace
PARLEY_MODULE("last", Last);
}  // namespace parley::modules
