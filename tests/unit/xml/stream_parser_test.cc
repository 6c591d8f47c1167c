// Unit tests for the XML stream parser: splits, namespaces, restricted XML, limits, restarts.
#include "xml/stream_parser.h"

#include <catch2/catch.hpp>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "xml/namespaces.h"
#include "xml/serializer.h"

namespace parley::xml {
namespace {

constexpr std::string_view kHeader =
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
    "to='example.com' version='1.0' xml:lang='en'>";

// Records every event as a line; stanzas serialized against the stream's namespace.
class Recorder final : public StreamHandler {
 public:
  void onStreamOpen(const Element& header) override {
    stream_xmlns = std::string(header.attr("xmlns"));
    std::string line = "open";
    for (const Attribute& attr : header.attrs()) line += " " + attr.name + "=" + attr.value;
    events.push_back(line);
    headers.push_back(header);
  }
  void onStanza(std::unique_ptr<Element> stanza) override {
    events.push_back(toString(*stanza, stream_xmlns));
    if (on_stanza) on_stanza(*stanza);
    stanzas.push_back(std::move(stanza));
  }
  void onStreamClose() override { events.push_back("close"); }

  std::string stream_xmlns;
  std::vector<std::string> events;
  std::vector<Element> headers;
  std::vector<std::unique_ptr<Element>> stanzas;
  std::function<void(const Element&)> on_stanza;
};

// Feeds input in pieces of the given sizes (the last piece takes the rest).
Result<void, ParseError> feedSplit(StreamParser& parser, std::string_view input,
                                   const std::vector<size_t>& sizes) {
  for (size_t size : sizes) {
    size = std::min(size, input.size());
    if (auto fed = parser.feed(input.substr(0, size)); !fed) return fed;
    input.remove_prefix(size);
  }
  return parser.feed(input);
}

std::vector<size_t> randomSplit(std::mt19937& rng, size_t total) {
  std::vector<size_t> sizes;
  std::uniform_int_distribution<size_t> piece(0, 40);
  for (size_t used = 0; used < total;) {
    sizes.push_back(piece(rng));
    used += sizes.back();
  }
  return sizes;
}

std::vector<size_t> byteByByte(size_t total) { return std::vector<size_t>(total, 1); }

std::string withHeader(std::string_view body) { return std::string(kHeader) + std::string(body); }

// A stream with most of what a client sends: declaration, prefixes, entities, CDATA,
// multibyte text split across reads, keepalives and the close.
const std::string kStream =
    "<?xml version='1.0' encoding='UTF-8'?>" + std::string(kHeader) +
    "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"
    "</starttls></stream:features>\n \n"
    "<message to='juliet@example.com' id='a&amp;b' xml:lang='fr'>"
    "<body>h\xC3\xA9llo \xF0\x9F\x98\x80 \xE6\x97\xA5\xE6\x9C\xAC &lt;3 &#x1F600; &#233;</body>"
    "<ex:thread xmlns:ex='urn:example:thread' ex:attr='v' plain=\"q'uote\">t</ex:thread>"
    "<x xmlns='jabber:x:data'><field var='a'/><![CDATA[<raw & stuff>]]></x>"
    "</message> "
    "<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>\t"
    "<presence/>"
    "</stream:stream>";

TEST_CASE("StreamParser yields the same events however the input is split", "[xml][parser]") {
  Recorder whole;
  StreamParser parser(whole);
  REQUIRE(parser.feed(kStream));
  REQUIRE(whole.events.size() == 6);
  CHECK(whole.events[0] == "open to=example.com version=1.0 xml:lang=en xmlns=jabber:client");
  CHECK(whole.events[1] ==
        "<features xmlns='http://etherx.jabber.org/streams'><starttls "
        "xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></features>");
  CHECK(whole.events[3] == "<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
  CHECK(whole.events[4] == "<presence/>");
  CHECK(whole.events[5] == "close");

  SECTION("byte by byte") {
    Recorder split;
    StreamParser byte_parser(split);
    REQUIRE(feedSplit(byte_parser, kStream, byteByByte(kStream.size())));
    CHECK(split.events == whole.events);
  }
  SECTION("random splits") {
    std::mt19937 rng(20240611);
    for (int round = 0; round < 300; ++round) {
      Recorder split;
      StreamParser split_parser(split);
      REQUIRE(feedSplit(split_parser, kStream, randomSplit(rng, kStream.size())));
      REQUIRE(split.events == whole.events);
    }
  }
}

TEST_CASE("StreamParser resolves namespaces and keeps text byte-exact", "[xml][parser]") {
  Recorder recorder;
  StreamParser parser(recorder);
  REQUIRE(parser.feed(kStream));
  REQUIRE(recorder.stanzas.size() == 4);

  const Element& header = recorder.headers.at(0);
  CHECK(header.is("stream", ns::kStreams));
  CHECK(header.attr("xmlns") == ns::kClient);
  CHECK(header.attr("xml:lang") == "en");

  const Element& features = *recorder.stanzas[0];
  CHECK(features.is("features", ns::kStreams));
  CHECK(features.child("starttls", ns::kTls) != nullptr);
  CHECK(features.findAttr("xmlns") == nullptr);  // only the header reports xmlns

  const Element& message = *recorder.stanzas[1];
  CHECK(message.is("message", ns::kClient));
  CHECK(message.attr("id") == "a&b");
  CHECK(message.attr("xml:lang") == "fr");
  CHECK(message.childText("body") ==
        "h\xC3\xA9llo \xF0\x9F\x98\x80 \xE6\x97\xA5\xE6\x9C\xAC <3 \xF0\x9F\x98\x80 \xC3\xA9");
  const Element* thread = message.child("thread", "urn:example:thread");
  REQUIRE(thread != nullptr);
  CHECK(thread->attr("{urn:example:thread}attr") == "v");
  CHECK(thread->attr("plain") == "q'uote");
  const Element* form = message.child("x", "jabber:x:data");
  REQUIRE(form != nullptr);
  CHECK(form->text() == "<raw & stuff>");
  CHECK(form->child("field", "jabber:x:data") != nullptr);

  // Re-serialized stanzas parse back to the same thing.
  for (const auto& stanza : recorder.stanzas) {
    std::string xml = toString(*stanza, ns::kClient);
    auto reparsed = parseElement(xml);
    REQUIRE(reparsed);
    CHECK(toString(*reparsed, ns::kClient) == xml);
  }
}

TEST_CASE("StreamParser reports the stream's default namespace", "[xml][parser]") {
  struct Case {
    std::string header;
    const char* xmlns;  // nullptr: no declaration
  };
  const Case cases[] = {
      {"<stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
       "xmlns='jabber:server'>",
       "jabber:server"},
      {"<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='urn:bogus'>",
       "urn:bogus"},
      {"<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>", nullptr},
      {"<stream xmlns='http://etherx.jabber.org/streams'>", "http://etherx.jabber.org/streams"},
      {"<s:stream xmlns:s='http://etherx.jabber.org/streams' xmlns='jabber:client'>",
       "jabber:client"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.header);
    Recorder recorder;
    StreamParser parser(recorder);
    REQUIRE(parser.feed(c.header));
    REQUIRE(recorder.headers.size() == 1);
    const std::string* xmlns = recorder.headers[0].findAttr("xmlns");
    if (c.xmlns == nullptr) {
      CHECK(xmlns == nullptr);
    } else {
      REQUIRE(xmlns != nullptr);
      CHECK(*xmlns == c.xmlns);
    }
  }
}

TEST_CASE("StreamParser rejects bad input with the RFC 6120 error", "[xml][parser]") {
  using K = ParseErrorKind;
  struct Case {
    std::string input;
    ParseErrorKind kind;
  };
  const Case cases[] = {
      // §11.1 restricted XML.
      {"<!DOCTYPE stream>" + std::string(kHeader), K::RestrictedXml},
      {"<?xml version='1.0'?><!DOCTYPE s [<!ENTITY x 'boom'>]><s/>", K::RestrictedXml},
      {withHeader("<?php echo 1; ?>"), K::RestrictedXml},
      {withHeader("<message><?pi data?></message>"), K::RestrictedXml},
      {withHeader("<!-- hello -->"), K::RestrictedXml},
      {withHeader("<message><body><!--x--></body></message>"), K::RestrictedXml},
      {withHeader("<message><body>&unknown;</body></message>"), K::RestrictedXml},
      {withHeader("<message to='&ent;'/>"), K::RestrictedXml},
      // Invalid UTF-8 and forbidden characters.
      {withHeader("<message><body>\xC3\x28</body></message>"), K::NotWellFormed},
      {withHeader("<message><body>\x80</body></message>"), K::NotWellFormed},
      {withHeader("<message><body>\xC0\xAF</body></message>"), K::NotWellFormed},
      {withHeader("<message><body>\xFF</body></message>"), K::NotWellFormed},
      {withHeader("<message><body>\xED\xA0\x80</body></message>"), K::NotWellFormed},
      {withHeader("<message to='\xC3'/>"), K::NotWellFormed},
      {withHeader("<message><body>&#1;</body></message>"), K::NotWellFormed},
      {withHeader("<message><body>&#x0;</body></message>"), K::NotWellFormed},
      {withHeader("<message><body>\x01</body></message>"), K::NotWellFormed},
      {withHeader("<message to='a\x01'/>"), K::NotWellFormed},
      // Plain syntax errors.
      {withHeader("<message></iq>"), K::NotWellFormed},
      {withHeader("<message a='1' a='2'/>"), K::NotWellFormed},
      {withHeader("<foo:bar/>"), K::NotWellFormed},  // unbound prefix
      {withHeader("<message><body>a & b</body></message>"), K::NotWellFormed},
      {withHeader("<message/><?xml version='1.0'?>"), K::NotWellFormed},
      {"\xEF\xBB\xBF\xEF\xBB\xBF" + std::string(kHeader), K::NotWellFormed},
      // The stream itself.
      {"<message xmlns='jabber:client'/>", K::BadFormat},
      {"<stream:features xmlns:stream='http://etherx.jabber.org/streams'/>", K::BadFormat},
      {"<stream:stream xmlns:stream='http://wrong.example/streams'>", K::InvalidNamespace},
      {"<stream xmlns='jabber:client'>", K::InvalidNamespace},
      {withHeader("hello"), K::BadFormat},
      {withHeader("<message/> x <message/>"), K::BadFormat},
      // §11.6: UTF-8 only.
      {"<?xml version='1.0' encoding='ISO-8859-1'?>" + std::string(kHeader),
       K::UnsupportedEncoding},
      {"<?xml version='1.0' encoding='UTF-16'?>" + std::string(kHeader), K::UnsupportedEncoding},
  };
  for (const Case& c : cases) {
    CAPTURE(c.input);
    for (bool bytewise : {false, true}) {
      Recorder recorder;
      StreamParser parser(recorder);
      auto result =
          bytewise ? feedSplit(parser, c.input, byteByByte(c.input.size())) : parser.feed(c.input);
      REQUIRE_FALSE(result);
      CHECK(toString(result.error().kind) == toString(c.kind));
      CHECK_FALSE(result.error().message.empty());
      CHECK(parser.hasFailed());
    }
  }
}

TEST_CASE("StreamParser accepts the harmless cases near the restricted ones", "[xml][parser]") {
  const std::string inputs[] = {
      "<?xml version='1.0'?>" + std::string(kHeader),
      "<?xml version='1.0' encoding='utf-8'?>" + std::string(kHeader),
      "\xEF\xBB\xBF" + std::string(kHeader),  // a UTF-8 byte order mark
      withHeader("<message><body>&amp;&lt;&gt;&quot;&apos;&#x10FFFF;&#9;</body></message>"),
      withHeader("<message><body><![CDATA[<!-- not a comment -->]]></body></message>"),
  };
  for (const std::string& input : inputs) {
    CAPTURE(input);
    Recorder recorder;
    StreamParser parser(recorder);
    CHECK(parser.feed(input));
    CHECK(recorder.events.size() >= 1);
  }
}

TEST_CASE("StreamParser failures are sticky until reset", "[xml][parser]") {
  Recorder recorder;
  StreamParser parser(recorder);
  REQUIRE_FALSE(parser.feed(withHeader("<!-- no -->")));
  auto again = parser.feed("<message/>");
  REQUIRE_FALSE(again);
  CHECK(again.error().kind == ParseErrorKind::RestrictedXml);
  CHECK_FALSE(parser.feed(""));
  CHECK(recorder.stanzas.empty());

  parser.reset();
  CHECK_FALSE(parser.hasFailed());
  REQUIRE(parser.feed(withHeader("<message/>")));
  CHECK(recorder.stanzas.size() == 1);
  CHECK(recorder.headers.size() == 2);
}

TEST_CASE("StreamParser enforces the stanza size limit as bytes arrive", "[xml][parser]") {
  Limits limits;
  limits.max_stanza_bytes = 100;
  const std::string exact = "<message><body>" + std::string(100 - 32, 'a') + "</body></message>";
  REQUIRE(exact.size() == 100);

  SECTION("a stanza of exactly the limit passes, one byte more does not") {
    Recorder recorder;
    StreamParser parser(recorder, limits);
    REQUIRE(parser.feed(withHeader(exact)));
    CHECK(recorder.stanzas.size() == 1);
    const std::string over = "<message><body>" + std::string(100 - 31, 'a') + "</body></message>";
    auto result = parser.feed(over);
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == ParseErrorKind::PolicyViolation);
    CHECK(recorder.stanzas.size() == 1);
  }
  SECTION("many stanzas and keepalives under the limit add up to no violation") {
    Recorder recorder;
    StreamParser parser(recorder, limits);
    REQUIRE(parser.feed(kHeader));
    for (int i = 0; i < 50; ++i) {
      REQUIRE(parser.feed(exact));
      REQUIRE(parser.feed(" \n "));
    }
    CHECK(recorder.stanzas.size() == 50);
  }
  SECTION("a never-ending stanza is cut off early") {
    limits.max_stanza_bytes = 4096;
    for (std::string start : {"<message><body>", "<message to='"}) {
      CAPTURE(start);
      Recorder recorder;
      StreamParser parser(recorder, limits);
      REQUIRE(parser.feed(withHeader(start)));
      size_t fed = 0;
      Result<void, ParseError> result;
      while (result && fed < 1024 * 1024) {
        result = parser.feed(std::string(100, 'x'));
        fed += 100;
      }
      REQUIRE_FALSE(result);
      CHECK(result.error().kind == ParseErrorKind::PolicyViolation);
      CHECK(fed <= 4096 + 100);
    }
  }
  SECTION("an endless stream header is cut off too") {
    Recorder recorder;
    StreamParser parser(recorder, limits);
    auto result = parser.feed("<stream:stream to='" + std::string(200, 'x'));
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == ParseErrorKind::PolicyViolation);
  }
}

TEST_CASE("StreamParser delivers a big tag dribbled byte by byte without delay", "[xml][parser]") {
  // A start tag far above the threshold where feed() holds input back from expat.
  const std::string value = std::string(6000, 'v') + "> \" >>" + std::string(6000, 'w');
  const std::string stanza = "<message id='" + value + "' type=\"chat'>\"><body>b</body></message>";
  const std::string input = withHeader(stanza + "<presence id='" + value + "'/>");
  Recorder recorder;
  StreamParser parser(recorder);
  REQUIRE(parser.feed(kHeader));
  for (size_t i = kHeader.size(); i < input.size(); ++i) {
    REQUIRE(parser.feed(input.substr(i, 1)));
    const size_t consumed = i + 1 - kHeader.size();
    // Each stanza comes out the moment its last byte arrives, never later.
    const size_t expected = consumed < stanza.size()                   ? 0
                            : consumed < input.size() - kHeader.size() ? 1
                                                                       : 2;
    REQUIRE(recorder.stanzas.size() == expected);
  }
  CHECK(recorder.stanzas[0]->attr("id") == value);
  CHECK(recorder.stanzas[0]->attr("type") == "chat'>");
  CHECK(recorder.stanzas[1]->attr("id") == value);

  std::mt19937 rng(99);
  for (int round = 0; round < 20; ++round) {
    Recorder split;
    StreamParser split_parser(split);
    REQUIRE(feedSplit(split_parser, input, randomSplit(rng, input.size())));
    REQUIRE(split.events == recorder.events);
  }

  SECTION("a held tag still counts against the size limit") {
    Limits limits;
    limits.max_stanza_bytes = 10000;
    Recorder limited;
    StreamParser limited_parser(limited, limits);
    auto result = feedSplit(limited_parser, input, byteByByte(input.size()));
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == ParseErrorKind::PolicyViolation);
  }
}

