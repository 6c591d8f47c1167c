// XEP-0077 in-band registration: sign-up before login (open hosts, or with an invitation token
// per XEP-0401/XEP-0445), and password change and account removal once logged in.
//
// Sign-up is open where the host says `registration = true`. Elsewhere a client may present a
// token issued by `parleyctl invite DOMAIN` (<preauth xmlns='urn:xmpp:pars:0' token='...'/>)
// and then register exactly one account with it. Sign-ups are limited per IP address: over the
// limit the client gets resource-constraint (type wait), as ejabberd answers, so it knows to
// come back later rather than that it did something wrong.
#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "core/module.h"
#include "invites.h"
#include "registration_form.h"
#include "signup_limiter.h"

namespace parley::modules {
namespace {

using core::Addressee;
using core::Handled;
using core::PreAuthEvent;
using core::StanzaEvent;
using core::UserEvent;
using Condition = xmpp::StanzaError::Condition;
using storage::AccountError;

constexpr std::string_view kParsNs = "urn:xmpp:pars:0";  // XEP-0379 <preauth/>, used by 0445
constexpr std::string_view kInstructions =
    "Choose a username and password to register with this server.";

// What a token validated on an unauthenticated stream grants that stream: one sign-up.
struct InviteGrant {
  std::string token;
};

// An account removal waiting for its deletion to be durable: the requester gets the result
// just before its stream is closed (user-deleted fires first; see onUserDeleted).
struct PendingRemoval {
  uint64_t id;
  core::SessionRef session;
  xmpp::StanzaPtr reply;
};

// Everything the handlers share. Held by shared_ptr so storage callbacks still in flight when
// the module unloads find it alive. Thread-safe: configuration is immutable, the rest locked.
struct State {
  State(core::Host& h, unsigned signups_per_hour) : host(h), limiter(signups_per_hour) {}

  core::Host& host;
  bool open = false;  // HostConfig::registration
  std::chrono::seconds invite_ttl{0};
  storage::UserStore* invites = nullptr;
  SignupLimiter limiter;

