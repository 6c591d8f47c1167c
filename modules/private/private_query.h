// XEP-0049 private XML storage: checking jabber:iq:private queries and shaping what is
// stored, as pure functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"
#include "xml/element.h"
#include "xmpp/stanza_error.h"

namespace parley::modules::private_storage {

inline constexpr std::string_view kPrivateNs = "jabber:iq:private";
// The stored value: the elements of one namespace inside this wrapper (an iq set may carry
// several elements of the same namespace, XEP-0049 §2.3).
inline constexpr std::string_view kStoredNs = "urn:parley:private:0";

// XEP-0049 §2.3: namespaces starting with 'jabber:' or 'http://jabber.org/', and
// 'vcard-temp', are reserved.
bool isReservedNamespace(std::string_view xmlns);

// The one element a get asks for. Errors: no child element → not-acceptable (§2.3, "MUST");
// more than one → bad-request (a client MUST NOT ask for several); a reserved
// namespace → not-acceptable.
Result<xml::Element, xmpp::StanzaError> parseGet(const xml::Element& query);

// What a set stores: for each namespace in the query, in order of first appearance, the
// wrapper holding its elements. Errors: no child element, or any reserved namespace →
// not-acceptable.
Result<std::vector<std::pair<std::string, xml::Element>>, xmpp::StanzaError> parseSet(
    const xml::Element& query);

// Appends the elements a stored wrapper holds to a result query.
void appendStored(xml::Element& query, const xml::Element& stored);

}  // namespace parley::modules::private_storage