TEST_CASE("StreamParser enforces the depth limit", "[xml][parser]") {
  Limits limits;
  limits.max_depth = 3;
  auto nested = [](int depth) {
    std::string open, close;
    for (int i = 0; i < depth; ++i) {
      open += "<e" + std::to_string(i) + ">";
      close = "</e" + std::to_string(i) + ">" + close;
    }
    return open + close;
  };
  Recorder recorder;
  StreamParser parser(recorder, limits);
  REQUIRE(parser.feed(withHeader(nested(3))));
  CHECK(recorder.stanzas.size() == 1);
  auto result = parser.feed(nested(4));
  REQUIRE_FALSE(result);
  CHECK(result.error().kind == ParseErrorKind::PolicyViolation);

  Recorder deep_recorder;
  StreamParser deep(deep_recorder);  // default limit: 32
  CHECK(deep.feed(withHeader(nested(32))));
  CHECK_FALSE(deep.feed(nested(33)));
}

TEST_CASE("StreamParser restarts mid-buffer on requestReset", "[xml][parser]") {
  const std::string second_header =
      "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
      "to='example.com' version='1.0'>";
  const std::vector<std::string> auths = {
      "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
      "mechanism='PLAIN'>AGp1bGlldAByMG0zMA==</auth>",
      "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'/>",
  };
  for (const std::string& auth : auths) {
    CAPTURE(auth);
    // The client pipelines the restarted stream (with its own XML declaration) after <auth/>.
    const std::string input = withHeader("\n" + auth) + "<?xml version='1.0'?>" + second_header +
                              "<iq type='set' id='b'/>";
    std::mt19937 rng(7);
    for (int round = 0; round < 100; ++round) {
      Recorder recorder;
      StreamParser parser(recorder);
      recorder.on_stanza = [&](const Element& stanza) {
        if (stanza.is("auth", ns::kSasl)) parser.requestReset();
      };
      auto sizes = round == 0 ? std::vector<size_t>{} : randomSplit(rng, input.size());
      REQUIRE(feedSplit(parser, input, sizes));
      REQUIRE(recorder.events.size() == 4);
      CHECK(recorder.events[0].starts_with("open"));
      CHECK(recorder.stanzas[0]->is("auth", ns::kSasl));
      CHECK(recorder.events[2] == "open to=example.com version=1.0 xmlns=jabber:client");
      CHECK(recorder.events[3] == "<iq type='set' id='b'/>");
    }
  }

  SECTION("without requestReset the second header is a syntax error") {
    Recorder recorder;
    StreamParser parser(recorder);
    CHECK_FALSE(parser.feed(withHeader(auths[1]) + "<?xml version='1.0'?>" + second_header));
  }
  SECTION("requestReset outside a callback is reset") {
    Recorder recorder;
    StreamParser parser(recorder);
    REQUIRE(parser.feed(withHeader("<mess")));
    parser.requestReset();
    REQUIRE(parser.feed(second_header + "<message/>"));
    CHECK(recorder.headers.size() == 2);
    CHECK(recorder.stanzas.size() == 1);
  }
}

