// Stanza errors (RFC 6120 §8.3) and stream errors (RFC 6120 §4.9): conditions and their XML.
#pragma once

#include <string>
#include <string_view>

#include "xml/element.h"

namespace parley::xmpp {

struct StanzaError {
  enum class Type { Auth, Cancel, Continue, Modify, Wait };
  enum class Condition {
    BadRequest,
    Conflict,
    FeatureNotImplemented,
    Forbidden,
    Gone,
    InternalServerError,
    ItemNotFound,
    JidMalformed,
    NotAcceptable,
    NotAllowed,
    NotAuthorized,
    PolicyViolation,
    RecipientUnavailable,
    Redirect,
    RegistrationRequired,
    RemoteServerNotFound,
    RemoteServerTimeout,
    ResourceConstraint,
    ServiceUnavailable,
    SubscriptionRequired,
    UndefinedCondition,
    UnexpectedRequest,
  };

  Condition condition = Condition::UndefinedCondition;
  Type type = Type::Cancel;
  std::string text;

  // The error with the type RFC 6120 §8.3.3 gives for its condition.
  static StanzaError of(Condition condition, std::string text = {});
};

std::string_view conditionName(StanzaError::Condition condition);
std::string_view typeName(StanzaError::Type type);

// The <error/> child element for a stanza.
xml::Element errorElement(const StanzaError& error);

enum class StreamErrorCondition {
  BadFormat,
  BadNamespacePrefix,
  Conflict,
  ConnectionTimeout,
  HostGone,
  HostUnknown,
  ImproperAddressing,
  InternalServerError,
  InvalidFrom,
  InvalidNamespace,
  InvalidXml,
  NotAuthorized,
  NotWellFormed,
  PolicyViolation,
  RemoteConnectionFailed,
  Reset,
  ResourceConstraint,
  RestrictedXml,
  SeeOtherHost,
  SystemShutdown,
  UndefinedCondition,
  UnsupportedEncoding,
  UnsupportedFeature,
  UnsupportedStanzaType,
  UnsupportedVersion,
};

std::string_view conditionName(StreamErrorCondition condition);

// <stream:error>…</stream:error> as bytes, for a stream whose prefix for
// http://etherx.jabber.org/streams is "stream".
std::string streamErrorXml(StreamErrorCondition condition, std::string_view text = {});

}  // namespace parley::xmpp
