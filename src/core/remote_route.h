// Where the router sends stanzas for domains no local host serves: components (XEP-0114) and
// server-to-server streams. Implemented above core (s2s/), so core never includes it.
#pragma once

#include <string_view>

#include "xmpp/stanza.h"

namespace parley::core {

// Thread-safe: called on any worker thread, from inside routing.
class RemoteRoute {
 public:
  virtual ~RemoteRoute() = default;
  // Whether `domain` belongs to this server though no host serves it (a component's domain):
  // such a domain may send to other servers, and we answer dialback for it.
  virtual bool isLocalDomain(std::string_view domain) const = 0;
  // Takes a stanza addressed to `to_domain` (not a local host), 'from' and 'to' valid and set.
  // Delivers it or, when it cannot be delivered, bounces it to the sender as RFC 6120 §8.3
  // says (remote-server-not-found, remote-server-timeout, ...).
  virtual void send(xmpp::StanzaPtr stanza, std::string_view from_domain,
                    std::string_view to_domain) = 0;
};

}  // namespace parley::core