  std::mutex mutex;
  std::set<std::string> claimed_tokens;                         // guarded by mutex
  std::map<std::string, std::vector<PendingRemoval>> removals;  // by user; guarded
  uint64_t next_removal_id = 1;                                 // guarded
};
using StatePtr = std::shared_ptr<State>;

xml::Element preAuthReply(xml::Element reply) {
  // An unauthenticated client has no address to be written to.
  reply.removeAttr("to");
  return reply;
}

// Writes STANZA on the unauthenticated stream REF of WORKER, if it is still open. Loop thread.
void sendToStream(core::Worker* worker, core::SessionRef ref, const xml::Element& stanza) {
  if (auto* session = worker->find(ref)) session->sendStanza(stanza);
}

xmpp::StanzaError accountError(AccountError error) {
  switch (error) {
    case AccountError::Conflict:
      return xmpp::StanzaError::of(Condition::Conflict, "The username is taken");
    case AccountError::NotFound:
      return xmpp::StanzaError::of(Condition::RegistrationRequired);
    case AccountError::Storage:
      break;
  }
  return xmpp::StanzaError::of(Condition::InternalServerError);
}

// ---- Invitation tokens ------------------------------------------------------------------------

// Whether TOKEN is stored, unexpired and not being used by another sign-up right now.
bool isUsableToken(State& state, const std::string& token) {
  if (!invites::looksLikeToken(token)) return false;
  auto value = state.invites->get(state.host.domain(), invites::kInviteUser, token);
  if (!value) return false;
  if (!invites::isValid(*value, std::chrono::system_clock::now(), state.invite_ttl)) {
    state.invites->remove(state.host.domain(), invites::kInviteUser, token, [](Result<void>) {});
    return false;
  }
  std::lock_guard lock(state.mutex);
  return state.claimed_tokens.count(token) == 0;
}

// Reserves TOKEN for one sign-up: true and the stored value if it is usable and nobody else
// holds it. The reservation is what makes a token good for one account only, whatever races.
std::optional<std::string> claimToken(State& state, const std::string& token) {
  auto value = state.invites->get(state.host.domain(), invites::kInviteUser, token);
  if (!value || !invites::isValid(*value, std::chrono::system_clock::now(), state.invite_ttl)) {
    return std::nullopt;
  }
  std::lock_guard lock(state.mutex);
  if (!state.claimed_tokens.insert(token).second) return std::nullopt;
  return value;
}

void unclaimToken(State& state, const std::string& token) {
  std::lock_guard lock(state.mutex);
  state.claimed_tokens.erase(token);
}

// XEP-0445 §4: the client hands over its token before registering.
Handled onPreAuthToken(const StatePtr& state, PreAuthEvent& ev) {
  if (ev.iq.attr("type") != "set") {
    return ev.reply(
        preAuthReply(xmpp::errorReply(ev.iq, xmpp::StanzaError::of(Condition::BadRequest))));
  }
  const auto* preauth = ev.iq.child("preauth", kParsNs);
  std::string token = preauth ? std::string(preauth->attr("token")) : std::string();
  if (!isUsableToken(*state, token)) {
    // COMPAT: Prosody's mod_invites_register answers forbidden; clients expect that.
    return ev.reply(preAuthReply(xmpp::errorReply(
        ev.iq,
        xmpp::StanzaError::of(Condition::Forbidden, "The invite token is invalid or expired"))));
  }
  ev.session.data<InviteGrant>().token = token;
  return ev.reply(preAuthReply(xmpp::emptyResult(ev.iq)));
}

// ---- Sign-up ----------------------------------------------------------------------------------

struct SignupRequest {
  StatePtr state;
  core::Worker* worker;
  core::SessionRef session;
  std::shared_ptr<const xml::Element> iq;
  Signup signup;
  std::string ip;
};

// Creates the account; then answers the stream and calls AFTER with the outcome.
void createAccount(const std::shared_ptr<SignupRequest>& request,
                   std::function<void(bool created)> after) {
  auto& state = *request->state;
  state.host.server().createUser(
      state.host, request->signup.username, request->signup.password,
      [request, after = std::move(after)](Result<void, AccountError> result) {
        auto& st = *request->state;
        if (result) {
          sendToStream(request->worker, request->session,
                       preAuthReply(xmpp::emptyResult(*request->iq)));
        } else {
          st.limiter.release(request->ip);
          sendToStream(request->worker, request->session,
                       preAuthReply(xmpp::errorReply(*request->iq, accountError(result.error()))));
        }
        after(static_cast<bool>(result));
      });
}

// Sign-up with an invitation: the token is deleted (durably) before the account is created, so
// a crash in between loses the invitation rather than letting it make a second account. If the
// account cannot be created, the token is put back.
void signupWithToken(const std::shared_ptr<SignupRequest>& request, const std::string& token) {
  auto& state = *request->state;
  auto stored = claimToken(state, token);
  if (!stored) {
    state.limiter.release(request->ip);
    if (auto* session = request->worker->find(request->session)) {
      session->data<InviteGrant>().token.clear();
      session->sendStanza(preAuthReply(xmpp::errorReply(
          *request->iq,
          xmpp::StanzaError::of(Condition::NotAllowed, "The invite token is no longer valid"))));
    }
    return;
  }
  auto back = core::postBack();
  const std::string& domain = state.host.domain();
  state.invites->remove(
      domain, invites::kInviteUser, token,
      [back, request, token, value = *stored](Result<void> gone) {
        back([request, token, value, gone = std::move(gone)] {
          auto& st = *request->state;
          if (!gone) {
            unclaimToken(st, token);
            st.limiter.release(request->ip);
            sendToStream(request->worker, request->session,
                         preAuthReply(xmpp::errorReply(
                             *request->iq, xmpp::StanzaError::of(Condition::InternalServerError))));
            return;
          }
          createAccount(request, [request, token, value](bool created) {
            auto state_ptr = request->state;
            if (created) {
              unclaimToken(*state_ptr, token);  // gone from the store: nobody can claim it again
              if (auto* session = request->worker->find(request->session)) {
                session->data<InviteGrant>().token.clear();
              }
              log::info("register ", state_ptr->host.domain(), ": ", request->signup.username,
                        " signed up with an invitation");
              return;
            }
            state_ptr->invites->put(
                state_ptr->host.domain(), invites::kInviteUser, token, value,
                [state_ptr, token](Result<void> restored) {
                  if (!restored) {
                    log::warn("register ", state_ptr->host.domain(),
                              ": could not restore an invitation: ", restored.error().message);
                  }
                  unclaimToken(*state_ptr, token);
                });
          });
        });
      });
}

// XEP-0077 §3.1 on an unauthenticated stream: the form (get) or a sign-up (set).
Handled onPreAuthRegister(const StatePtr& state, PreAuthEvent& ev) {
  auto refuse = [&ev](xmpp::StanzaError error) {
    return ev.reply(preAuthReply(xmpp::errorReply(ev.iq, error)));
  };
  const auto* query = ev.iq.child("query", kRegisterNs);
  if (!query) return refuse(xmpp::StanzaError::of(Condition::BadRequest));
  const auto* grant = ev.session.findData<InviteGrant>();
  std::string token = grant ? grant->token : std::string();
  bool allowed = !state->host.isAnonymous() && (state->open || !token.empty());
  const auto closed = [] {
    return xmpp::StanzaError::of(Condition::NotAllowed, "Registration is closed on this server");
  };

  if (ev.iq.attr("type") == "get") {
    if (!allowed) return refuse(closed());
    return ev.reply(preAuthReply(xmpp::resultWith(ev.iq, registrationForm(kInstructions))));
  }
  auto fields = readFields(*query);
  if (fields.remove) {
    // §3.2: only a logged-in account may cancel its registration.
    return refuse(xmpp::StanzaError::of(Condition::NotAllowed, "Log in to remove an account"));
  }
  if (!allowed) return refuse(closed());
  auto signup = checkSignup(fields);
  if (!signup) return refuse(signup.error());
  if (state->host.userExists(signup->username)) {
    return refuse(xmpp::StanzaError::of(Condition::Conflict, "The username is taken"));
  }
  auto ip = ev.session.peerIp();
  if (!state->limiter.tryAcquire(ip, SignupLimiter::Clock::now())) {
    log::warn("register ", state->host.domain(), ": sign-up limit reached for ", ip);
    return refuse(xmpp::StanzaError::of(Condition::ResourceConstraint,
                                        "Too many accounts created from your address; try later"));
  }
  auto request = std::make_shared<SignupRequest>(
      SignupRequest{state, core::currentWorker(), ev.session.ref(),
                    std::make_shared<const xml::Element>(ev.iq), std::move(*signup), ip});
  if (state->open || token.empty()) {
    createAccount(request, [request](bool created) {
      if (created) {
        log::info("register ", request->state->host.domain(), ": ", request->signup.username,
                  " signed up from ", request->ip);
      }
    });
  } else {
    signupWithToken(request, token);
  }
  return Handled::Yes;
}

// ---- Logged-in account life -------------------------------------------------------------------

// The sender's localpart when the iq comes from a local client of this host, else nullopt:
// password change and removal are for our own accounts only.
std::optional<std::string> localUser(const State& state, const StanzaEvent& ev) {
  if (!ev.origin || !ev.from.hasLocalpart() || ev.from.domainpart() != state.host.domain()) {
    return std::nullopt;
  }
  return std::string(ev.from.localpart());
}

// A reply to EV sent later (after a storage write), from outside the handler.
struct LaterReply {
  core::Router* router;
  xmpp::StanzaPtr stanza;
  std::string own_address;  // 'from' for a reply to an iq that had no 'to'

