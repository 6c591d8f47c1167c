// What every XML stream shares, client or server (RFC 6120 §4): version check, parse errors.
#pragma once

#include <string_view>

#include "xml/stream_parser.h"
#include "xmpp/stanza_error.h"

namespace parley::xmpp {

// RFC 6120 §4.7.5: we speak major version 1 (any minor); absent means pre-1.0.
bool isSupportedVersion(std::string_view version);

// The stream error RFC 6120 §4.9.3 names for what the parser refused.
StreamErrorCondition streamErrorFor(xml::ParseErrorKind kind);

// Whether an element on a stream is a stanza: message, presence or iq.
bool isStanzaName(std::string_view name);

}  // namespace parley::xmpp
