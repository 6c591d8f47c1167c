// RFC 6121 §3-4: presence subscriptions (the state machine of Appendix A, pre-approval,
// stored requests), initial presence with probes and broadcast, directed presence, and the
// unavailable presence a session leaves behind.
#include <algorithm>
#include <set>
#include <string>

#include "core/module.h"
#include "roster/roster_store.h"
#include "roster/subscription.h"
#include "xml/serializer.h"

namespace parley::modules {
namespace {

using core::Addressee;
using core::Handled;
using core::StanzaEvent;
using roster::RosterStore;
using roster::SubscriptionType;

constexpr std::string_view kPreApprovalFeature = "<sub xmlns='urn:xmpp:features:pre-approval'/>";

// After a subscription change reached the roster: push the item if it changed.
// False (and a warning) if the write failed, so nothing that follows is sent.
bool afterRosterWrite(core::Server& server, const xmpp::BareJid& user, const Result<void>& result,
                      const roster::RosterUpdate& update) {
  if (!result) {
    log::warn("mod_presence ", user.toString(), ": roster write failed: ", result.error().message);
    return false;
  }
  if (update.item_changed && update.after.item) {
    roster::pushItem(server, user, roster::toElement(*update.after.item), update.version);
  }
  return true;
}

// Per session (session thread only): whether the resource is available, and where it
// sent directed presence (RFC 6121 §4.6) that must be followed by unavailable.
struct PresenceState {
  bool available = false;
  std::set<std::string> directed;
};

xmpp::StanzaPtr share(xml::Element element) {
  return std::make_shared<const xml::Element>(std::move(element));
}

// A copy of `stanza` with new addresses.
xmpp::StanzaPtr readdressed(const xml::Element& stanza, const std::string& from,
                            const std::string& to) {
  xml::Element copy = stanza;
  copy.setAttr("from", from);
  copy.setAttr("to", to);
  return share(std::move(copy));
}

// RFC 6121 §4.7.2.3: -128..127, 0 when absent or invalid.
int priorityOf(const xml::Element& presence) {
  auto text = presence.childText("priority");
  if (text.empty() || text.size() > 4) return 0;
  try {
    size_t used = 0;
    int value = std::stoi(text, &used);
    if (used != text.size()) return 0;
    return std::clamp(value, -128, 127);
  } catch (const std::exception&) {
    return 0;
  }
}

class Presence final : public core::Module {
 public:
  Result<void> load(core::ModuleContext& ctx) override {
    auto store = RosterStore::forHost(ctx);
    store_ = store;
    ctx.addStreamFeature(core::StreamPhase::Authenticated, std::string(kPreApprovalFeature));
    using Fn = std::function<Handled(StanzaEvent&)>;
    for (auto to : {Addressee::Bare, Addressee::Full, Addressee::Host}) {
      ctx.hook(core::events::prePresence(to),
               Fn([store](StanzaEvent& ev) { return outgoing(store, ev); }));
      ctx.hook(core::events::presence(to),
               Fn([store](StanzaEvent& ev) { return incoming(store, ev); }));
    }
    ctx.hook(core::events::presence(Addressee::Self),
             Fn([store](StanzaEvent& ev) { return broadcast(*store, ev); }));
    ctx.hook(core::events::resourceUnbind(),
             std::function<Handled(core::SessionEvent&)>(
                 [store](core::SessionEvent& ev) { return sessionEnded(*store, ev); }));
    return {};
  }

 private:
  // ---- From a local client (pre-presence, on the sender's host) ----

  static Handled outgoing(const std::shared_ptr<RosterStore>& store, StanzaEvent& ev) {
    if (!ev.origin) return Handled::No;
    auto type = ev.element().attr("type");
    if (auto subscription = roster::parseSubscriptionType(type)) {
      // To one's own account there is no subscription to manage.
      if (ev.to.bare() == ev.from.bare() || ev.to.isDomain()) return Handled::Yes;
      subscribeOut(store, ev, *subscription);
      return Handled::Yes;
    }
    if (type == "probe") {
      // §4.3: probes come from the account, never a resource.
      ev.router.routeFromServer(
          readdressed(ev.element(), ev.from.bare().toString(), ev.to.bare().toString()));
      return Handled::Yes;
    }
    if (type.empty() || type == "unavailable") trackDirected(*store, ev, type.empty());
    return Handled::No;  // directed presence and errors are routed as they are
  }

