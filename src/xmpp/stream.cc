// Stream helpers shared by c2s, s2s and component streams.
#include "xmpp/stream.h"

namespace parley::xmpp {

bool isSupportedVersion(std::string_view version) {
  auto dot = version.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == version.size()) return false;
  auto major = version.substr(0, dot);
  while (major.size() > 1 && major.front() == '0') major.remove_prefix(1);
  return major == "1";
}

StreamErrorCondition streamErrorFor(xml::ParseErrorKind kind) {
  switch (kind) {
    case xml::ParseErrorKind::NotWellFormed:
      return StreamErrorCondition::NotWellFormed;
    case xml::ParseErrorKind::RestrictedXml:
      return StreamErrorCondition::RestrictedXml;
    case xml::ParseErrorKind::PolicyViolation:
      return StreamErrorCondition::PolicyViolation;
    case xml::ParseErrorKind::BadFormat:
      return StreamErrorCondition::BadFormat;
    case xml::ParseErrorKind::UnsupportedEncoding:
      return StreamErrorCondition::UnsupportedEncoding;
    case xml::ParseErrorKind::InvalidNamespace:
      return StreamErrorCondition::InvalidNamespace;
  }
  return StreamErrorCondition::UndefinedCondition;
}

bool isStanzaName(std::string_view name) {
  return name == "message" || name == "presence" || name == "iq";
}

}  // namespace parley::xmpp
