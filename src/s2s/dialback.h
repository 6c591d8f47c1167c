// Server Dialback (XEP-0220) with keys per XEP-0185: key derivation, the db:result and
// db:verify elements, and the dialback and bidi stream features.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"
#include "xml/element.h"
#include "xmpp/stanza_error.h"

namespace parley::s2s {

// XEP-0185 §2: hex(HMAC-SHA256(key = hex(SHA256(secret)),
//                              receiving_server + ' ' + originating_server + ' ' + stream_id)).
// The stream id is the one the receiving server sent in its stream header. 64 lowercase hex
// digits.
std::string dialbackKey(std::string_view secret, std::string_view receiving_server,
                        std::string_view originating_server, std::string_view stream_id);

// Whether `presented` (the key a peer sent; surrounding XML whitespace already trimmed) is the
// key we would derive. Constant time in the key's content, so the comparison leaks nothing.
bool dialbackKeyMatches(std::string_view presented, std::string_view secret,
                        std::string_view receiving_server, std::string_view originating_server,
                        std::string_view stream_id);

enum class DialbackKind { Result, Verify };  // <db:result/> or <db:verify/>

// No type: a request carrying a key. Valid, Invalid, Error: the answer to one.
enum class DialbackType { None, Valid, Invalid, Error };

std::string_view typeName(DialbackType type);  // "", "valid", "invalid", "error"

// One dialback element, parsed or to be sent. from and to are domain JIDs in prepared form.
struct DialbackRequest {
  DialbackKind kind = DialbackKind::Result;
  std::string from;
  std::string to;
  std::string id;   // Verify only: the stream id the key was issued for
  std::string key;  // requests (type None) only
  DialbackType type = DialbackType::None;
  std::optional<xmpp::StanzaError> error;  // type Error only (XEP-0220 §2.4)

  bool isRequest() const { return type == DialbackType::None; }
};

// Why a dialback element cannot be processed: a stream error (RFC 6120 §4.9.3), since the
// element is not a stanza and the peer is misbehaving at the stream level.
struct DialbackError {
  xmpp::StreamErrorCondition condition = xmpp::StreamErrorCondition::BadFormat;
  std::string text;  // for the log and the <text/> of the stream error
};

// Parses <result/> or <verify/> in jabber:server:dialback. Errors:
//  - another element:                            unsupported-stanza-type
//  - 'from' or 'to' missing or empty:            improper-addressing
//  - 'from' not a valid domain JID:              invalid-from
//  - 'to' not a valid domain JID:                improper-addressing
//  - verify without 'id', unknown 'type', a request without a key, type='error' without
//    a stanza error condition:                   bad-format
// Whether the domains are hosted or authenticated is the stream's business, not this one's.
Result<DialbackRequest, DialbackError> parseDialback(const xml::Element& element);

// The element for `request`: <result/> or <verify/> in jabber:server:dialback, the key as its
// text for a request, and for type Error an <error/> child in jabber:server.
xml::Element dialbackElement(const DialbackRequest& request);

// The same as bytes with the conventional "db:" prefix, for a stream whose header declares
// xmlns:db='jabber:server:dialback' and the default namespace jabber:server.
// COMPAT: XEP-0220 §2 notes that some deployments accept only the "db" prefix.
std::string dialbackXml(const DialbackRequest& request);

// Builders for the four shapes of XEP-0220 §2.1-2.2.
DialbackRequest resultRequest(std::string from, std::string to, std::string key);
DialbackRequest verifyRequest(std::string from, std::string to, std::string id, std::string key);
// The answer to `request`: from and to swapped, the id kept; `error` only for type Error.
DialbackRequest replyTo(const DialbackRequest& request, DialbackType type,
                        std::optional<xmpp::StanzaError> error = std::nullopt);

// XEP-0220 §2.4.2: the stream feature that says we handle dialback errors gracefully.
std::string dialbackStreamFeature();
// XEP-0288: bidirectional server-to-server streams.
std::string bidiStreamFeature();

}  // namespace parley::s2s
