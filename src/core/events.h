// Events: typed names in Prosody's shape ("message/bare", "iq-get/host/urn:xmpp:ping:ping"),
// their payloads, and the per-host bus that dispatches them by priority.
#pragma once

#include <algorithm>
#include <functional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "core/session.h"
#include "xmpp/jid.h"
#include "xmpp/stanza.h"

namespace parley::core {

class Host;
class Router;

// A handler's answer. The first Yes ends dispatch.
enum class Handled { No, Yes };

// Who a stanza is addressed to, from the point of view of the receiving host.
enum class Addressee {
  Host,  // to="example.com"
  Bare,  // to="user@example.com", another user (or a message to oneself)
  Full,  // to="user@example.com/resource"
  Self,  // an iq or presence with no 'to', or an iq to the sender's own bare JID
};

// Priorities: higher runs first.
namespace priority {
inline constexpr int kPolicy = 100;  // blocking, privacy, rate limits
inline constexpr int kDefault = 0;
inline constexpr int kFallback = -100;  // offline storage, bounces
}  // namespace priority

// Everything a stanza handler sees. Lives for one dispatch on the routing thread.
struct StanzaEvent {
  Host& host;  // the host the event fires on
  Router& router;
  Session* origin;         // the local session that sent it, if any (same thread); may be null
  xmpp::StanzaPtr stanza;  // 'from' already stamped, immutable
  xmpp::Jid from;
  xmpp::Jid to;  // the effective addressee ('to', or the sender's bare JID when absent)
  Addressee addressee;

  const xml::Element& element() const { return *stanza; }
  // Send a reply (usually an iq result) to the sender. Returns Handled::Yes.
  Handled reply(xml::Element reply);
  // Answer with a stanza error per RFC 6120 §8.3 (never to an error or iq result).
  Handled bounce(xmpp::StanzaError error);
  Handled bounce(xmpp::StanzaError::Condition condition) {
    return bounce(xmpp::StanzaError::of(condition));
  }
  // For an iq whose answer must wait for a storage write (nothing is acknowledged
  // before it is durable): a `done` callback that, on this worker's loop, answers
  // with an empty result, or with internal-server-error (and a warn log naming
  // `what`) if the write failed. The handler returns Handled::Yes itself.
  std::function<void(Result<void>)> resultAfterWrite(std::string what);
};

// A session coming or going (resource-bind, resource-unbind). Fired on the
// session's thread; for unbind, the registry no longer lists the resource.
struct SessionEvent {
  Host& host;
  Session& session;
  xmpp::FullJid jid;
};

// An account created or deleted (user-created, user-deleted). Fired on whatever
// thread completed the change, after it is durable. Handlers drop what they keep
// of the user (in-memory state; stores are cleared by Server::deleteUser itself).
struct UserEvent {
  Host& host;
  std::string user;  // the localpart
};

// An iq from a client stream that has not authenticated yet (XEP-0077 in-band
// registration). Fired on the session's thread. reply() writes on that stream.
struct PreAuthEvent {
  Host& host;
  Session& session;
  const xml::Element& iq;

  Handled reply(const xml::Element& stanza) {
    session.sendStanza(stanza);
    return Handled::Yes;
  }
};

// A typed event name: the payload type is part of the key, so hooking a
// stanza handler on a session event does not compile.
template <class Payload>
struct EventKey {
  std::string name;
};

namespace events {
std::string_view addresseeName(Addressee addressee);
EventKey<StanzaEvent> message(Addressee to);
EventKey<StanzaEvent> presence(Addressee to);
// Any iq (all types) to this addressee, after the per-namespace events had their turn.
EventKey<StanzaEvent> iq(Addressee to);
EventKey<StanzaEvent> iqGet(Addressee to, std::string_view xmlns, std::string_view name);
EventKey<StanzaEvent> iqSet(Addressee to, std::string_view xmlns, std::string_view name);
// Fired on the sender's host before routing a stanza from a local user.
EventKey<StanzaEvent> preMessage(Addressee to);
EventKey<StanzaEvent> prePresence(Addressee to);
EventKey<StanzaEvent> preIq(Addressee to);
EventKey<SessionEvent> resourceBind();
EventKey<SessionEvent> resourceUnbind();
// A chat or normal message to a local account with no resource that can take it
// (RFC 6121 §8.5.2.1.1). Yes = stored for later (offline storage); if nobody
// handles it, the router bounces it with service-unavailable.
EventKey<StanzaEvent> messageOffline();
EventKey<UserEvent> userCreated();
// Fired on the deleting worker just before the account and its data are removed,
// while rosters and sessions are still there (to tell contacts, XEP-0077 §3.2).
EventKey<UserEvent> userDeleting();
EventKey<UserEvent> userDeleted();
// An iq get/set on an unauthenticated client stream; unhandled: service-unavailable.
EventKey<PreAuthEvent> preAuthIq(std::string_view xmlns, std::string_view name);
}  // namespace events

// Handlers of one host. Built while modules load (on the main thread, before
// workers run), then only read, from any worker thread.
class EventBus {
 public:
  using OwnerTag = const void*;

  template <class Payload>
  void hook(const EventKey<Payload>& key, std::function<Handled(Payload&)> fn, int prio,
            OwnerTag owner) {
    auto& list = table<Payload>()[key.name];
    Entry<Payload> entry{std::move(fn), prio, owner};
    auto pos = std::find_if(list.begin(), list.end(), [&](auto& e) { return e.priority < prio; });
    list.insert(pos, std::move(entry));
  }

  // Runs handlers in priority order (equal priorities: hook order) until one
  // returns Yes.
  template <class Payload>
  Handled fire(const EventKey<Payload>& key, Payload& payload) const {
    const auto& map = table<Payload>();
    auto it = map.find(key.name);
    if (it == map.end()) return Handled::No;
    for (const auto& entry : it->second) {
      if (entry.fn(payload) == Handled::Yes) return Handled::Yes;
    }
    return Handled::No;
  }

  template <class Payload>
  bool hasHandlers(const EventKey<Payload>& key) const {
    return table<Payload>().count(key.name) != 0;
  }

  // Removes every handler a module registered (module unload).
  void unhookAll(OwnerTag owner);

 private:
  template <class Payload>
  struct Entry {
    std::function<Handled(Payload&)> fn;
    int priority;
    OwnerTag owner;
  };
  template <class Payload>
  using Table = std::unordered_map<std::string, std::vector<Entry<Payload>>>;

  template <class Payload>
  Table<Payload>& table() {
    return std::get<Table<Payload>>(tables_);
  }
  template <class Payload>
  const Table<Payload>& table() const {
    return std::get<Table<Payload>>(tables_);
  }

  std::tuple<Table<StanzaEvent>, Table<SessionEvent>, Table<UserEvent>, Table<PreAuthEvent>>
      tables_;
};

}  // namespace parley::core
