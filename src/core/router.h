// The router: decides where a stanza goes (RFC 6120 §10, RFC 6121 §8) and
// delivers it to local sessions on whichever worker owns them.
#pragma once

#include <string_view>

#include "core/events.h"
#include "core/registry.h"
#include "xmpp/stanza.h"

namespace parley::core {

class Server;

// Thread-safe: called on any worker thread; holds no locks while delivering.
class Router {
 public:
  explicit Router(Server& server) : server_(server) {}

  // A stanza from a local client session, 'from' already stamped with its full JID.
  // Called on the origin session's thread.
  void routeFromClient(Session& origin, xmpp::StanzaPtr stanza);
  // A stanza the server itself sends (replies, errors, pushes), 'from' and 'to' set.
  void routeFromServer(xmpp::StanzaPtr stanza);
  // A stanza from a peer server or a component, 'from' checked against what that stream
  // authenticated and 'to' set. Called on the receiving stream's thread.
  void routeFromRemote(xmpp::StanzaPtr stanza) { route(nullptr, std::move(stanza)); }

  // Posts a stanza to one session on its worker. If the session is gone (or
  // closing) by the time it arrives, see undeliverable().
  void deliverTo(SessionRef ref, xmpp::StanzaPtr stanza);

 private:
  void route(Session* origin, xmpp::StanzaPtr stanza);
  Handled dispatch(Host& host, StanzaEvent& event);
  void defaultRoute(StanzaEvent& event);
  void routeToBare(StanzaEvent& event, const xmpp::BareJid& bare);
  void routeToFull(StanzaEvent& event, const xmpp::FullJid& full);
  bool accountExists(const xmpp::BareJid& bare) const;
  // A stanza whose full-JID target vanished between routing and delivery: the
  // rules of RFC 6121 §8.5.3.2 for a resource that does not exist.
  void undeliverable(const xmpp::StanzaPtr& stanza);

  Server& server_;
};

}  // namespace parley::core
