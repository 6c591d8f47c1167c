// Stanza helpers: kinds, reply building, error bounces (RFC 6120 §8).
#pragma once

#include <memory>
#include <string_view>

#include "xml/element.h"
#include "xmpp/stanza_error.h"

namespace parley::xmpp {

// Stanzas are kept in the jabber:client namespace inside the server whatever
// stream they came from; a stream serializes them with its own default namespace.
using StanzaPtr = std::shared_ptr<const xml::Element>;

enum class StanzaKind { Message, Presence, Iq, Other };

StanzaKind kindOf(const xml::Element& stanza);
std::string_view kindName(StanzaKind kind);  // "message", "presence", "iq"

// The iq result to a get/set: to and from swapped, same id, no payload.
xml::Element emptyResult(const xml::Element& iq);
// The iq result with one payload child.
xml::Element resultWith(const xml::Element& iq, xml::Element payload);
// The error reply to a stanza: to/from swapped, type='error', original payload kept
// (RFC 6120 §8.3.1) and the <error/> element appended.
xml::Element errorReply(const xml::Element& stanza, const StanzaError& error);

// RFC 6120 §8.2.3: an iq has an id and a type of get, set, result or error, and a get or set
// has exactly one child element. (Other stanzas: always true.)
bool isWellFormedIq(const xml::Element& stanza);

// Whether an error must never be answered with another error (RFC 6120 §8.3.1:
// no error replies to type='error', and none to iq results).
bool mustNotBounce(const xml::Element& stanza);

}  // namespace parley::xmpp
