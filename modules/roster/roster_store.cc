// The per-user roster in the "roster" store, its overlay of writes in flight, and pushes.
#include "roster_store.h"

#include <atomic>
#include <charconv>

#include "core/server.h"
#include "util/log.h"

namespace parley::modules::roster {
namespace {

bool isReservedKey(std::string_view key) {
  return key == kVersionKey || key.substr(0, kPendingPrefix.size()) == kPendingPrefix;
}

uint64_t parseVersion(const std::optional<std::string>& text) {
  uint64_t value = 0;
  if (!text) return 0;
  std::from_chars(text->data(), text->data() + text->size(), value);
  return value;
}

std::string pendingKey(std::string_view jid) {
  return std::string(kPendingPrefix) + std::string(jid);
}

}  // namespace

SubscriptionState Contact::state() const {
  SubscriptionState state = item ? item->state : SubscriptionState{};
  state.pending_in = pending_request.has_value();
  return state;
}

void Contact::setState(const SubscriptionState& state, std::string_view jid,
                       const std::string& request) {
  if (!state.pending_in) {
    pending_request.reset();
  } else if (!pending_request) {
    pending_request = request;
  }
  SubscriptionState kept = state;
  kept.pending_in = false;
  if (item) {
    item->state = kept;
  } else if (kept != SubscriptionState{}) {
    // Pending In alone is no roster item (RFC 6121 §3.1.3); anything else needs one.
    item = RosterItem{std::string(jid), {}, {}, kept};
  }
}

std::string versionString(uint64_t version) { return std::to_string(version); }

std::shared_ptr<RosterStore> RosterStore::forHost(core::ModuleContext& ctx) {
  static std::mutex mutex;
  static std::map<const core::Host*, std::weak_ptr<RosterStore>> stores;
  std::lock_guard lock(mutex);
  auto& slot = stores[&ctx.host()];
  auto store = slot.lock();
  if (!store) {
    store = std::make_shared<RosterStore>(ctx.domain(), ctx.openStore("roster"));
    slot = store;
  }
  return store;
}

std::optional<std::string> RosterStore::read(std::string_view user, std::string_view key) const {
  std::lock_guard lock(mutex_);
  auto overlay = overlays_.find(user);
  if (overlay != overlays_.end()) {
    auto value = overlay->second.values.find(key);
    if (value != overlay->second.values.end()) return value->second;
  }
  return store_.get(domain_, user, key);
}

RosterSnapshot RosterStore::roster(std::string_view user) const {
  std::map<std::string, std::string, std::less<>> entries;
  std::lock_guard lock(mutex_);
  for (auto& [key, value] : store_.list(domain_, user)) entries[key] = std::move(value);
  if (auto overlay = overlays_.find(user); overlay != overlays_.end()) {
    for (const auto& [key, value] : overlay->second.values) {
      if (value) {
        entries[key] = *value;
      } else {
        entries.erase(key);
      }
    }
  }
  RosterSnapshot snapshot;
  for (const auto& [key, value] : entries) {
    if (key == kVersionKey) {
      snapshot.version = parseVersion(value);
    } else if (!isReservedKey(key)) {
      if (auto item = parseStored(value)) snapshot.items.push_back(std::move(*item));
    }
  }
  return snapshot;
}

uint64_t RosterStore::version(std::string_view user) const {
  return parseVersion(read(user, kVersionKey));
}

Contact RosterStore::contact(std::string_view user, std::string_view jid) const {
  Contact contact;
  std::lock_guard lock(mutex_);
  if (auto stored = read(user, jid)) contact.item = parseStored(*stored);
  contact.pending_request = read(user, pendingKey(jid));
  return contact;
}

std::vector<std::string> RosterStore::pendingRequests(std::string_view user) const {
  std::map<std::string, std::string, std::less<>> pending;
  std::lock_guard lock(mutex_);
  for (auto& [key, value] : store_.list(domain_, user)) {
    if (key.size() > kPendingPrefix.size() &&
        key.substr(0, kPendingPrefix.size()) == kPendingPrefix) {
      pending[key] = std::move(value);
    }
  }
  if (auto overlay = overlays_.find(user); overlay != overlays_.end()) {
    for (const auto& [key, value] : overlay->second.values) {
      if (key.substr(0, kPendingPrefix.size()) != kPendingPrefix) continue;
      if (value) {
        pending[key] = *value;
      } else {
        pending.erase(key);
      }
    }
  }
  std::vector<std::string> out;
  for (auto& [key, value] : pending) out.push_back(std::move(value));
  return out;
}

void RosterStore::update(std::string_view user, std::string_view jid,
                         std::function<void(Contact&)> edit, UpdateDone done) {
  std::lock_guard lock(mutex_);
  RosterUpdate update;
  update.before = contact(user, jid);
  update.after = update.before;
  edit(update.after);
  update.version = version(user);

  std::vector<storage::UserStore::Change> changes;
  update.item_changed = update.before.item != update.after.item;
  if (update.item_changed) {
    std::optional<std::string> value;
    if (update.after.item) value = serialize(*update.after.item);
    changes.push_back({std::string(jid), std::move(value)});
    ++update.version;
    changes.push_back({std::string(kVersionKey), versionString(update.version)});
  }
  if (update.before.pending_request != update.after.pending_request) {
    changes.push_back({pendingKey(jid), update.after.pending_request});
  }
  if (changes.empty()) {
    done(Result<void>{}, update);
    return;
  }
  std::string user_key(user);
  auto& overlay = overlays_[user_key];
  ++overlay.writes_in_flight;
  for (const auto& change : changes) overlay.values[change.key] = change.value;
  store_.apply(domain_, user, std::move(changes),
               [self = shared_from_this(), user_key, update = std::move(update),
                done = std::move(done)](Result<void> result) {
                 self->finishWrite(user_key, result.hasValue());
                 done(std::move(result), update);
               });
}

void RosterStore::finishWrite(const std::string& user, bool ok) {
  std::lock_guard lock(mutex_);
  auto overlay = overlays_.find(user);
  if (overlay == overlays_.end()) return;
  // A failed write: forget the overlay, so reads show what is really stored.
  if (!ok || --overlay->second.writes_in_flight <= 0) overlays_.erase(overlay);
}

void RosterStore::forget(std::string_view user) {
  std::lock_guard lock(mutex_);
  if (auto overlay = overlays_.find(user); overlay != overlays_.end()) overlays_.erase(overlay);
}

xml::Element removedItem(std::string_view jid) {
  xml::Element item("item", std::string(kRosterNs));
  item.setAttr("jid", std::string(jid));
  item.setAttr("subscription", "remove");
  return item;
}

void pushItem(core::Server& server, const xmpp::BareJid& user, xml::Element item,
              uint64_t version) {
  static std::atomic<uint64_t> next_push{0};
  for (const auto& resource : server.registry().resources(user)) {
    if (!resource.roster_requested) continue;
    auto full = user.withResource(resource.resource);
    if (!full) continue;
    xml::Element iq("iq", std::string(ns::kClient));
    iq.setAttr("type", "set");
    iq.setAttr("id", "push" + std::to_string(++next_push));
    iq.setAttr("from", user.toString());
    iq.setAttr("to", full->toString());
    auto& query = iq.addChild("query", std::string(kRosterNs));
    query.setAttr("ver", versionString(version));
    query.addChild(item);
    server.router().deliverTo(resource.session,
                              std::make_shared<const xml::Element>(std::move(iq)));
  }
}

void sendPresence(core::Router& router, const std::string& from, const std::string& to,
                  std::string_view type) {
  xml::Element presence("presence", std::string(ns::kClient));
  presence.setAttr("from", from);
  presence.setAttr("to", to);
  if (!type.empty()) presence.setAttr("type", std::string(type));
  router.routeFromServer(std::make_shared<const xml::Element>(std::move(presence)));
}

void sendPresenceOfResources(core::Server& server, const xmpp::BareJid& user, const xmpp::Jid& to,
                             bool unavailable) {
  for (const auto& resource : server.registry().resources(user)) {
    if (!resource.available) continue;
    auto full = user.withResource(resource.resource);
    if (!full) continue;
    if (unavailable || !resource.presence) {
      sendPresence(server.router(), full->toString(), to.toString(),
                   unavailable ? "unavailable" : "");
      continue;
    }
    xml::Element presence = *resource.presence;
    presence.setAttr("from", full->toString());
    presence.setAttr("to", to.toString());
    server.router().routeFromServer(std::make_shared<const xml::Element>(std::move(presence)));
  }
}

}  // namespace parley::modules::roster
