// Stanza and stream error names and XML (RFC 6120 §4.9.3, §8.3.3).
#include "xmpp/stanza_error.h"

#include "xml/namespaces.h"
#include "xml/serializer.h"

namespace parley::xmpp {
namespace {

using C = StanzaError::Condition;
using T = StanzaError::Type;

struct ConditionInfo {
  std::string_view name;
  T type;
};

// Indexed by StanzaError::Condition; types from the examples in RFC 6120 §8.3.3.
constexpr ConditionInfo kStanzaConditions[] = {
    {"bad-request", T::Modify},
    {"conflict", T::Cancel},
    {"feature-not-implemented", T::Cancel},
    {"forbidden", T::Auth},
    {"gone", T::Cancel},
    {"internal-server-error", T::Cancel},
    {"item-not-found", T::Cancel},
    {"jid-malformed", T::Modify},
    {"not-acceptable", T::Modify},
    {"not-allowed", T::Cancel},
    {"not-authorized", T::Auth},
    {"policy-violation", T::Modify},
    {"recipient-unavailable", T::Wait},
    {"redirect", T::Modify},
    {"registration-required", T::Auth},
    {"remote-server-not-found", T::Cancel},
    {"remote-server-timeout", T::Wait},
    {"resource-constraint", T::Wait},
    {"service-unavailable", T::Cancel},
    {"subscription-required", T::Auth},
    {"undefined-condition", T::Cancel},
    {"unexpected-request", T::Wait},
};

constexpr std::string_view kStreamConditions[] = {
    "bad-format",
    "bad-namespace-prefix",
    "conflict",
    "connection-timeout",
    "host-gone",
    "host-unknown",
    "improper-addressing",
    "internal-server-error",
    "invalid-from",
    "invalid-namespace",
    "invalid-xml",
    "not-authorized",
    "not-well-formed",
    "policy-violation",
    "remote-connection-failed",
    "reset",
    "resource-constraint",
    "restricted-xml",
    "see-other-host",
    "system-shutdown",
    "undefined-condition",
    "unsupported-encoding",
    "unsupported-feature",
    "unsupported-stanza-type",
    "unsupported-version",
};

}  // namespace

StanzaError StanzaError::of(Condition condition, std::string text) {
  return StanzaError{condition, kStanzaConditions[static_cast<size_t>(condition)].type,
                     std::move(text)};
}

std::string_view conditionName(StanzaError::Condition condition) {
  return kStanzaConditions[static_cast<size_t>(condition)].name;
}

std::string_view typeName(StanzaError::Type type) {
  constexpr std::string_view kNames[] = {"auth", "cancel", "continue", "modify", "wait"};
  return kNames[static_cast<size_t>(type)];
}

xml::Element errorElement(const StanzaError& error) {
  xml::Element element("error", std::string(ns::kClient));
  element.setAttr("type", std::string(typeName(error.type)));
  element.addChild(std::string(conditionName(error.condition)), std::string(ns::kStanzaErrors));
  if (!error.text.empty()) {
    element.addChild("text", std::string(ns::kStanzaErrors)).addText(error.text);
  }
  return element;
}

std::string_view conditionName(StreamErrorCondition condition) {
  return kStreamConditions[static_cast<size_t>(condition)];
}

std::string streamErrorXml(StreamErrorCondition condition, std::string_view text) {
  std::string out = "<stream:error><";
  out.append(conditionName(condition)).append(" xmlns='").append(ns::kStreamErrors).append("'/>");
  if (!text.empty()) {
    out.append("<text xmlns='").append(ns::kStreamErrors).append("' xml:lang='en'>");
    out.append(xml::escapeText(text)).append("</text>");
  }
  out.append("</stream:error>");
  return out;
}

}  // namespace parley::xmpp