  void send(xml::Element reply) const {
    if (!reply.findAttr("from")) reply.setAttr("from", own_address);
    router->routeFromServer(std::make_shared<const xml::Element>(std::move(reply)));
  }
  void bounce(const xmpp::StanzaError& error) const { send(xmpp::errorReply(*stanza, error)); }
};

Handled onGet(const StatePtr& state, StanzaEvent& ev) {
  auto user = localUser(*state, ev);
  if (!user) return ev.bounce(Condition::ServiceUnavailable);
  return ev.reply(xmpp::resultWith(ev.element(), registeredQuery(*user)));
}

// §3.2: the account and everything stored for it go; the requester hears "result" before its
// stream is closed.
Handled removeAccount(const StatePtr& state, StanzaEvent& ev, const std::string& user) {
  auto reply = xmpp::emptyResult(ev.element());
  if (!reply.findAttr("from")) reply.setAttr("from", ev.to.toString());
  uint64_t id = 0;
  {
    std::lock_guard lock(state->mutex);
    id = state->next_removal_id++;
    state->removals[user].push_back(PendingRemoval{
        id, ev.origin->ref(), std::make_shared<const xml::Element>(std::move(reply))});
  }
  LaterReply later{&ev.router, ev.stanza, ev.to.toString()};
  state->host.server().deleteUser(
      state->host, user, [state, user, id, later](Result<void, AccountError> result) {
        bool still_pending = false;
        {
          std::lock_guard lock(state->mutex);
          auto it = state->removals.find(user);
          if (it != state->removals.end()) {
            auto& list = it->second;
            auto pos = std::find_if(list.begin(), list.end(),
                                    [id](const PendingRemoval& p) { return p.id == id; });
            if (pos != list.end()) {
              still_pending = true;
              list.erase(pos);
            }
            if (list.empty()) state->removals.erase(it);
          }
        }
        if (!still_pending) return;  // answered by onUserDeleted
        if (result) {
          later.send(xmpp::emptyResult(*later.stanza));
        } else {
          later.bounce(accountError(result.error()));
        }
      });
  return Handled::Yes;
}

// user-deleted fires before the deleted user's sessions are closed: answer every removal this
// module is waiting on for that user now, so the result precedes the stream error.
Handled onUserDeleted(const StatePtr& state, UserEvent& ev) {
  std::vector<PendingRemoval> pending;
  {
    std::lock_guard lock(state->mutex);
    auto it = state->removals.find(ev.user);
    if (it == state->removals.end()) return Handled::No;
    pending = std::move(it->second);
    state->removals.erase(it);
  }
  auto& router = ev.host.server().router();
  for (const auto& removal : pending) router.deliverTo(removal.session, removal.reply);
  log::info("register ", ev.host.domain(), ": ", ev.user, " removed their account");
  return Handled::No;  // others still want to hear about it
}

Handled onSet(const StatePtr& state, StanzaEvent& ev) {
  auto user = localUser(*state, ev);
  if (!user) return ev.bounce(Condition::ServiceUnavailable);
  if (state->host.isAnonymous() || ev.origin->isAnonymous()) {
    return ev.bounce(xmpp::StanzaError::of(Condition::NotAllowed, "Anonymous accounts are fixed"));
  }
  const auto* query = ev.element().child("query", kRegisterNs);
  auto fields = readFields(*query);
  if (fields.remove) {
    // §3.2: <remove/> comes alone.
    if (query->childElementCount() != 1) return ev.bounce(Condition::BadRequest);
    return removeAccount(state, ev, *user);
  }
  auto password = checkPasswordChange(fields, *user);
  if (!password) return ev.bounce(password.error());
  LaterReply later{&ev.router, ev.stanza, ev.to.toString()};
  state->host.server().setPassword(
      state->host, *user, *password,
      [later, domain = state->host.domain(), user = *user](Result<void, AccountError> result) {
        if (!result) return later.bounce(accountError(result.error()));
        log::info("register ", domain, ": ", user, " changed their password");
        later.send(xmpp::emptyResult(*later.stanza));
      });
  return Handled::Yes;
}

// ---- The module -------------------------------------------------------------------------------

class Register final : public core::Module {
 public:
  Result<void> load(core::ModuleContext& ctx) override {
    if (auto known = ctx.knownOptions({"signups_per_ip_per_hour", "invite_ttl"}); !known) {
      return fail(known.error().toString());
    }
    auto per_hour = ctx.option<int64_t>("signups_per_ip_per_hour", 5, {.min = 0, .max = 1000000});
    if (!per_hour) return fail(per_hour.error().toString());
    auto ttl = ctx.option<std::chrono::seconds>("invite_ttl", std::chrono::hours(24 * 7),
                                                {.min = std::chrono::seconds(60)});
    if (!ttl) return fail(ttl.error().toString());

    auto state = std::make_shared<State>(ctx.host(), static_cast<unsigned>(*per_hour));
    state->open = ctx.host().config().registration && !ctx.host().isAnonymous();
    state->invite_ttl = *ttl;
    state->invites = &ctx.openStore(invites::kStoreName);

    ctx.addFeature(kRegisterNs);
    if (state->open) {
      ctx.addStreamFeature(core::StreamPhase::Unauthenticated,
                           "<register xmlns='http://jabber.org/features/iq-register'/>");
    } else if (!ctx.host().isAnonymous()) {
      // XEP-0445 §3 (and its predecessor's namespace): sign-up with an invitation only.
      ctx.addStreamFeature(core::StreamPhase::Unauthenticated,
                           "<register xmlns='urn:xmpp:invite'/>");
      ctx.addStreamFeature(core::StreamPhase::Unauthenticated,
                           "<register xmlns='urn:xmpp:ibr-token:0'/>");
    }

    using PreAuthFn = std::function<Handled(PreAuthEvent&)>;
    using StanzaFn = std::function<Handled(StanzaEvent&)>;
    ctx.hook(core::events::preAuthIq(kRegisterNs, "query"),
             PreAuthFn([state](PreAuthEvent& ev) { return onPreAuthRegister(state, ev); }));
    ctx.hook(core::events::preAuthIq(kParsNs, "preauth"),
             PreAuthFn([state](PreAuthEvent& ev) { return onPreAuthToken(state, ev); }));
    // §3.2/§3.3: clients send these to the server (to='domain') or with no 'to' at all.
    for (auto addressee : {Addressee::Self, Addressee::Host}) {
      ctx.hook(core::events::iqGet(addressee, kRegisterNs, "query"),
               StanzaFn([state](StanzaEvent& ev) { return onGet(state, ev); }));
      ctx.hook(core::events::iqSet(addressee, kRegisterNs, "query"),
               StanzaFn([state](StanzaEvent& ev) { return onSet(state, ev); }));
    }
    ctx.hook(core::events::userDeleted(),
             std::function<Handled(UserEvent&)>(
                 [state](UserEvent& ev) { return onUserDeleted(state, ev); }),
             core::priority::kPolicy);
    return {};
  }
};

}  // namespace
PARLEY_MODULE("register", Register);
}  // namespace parley::modules
