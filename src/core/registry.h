// The session registry: bare JID -> bound resources, shared by all workers.
#pragma once

#include <array>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
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
  // A bare JID with its hash, computed once per call for both the shard and the map.
  struct Key {
    std::string_view text;
    size_t hash;
    explicit Key(std::string_view bare) : text(bare), hash(std::hash<std::string_view>{}(bare)) {}
  };
  // The map's own keys keep their hash: walking a bucket compares hashes, and touches a key's
  // characters only on a match.
  struct StoredKey {
    std::string text;
    size_t hash;
    explicit StoredKey(const Key& key) : text(key.text), hash(key.hash) {}
  };
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(const StoredKey& key) const { return key.hash; }
    size_t operator()(const Key& key) const { return key.hash; }
  };
  struct KeyEqual {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return a.hash == b.hash && a.text == b.text;
    }
  };
  using Resources = std::vector<BoundResource>;
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<StoredKey, Resources, KeyHash, KeyEqual> users;  // key: bare JID
  };
  Shard& shardFor(const Key& key) const { return shards_[key.hash % kShards]; }
  // The account's resources, or nullptr; the shard's mutex is held.
  const Resources* resourcesOf(const Shard& shard, const Key& key) const;
  template <class Fn>
  void update(const xmpp::FullJid& jid, SessionRef session, Fn fn);

  mutable std::array<Shard, kShards> shards_;
};

}  // namespace parley::core
