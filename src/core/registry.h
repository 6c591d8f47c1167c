// The session registry: bare JID -> bound resources, shared by all workers.
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/session.h"
#include "xmpp/jid.h"

namespace parley::core {

struct BoundResource {
  std::string resource;
  SessionRef session;
  int priority = 0;
  bool available = false;         // has sent initial presence and not unavailable since
  bool roster_requested = false;  // asked for the roster: gets roster pushes (RFC 6121 §2.1.6)
  xmpp::StanzaPtr presence;       // its latest broadcast available presence, if any
};

// What routing needs of one bound resource, copied out without its strings or its stanza.
struct ResourceRoute {
  SessionRef session;
  int priority = 0;
  bool available = false;
};

// Thread-safe. Sharded by bare JID with one short critical section per call;
// lookups return copies so no lock is held while delivering.
class SessionRegistry {
 public:
  // Binds a full JID to a session. If another session held it, that session is
  // returned: the caller ends it with a conflict stream error (RFC 6120 §7.7.2.2).
  std::optional<SessionRef> bind(const xmpp::FullJid& jid, SessionRef session);
  // Removes the binding if it still belongs to this session.
  void unbind(const xmpp::FullJid& jid, SessionRef session);
  // Records availability and priority from the resource's latest broadcast presence
  // (and the presence itself, to answer probes; null when unavailable).
  void setPresence(const xmpp::FullJid& jid, SessionRef session, bool available, int priority,
                   xmpp::StanzaPtr presence = nullptr);
  void setRosterRequested(const xmpp::FullJid& jid, SessionRef session);

  std::optional<BoundResource> find(const xmpp::FullJid& jid) const;
  // Every resource bound to the account, in binding order: whole, or only what routing needs.
  std::vector<BoundResource> resources(const xmpp::BareJid& jid) const;
  std::vector<ResourceRoute> routes(const xmpp::BareJid& jid) const;
  bool hasResources(const xmpp::BareJid& jid) const;
  bool isResourceBound(const xmpp::FullJid& jid) const { return find(jid).has_value(); }
  size_t sessionCount() const;

 private:
  static constexpr size_t kShards = 64;
  // A bare JID with its hash, computed once per call for both the shard and the table.
  struct Key {
    std::string_view text;
    size_t hash;
    explicit Key(std::string_view bare) : text(bare), hash(std::hash<std::string_view>{}(bare)) {}
  };
  using Resources = std::vector<BoundResource>;
  // An account with a bound resource. Its bare JID is stored right behind it, in the same
  // allocation: checking a lookup's key reads no memory of its own.
  struct Account;
  struct AccountDeleter {
    void operator()(Account* account) const;
  };
  using AccountPtr = std::unique_ptr<Account, AccountDeleter>;
  // One shard's accounts by bare JID: open addressing with linear probing in a power-of-two
  // table kept at most half full, each slot holding the key's hash. At 10,000 users a lookup
  // reads one slot and the account; std::unordered_map read the bucket, the node before it,
  // the node and the key's characters, each a cache miss (contrib/bench/RESULTS.md).
  class Table {
   public:
    Account* find(const Key& key) const;
    Account& findOrAdd(const Key& key);
    void erase(const Key& key);
    size_t size() const { return size_; }
    template <class Fn>
    void forEach(Fn fn) const {
      for (const auto& slot : slots_) {
        if (slot.account) fn(*slot.account);
      }
    }

   private:
    struct Slot {
      size_t hash = 0;
      AccountPtr account;  // null: free
    };
    size_t home(size_t hash) const;      // where the probe for this hash starts
    size_t probe(const Key& key) const;  // the key's slot, or the free one ending its run
    void grow();

    std::vector<Slot> slots_;
    size_t size_ = 0;
    unsigned bits_ = 0;  // slots_.size() == 1 << bits_, once there is a table
  };
  // Its own cache line: the two workers' locks on neighbouring shards do not contend.
  struct alignas(64) Shard {
    mutable std::mutex mutex;
    Table accounts;
  };
  Shard& shardFor(const Key& key) const { return shards_[key.hash % kShards]; }
  // The account's resources, or nullptr; the shard's mutex is held.
  const Resources* resourcesOf(const Shard& shard, const Key& key) const;
  template <class Fn>
  void update(const xmpp::FullJid& jid, SessionRef session, Fn fn);

  mutable std::array<Shard, kShards> shards_;
};

}  // namespace parley::core