TEST_CASE("StreamParser stop() and stream close discard what follows", "[xml][parser]") {
  SECTION("stop from a callback") {
    Recorder recorder;
    StreamParser parser(recorder);
    recorder.on_stanza = [&](const Element&) { parser.stop(); };
    REQUIRE(parser.feed(withHeader("<message id='1'/><message id='2'/><!-- junk")));
    CHECK(recorder.stanzas.size() == 1);
    CHECK(parser.feed("<message id='3'/>"));
    CHECK(recorder.stanzas.size() == 1);
    parser.reset();
    REQUIRE(parser.feed(withHeader("<message id='4'/>")));
    CHECK(recorder.stanzas.size() == 2);
  }
  SECTION("stream close") {
    Recorder recorder;
    StreamParser parser(recorder);
    REQUIRE(parser.feed(withHeader("<presence/></stream:stream><garbage")));
    CHECK(recorder.events.back() == "close");
    CHECK(parser.feed("more garbage >"));
    CHECK(recorder.events.size() == 3);
  }
}

TEST_CASE("StreamParser lets a handler's exception out and stays failed", "[xml][parser]") {
  Recorder recorder;
  StreamParser parser(recorder);
  recorder.on_stanza = [](const Element&) { throw std::runtime_error("boom"); };
  CHECK_THROWS_AS(parser.feed(withHeader("<message/><message/>")), std::runtime_error);
  CHECK(recorder.stanzas.size() == 0);  // thrown before it was kept
  CHECK(parser.hasFailed());
  CHECK_FALSE(parser.feed("<message/>"));
}

