// Server Dialback (XEP-0220): XEP-0185 keys, and the db:result / db:verify elements.
#include "s2s/dialback.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <array>

#include "auth/credentials.h"
#include "xml/namespaces.h"
#include "xml/serializer.h"
#include "xmpp/jid.h"

namespace parley::s2s {
namespace {

using xmpp::StanzaError;
using xmpp::StreamErrorCondition;

std::string_view trimXmlSpace(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(kSpace) - begin + 1);
}

Unexpected<DialbackError> streamError(StreamErrorCondition condition, std::string text) {
  return Unexpected(DialbackError{condition, std::move(text)});
}

// The prepared domain in `name`, or the stream error its absence or malformation calls for.
Result<std::string, DialbackError> domainAttr(const xml::Element& element, std::string_view name,
                                              StreamErrorCondition if_malformed) {
  const std::string* value = element.findAttr(name);
  if (value == nullptr || value->empty()) {
    return streamError(StreamErrorCondition::ImproperAddressing,
                       "dialback element without '" + std::string(name) + "'");
  }
  auto jid = xmpp::Jid::parse(*value);
  if (!jid || !jid->isDomain()) {
    return streamError(if_malformed,
                       "dialback '" + std::string(name) + "' is not a domain: " + *value);
  }
  return jid->toString();
}

std::optional<DialbackType> parseType(const std::string* type) {
  if (type == nullptr) return DialbackType::None;
  for (DialbackType candidate : {DialbackType::Valid, DialbackType::Invalid, DialbackType::Error}) {
    if (*type == typeName(candidate)) return candidate;
  }
  return std::nullopt;
}

// XEP-0220 §2.4: <error type='cancel'><item-not-found xmlns='...stanzas'/></error>.
std::optional<StanzaError> parseStanzaError(const xml::Element& element) {
  const xml::Element* error = element.child("error");
  if (error == nullptr) return std::nullopt;
  for (const xml::Node& node : error->children()) {
    if (!node.isElement() || node.element->xmlns() != ns::kStanzaErrors) continue;
    constexpr auto kLast = static_cast<int>(StanzaError::Condition::UnexpectedRequest);
    for (int i = 0; i <= kLast; ++i) {
      const auto condition = static_cast<StanzaError::Condition>(i);
      if (node.element->name() != xmpp::conditionName(condition)) continue;
      StanzaError parsed = StanzaError::of(condition, error->childText("text", ns::kStanzaErrors));
      constexpr auto kLastType = static_cast<int>(StanzaError::Type::Wait);
      for (int t = 0; t <= kLastType; ++t) {
        const auto type = static_cast<StanzaError::Type>(t);
        if (error->attr("type") == xmpp::typeName(type)) parsed.type = type;
      }
      return parsed;
    }
  }
  return std::nullopt;
}

}  // namespace

std::string dialbackKey(std::string_view secret, std::string_view receiving_server,
                        std::string_view originating_server, std::string_view stream_id) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> secret_hash{};
  SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), secret_hash.data());
  const std::string hmac_key = auth::hexEncode(
      std::string_view(reinterpret_cast<const char*>(secret_hash.data()), secret_hash.size()));

  std::string message;
  message.reserve(receiving_server.size() + originating_server.size() + stream_id.size() + 2);
  message.append(receiving_server).append(" ").append(originating_server).append(" ");
  message.append(stream_id);

  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_size = 0;
  HMAC(EVP_sha256(), hmac_key.data(), static_cast<int>(hmac_key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac.data(),
       &mac_size);
  return auth::hexEncode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac_size));
}

bool dialbackKeyMatches(std::string_view presented, std::string_view secret,
                        std::string_view receiving_server, std::string_view originating_server,
                        std::string_view stream_id) {
  const std::string expected = dialbackKey(secret, receiving_server, originating_server, stream_id);
  // The length of a valid key is public (64); only the content must not leak.
  if (presented.size() != expected.size()) return false;
  return CRYPTO_memcmp(presented.data(), expected.data(), expected.size()) == 0;
}

std::string_view typeName(DialbackType type) {
  switch (type) {
    case DialbackType::None:
      return "";
    case DialbackType::Valid:
      return "valid";
    case DialbackType::Invalid:
      return "invalid";
    case DialbackType::Error:
      return "error";
  }
  return "";
}

