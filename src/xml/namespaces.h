// XML namespace names used by the core (RFC 6120, RFC 6121 and the XEPs the core speaks).
#pragma once

#include <string_view>

namespace parley::ns {

// RFC 6120: streams and their negotiation.
inline constexpr std::string_view kStreams = "http://etherx.jabber.org/streams";
inline constexpr std::string_view kClient = "jabber:client";
inline constexpr std::string_view kServer = "jabber:server";
inline constexpr std::string_view kStreamErrors = "urn:ietf:params:xml:ns:xmpp-streams";
inline constexpr std::string_view kStanzaErrors = "urn:ietf:params:xml:ns:xmpp-stanzas";
inline constexpr std::string_view kTls = "urn:ietf:params:xml:ns:xmpp-tls";
inline constexpr std::string_view kSasl = "urn:ietf:params:xml:ns:xmpp-sasl";
inline constexpr std::string_view kBind = "urn:ietf:params:xml:ns:xmpp-bind";
inline constexpr std::string_view kSession = "urn:ietf:params:xml:ns:xmpp-session";
inline constexpr std::string_view kFraming = "urn:ietf:params:xml:ns:xmpp-framing";  // RFC 7395
inline constexpr std::string_view kXml = "http://www.w3.org/XML/1998/namespace";

// Server-to-server (RFC 6120 §13.10.3, XEP-0220 dialback).
inline constexpr std::string_view kDialback = "jabber:server:dialback";
inline constexpr std::string_view kDialbackFeature = "urn:xmpp:features:dialback";
inline constexpr std::string_view kBidi = "urn:xmpp:bidi";                       // XEP-0288
inline constexpr std::string_view kBidiFeature = "urn:xmpp:features:bidi";       // XEP-0288
inline constexpr std::string_view kComponentAccept = "jabber:component:accept";  // XEP-0114

// XEPs.
inline constexpr std::string_view kSaslChannelBinding = "urn:xmpp:sasl-cb:0";  // XEP-0440
inline constexpr std::string_view kDiscoInfo = "http://jabber.org/protocol/disco#info";
inline constexpr std::string_view kDiscoItems = "http://jabber.org/protocol/disco#items";
inline constexpr std::string_view kPing = "urn:xmpp:ping";              // XEP-0199
inline constexpr std::string_view kVersion = "jabber:iq:version";       // XEP-0092
inline constexpr std::string_view kTime = "urn:xmpp:time";              // XEP-0202
inline constexpr std::string_view kDelay = "urn:xmpp:delay";            // XEP-0203
inline constexpr std::string_view kRoster = "jabber:iq:roster";         // RFC 6121
inline constexpr std::string_view kStreamManagement = "urn:xmpp:sm:3";  // XEP-0198
inline constexpr std::string_view kCarbons = "urn:xmpp:carbons:2";      // XEP-0280
inline constexpr std::string_view kForward = "urn:xmpp:forward:0";      // XEP-0297
inline constexpr std::string_view kMam = "urn:xmpp:mam:2";              // XEP-0313
inline constexpr std::string_view kDataForms = "jabber:x:data";         // XEP-0004
inline constexpr std::string_view kRegister = "jabber:iq:register";     // XEP-0077
inline constexpr std::string_view kRegisterFeature = "http://jabber.org/features/iq-register";
inline constexpr std::string_view kCaps = "http://jabber.org/protocol/caps";  // XEP-0115
inline constexpr std::string_view kVcard = "vcard-temp";                      // XEP-0054
inline constexpr std::string_view kPrivate = "jabber:iq:private";             // XEP-0049
inline constexpr std::string_view kBlocking = "urn:xmpp:blocking";            // XEP-0191
inline constexpr std::string_view kSasl2 = "urn:xmpp:sasl:2";                 // XEP-0388

}  // namespace parley::ns
