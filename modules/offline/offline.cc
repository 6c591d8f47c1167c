// XEP-0160 offline messages: store chat/normal messages for an account with no available
// resource (RFC 6121 §8.5.2.1.1), stamped per XEP-0203, and deliver them at initial presence.
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/module.h"
#include "core/worker.h"
#include "stored_message.h"
#include "xml/serializer.h"
#include "xml/stream_parser.h"

namespace parley::modules {
namespace {

using core::Addressee;
using core::Handled;
using core::StanzaEvent;
using Condition = xmpp::StanzaError::Condition;

// Runs before the presence module (default priority), which marks the resource available:
// only then can "was this resource available already?" tell an initial presence apart.
constexpr int kBeforePresence = core::priority::kDefault + 10;

// Sends the error reply to a stanza from outside its dispatch (a storage callback).
void bounceLater(core::Router& router, const xml::Element& stanza, const std::string& account,
                 xmpp::StanzaError error) {
  if (xmpp::mustNotBounce(stanza)) return;
  auto reply = xmpp::errorReply(stanza, error);
  // A message without 'to' was addressed to the sender's own account: answer from it.
  if (!reply.findAttr("from")) reply.setAttr("from", account);
  router.routeFromServer(std::make_shared<const xml::Element>(std::move(reply)));
}

// Runs FN once the stanza's dispatch is over: at the end of the worker's turn (at once off the
// workers, in tools and tests).
void afterDispatch(std::function<void()> fn) {
  if (core::Worker* worker = core::currentWorker()) {
    worker->loop().atEndOfTurn(std::move(fn));
  } else {
    fn();
  }
}

// Shared with storage callbacks that may outlive a dispatch. Immutable after load but for
// the in-flight counts, which have their own lock.
struct OfflineState {
  OfflineState(storage::UserStore& offline_store, std::string host_domain, size_t max_messages)
      : store(offline_store), domain(std::move(host_domain)), quota(max_messages) {}

  storage::UserStore& store;
  std::string domain;
  size_t quota;

  // Per user with appends in flight: the stored count when the first of them began, and
  // how many were accepted since. The store's count alone lags the writes (a burst would
  // all pass), and mixed with an in-flight count it would count a just-committed message
  // twice; so while writes are in flight the quota is judged on this tally alone.
  struct Usage {
    size_t base = 0;
    size_t accepted = 0;
    size_t in_flight = 0;
  };
  mutable std::mutex mutex;
  mutable std::unordered_map<std::string, Usage> usage;

  // Reserves room for one more message of USER; false when the quota is reached.
  bool reserve(const std::string& user) const {
    std::lock_guard lock(mutex);
    auto [it, fresh] = usage.try_emplace(user);
    if (fresh) it->second.base = store.count(domain, user);
    auto& tally = it->second;
    if (tally.base + tally.accepted >= quota) {
      if (tally.in_flight == 0) usage.erase(it);
      return false;
    }
    ++tally.accepted;
    ++tally.in_flight;
    return true;
  }
  // Whether an append of USER is under way (reserved, not yet durable or failed).
  bool appending(const std::string& user) const {
    std::lock_guard lock(mutex);
    return usage.contains(user);
  }
  // One append of USER completed (durable or failed).
  void release(const std::string& user) const {
    std::lock_guard lock(mutex);
    auto it = usage.find(user);
    if (it != usage.end() && --it->second.in_flight == 0) usage.erase(it);
  }

  // Stored messages handed to a session whose removal is not durable yet, by "user\0key":
  // a second delivery running meanwhile (another worker) must not send them again.
  mutable std::unordered_set<std::string> delivering;
  // Claims the entries of USER not being delivered already; returns the claimed ones.
  std::vector<std::pair<std::string, std::string>> claim(
      const std::string& user, std::vector<std::pair<std::string, std::string>> entries) const {
    std::lock_guard lock(mutex);
    std::erase_if(entries, [&](const auto& entry) {
      return !delivering.insert(user + '\0' + entry.first).second;
    });
    return entries;
  }
  void unclaim(const std::string& user, const std::vector<std::string>& keys) const {
    std::lock_guard lock(mutex);
    for (const auto& key : keys) delivering.erase(user + '\0' + key);
  }
};

class Offline final : public core::Module {
 public:
  Result<void> load(core::ModuleContext& ctx) override {
    if (auto known = ctx.knownOptions({"quota"}); !known) return fail(known.error().toString());
    auto quota = ctx.option<int64_t>("quota", 1000, {.min = 1, .max = 1000000});
    if (!quota) return fail(quota.error().toString());
    state_ = std::make_shared<const OfflineState>(ctx.openStore("offline"), ctx.domain(),
                                                  static_cast<size_t>(*quota));
    ctx.addFeature(offline::kFeature);
    auto state = state_;
    ctx.hook(core::events::messageOffline(),
             std::function<Handled(StanzaEvent&)>(
                 [state](StanzaEvent& ev) { return storeMessage(state, ev); }),
             core::priority::kFallback);
    ctx.hook(core::events::presence(Addressee::Self),
             std::function<Handled(StanzaEvent&)>(
                 [state](StanzaEvent& ev) { return onBroadcastPresence(state, ev); }),
             kBeforePresence);
    return {};
  }

