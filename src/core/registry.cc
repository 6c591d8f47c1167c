// The session registry: sharded map from bare JID to bound resources.
#include "core/registry.h"

#include <algorithm>
#include <functional>

namespace parley::core {

SessionRegistry::Shard& SessionRegistry::shardFor(const std::string& bare) const {
  return shards_[std::hash<std::string>{}(bare) % kShards];
}

std::optional<SessionRef> SessionRegistry::bind(const xmpp::FullJid& jid, SessionRef session) {
  auto bare = jid.bare().toString();
  auto& shard = shardFor(bare);
  std::lock_guard lock(shard.mutex);
  auto& list = shard.users[bare];
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
  auto bare = jid.bare().toString();
  auto& shard = shardFor(bare);
  std::lock_guard lock(shard.mutex);
  auto it = shard.users.find(bare);
  if (it == shard.users.end()) return;
  auto& list = it->second;
  std::erase_if(list, [&](const BoundResource& entry) {
    return entry.resource == jid.resourcepart() && entry.session == session;
  });
  if (list.empty()) shard.users.erase(it);
}

template <class Fn>
void SessionRegistry::update(const xmpp::FullJid& jid, SessionRef session, Fn fn) {
  auto bare = jid.bare().toString();
  auto& shard = shardFor(bare);
  std::lock_guard lock(shard.mutex);
  auto it = shard.users.find(bare);
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
  auto bare = jid.bare().toString();
  auto& shard = shardFor(bare);
  std::lock_guard lock(shard.mutex);
  auto it = shard.users.find(bare);
  if (it == shard.users.end()) return std::nullopt;
  for (const auto& entry : it->second) {
    if (entry.resource == jid.resourcepart()) return entry;
  }
  return std::nullopt;
}

std::vector<BoundResource> SessionRegistry::resources(const xmpp::BareJid& jid) const {
  auto bare = jid.toString();
  auto& shard = shardFor(bare);
  std::lock_guard lock(shard.mutex);
  auto it = shard.users.find(bare);
  if (it == shard.users.end()) return {};
  return it->second;
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
