// The session registry: sharded map from bare JID to bound resources.
#include "core/registry.h"

#include <algorithm>

namespace parley::core {

const SessionRegistry::Resources* SessionRegistry::resourcesOf(const Shard& shard,
                                                               const Key& key) const {
  auto it = shard.users.find(key);
  return it == shard.users.end() ? nullptr : &it->second;
}

std::optional<SessionRef> SessionRegistry::bind(const xmpp::FullJid& jid, SessionRef session) {
  Key key(jid.bareText());
  auto& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.users.find(key);
  if (it == shard.users.end()) it = shard.users.try_emplace(StoredKey(key)).first;
  auto& list = it->second;
  for (auto& entry : list) {
    if (entry.resource == jid.resourcepart()) {
      auto previous = entry.session;
      entry = BoundResource{};
      entry.resource = std::string(jid.resourcepart());
      entry.session = session;
      return previous;
    }
  }
  auto& added = list.emplace_back();
  added.resource = std::string(jid.resourcepart());
  added.session = session;
  return std::nullopt;
}

void SessionRegistry::unbind(const xmpp::FullJid& jid, SessionRef session) {
  Key key(jid.bareText());
  auto& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.users.find(key);
  if (it == shard.users.end()) return;
  auto& list = it->second;
  std::erase_if(list, [&](const BoundResource& entry) {
    return entry.resource == jid.resourcepart() && entry.session == session;
  });
  if (list.empty()) shard.users.erase(it);
}

template <class Fn>
void SessionRegistry::update(const xmpp::FullJid& jid, SessionRef session, Fn fn) {
  Key key(jid.bareText());
  auto& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.users.find(key);
  if (it == shard.users.end()) return;
  for (auto& entry : it->second) {
    if (entry.resource == jid.resourcepart() && entry.session == session) fn(entry);
  }
}

void SessionRegistry::setPresence(const xmpp::FullJid& jid, SessionRef session, bool available,
                                  int priority, xmpp::StanzaPtr presence) {
  update(jid, session, [&](BoundResource& entry) {
    entry.available = available;
    entry.priority = priority;
    entry.presence = available ? std::move(presence) : nullptr;
  });
}

void SessionRegistry::setRosterRequested(const xmpp::FullJid& jid, SessionRef session) {
  update(jid, session, [](BoundResource& entry) { entry.roster_requested = true; });
}

std::optional<BoundResource> SessionRegistry::find(const xmpp::FullJid& jid) const {
  Key key(jid.bareText());
  auto& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  if (const auto* list = resourcesOf(shard, key)) {
    for (const auto& entry : *list) {
      if (entry.resource == jid.resourcepart()) return entry;
    }
  }
  return std::nullopt;
}

std::vector<BoundResource> SessionRegistry::resources(const xmpp::BareJid& jid) const {
  Key key(jid.toString());
  auto& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  const auto* list = resourcesOf(shard, key);
  return list ? *list : Resources{};
}

std::vector<ResourceRoute> SessionRegistry::routes(const xmpp::BareJid& jid) const {
  Key key(jid.toString());
  auto& shard = shardFor(key);
  std::vector<ResourceRoute> routes;
  std::lock_guard lock(shard.mutex);
  if (const auto* list = resourcesOf(shard, key)) {
    routes.reserve(list->size());
    for (const auto& entry : *list) {
      routes.push_back(ResourceRoute{entry.session, entry.priority, entry.available});
    }
  }
  return routes;
}

bool SessionRegistry::hasResources(const xmpp::BareJid& jid) const {
  Key key(jid.toString());
  auto& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  return resourcesOf(shard, key) != nullptr;
}

size_t SessionRegistry::sessionCount() const {
  size_t count = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (const auto& [bare, list] : shard.users) count += list.size();
  }
  return count;
}

}  // namespace parley::core
