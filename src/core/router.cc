// Routing of stanzas between local sessions and hosts (RFC 6120 §10, RFC 6121 §8.5).
#include "core/router.h"

#include <algorithm>
#include <charconv>

#include "core/server.h"
#include "util/log.h"

namespace parley::core {
namespace {

using xmpp::StanzaError;
using xmpp::StanzaKind;
using Condition = xmpp::StanzaError::Condition;

enum class MessageType { Normal, Chat, Headline, Groupchat, Error };

// RFC 6121 §5.2.2: an absent or unknown type is treated as normal.
MessageType messageType(const xml::Element& message) {
  auto type = message.attr("type");
  if (type == "chat") return MessageType::Chat;
  if (type == "headline") return MessageType::Headline;
  if (type == "groupchat") return MessageType::Groupchat;
  if (type == "error") return MessageType::Error;
  return MessageType::Normal;
}

bool isIqRequest(const xml::Element& stanza) {
  auto type = stanza.attr("type");
  return xmpp::kindOf(stanza) == StanzaKind::Iq && (type == "get" || type == "set");
}

// RFC 6121 §4.7.2.3: priority is an integer in -128..127, 0 when absent or invalid.
int presencePriority(const xml::Element& presence) {
  auto text = presence.childText("priority");
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return 0;
  return std::clamp(value, -128, 127);
}

}  // namespace

void Router::routeFromClient(Session& origin, xmpp::StanzaPtr stanza) {
  route(&origin, std::move(stanza));
}

void Router::routeFromServer(xmpp::StanzaPtr stanza) { route(nullptr, std::move(stanza)); }

void Router::route(Session* origin, xmpp::StanzaPtr stanza) {
  auto kind = xmpp::kindOf(*stanza);
  auto from = xmpp::Jid::parse(stanza->attr("from"));
  if (!from) {
    log::warn("router: dropping a stanza with an invalid 'from'");
    return;
  }
  const auto* to_attr = stanza->findAttr("to");
  std::optional<xmpp::Jid> to;
  if (!to_attr || to_attr->empty()) {
    if (!origin) {
      log::warn("router: dropping a server stanza with no 'to'");
      return;
    }
    // RFC 6120 §10.3: no 'to' means the sender's own account.
    to.emplace(from->bare());
  } else {
    auto parsed = xmpp::Jid::parse(*to_attr);
    if (!parsed) {
      if (!xmpp::mustNotBounce(*stanza)) {
        // The reply goes straight back: its 'from' would be the malformed address.
        auto error = xmpp::errorReply(*stanza, StanzaError::of(Condition::JidMalformed));
        error.removeAttr("from");
        error.setAttr("from", std::string(from->domainpart()));
        routeFromServer(std::make_shared<const xml::Element>(std::move(error)));
      }
      return;
    }
    to.emplace(std::move(*parsed));
  }

  Addressee addressee = Addressee::Full;
  if (to->isDomain()) {
    addressee = Addressee::Host;
  } else if (to->isBare()) {
    bool to_self = origin && to->bare() == from->bare();
    addressee = (to_self && kind != StanzaKind::Message) ? Addressee::Self : Addressee::Bare;
  }

  Host* host = server_.host(to->domainpart());
  if (origin) {
    if (Host* origin_host = server_.host(from->domainpart())) {
      StanzaEvent pre{*origin_host, *this, origin, stanza, *from, *to, addressee};
      EventKey<StanzaEvent> key = kind == StanzaKind::Message    ? events::preMessage(addressee)
                                  : kind == StanzaKind::Presence ? events::prePresence(addressee)
                                                                 : events::preIq(addressee);
      if (origin_host->events().fire(key, pre) == Handled::Yes) return;
    }
  }
  StanzaEvent event{
      host ? *host : *server_.hosts().front(), *this, origin, stanza, *from, *to, addressee};
  if (!host) {
    // A component or another server (RFC 6120 §10.4); without federation, nobody.
    if (auto* remote = server_.remoteRoute()) {
      remote->send(std::move(stanza), from->domainpart(), to->domainpart());
    } else {
      event.bounce(Condition::RemoteServerNotFound);
    }
    return;
  }
  if (dispatch(*host, event) == Handled::Yes) return;
  defaultRoute(event);
}

Handled Router::dispatch(Host& host, StanzaEvent& event) {
  const auto& stanza = *event.stanza;
  const auto& bus = host.events();
  switch (xmpp::kindOf(stanza)) {
    case StanzaKind::Message:
      return bus.fire(events::message(event.addressee), event);
    case StanzaKind::Presence:
      return bus.fire(events::presence(event.addressee), event);
    case StanzaKind::Iq: {
      auto type = stanza.attr("type");
      if (type == "get" || type == "set") {
        if (const auto* payload = stanza.firstChild()) {
          auto key = type == "get"
                         ? events::iqGet(event.addressee, payload->xmlns(), payload->name())
                         : events::iqSet(event.addressee, payload->xmlns(), payload->name());
          if (bus.fire(key, event) == Handled::Yes) return Handled::Yes;
        }
      }
      return bus.fire(events::iq(event.addressee), event);
    }
    case StanzaKind::Other:
      break;
  }
  return Handled::No;
}

void Router::defaultRoute(StanzaEvent& event) {
  const auto& stanza = *event.stanza;
  auto kind = xmpp::kindOf(stanza);
  switch (event.addressee) {
    case Addressee::Full:
      routeToFull(event, *event.to.asFull());
      return;
    case Addressee::Bare:
      routeToBare(event, event.to.bare());
      return;
    case Addressee::Self:
      if (kind == StanzaKind::Presence) {
        // Broadcast presence: remember availability and priority for routing.
        // TODO(im): roster broadcast and probes (RFC 6121 §4.2) belong to the presence module.
        if (event.origin && !stanza.findAttr("to")) {
          auto type = stanza.attr("type");
          if (type.empty() || type == "unavailable") {
            server_.registry().setPresence(*event.from.asFull(), event.origin->ref(), type.empty(),
                                           presencePriority(stanza), event.stanza);
          }
        }
        return;
      }
      break;
    case Addressee::Host:
      break;
  }
  // Nobody handled a stanza addressed to the server or to an account itself.
  if (kind == StanzaKind::Iq && isIqRequest(stanza)) {
    event.bounce(Condition::ServiceUnavailable);
  } else if (kind == StanzaKind::Message) {
    auto type = messageType(stanza);
    if (type == MessageType::Normal || type == MessageType::Chat) {
      event.bounce(Condition::ServiceUnavailable);
    }
  }
}

void Router::routeToBare(StanzaEvent& event, const xmpp::BareJid& bare) {
  const auto& stanza = *event.stanza;
  auto kind = xmpp::kindOf(stanza);
  if (kind == StanzaKind::Iq) {
    // RFC 6121 §8.5.2: an iq to a bare JID is answered by the server on the
    // account's behalf; whatever no module handled is not supported.
    if (isIqRequest(stanza)) event.bounce(Condition::ServiceUnavailable);
    return;
  }
  auto resources = server_.registry().routes(bare);
  // An account with a bound resource exists: the store is asked only when none is online.
  if (resources.empty() && !accountExists(bare)) {
    // RFC 6121 §8.5.2.2: no such user.
    if (kind == StanzaKind::Message) {
      auto type = messageType(stanza);
      if (type != MessageType::Error && type != MessageType::Headline) {
        event.bounce(Condition::ServiceUnavailable);
      }
    }
    return;
  }
  if (kind == StanzaKind::Presence) {
    // RFC 6121 §8.5.2.1.2: to every available resource.
    for (const auto& resource : resources) {
      if (resource.available) deliverTo(resource.session, event.stanza);
    }
    return;
  }
  auto type = messageType(stanza);
  if (type == MessageType::Error) return;
  if (type == MessageType::Groupchat) {
    event.bounce(Condition::ServiceUnavailable);
    return;
  }
  // RFC 6121 §8.5.2.1.1: never to a negative priority; chat and normal go to the
  // highest-priority resources (all of them on a tie), headline to all.
  std::erase_if(resources, [](const ResourceRoute& r) { return !r.available || r.priority < 0; });
  if (resources.empty()) {
    if (type == MessageType::Headline) return;
    // Offline storage (XEP-0160) takes it, or it bounces.
    if (event.host.events().fire(events::messageOffline(), event) == Handled::Yes) return;
    event.bounce(Condition::ServiceUnavailable);
    return;
  }
  int best = resources.front().priority;
  for (const auto& r : resources) best = std::max(best, r.priority);
  for (const auto& r : resources) {
    if (type == MessageType::Headline || r.priority == best) deliverTo(r.session, event.stanza);
  }
}

void Router::routeToFull(StanzaEvent& event, const xmpp::FullJid& full) {
  if (auto bound = server_.registry().find(full)) {
    deliverTo(bound->session, event.stanza);
    return;
  }
  // RFC 6121 §8.5.3.2: no such resource.
  const auto& stanza = *event.stanza;
  switch (xmpp::kindOf(stanza)) {
    case StanzaKind::Message: {
      auto type = messageType(stanza);
      if (type == MessageType::Normal || type == MessageType::Chat) {
        routeToBare(event, full.bare());
      } else if (type == MessageType::Groupchat) {
        event.bounce(Condition::ServiceUnavailable);
      }
      return;
    }
    case StanzaKind::Iq:
      if (isIqRequest(stanza)) event.bounce(Condition::ServiceUnavailable);
      return;
    case StanzaKind::Presence:
    case StanzaKind::Other:
      return;
  }
}

void Router::deliverTo(SessionRef ref, xmpp::StanzaPtr stanza) {
  auto& worker = server_.worker(ref.worker);
  auto deliver = [this, ref, stanza = std::move(stanza)] {
    auto* session = server_.worker(ref.worker).find(ref);
    if (!session || !session->deliver(stanza)) undeliverable(stanza);
  };
  // Same worker: deliver now (order per sender is kept either way).
  if (worker.loop().isLoopThread()) {
    deliver();
  } else {
    worker.loop().post(std::move(deliver));
  }
}

void Router::undeliverable(const xmpp::StanzaPtr& stanza) {
  auto to = xmpp::Jid::parse(stanza->attr("to"));
  auto from = xmpp::Jid::parse(stanza->attr("from"));
  Host* host = to ? server_.host(to->domainpart()) : nullptr;
  if (!to || !from || !host) return;
  StanzaEvent event{*host, *this, nullptr, stanza, *from, *to, Addressee::Full};
  const auto& element = *stanza;
  if (isIqRequest(element)) {
    event.bounce(Condition::ServiceUnavailable);
  } else if (xmpp::kindOf(element) == StanzaKind::Message) {
    auto type = messageType(element);
    if (type == MessageType::Normal || type == MessageType::Chat) routeToBare(event, to->bare());
  }
}

bool Router::accountExists(const xmpp::BareJid& bare) const {
  auto* host = server_.host(bare.domainpart());
  return host && host->userExists(bare.localpart());
}

}  // namespace parley::core