Result<DialbackRequest, DialbackError> parseDialback(const xml::Element& element) {
  DialbackRequest request;
  if (element.is("result", ns::kDialback)) {
    request.kind = DialbackKind::Result;
  } else if (element.is("verify", ns::kDialback)) {
    request.kind = DialbackKind::Verify;
  } else {
    return streamError(StreamErrorCondition::UnsupportedStanzaType,
                       "not a dialback element: " + element.name());
  }
  auto from = domainAttr(element, "from", StreamErrorCondition::InvalidFrom);
  if (!from) return Unexpected(std::move(from).error());
  auto to = domainAttr(element, "to", StreamErrorCondition::ImproperAddressing);
  if (!to) return Unexpected(std::move(to).error());
  request.from = std::move(from).value();
  request.to = std::move(to).value();

  if (request.kind == DialbackKind::Verify) {
    request.id = element.attr("id");
    if (request.id.empty()) {
      return streamError(StreamErrorCondition::BadFormat, "db:verify without 'id'");
    }
  }
  const std::optional<DialbackType> type = parseType(element.findAttr("type"));
  if (!type) {
    return streamError(StreamErrorCondition::BadFormat,
                       "unknown dialback type: " + std::string(element.attr("type")));
  }
  request.type = *type;
  if (request.type == DialbackType::None) {
    request.key = trimXmlSpace(element.text());
    if (request.key.empty()) {
      return streamError(StreamErrorCondition::BadFormat, "dialback request without a key");
    }
  } else if (request.type == DialbackType::Error) {
    request.error = parseStanzaError(element);
    if (!request.error) {
      return streamError(StreamErrorCondition::BadFormat,
                         "dialback error without a stanza error condition");
    }
  }
  return request;
}

xml::Element dialbackElement(const DialbackRequest& request) {
  xml::Element element(request.kind == DialbackKind::Result ? "result" : "verify",
                       std::string(ns::kDialback));
  element.setAttr("from", request.from);
  element.setAttr("to", request.to);
  if (request.kind == DialbackKind::Verify) element.setAttr("id", request.id);
  if (request.isRequest()) {
    element.addText(request.key);
    return element;
  }
  element.setAttr("type", std::string(typeName(request.type)));
  if (request.type == DialbackType::Error) {
    xml::Element error = xmpp::errorElement(
        request.error.value_or(StanzaError::of(StanzaError::Condition::UndefinedCondition)));
    error.setXmlns(std::string(ns::kServer));  // XEP-0220 §2.4: jabber:server, not the db ns
    element.addChild(std::move(error));
  }
  return element;
}

std::string dialbackXml(const DialbackRequest& request) {
  const xml::Element element = dialbackElement(request);
  const std::string name = "db:" + element.name();
  std::string out = "<" + name;
  for (const xml::Attribute& attribute : element.attrs()) {
    out.append(" ").append(attribute.name).append("='");
    xml::appendEscapedAttr(out, attribute.value);
    out.append("'");
  }
  if (element.children().empty()) return out + "/>";
  out.append(">");
  for (const xml::Node& node : element.children()) {
    if (node.isElement()) {
      xml::serialize(*node.element, out, ns::kServer);
    } else {
      xml::appendEscapedText(out, node.text);
    }
  }
  return out + "</" + name + ">";
}

DialbackRequest resultRequest(std::string from, std::string to, std::string key) {
  DialbackRequest request;
  request.kind = DialbackKind::Result;
  request.from = std::move(from);
  request.to = std::move(to);
  request.key = std::move(key);
  return request;
}

DialbackRequest verifyRequest(std::string from, std::string to, std::string id, std::string key) {
  DialbackRequest request;
  request.kind = DialbackKind::Verify;
  request.from = std::move(from);
  request.to = std::move(to);
  request.id = std::move(id);
  request.key = std::move(key);
  return request;
}

DialbackRequest replyTo(const DialbackRequest& request, DialbackType type,
                        std::optional<xmpp::StanzaError> error) {
  DialbackRequest reply;
  reply.kind = request.kind;
  reply.from = request.to;
  reply.to = request.from;
  reply.id = request.id;
  reply.type = type;
  if (type == DialbackType::Error) reply.error = std::move(error);
  return reply;
}

std::string dialbackStreamFeature() {
  return "<dialback xmlns='" + std::string(ns::kDialbackFeature) + "'><errors/></dialback>";
}

std::string bidiStreamFeature() { return "<bidi xmlns='" + std::string(ns::kBidiFeature) + "'/>"; }

}  // namespace parley::s2s
