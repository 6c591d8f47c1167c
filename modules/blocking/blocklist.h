// XEP-0191 blocklist rules without I/O: which stored items match a JID, and the items of a
// <block/> or <unblock/> command.
#pragma once

#include <string>
#include <vector>

#include "util/result.h"
#include "xml/element.h"
#include "xmpp/jid.h"
#include "xmpp/stanza_error.h"

namespace parley::modules::blocking {

inline constexpr std::string_view kNs = "urn:xmpp:blocking";
inline constexpr std::string_view kErrorsNs = "urn:xmpp:blocking:errors";

// XEP-0191 §6 (the JID matching of XEP-0016 §2.1): a stanza from JID is blocked when the
// list holds any of these: the JID itself; its bare JID (if it has a localpart and a
// resource); its domain. So an item user@domain blocks every resource of that user, and an
// item domain blocks everyone there. Like Prosody, an item domain/resource matches only
// that exact JID, not user@domain/resource.
std::vector<std::string> matchKeys(const xmpp::Jid& jid);

// The prepared JIDs of the <item jid='...'/> children of a <block/> or <unblock/>, each once,
// in document order. Errors: an item without a valid 'jid' -> jid-malformed (XEP-0191
// §3.3); no items in a <block/> (ALLOW_EMPTY false) -> bad-request.
Result<std::vector<std::string>, xmpp::StanzaError::Condition> commandItems(
    const xml::Element& command, bool allow_empty);

// <NAME xmlns='urn:xmpp:blocking'> with one <item jid/> per JID (blocklist, block, unblock).
xml::Element itemsElement(std::string_view name, const std::vector<std::string>& jids);

// RFC 6120 §8.3 error for a stanza to a JID the sender blocked: not-acceptable with the
// XEP-0191 application condition <blocked xmlns='urn:xmpp:blocking:errors'/>.
xml::Element blockedError(const xml::Element& stanza);

}  // namespace parley::modules::blocking
