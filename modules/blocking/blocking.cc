// XEP-0191 blocking command: the blocklist (get, block, unblock, unblock-all) with pushes,
// and its enforcement in both directions for messages, presence and iqs.
#include <atomic>
#include <mutex>
#include <set>

#include "blocklist.h"
#include "core/module.h"

namespace parley::modules {
namespace {

using core::Addressee;
using core::Handled;
using core::StanzaEvent;
using Condition = xmpp::StanzaError::Condition;
using blocking::kNs;

constexpr std::string_view kStoreName = "blocking";
constexpr std::string_view kModuleName = "blocking";
constexpr std::string_view kStoredValue = "1";

bool isIqRequest(const xml::Element& stanza) {
  auto type = stanza.attr("type");
  return xmpp::kindOf(stanza) == xmpp::StanzaKind::Iq && (type == "get" || type == "set");
}

// Whether OWNER, an account on a local host that runs this module, has blocked OTHER.
// Nobody blocks themselves: stanzas between one's own resources always pass.
bool hasBlocked(core::Server& server, const xmpp::Jid& owner, const xmpp::Jid& other) {
  if (!owner.hasLocalpart() || owner.bare() == other.bare()) return false;
  core::Host* host = server.host(owner.domainpart());
  if (!host || !host->hasModule(kModuleName)) return false;
  const auto& store = host->store(kStoreName);
  for (const auto& key : blocking::matchKeys(other)) {
    if (store.get(owner.domainpart(), owner.localpart(), key)) return true;
  }
  return false;
}

class Blocking final : public core::Module {
 public:
  Result<void> load(core::ModuleContext& ctx) override {
    store_ = &ctx.openStore(kStoreName);
    ctx.addFeature(kNs);
    ctx.addAccountFeature(kNs);
    hookStanza(ctx, core::events::iqGet(Addressee::Self, kNs, "blocklist"), &Blocking::get);
    hookStanza(ctx, core::events::iqSet(Addressee::Self, kNs, "block"), &Blocking::block);
    hookStanza(ctx, core::events::iqSet(Addressee::Self, kNs, "unblock"), &Blocking::unblock);
    ctx.hook(core::events::resourceUnbind(),
             std::function<Handled(core::SessionEvent&)>([this](core::SessionEvent& ev) {
               std::lock_guard lock(mutex_);
               interested_.erase(key(ev.session.ref()));
               return Handled::No;
             }));
    // Enforcement runs before everything else that could deliver or answer.
    for (auto to : {Addressee::Bare, Addressee::Full, Addressee::Host}) {
      ctx.hook(core::events::preMessage(to), &Blocking::enforce, core::priority::kPolicy);
      ctx.hook(core::events::prePresence(to), &Blocking::enforce, core::priority::kPolicy);
      ctx.hook(core::events::preIq(to), &Blocking::enforce, core::priority::kPolicy);
    }
    for (auto to : {Addressee::Bare, Addressee::Full}) {
      ctx.hook(core::events::message(to), &Blocking::enforce, core::priority::kPolicy);
      ctx.hook(core::events::presence(to), &Blocking::enforce, core::priority::kPolicy);
      ctx.hook(core::events::iq(to), &Blocking::enforce, core::priority::kPolicy);
    }
    return {};
  }

 private:
  using SessionKey = std::pair<uint32_t, uint64_t>;
  static SessionKey key(core::SessionRef ref) { return {ref.worker, ref.id}; }

  void hookStanza(core::ModuleContext& ctx, const core::EventKey<StanzaEvent>& event,
                  Handled (Blocking::*method)(StanzaEvent&), int prio = core::priority::kDefault) {
    ctx.hook(event, std::function<Handled(StanzaEvent&)>([this, method](StanzaEvent& ev) {
               return (this->*method)(ev);
             }),
             prio);
  }

  // XEP-0191 §3.2: the blocklist; the requesting resource gets pushes from now on.
  Handled get(StanzaEvent& ev) {
    if (ev.origin) {
      std::lock_guard lock(mutex_);
      interested_.insert(key(ev.origin->ref()));
    }
    std::vector<std::string> jids;
    for (auto& [jid, value] : store_->list(ev.host.domain(), ev.from.localpart())) {
      jids.push_back(std::move(jid));
    }
    return ev.reply(xmpp::resultWith(ev.element(), blocking::itemsElement("blocklist", jids)));
  }

  // XEP-0191 §3.3.
  Handled block(StanzaEvent& ev) {
    auto jids = blocking::commandItems(*ev.element().firstChild(), false);
    if (!jids) return ev.bounce(jids.error());
    std::vector<storage::UserStore::Change> changes;
    for (const auto& jid : *jids) changes.push_back({jid, std::string(kStoredValue)});
    store_->apply(ev.host.domain(), ev.from.localpart(), std::move(changes),
                  finish(ev, blocking::itemsElement("block", *jids), *jids));
    return Handled::Yes;
  }

  // XEP-0191 §3.4 and §3.5 (no items: unblock everyone).
  Handled unblock(StanzaEvent& ev) {
    auto jids = blocking::commandItems(*ev.element().firstChild(), true);
    if (!jids) return ev.bounce(jids.error());
    auto push = blocking::itemsElement("unblock", *jids);
    if (jids->empty()) {
      store_->removeAll(ev.host.domain(), ev.from.localpart(), finish(ev, std::move(push), {}));
      return Handled::Yes;
    }
    std::vector<storage::UserStore::Change> changes;
    for (const auto& jid : *jids) changes.push_back({jid, std::nullopt});
    store_->apply(ev.host.domain(), ev.from.localpart(), std::move(changes),
                  finish(ev, std::move(push), {}));
    return Handled::Yes;
  }