 private:
  static Handled storeMessage(const std::shared_ptr<const OfflineState>& state, StanzaEvent& ev) {
    const auto& message = ev.element();
    if (!offline::isStorable(message)) return Handled::No;
    std::string user(ev.to.localpart());
    // XEP-0160 leaves limits to the server; over quota the sender is told to wait.
    if (!state->reserve(user)) {
      return ev.bounce(xmpp::StanzaError::of(Condition::ResourceConstraint,
                                             "the recipient's offline storage is full"));
    }
    auto stamped = offline::withDelay(message, state->domain, std::chrono::system_clock::now());
    // The router was told Yes: from now on a failed write is ours to bounce.
    auto back = core::postBack();
    core::Router* router = &ev.router;
    core::Server* server = &ev.host.server();
    auto stanza = ev.stanza;
    auto account = ev.to.bare();
    state->store.append(
        state->domain, user, xml::toString(stamped),
        [state, back, router, server, stanza, account, user](Result<std::string> key) {
          state->release(user);
          if (!key) {
            log::warn("mod_offline ", account.toString(),
                      ": storing a message failed: ", key.error().message);
            back([router, stanza, account] {
              bounceLater(*router, *stanza, account.toString(),
                          xmpp::StanzaError::of(Condition::InternalServerError,
                                                "the message could not be stored"));
            });
            return;
          }
          // The recipient may have come online while the write was under way, too late for
          // the delivery at its initial presence to see this message.
          back([state, router, server, account, user] {
            if (auto session = bestAvailable(*server, account)) {
              deliverStored(state, *router, *session, user);
            }
          });
        });
    return Handled::Yes;
  }

  // The available resource with the highest non-negative priority, if any (RFC 6121 §8.5.2.1.1).
  static std::optional<core::SessionRef> bestAvailable(core::Server& server,
                                                       const xmpp::BareJid& account) {
    std::optional<core::SessionRef> best;
    int best_priority = -1;
    for (const auto& resource : server.registry().resources(account)) {
      if (resource.available && resource.priority > best_priority) {
        best = resource.session;
        best_priority = resource.priority;
      }
    }
    return best;
  }

  // RFC 6121 §4.2 / XEP-0160 §3: the initial presence of a resource with a non-negative
  // priority gets what was stored. Never handles the stanza: the presence module must run.
  static Handled onBroadcastPresence(const std::shared_ptr<const OfflineState>& state,
                                     StanzaEvent& ev) {
    const auto& presence = ev.element();
    if (!ev.origin || presence.findAttr("to") || presence.findAttr("type")) return Handled::No;
    if (offline::presencePriority(presence) < 0) return Handled::No;
    auto full = ev.from.asFull();
    if (!full) return Handled::No;
    auto bound = ev.host.server().registry().find(*full);
    if (!bound || bound->available) return Handled::No;  // an update, not the initial one
    // Deliver once this dispatch is over, so the client sees the messages after the
    // presence module has made the resource available (and a message arriving meanwhile
    // goes straight to it instead of into the store).
    core::Router* router = &ev.router;
    core::SessionRef session = ev.origin->ref();
    std::string user(full->localpart());
    if (!state->appending(user)) {
      afterDispatch(
          [state, router, session, user] { deliverStored(state, *router, session, user); });
      return Handled::No;
    }
    // A message to this user is being stored just now: deliver once every store write queued
    // before is durable (an empty batch: the writer completes in order). Without one in
    // flight that wait would cost every login a storage round trip for nothing.
    auto back = core::postBack();
    state->store.apply(state->domain, user, {}, [state, back, router, session, user](Result<void>) {
      back([state, router, session, user] { deliverStored(state, *router, session, user); });
    });
    return Handled::No;
  }

  static void deliverStored(const std::shared_ptr<const OfflineState>& shared, core::Router& router,
                            core::SessionRef session, const std::string& user) {
    const OfflineState& state = *shared;
    auto entries = state.claim(user, state.store.list(state.domain, user));
    if (entries.empty()) return;
    // Remove exactly what was delivered: a message appended meanwhile stays for next time.
    std::vector<storage::UserStore::Change> delivered;
    std::vector<std::string> keys;
    delivered.reserve(entries.size());
    for (auto& [key, value] : entries) {
      if (auto message = xml::parseElement(value)) {
        router.deliverTo(session, std::make_shared<const xml::Element>(std::move(*message)));
      } else {
        log::warn("mod_offline ", user, "@", state.domain,
                  ": dropping an unreadable stored message");
      }
      delivered.push_back({key, std::nullopt});
      keys.push_back(key);
    }
    std::string account = user + "@" + state.domain;
    state.store.apply(state.domain, user, std::move(delivered),
                      [shared, account, user, keys = std::move(keys)](Result<void> done) {
                        if (!done) {
                          log::warn("mod_offline ", account,
                                    ": removing delivered messages failed: ", done.error().message);
                        }
                        shared->unclaim(user, keys);
                      });
  }

  std::shared_ptr<const OfflineState> state_;
};

}  // namespace
PARLEY_MODULE("offline", Offline);
}  // namespace parley::modules
