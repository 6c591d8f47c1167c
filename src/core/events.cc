// Event names and the event bus.
#include "core/events.h"

#include "core/router.h"
#include "core/worker.h"
#include "util/log.h"

namespace parley::core {

namespace events {

std::string_view addresseeName(Addressee addressee) {
  switch (addressee) {
    case Addressee::Host:
      return "host";
    case Addressee::Bare:
      return "bare";
    case Addressee::Full:
      return "full";
    case Addressee::Self:
      return "self";
  }
  return "host";
}

namespace {
EventKey<StanzaEvent> make(std::string_view prefix, Addressee to) {
  std::string name(prefix);
  name.append("/").append(addresseeName(to));
  return {std::move(name)};
}
EventKey<StanzaEvent> makeIq(std::string_view prefix, Addressee to, std::string_view xmlns,
                             std::string_view element) {
  auto key = make(prefix, to);
  key.name.append("/").append(xmlns).append(":").append(element);
  return key;
}
}  // namespace

EventKey<StanzaEvent> message(Addressee to) { return make("message", to); }
EventKey<StanzaEvent> presence(Addressee to) { return make("presence", to); }
EventKey<StanzaEvent> iq(Addressee to) { return make("iq", to); }
EventKey<StanzaEvent> iqGet(Addressee to, std::string_view xmlns, std::string_view name) {
  return makeIq("iq-get", to, xmlns, name);
}
EventKey<StanzaEvent> iqSet(Addressee to, std::string_view xmlns, std::string_view name) {
  return makeIq("iq-set", to, xmlns, name);
}
EventKey<StanzaEvent> preMessage(Addressee to) { return make("pre-message", to); }
EventKey<StanzaEvent> prePresence(Addressee to) { return make("pre-presence", to); }
EventKey<StanzaEvent> preIq(Addressee to) { return make("pre-iq", to); }
EventKey<SessionEvent> resourceBind() { return {"resource-bind"}; }
EventKey<SessionEvent> resourceUnbind() { return {"resource-unbind"}; }
EventKey<StanzaEvent> messageOffline() { return {"message/offline"}; }
EventKey<UserEvent> userCreated() { return {"user-created"}; }
EventKey<UserEvent> userDeleting() { return {"user-deleting"}; }
EventKey<UserEvent> userDeleted() { return {"user-deleted"}; }
EventKey<PreAuthEvent> preAuthIq(std::string_view xmlns, std::string_view name) {
  std::string key = "pre-auth-iq/";
  key.append(xmlns).append(":").append(name);
  return {std::move(key)};
}

}  // namespace events

void EventBus::unhookAll(OwnerTag owner) {
  auto prune = [owner](auto& map) {
    for (auto it = map.begin(); it != map.end();) {
      std::erase_if(it->second, [owner](const auto& entry) { return entry.owner == owner; });
      it = it->second.empty() ? map.erase(it) : std::next(it);
    }
  };
  std::apply([&](auto&... tables) { (prune(tables), ...); }, tables_);
}

Handled StanzaEvent::reply(xml::Element reply_stanza) {
  // A stanza that had no 'to' was addressed to the sender's account: answer from it.
  if (!reply_stanza.findAttr("from")) reply_stanza.setAttr("from", to.toString());
  router.routeFromServer(std::make_shared<const xml::Element>(std::move(reply_stanza)));
  return Handled::Yes;
}

std::function<void(Result<void>)> StanzaEvent::resultAfterWrite(std::string what) {
  auto back = postBack();
  Router* router_ptr = &router;
  auto request = stanza;
  auto account = to.toString();
  return [back, router_ptr, request, account, what = std::move(what)](Result<void> written) {
    if (!written) log::warn(account, ": ", what, " failed: ", written.error().message);
    back([router_ptr, request, account, ok = bool(written)] {
      auto answer =
          ok ? xmpp::emptyResult(*request)
             : xmpp::errorReply(*request, xmpp::StanzaError::of(
                                              xmpp::StanzaError::Condition::InternalServerError));
      if (!answer.findAttr("from")) answer.setAttr("from", account);
      router_ptr->routeFromServer(std::make_shared<const xml::Element>(std::move(answer)));
    });
  };
}

Handled StanzaEvent::bounce(xmpp::StanzaError error) {
  if (!xmpp::mustNotBounce(*stanza)) {
    reply(xmpp::errorReply(*stanza, error));
  }
  return Handled::Yes;
}

}  // namespace parley::core