  // §4.6: remember where directed presence went, to follow it with unavailable later;
  // subscribers get that unavailable from the broadcast anyway.
  static void trackDirected(RosterStore& store, StanzaEvent& ev, bool available) {
    auto& state = ev.origin->data<PresenceState>();
    const auto& target = ev.to.toString();
    if (!available) {
      state.directed.erase(target);
      return;
    }
    auto contact = store.contact(ev.from.localpart(), ev.to.bare().toString());
    if (state.available && roster::isSubscriber(contact.state().subscription)) return;
    state.directed.insert(target);
  }

  // Appendix A.2: the user's side of a subscription stanza the user sends.
  static void subscribeOut(const std::shared_ptr<RosterStore>& store, StanzaEvent& ev,
                           SubscriptionType type) {
    auto user = ev.from.bare();
    auto contact = ev.to.bare().toString();
    auto outcome = std::make_shared<roster::SubscriptionOutcome>();
    auto back = core::postBack();
    core::Server* server = &ev.host.server();
    // §3.1.2: the server stamps the user's bare JID, and addresses the contact's account.
    auto stamped = readdressed(ev.element(), user.toString(), contact);
    store->update(
        user.localpart(), contact,
        [outcome, type, &contact](roster::Contact& entry) {
          *outcome = roster::outbound(entry.state(), type);
          entry.setState(outcome->state, contact);
        },
        [=](Result<void> result, const roster::RosterUpdate& update) {
          back([=] {
            if (!afterRosterWrite(*server, user, result, update)) return;
            auto to = xmpp::Jid::parse(contact);
            if (outcome->send_unavailable && to) {
              roster::sendPresenceOfResources(*server, user, *to, /*unavailable=*/true);
            }
            if (outcome->forward) server->router().routeFromServer(stamped);
            if (outcome->send_presence && to) roster::sendPresenceOfResources(*server, user, *to);
          });
        });
  }

  // ---- To a local account (on the recipient's host) ----

  static Handled incoming(const std::shared_ptr<RosterStore>& store, StanzaEvent& ev) {
    if (ev.to.isDomain()) return Handled::No;
    auto type = ev.element().attr("type");
    if (auto subscription = roster::parseSubscriptionType(type)) {
      subscribeIn(store, ev, *subscription);
      return Handled::Yes;
    }
    if (type == "probe") {
      answerProbe(*store, ev);
      return Handled::Yes;
    }
    return Handled::No;  // presence notifications and errors: routed by the core (§8.5)
  }

  // Appendix A.3: the user's side of a subscription stanza from a contact. A stanza to a
  // full JID counts as sent to the account (§3.1.3).
  static void subscribeIn(const std::shared_ptr<RosterStore>& store, StanzaEvent& ev,
                          SubscriptionType type) {
    auto user = ev.to.bare();
    auto contact = ev.from.bare().toString();
    core::Server* server = &ev.host.server();
    if (!ev.host.userExists(user.localpart())) {
      // §3.1.3: no such account: the request is answered 'unsubscribed'; the rest dropped.
      if (type == SubscriptionType::Subscribe) {
        roster::sendPresence(ev.router, user.toString(), contact, "unsubscribed");
      }
      return;
    }
    if (contact == user.toString()) return;
    auto request = readdressed(ev.element(), contact, user.toString());
    auto serialized = xml::toString(*request, ns::kClient);
    auto outcome = std::make_shared<roster::SubscriptionOutcome>();
    auto back = core::postBack();
    store->update(
        user.localpart(), contact,
        [outcome, type, &contact, &serialized](roster::Contact& entry) {
          *outcome = roster::inbound(entry.state(), type);
          entry.setState(outcome->state, contact, serialized);
        },
        [=](Result<void> result, const roster::RosterUpdate& update) {
          back([=] {
            if (!afterRosterWrite(*server, user, result, update)) return;
            if (outcome->forward) {
              for (const auto& resource : server->registry().resources(user)) {
                if (resource.available) server->router().deliverTo(resource.session, request);
              }
            }
            auto to = xmpp::Jid::parse(contact);
            if (outcome->auto_reply_subscribed) {
              roster::sendPresence(server->router(), user.toString(), contact, "subscribed");
            }
            if (outcome->send_presence && to) roster::sendPresenceOfResources(*server, user, *to);
          });
        });
  }

  // §4.3.2: a subscriber gets the latest presence of each available resource, or
  // unavailable; anyone else gets nothing.
  static void answerProbe(RosterStore& store, StanzaEvent& ev) {
    auto user = ev.to.bare();
    if (!ev.host.userExists(user.localpart())) return;
    auto contact = store.contact(user.localpart(), ev.from.bare().toString());
    if (!roster::isSubscriber(contact.state().subscription)) return;
    auto& server = ev.host.server();
    bool any_available = false;
    for (const auto& resource : server.registry().resources(user)) {
      any_available = any_available || resource.available;
    }
    if (any_available) {
      roster::sendPresenceOfResources(server, user, ev.from);
    } else {
      roster::sendPresence(ev.router, user.toString(), ev.from.toString(), "unavailable");
    }
  }

