// RFC 6121 §2: roster get, set (add, update), remove and pushes, with roster versioning
// (XEP-0237). The subscription states themselves are the presence module's business.
#include "core/module.h"
#include "roster_item.h"
#include "roster_store.h"

namespace parley::modules {
namespace {

using core::Addressee;
using core::Handled;
using core::StanzaEvent;
using Condition = xmpp::StanzaError::Condition;
using roster::RosterStore;

constexpr std::string_view kRosterVersioningFeature = "<ver xmlns='urn:xmpp:features:rosterver'/>";

// Answers a request later (after a write), from the user's account as ev.reply() would.
void replyLater(core::Router& router, xml::Element reply, const std::string& account) {
  if (!reply.findAttr("from")) reply.setAttr("from", account);
  router.routeFromServer(std::make_shared<const xml::Element>(std::move(reply)));
}

class Roster final : public core::Module {
 public:
  Result<void> load(core::ModuleContext& ctx) override {
    store_ = RosterStore::forHost(ctx);
    ctx.addStreamFeature(core::StreamPhase::Authenticated, std::string(kRosterVersioningFeature));
    auto store = store_;
    ctx.hook(
        core::events::iqGet(Addressee::Self, roster::kRosterNs, "query"),
        std::function<Handled(StanzaEvent&)>([store](StanzaEvent& ev) { return get(*store, ev); }));
    ctx.hook(
        core::events::iqSet(Addressee::Self, roster::kRosterNs, "query"),
        std::function<Handled(StanzaEvent&)>([store](StanzaEvent& ev) { return set(store, ev); }));
    // RFC 6121 §2.1.5: only the user manages their roster; another account's is forbidden.
    for (auto key : {core::events::iqGet(Addressee::Bare, roster::kRosterNs, "query"),
                     core::events::iqSet(Addressee::Bare, roster::kRosterNs, "query")}) {
      ctx.hook(key, &Roster::forbidden);
    }
    // XEP-0077 §3.2: a deleted account ends its subscriptions; contacts are told
    // (unavailable, unsubscribe, unsubscribed) while the roster can still be read.
    ctx.hook(core::events::userDeleting(),
             std::function<Handled(core::UserEvent&)>([store](core::UserEvent& ev) {
               auto bare = xmpp::BareJid::fromParts(ev.user, ev.host.domain());
               if (!bare) return Handled::No;
               for (const auto& item : store->roster(ev.user).items) {
                 unsubscribeRemoved(ev.host.server(), *bare, item.jid,
                                    store->contact(ev.user, item.jid));
               }
               return Handled::No;
             }));
    ctx.hook(core::events::userDeleted(),
             std::function<Handled(core::UserEvent&)>([store](core::UserEvent& ev) {
               store->forget(ev.user);
               return Handled::No;
             }));
    return {};
  }

 private:
  static Handled forbidden(StanzaEvent& ev) { return ev.bounce(Condition::Forbidden); }

  static Handled get(RosterStore& store, StanzaEvent& ev) {
    auto full = ev.from.asFull();
    if (!ev.origin || !full) return ev.bounce(Condition::Forbidden);
    // From now on this resource is interested: it gets roster pushes (§2.1.6).
    ev.host.server().registry().setRosterRequested(*full, ev.origin->ref());
    const auto* query = ev.element().firstChild();
    auto snapshot = store.roster(ev.from.localpart());
    auto version = roster::versionString(snapshot.version);
    const auto* client_version = query->findAttr("ver");
    // XEP-0237 §2.4: the client is up to date: an empty result, no pushes to catch up.
    if (client_version && *client_version == version) {
      return ev.reply(xmpp::emptyResult(ev.element()));
    }
    xml::Element result("query", std::string(roster::kRosterNs));
    if (client_version) result.setAttr("ver", version);
    for (const auto& item : snapshot.items) result.addChild(roster::toElement(item));
    return ev.reply(xmpp::resultWith(ev.element(), std::move(result)));
  }

  static Handled set(const std::shared_ptr<RosterStore>& store, StanzaEvent& ev) {
    if (!ev.origin) return ev.bounce(Condition::Forbidden);
    auto user = ev.from.bare();
    auto parsed = roster::parseRosterSet(*ev.element().firstChild(), user.toString());
    if (!parsed) return ev.bounce(parsed.error());
    auto& request = *parsed;

    auto edit = [&request](roster::Contact& contact) {
      if (request.remove) {
        contact.item.reset();
        contact.pending_request.reset();
        return;
      }
      auto state = contact.item ? contact.item->state : roster::SubscriptionState{};
      contact.item = request.item;
      contact.item->state = state;
    };
    auto back = core::postBack();
    core::Router* router = &ev.router;
    core::Server* server = &ev.host.server();
    auto stanza = ev.stanza;
    auto jid = request.item.jid;
    bool remove = request.remove;
    store->update(
        user.localpart(), jid, edit, [=](Result<void> result, const roster::RosterUpdate& update) {
          back([=] {
            const auto& iq = *stanza;
            if (!result) {
              replyLater(
                  *router,
                  xmpp::errorReply(iq, xmpp::StanzaError::of(Condition::InternalServerError)),
                  user.toString());
              return;
            }
            if (remove && !update.before.item) {
              // §2.5.3: removing an item that is not there.
              replyLater(*router,
                         xmpp::errorReply(iq, xmpp::StanzaError::of(Condition::ItemNotFound)),
                         user.toString());
              return;
            }
            replyLater(*router, xmpp::emptyResult(iq), user.toString());
            if (!update.item_changed) return;
            if (remove) {
              roster::pushItem(*server, user, roster::removedItem(jid), update.version);
              unsubscribeRemoved(*server, user, jid, update.before);
            } else {
              roster::pushItem(*server, user, roster::toElement(*update.after.item),
                               update.version);
            }
          });
        });
    return Handled::Yes;
  }

  // RFC 6121 §2.5.2: removing an item also ends the subscriptions in both directions,
  // and denies a request the contact had pending.
  static void unsubscribeRemoved(core::Server& server, const xmpp::BareJid& user,
                                 const std::string& jid, const roster::Contact& before) {
    auto state = before.state();
    auto contact = xmpp::Jid::parse(jid);
    if (!contact) return;
    if (roster::isSubscribedTo(state.subscription) || state.pending_out) {
      roster::sendPresence(server.router(), user.toString(), jid, "unsubscribe");
    }
    if (roster::isSubscriber(state.subscription) || state.pending_in) {
      if (roster::isSubscriber(state.subscription)) {
        roster::sendPresenceOfResources(server, user, *contact, /*unavailable=*/true);
      }
      roster::sendPresence(server.router(), user.toString(), jid, "unsubscribed");
    }
  }

  std::shared_ptr<RosterStore> store_;
};

}  // namespace
PARLEY_MODULE("roster", Roster);
}  // namespace parley::modules