TEST_CASE("StreamParser hibernates between stanzas and wakes up the same", "[xml][parser]") {
  // A split feed with hibernate() tried after every piece must give the events of one feed.
  Recorder whole;
  StreamParser reference(whole);
  REQUIRE(reference.feed(kStream));
  for (unsigned seed = 0; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    Recorder recorder;
    StreamParser parser(recorder);
    std::string_view input = kStream;
    size_t hibernated = 0;
    // Seed 0: byte by byte, which stops at every gap between stanzas.
    auto sizes = seed == 0 ? byteByByte(input.size()) : randomSplit(rng, input.size());
    for (size_t size : sizes) {
      size = std::min(size, input.size());
      REQUIRE(parser.feed(input.substr(0, size)));
      input.remove_prefix(size);
      if (parser.hibernate()) {
        ++hibernated;
        CHECK(parser.isHibernating());
      }
    }
    REQUIRE(parser.feed(input));
    CHECK(recorder.events == whole.events);
    if (seed == 0) CHECK(hibernated >= 4);  // after the features, message, iq and presence
  }
}

TEST_CASE("StreamParser does not hibernate in the middle of anything", "[xml][parser]") {
  Recorder recorder;
  StreamParser parser(recorder);
  CHECK_FALSE(parser.hibernate());  // no header yet
  REQUIRE(parser.feed(withHeader("<message><body>half")));
  CHECK_FALSE(parser.hibernate());  // inside a stanza
  REQUIRE(parser.feed("</body></message><pres"));
  CHECK_FALSE(parser.hibernate());  // expat holds part of a tag
  REQUIRE(parser.feed("ence/>"));
  CHECK(parser.hibernate());
  // A prefixed stream and a restart after waking up work too.
  REQUIRE(parser.feed("<iq type='get' id='1'/>"));
  CHECK(recorder.events.back() == "<iq type='get' id='1'/>");
  parser.reset();
  REQUIRE(
      parser.feed("<s:stream xmlns='jabber:server' xmlns:s='http://etherx.jabber.org/streams' "
                  "xmlns:db='jabber:server:dialback'>"));
  CHECK(parser.hibernate());
  REQUIRE(parser.feed("<db:result from='a' to='b'>k</db:result></s:stream>"));
  REQUIRE(recorder.stanzas.size() >= 2);
  CHECK(recorder.stanzas.back()->is("result", "jabber:server:dialback"));
  CHECK(recorder.events.back() == "close");
  size_t opens = 0;
  for (const auto& event : recorder.events) opens += event.rfind("open", 0) == 0 ? 1 : 0;
  CHECK(opens == 2);  // waking up never reports the header again
}

