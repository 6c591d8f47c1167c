// Serializer: stanza trees back to XML text, declaring namespaces only where they change.
#pragma once

#include <string>
#include <string_view>

#include "xml/element.h"
#include "xml/stream_parser.h"  // parseElement(), the inverse of toString()

namespace parley::xml {

// Appends e as XML to out. parent_xmlns is the namespace in scope where e is written (for
// a top-level stanza: the stream's default namespace, e.g. "jabber:client"); e and each
// descendant get an xmlns='...' only where their namespace differs from their parent's.
// Attributes named "xml:*" are written as is, "{uri}local" ones with a declared prefix,
// and "xmlns" ones (the stream header's) not at all.
void serialize(const Element& e, std::string& out, std::string_view parent_xmlns);
std::string toString(const Element& e, std::string_view parent_xmlns = {});
// The same, writing every element in namespace `from` as if it were in `to`: the server holds
// stanzas in jabber:client, and an s2s stream writes them in jabber:server.
void serializeRenamed(const Element& e, std::string& out, std::string_view parent_xmlns,
                      std::string_view from, std::string_view to);

// Escapes for a single-quoted or double-quoted attribute value: & < > " ' and the
// whitespace that attribute-value normalization would otherwise turn into spaces.
std::string escapeAttr(std::string_view value);
// Escapes character data: & < > and carriage returns (which parsing would drop).
std::string escapeText(std::string_view text);
void appendEscapedAttr(std::string& out, std::string_view value);
void appendEscapedText(std::string& out, std::string_view text);

}  // namespace parley::xml