  // The completion of a blocklist change: once it is durable, answer the request, push the
  // change to the interested resources and tell newly blocked contacts we are gone.
  storage::UserStore::Done finish(StanzaEvent& ev, xml::Element push,
                                  std::vector<std::string> blocked) {
    auto back = core::postBack();
    auto* server = &ev.host.server();
    auto request = ev.stanza;
    auto user = ev.from.bare();
    return [this, back, server, request, user, push = std::move(push),
            blocked = std::move(blocked)](Result<void> written) mutable {
      back([this, server, request, user, push = std::move(push), blocked = std::move(blocked),
            ok = written.hasValue()] {
        auto answer =
            ok ? xmpp::emptyResult(*request)
               : xmpp::errorReply(*request, xmpp::StanzaError::of(Condition::InternalServerError));
        if (!answer.findAttr("from")) answer.setAttr("from", user.toString());
        server->router().routeFromServer(std::make_shared<const xml::Element>(std::move(answer)));
        if (!ok) return;
        pushToInterested(*server, user, push);
        for (const auto& jid : blocked) sendUnavailable(*server, user, jid);
      });
    };
  }

  // XEP-0191 §3.3: the change goes to every resource of the user that asked for the list.
  void pushToInterested(core::Server& server, const xmpp::BareJid& user,
                        const xml::Element& payload) {
    for (const auto& resource : server.registry().resources(user)) {
      {
        std::lock_guard lock(mutex_);
        if (!interested_.count(key(resource.session))) continue;
      }
      xml::Element iq("iq", std::string(ns::kClient));
      iq.setAttr("type", "set");
      iq.setAttr("id", "block-push-" + std::to_string(next_push_id_.fetch_add(1)));
      iq.setAttr("from", user.toString());
      iq.setAttr("to", user.toString() + "/" + resource.resource);
      iq.addChild(payload);
      server.router().deliverTo(resource.session, std::make_shared<const xml::Element>(iq));
    }
  }

  // XEP-0191 §3.3: a newly blocked contact gets unavailable presence from each of the
  // user's available resources. Delivered directly to local sessions: routed, it would be
  // dropped by our own enforcement. TODO(im): only to contacts subscribed to the user
  // (needs the roster), and to remote contacts once s2s exists.
  static void sendUnavailable(core::Server& server, const xmpp::BareJid& user,
                              const std::string& blocked) {
    auto contact = xmpp::Jid::parse(blocked);
    if (!contact || !contact->hasLocalpart() || !server.host(contact->domainpart())) return;
    std::vector<core::BoundResource> targets;
    for (auto& resource : server.registry().resources(contact->bare())) {
      bool matches = !contact->hasResource() || resource.resource == contact->resourcepart();
      if (matches && resource.available) targets.push_back(std::move(resource));
    }
    if (targets.empty()) return;
    for (const auto& mine : server.registry().resources(user)) {
      if (!mine.available) continue;
      for (const auto& target : targets) {
        xml::Element presence("presence", std::string(ns::kClient));
        presence.setAttr("type", "unavailable");
        presence.setAttr("from", user.toString() + "/" + mine.resource);
        presence.setAttr("to", contact->bare().toString() + "/" + target.resource);
        server.router().deliverTo(target.session,
                                  std::make_shared<const xml::Element>(std::move(presence)));
      }
    }
  }

  // XEP-0191 §3.3 (blocked contact's stanzas) and the outbound rule: fires on the sender's
  // host for stanzas from local clients (pre-*) and on the recipient's host for all.
  static Handled enforce(StanzaEvent& ev) {
    auto& server = ev.host.server();
    const auto& stanza = ev.element();
    // Errors our own server generated are answers (among them the bounces below): they
    // reach whoever caused them.
    if (!ev.origin && stanza.attr("type") == "error" && server.host(ev.from.domainpart())) {
      return Handled::No;
    }
    bool is_presence = xmpp::kindOf(stanza) == xmpp::StanzaKind::Presence;
    if (hasBlocked(server, ev.from, ev.to)) {
      // The user wrote to someone they blocked: refuse it to their face, except presence,
      // which goes nowhere without a word (directed presence, broadcasts).
      if (ev.origin && !is_presence && !xmpp::mustNotBounce(stanza)) {
        // Straight to the sender's stream: routed, it would come from a blocked JID.
        ev.origin->deliver(std::make_shared<const xml::Element>(blocking::blockedError(stanza)));
      }
      return Handled::Yes;
    }
    if (hasBlocked(server, ev.to, ev.from)) {
      // The recipient blocked the sender: presence is dropped, messages and iq requests
      // get service-unavailable, so the sender cannot tell a block from an absence.
      if (is_presence) return Handled::Yes;
      if (xmpp::kindOf(stanza) == xmpp::StanzaKind::Iq && !isIqRequest(stanza)) {
        return Handled::Yes;
      }
      return ev.bounce(Condition::ServiceUnavailable);
    }
    return Handled::No;
  }

  storage::UserStore* store_ = nullptr;
  std::mutex mutex_;
  std::set<SessionKey> interested_;  // sessions that asked for the blocklist (get pushes)
  std::atomic<uint64_t> next_push_id_{1};
};

}  // namespace
PARLEY_MODULE("blocking", Blocking);
}  // namespace parley::modules