TEST_CASE("parseElement builds one element from text", "[xml][parser]") {
  auto iq = parseElement("<iq type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>");
  REQUIRE(iq);
  CHECK(iq->is("iq", ns::kClient));
  CHECK(iq->child("ping", ns::kPing) != nullptr);

  auto server = parseElement("<db:result xmlns:db='jabber:server:dialback'/>", ns::kServer);
  REQUIRE(server);
  CHECK(server->is("result", ns::kDialback));

  auto features = parseElement("  <stream:features/>\n");
  REQUIRE(features);
  CHECK(features->is("features", ns::kStreams));

  struct Case {
    const char* xml;
    ParseErrorKind kind;
  };
  const Case bad[] = {
      {"", ParseErrorKind::NotWellFormed},
      {"<iq>", ParseErrorKind::NotWellFormed},
      {"<a/><b/>", ParseErrorKind::BadFormat},
      {"<a/></stream:stream>", ParseErrorKind::BadFormat},
      {"text", ParseErrorKind::BadFormat},
      {"<a><!-- c --></a>", ParseErrorKind::RestrictedXml},
      {"<a></b>", ParseErrorKind::NotWellFormed},
  };
  for (const Case& c : bad) {
    CAPTURE(c.xml);
    auto result = parseElement(c.xml);
    REQUIRE_FALSE(result);
    CHECK(toString(result.error().kind) == toString(c.kind));
  }
}

}  // namespace
}  // namespace parley::xml