  // ---- Broadcast presence (no 'to'), on the user's host ----

  static Handled broadcast(RosterStore& store, StanzaEvent& ev) {
    const auto& stanza = ev.element();
    if (stanza.findAttr("to")) return Handled::No;  // to one's own bare JID: nothing to do
    auto full = ev.from.asFull();
    if (!ev.origin || !full) return Handled::Yes;
    auto type = stanza.attr("type");
    if (!type.empty() && type != "unavailable") return Handled::Yes;  // §4: meaningless here
    auto& server = ev.host.server();
    auto& state = ev.origin->data<PresenceState>();
    auto user = ev.from.bare();
    auto snapshot = store.roster(user.localpart());
    // The router no longer updates the registry once this event is handled: do it here.
    if (type.empty()) {
      bool initial = !state.available;
      state.available = true;
      server.registry().setPresence(*full, ev.origin->ref(), true, priorityOf(stanza), ev.stanza);
      if (initial) {
        // §4.2.2: probe the contacts whose presence the user receives.
        for (const auto& item : snapshot.items) {
          if (roster::isSubscribedTo(item.state.subscription)) {
            roster::sendPresence(ev.router, user.toString(), item.jid, "probe");
          }
        }
        // §3.1.3: requests that waited for the user.
        for (const auto& text : store.pendingRequests(user.localpart())) {
          if (auto request = xml::parseElement(text, ns::kClient)) {
            ev.router.deliverTo(ev.origin->ref(), share(std::move(*request)));
          }
        }
      }
      sendToSubscribersAndSelf(server, stanza, *full, snapshot, {});
      return Handled::Yes;
    }
    server.registry().setPresence(*full, ev.origin->ref(), false, priorityOf(stanza), nullptr);
    bool was_available = state.available;
    state.available = false;
    auto directed = std::move(state.directed);
    state.directed.clear();
    if (was_available) {
      sendToSubscribersAndSelf(server, stanza, *full, snapshot, directed);
    } else {
      for (const auto& target : directed) {
        server.router().routeFromServer(readdressed(stanza, full->toString(), target));
      }
    }
    return Handled::Yes;
  }

  // §4.2.2, §4.4.2, §4.5.2: to each subscriber (bare JID), to the JIDs that got directed
  // presence, and to each of the user's own available resources.
  static void sendToSubscribersAndSelf(core::Server& server, const xml::Element& stanza,
                                       const xmpp::FullJid& from,
                                       const roster::RosterSnapshot& snapshot,
                                       const std::set<std::string>& directed) {
    auto from_text = from.toString();
    std::set<std::string> sent;
    for (const auto& item : snapshot.items) {
      if (!roster::isSubscriber(item.state.subscription)) continue;
      sent.insert(item.jid);
      server.router().routeFromServer(readdressed(stanza, from_text, item.jid));
    }
    for (const auto& target : directed) {
      if (sent.count(target)) continue;
      server.router().routeFromServer(readdressed(stanza, from_text, target));
    }
    auto user = from.bare();
    for (const auto& resource : server.registry().resources(user)) {
      if (!resource.available) continue;
      auto to = user.withResource(resource.resource);
      if (to)
        server.router().deliverTo(resource.session, readdressed(stanza, from_text, to->toString()));
    }
  }

  // §4.6.3 and §4.5.2: a session that ends while available (or after directed presence)
  // is followed by unavailable presence, as if the client had sent it.
  static Handled sessionEnded(RosterStore& store, core::SessionEvent& ev) {
    auto* state = ev.session.findData<PresenceState>();
    if (!state || (!state->available && state->directed.empty())) return Handled::No;
    xml::Element unavailable("presence", std::string(ns::kClient));
    unavailable.setAttr("type", "unavailable");
    auto& server = ev.host.server();
    roster::RosterSnapshot snapshot;
    if (state->available) snapshot = store.roster(ev.jid.localpart());
    sendToSubscribersAndSelf(server, unavailable, ev.jid, snapshot, state->directed);
    state->available = false;
    state->directed.clear();
    return Handled::No;
  }

  std::shared_ptr<RosterStore> store_;
};

}  // namespace
PARLEY_MODULE("presence", Presence);
}  // namespace parley::modules
