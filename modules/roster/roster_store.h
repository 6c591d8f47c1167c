// The roster of each user (RFC 6121 §2) kept in the "roster" store, shared by the roster
// and presence modules of a host, with read-modify-write serialized per user.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/module.h"
#include "roster_item.h"

namespace parley::modules::roster {

// Keys of the "roster" store, per user:
//   contact JID              -> the <item/> (serialize())
//   kVersionKey              -> the roster version (XEP-0237), a decimal counter
//   kPendingPrefix + contact -> the contact's unanswered subscription request (the stanza),
//                               "Pending In" (RFC 6121 §3.1.3), redelivered at each login
// Neither reserved key can be a JID (JIDs have no control characters).
inline constexpr std::string_view kVersionKey = "\x01ver";
inline constexpr std::string_view kPendingPrefix = "\x02";

// What the user's roster says about one contact.
struct Contact {
  std::optional<RosterItem> item;
  std::optional<std::string> pending_request;  // serialized subscribe stanza

  SubscriptionState state() const;
  // Applies a new state: to the item (created if the state needs one to be kept), and
  // Pending In to pending_request (`request` is stored when it becomes pending).
  void setState(const SubscriptionState& state, std::string_view jid,
                const std::string& request = {});
};

struct RosterSnapshot {
  std::vector<RosterItem> items;
  uint64_t version = 0;
};

// What an update did, for pushes and the stanzas that follow it.
struct RosterUpdate {
  Contact before;
  Contact after;
  bool item_changed = false;
  uint64_t version = 0;  // the roster version afterwards
};

// Thread-safe. Writes are durable before `done`; until they are, reads see them through
// an in-memory overlay so that concurrent updates of one user (from any worker) apply in
// order and none is lost. Nothing is kept once the writes complete.
class RosterStore : public std::enable_shared_from_this<RosterStore> {
 public:
  using UpdateDone = std::function<void(Result<void>, const RosterUpdate&)>;

  // The host's roster, shared by every module that asks for it (opened on first use).
  static std::shared_ptr<RosterStore> forHost(core::ModuleContext& ctx);

  RosterStore(std::string domain, storage::UserStore& store)
      : domain_(std::move(domain)), store_(store) {}

  const std::string& domain() const { return domain_; }
  RosterSnapshot roster(std::string_view user) const;
  uint64_t version(std::string_view user) const;
  Contact contact(std::string_view user, std::string_view jid) const;
  // The stored subscription requests (serialized stanzas), in contact order.
  std::vector<std::string> pendingRequests(std::string_view user) const;

  // Reads the contact, lets `edit` change it and writes what changed in one batch, the
  // version bumped if the item changed. `done` runs once that is durable: on the storage
  // writer thread, or at once when there is nothing to write. `edit` runs under this
  // store's lock: it must not call back into the store.
  void update(std::string_view user, std::string_view jid, std::function<void(Contact&)> edit,
              UpdateDone done);
  // Drops whatever is kept about a deleted user (user-deleted).
  void forget(std::string_view user);

 private:
  struct Overlay {
    int writes_in_flight = 0;
    std::map<std::string, std::optional<std::string>, std::less<>> values;
  };
  std::optional<std::string> read(std::string_view user, std::string_view key) const;
  void finishWrite(const std::string& user, bool ok);

  std::string domain_;
  storage::UserStore& store_;
  // Recursive: the memory backend completes a write (and runs `done`) inside apply().
  mutable std::recursive_mutex mutex_;
  std::map<std::string, Overlay, std::less<>> overlays_;
};

// Sends a roster push (RFC 6121 §2.1.6) of `item` to every interested resource of `user`.
void pushItem(core::Server& server, const xmpp::BareJid& user, xml::Element item, uint64_t version);
xml::Element removedItem(std::string_view jid);  // <item jid=... subscription='remove'/>
std::string versionString(uint64_t version);

// Sends `to` the latest presence of each available resource of `user` (RFC 6121 §3.1.5,
// §4.3.2), or, with `unavailable`, unavailable presence from each of them (§3.2.2).
void sendPresenceOfResources(core::Server& server, const xmpp::BareJid& user, const xmpp::Jid& to,
                             bool unavailable = false);
// A presence stanza of `type` from `from` to `to`, routed by the server.
void sendPresence(core::Router& router, const std::string& from, const std::string& to,
                  std::string_view type);

}  // namespace parley::modules::roster
