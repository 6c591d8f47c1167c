// The session registry: sharded map from bare JID to bound resources.
#include "core/registry.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <utility>

namespace parley::core {

// ---- the accounts of one shard ----

// Routing reads only `routes`, a copy of what it needs of up to two resources, kept on the
// account's first cache line: a message to a bare JID then reads no third line for the
// resources themselves. Every change to `resources` ends with refreshRoutes().
struct SessionRegistry::Account {
  static constexpr uint8_t kManyRoutes = 0xff;  // more than routes holds: read resources
  static constexpr std::align_val_t kAlignment{64};

  uint32_t key_size = 0;
  uint8_t route_count = 0;
  std::array<ResourceRoute, 2> routes;
  Resources resources;

  std::string_view key() const { return {reinterpret_cast<const char*>(this + 1), key_size}; }
  void refreshRoutes() {
    if (resources.size() > routes.size()) {
      route_count = kManyRoutes;
      return;
    }
    route_count = static_cast<uint8_t>(resources.size());
    for (size_t i = 0; i < resources.size(); ++i) {
      routes[i] =
          ResourceRoute{resources[i].session, resources[i].priority, resources[i].available};
    }
  }
};

void SessionRegistry::AccountDeleter::operator()(Account* account) const {
  account->~Account();
  ::operator delete(account, Account::kAlignment);
}

namespace {

// Fibonacci hashing: the top bits of the product. The shard took the hash's low bits, which
// every key in a shard shares; the product's top bits depend on all of them.
constexpr uint64_t kGoldenRatio = 0x9E3779B97F4A7C15ULL;
constexpr unsigned kFirstBits = 4;  // 16 slots

}  // namespace

size_t SessionRegistry::Table::home(size_t hash) const {
  return static_cast<size_t>((static_cast<uint64_t>(hash) * kGoldenRatio) >> (64 - bits_));
}

size_t SessionRegistry::Table::probe(const Key& key) const {
  size_t mask = slots_.size() - 1;
  for (size_t i = home(key.hash);; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (!slot.account) return i;
    if (slot.hash == key.hash && slot.account->key() == key.text) return i;
  }
}

SessionRegistry::Account* SessionRegistry::Table::find(const Key& key) const {
  if (size_ == 0) return nullptr;
  return slots_[probe(key)].account.get();
}

SessionRegistry::Account& SessionRegistry::Table::findOrAdd(const Key& key) {
  if ((size_ + 1) * 2 > slots_.size()) grow();
  Slot& slot = slots_[probe(key)];
  if (!slot.account) {
    // Aligned: the key, the routes and the start of the key's text share the first line.
    void* memory = ::operator new(sizeof(Account) + key.text.size(), Account::kAlignment);
    auto* account = new (memory) Account;
    account->key_size = static_cast<uint32_t>(key.text.size());
    std::memcpy(static_cast<char*>(memory) + sizeof(Account), key.text.data(), key.text.size());
    slot.hash = key.hash;
    slot.account.reset(account);
    ++size_;
  }
  return *slot.account;
}

void SessionRegistry::Table::grow() {
  bits_ = bits_ == 0 ? kFirstBits : bits_ + 1;
  std::vector<Slot> old = std::exchange(slots_, std::vector<Slot>(size_t{1} << bits_));
  size_t mask = slots_.size() - 1;
  for (auto& slot : old) {
    if (!slot.account) continue;
    size_t i = home(slot.hash);
    while (slots_[i].account) i = (i + 1) & mask;
    slots_[i] = std::move(slot);
  }
}

// Deletion without tombstones (Knuth's Algorithm R): the accounts after the hole, up to the
// next free slot, move back into it unless that would put them before their home.
void SessionRegistry::Table::erase(const Key& key) {
  if (size_ == 0) return;
  size_t hole = probe(key);
  if (!slots_[hole].account) return;
  slots_[hole].account.reset();
  --size_;
  size_t mask = slots_.size() - 1;
  for (size_t j = (hole + 1) & mask; slots_[j].account; j = (j + 1) & mask) {
    size_t k = home(slots_[j].hash);
    bool stays = hole <= j ? (hole < k && k <= j) : (hole < k || k <= j);
    if (!stays) {
      slots_[hole] = std::move(slots_[j]);
      hole = j;
    }
  }
}

// ---- the registry ----

const SessionRegistry::Resources* SessionRegistry::resourcesOf(const Shard& shard,
                                                               const Key& key) const {
  auto* account = shard.accounts.find(key);
  return account ? &account->resources : nullptr;
}

std::optional<SessionRef> SessionRegistry::bind(const xmpp::FullJid& jid, SessionRef session) {
  Key key(jid.bareText());
  auto& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  auto& account = shard.accounts.findOrAdd(key);
  auto& list = account.resources;
  for (auto& entry : list) {
    if (entry.resource == jid.resourcepart()) {
      auto previous = entry.session;
      entry = BoundResource{};
      entry.resource = std::string(jid.resourcepart());
      entry.session = session;
      account.refreshRoutes();
      return previous;
    }
  }
  auto& added = list.emplace_back();
  added.resource = std::string(jid.resourcepart());
  added.session = session;
  account.refreshRoutes();
  return std::nullopt;
}

void SessionRegistry::unbind(const xmpp::FullJid& jid, SessionRef session) {
  Key key(jid.bareText());
  auto& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  auto* account = shard.accounts.find(key);
  if (!account) return;
  std::erase_if(account->resources, [&](const BoundResource& entry) {
    return entry.resource == jid.resourcepart() && entry.session == session;
  });
  if (account->resources.empty()) {
    shard.accounts.erase(key);
  } else {
    account->refreshRoutes();
  }
}

template <class Fn>
void SessionRegistry::update(const xmpp::FullJid& jid, SessionRef session, Fn fn) {
  Key key(jid.bareText());
  auto& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  auto* account = shard.accounts.find(key);
  if (!account) return;
  for (auto& entry : account->resources) {
    if (entry.resource == jid.resourcepart() && entry.session == session) fn(entry);
  }
  account->refreshRoutes();
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
  std::lock_guard lock(shard.mutex);
  const auto* account = shard.accounts.find(key);
  if (!account) return {};
  if (account->route_count != Account::kManyRoutes) {
    return {account->routes.begin(), account->routes.begin() + account->route_count};
  }
  std::vector<ResourceRoute> routes;
  routes.reserve(account->resources.size());
  for (const auto& entry : account->resources) {
    routes.push_back(ResourceRoute{entry.session, entry.priority, entry.available});
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
    shard.accounts.forEach([&](const Account& account) { count += account.resources.size(); });
  }
  return count;
}

}  // namespace parley::core
