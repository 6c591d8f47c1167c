// Stanza helpers: kinds, replies and error bounces (RFC 6120 §8.2, §8.3).
#include "xmpp/stanza.h"

#include "xml/namespaces.h"

namespace parley::xmpp {
namespace {

xml::Element swappedShell(const xml::Element& stanza, std::string type) {
  xml::Element reply(stanza.name(), stanza.xmlns());
  if (auto* from = stanza.findAttr("from")) reply.setAttr("to", *from);
  if (auto* to = stanza.findAttr("to")) reply.setAttr("from", *to);
  if (auto* id = stanza.findAttr("id")) reply.setAttr("id", *id);
  reply.setAttr("type", std::move(type));
  return reply;
}

}  // namespace

StanzaKind kindOf(const xml::Element& stanza) {
  const auto& name = stanza.name();
  if (name == "message") return StanzaKind::Message;
  if (name == "presence") return StanzaKind::Presence;
  if (name == "iq") return StanzaKind::Iq;
  return StanzaKind::Other;
}

std::string_view kindName(StanzaKind kind) {
  switch (kind) {
    case StanzaKind::Message:
      return "message";
    case StanzaKind::Presence:
      return "presence";
    case StanzaKind::Iq:
      return "iq";
    case StanzaKind::Other:
      break;
  }
  return "other";
}

xml::Element emptyResult(const xml::Element& iq) { return swappedShell(iq, "result"); }

xml::Element resultWith(const xml::Element& iq, xml::Element payload) {
  auto reply = swappedShell(iq, "result");
  reply.addChild(std::move(payload));
  return reply;
}

xml::Element errorReply(const xml::Element& stanza, const StanzaError& error) {
  auto reply = swappedShell(stanza, "error");
  if (!stanza.findAttr("id")) reply.removeAttr("id");
  for (const auto& node : stanza.children()) {
    if (node.isElement()) {
      if (node.element->name() == "error") continue;
      reply.addChild(*node.element);
    }
  }
  reply.addChild(errorElement(error));
  return reply;
}

bool isWellFormedIq(const xml::Element& stanza) {
  if (kindOf(stanza) != StanzaKind::Iq) return true;
  auto type = stanza.attr("type");
  bool request = type == "get" || type == "set";
  return (request || type == "result" || type == "error") && stanza.findAttr("id") != nullptr &&
         (!request || stanza.childElementCount() == 1);
}

bool mustNotBounce(const xml::Element& stanza) {
  auto type = stanza.attr("type");
  if (type == "error") return true;
  return kindOf(stanza) == StanzaKind::Iq && type == "result";
}

}  // namespace parley::xmpp
