// Unit tests for the stanza tree: attributes, children, text and deep copies.
#include "xml/element.h"

#include <catch2/catch.hpp>

namespace parley::xml {
namespace {

Element sampleMessage() {
  Element message("message", "jabber:client");
  message.setAttr("to", "juliet@example.com").setAttr("type", "chat");
  message.addChild("body", "jabber:client").addText("Wherefore art thou?");
  message.addChild("active", "http://jabber.org/protocol/chatstates");
  return message;
}

TEST_CASE("Element attributes: set, replace, find, remove", "[xml][element]") {
  Element e("iq", "jabber:client");
  CHECK(e.findAttr("id") == nullptr);
  CHECK(e.attr("id").empty());
  e.setAttr("id", "1").setAttr("type", "get");
  REQUIRE(e.findAttr("id") != nullptr);
  CHECK(*e.findAttr("id") == "1");
  e.setAttr("id", "2");
  CHECK(e.attr("id") == "2");
  CHECK(e.attrs().size() == 2);
  e.setAttr("empty", "");
  REQUIRE(e.findAttr("empty") != nullptr);  // present but empty is not absent
  CHECK(e.attr("empty").empty());
  e.removeAttr("id");
  CHECK(e.findAttr("id") == nullptr);
  CHECK(e.attrs().size() == 2);
  e.removeAttr("missing");  // no-op
  CHECK(e.attrs().size() == 2);
}

TEST_CASE("Element children and text", "[xml][element]") {
  Element message = sampleMessage();
  CHECK(message.is("message", "jabber:client"));
  CHECK_FALSE(message.is("message", "jabber:server"));
  CHECK(message.childElementCount() == 2);
  REQUIRE(message.firstChild() != nullptr);
  CHECK(message.firstChild()->name() == "body");
  CHECK(message.child("active") != nullptr);
  CHECK(message.child("active", "http://jabber.org/protocol/chatstates") != nullptr);
  CHECK(message.child("active", "jabber:client") == nullptr);
  CHECK(message.child("missing") == nullptr);
  CHECK(message.childText("body") == "Wherefore art thou?");
  CHECK(message.childText("missing").empty());

  message.removeChildren("active", "http://jabber.org/protocol/chatstates");
  CHECK(message.childElementCount() == 1);

  Element mixed("p", "urn:test");
  mixed.addText("a");
  mixed.addText("b");  // merges with the trailing text node
  mixed.addChild("br", "urn:test");
  mixed.addText("");  // ignored
  mixed.addText("c");
  CHECK(mixed.children().size() == 3);
  CHECK(mixed.text() == "abc");
  CHECK(Element("empty", "").firstChild() == nullptr);
}

TEST_CASE("Element copies are deep", "[xml][element]") {
  Element original = sampleMessage();
  Element copy(original);
  copy.child("body")->addText(" Romeo!");
  copy.setAttr("to", "romeo@example.net");
  CHECK(original.childText("body") == "Wherefore art thou?");
  CHECK(copy.childText("body") == "Wherefore art thou? Romeo!");
  CHECK(original.attr("to") == "juliet@example.com");

  Element assigned;
  assigned = original;
  original.child("body")->setName("subject");
  CHECK(assigned.child("body") != nullptr);
  CHECK(assigned.childElementCount() == 2);

  Element& self = assigned;
  assigned = self;  // self-assignment keeps the content
  CHECK(assigned.childText("body") == "Wherefore art thou?");

  Element moved(std::move(copy));
  CHECK(moved.attr("to") == "romeo@example.net");
}

}  // namespace
}  // namespace parley::xml
