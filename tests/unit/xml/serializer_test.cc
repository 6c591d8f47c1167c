// Unit tests for the serializer: escaping, round trips, and where xmlns is written.
#include "xml/serializer.h"

#include <catch2/catch.hpp>

#include "xml/namespaces.h"

namespace parley::xml {
namespace {

TEST_CASE("escapeAttr and escapeText", "[xml][serializer]") {
  struct Case {
    std::string_view in, attr, text;
  };
  const Case cases[] = {
      {"", "", ""},
      {"plain h\xC3\xA9llo \xF0\x9F\x98\x80", "plain h\xC3\xA9llo \xF0\x9F\x98\x80",
       "plain h\xC3\xA9llo \xF0\x9F\x98\x80"},
      {"a&b", "a&amp;b", "a&amp;b"},
      {"<tag>", "&lt;tag&gt;", "&lt;tag&gt;"},
      {"]]>", "]]&gt;", "]]&gt;"},
      {"\"q\" 'a'", "&quot;q&quot; &apos;a&apos;", "\"q\" 'a'"},
      {"l1\nl2\tx\r", "l1&#10;l2&#9;x&#13;", "l1\nl2\tx&#13;"},
      {"&amp;", "&amp;amp;", "&amp;amp;"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.in);
    CHECK(escapeAttr(c.in) == c.attr);
    CHECK(escapeText(c.in) == c.text);
  }
}

TEST_CASE("serialize writes xmlns only where the namespace changes", "[xml][serializer]") {
  Element message("message", std::string(ns::kClient));
  message.setAttr("to", "juliet@example.com").setAttr("xml:lang", "en");
  message.addChild("body", std::string(ns::kClient)).addText("hi");
  Element& form = message.addChild("x", "jabber:x:data");
  form.addChild("field", "jabber:x:data").setAttr("var", "FORM_TYPE");
  form.addChild("unqualified", "");

  CHECK(toString(message, ns::kClient) ==
        "<message to='juliet@example.com' xml:lang='en'><body>hi</body>"
        "<x xmlns='jabber:x:data'><field var='FORM_TYPE'/><unqualified xmlns=''/></x></message>");
  CHECK(toString(message, ns::kServer)
            .starts_with("<message xmlns='jabber:client' to='juliet@example.com'"));
  CHECK(toString(message).starts_with("<message xmlns='jabber:client' "));

  std::string out = "prefix:";
  serialize(Element("presence", std::string(ns::kClient)), out, ns::kClient);
  CHECK(out == "prefix:<presence/>");
}

TEST_CASE("serialize skips xmlns attributes and prefixes namespaced ones", "[xml][serializer]") {
  Element header("stream", std::string(ns::kStreams));
  header.setAttr("xmlns", "jabber:client").setAttr("to", "example.com");
  CHECK(toString(header, ns::kStreams) == "<stream to='example.com'/>");

  Element thread("thread", "urn:example");
  thread.setAttr("{urn:a}one", "1").setAttr("{urn:b}two", "2").setAttr("plain", "3");
  std::string xml = toString(thread, ns::kClient);
  auto reparsed = parseElement(xml);
  REQUIRE(reparsed);
  CHECK(reparsed->attr("{urn:a}one") == "1");
  CHECK(reparsed->attr("{urn:b}two") == "2");
  CHECK(reparsed->attr("plain") == "3");
  CHECK(toString(*reparsed, ns::kClient) == xml);
}

// Found by xml_stream_fuzzer: a namespace URI may contain '}', a local name may not.
TEST_CASE("serialize a namespaced attribute whose URI contains a brace", "[xml][serializer]") {
  auto odd = parseElement("<a xmlns='urn:ex' xmlns:o='}rn{other}' o:attr='1'/>");
  REQUIRE(odd);
  CHECK(odd->attr("{}rn{other}}attr") == "1");
  const std::string xml = toString(*odd, ns::kClient);
  auto reparsed = parseElement(xml);
  REQUIRE(reparsed);
  CHECK(reparsed->attr("{}rn{other}}attr") == "1");
  CHECK(toString(*reparsed, ns::kClient) == xml);
}

TEST_CASE("serialize keeps the xml prefix for elements in the xml namespace", "[xml][serializer]") {
  auto odd = parseElement("<a xmlns='urn:a'><xml:b><c/></xml:b></a>");
  REQUIRE(odd);
  const Element* b = odd->child("b", ns::kXml);
  REQUIRE(b != nullptr);
  CHECK(b->child("c", "urn:a") != nullptr);
  const std::string xml = toString(*odd, ns::kClient);
  CHECK(xml == "<a xmlns='urn:a'><xml:b><c/></xml:b></a>");
  auto reparsed = parseElement(xml);
  REQUIRE(reparsed);
  CHECK(toString(*reparsed, ns::kClient) == xml);
}

TEST_CASE("serialized escaping round-trips through the parser", "[xml][serializer]") {
  const std::string nasty =
      "& < > \" ' ]]> &amp; \t tab \n newline \r\n crlf \xF0\x9F\x98\x80 \xE2\x80\x8B end";
  Element message("message", std::string(ns::kClient));
  message.setAttr("id", nasty).setAttr("xml:lang", "de-CH");
  message.addChild("body", std::string(ns::kClient)).addText(nasty);
  message.addChild("subject", std::string(ns::kClient)).addText("");

  const std::string xml = toString(message, ns::kClient);
  auto reparsed = parseElement(xml);
  REQUIRE(reparsed);
  CHECK(reparsed->attr("id") == nasty);
  CHECK(reparsed->attr("xml:lang") == "de-CH");
  CHECK(reparsed->childText("body") == nasty);
  CHECK(reparsed->child("subject") != nullptr);
  CHECK(toString(*reparsed, ns::kClient) == xml);
}

TEST_CASE("s2s: jabber:server stanzas are held in jabber:client and written back",
          "[xml][serializer]") {
  auto stanza = parseElement(
      "<message xmlns='jabber:server' to='juliet@b.example' from='romeo@a.example'>"
      "<body>hi \xF0\x9F\x98\x80</body><x xmlns='urn:other'><y/></x></message>");
  REQUIRE(stanza);
  stanza->renameNamespace(ns::kServer, ns::kClient);
  CHECK(stanza->xmlns() == ns::kClient);
  REQUIRE(stanza->child("body", ns::kClient) != nullptr);
  CHECK(stanza->child("x", "urn:other")->child("y", "urn:other") != nullptr);
  CHECK(toString(*stanza, ns::kClient) ==
        "<message to='juliet@b.example' from='romeo@a.example'><body>hi \xF0\x9F\x98\x80</body>"
        "<x xmlns='urn:other'><y/></x></message>");
  std::string out;
  serializeRenamed(*stanza, out, ns::kServer, ns::kClient, ns::kServer);
  CHECK(out == toString(*stanza, ns::kClient));  // the stream's default namespace: nothing written
  out.clear();
  serializeRenamed(*stanza, out, {}, ns::kClient, ns::kServer);
  CHECK(out.starts_with("<message xmlns='jabber:server' "));
}

}  // namespace
}  // namespace parley::xml
