// Tests for Server Dialback: XEP-0185 keys and the XEP-0220 elements.
#include "s2s/dialback.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "xml/namespaces.h"
#include "xml/serializer.h"
#include "xml/stream_parser.h"

namespace parley::s2s {
namespace {

using xmpp::StanzaError;
using xmpp::StreamErrorCondition;

// Parses XML written with the db: prefix, as it arrives on a jabber:server stream.
xml::Element parse(std::string_view text) {
  const std::string wrapped =
      std::string(text).insert(text.find_first_of(" />"), " xmlns:db='jabber:server:dialback'");
  auto element = xml::parseElement(wrapped, "jabber:server");
  REQUIRE(element);
  return std::move(element).value();
}

TEST_CASE("dialbackKey: the XEP-0185 and XEP-0220 examples", "[s2s][dialback]") {
  struct Case {
    const char* secret;
    const char* receiving;
    const char* originating;
    const char* stream_id;
    const char* key;
  };
  const std::vector<Case> cases = {
      // XEP-0185 §3.
      {"s3cr3tf0rd14lb4ck", "xmpp.example.com", "example.org", "D60000229F",
       "37c69b1cf07a3f67c04a5ef5902fa5114f2c76fe4a2686482ba5b89323075643"},
      // XEP-0220 §2.1.1, Example 1.
      {"s3cr3tf0rd14lb4ck", "montague.example", "capulet.example", "D60000229F",
       "b4835385f37fe2895af6c196b59097b16862406db80559900d96bf6fa7d23df3"},
      // XEP-0220 §2.2.2.
      {"d14lb4ck43v3r", "capulet.example", "montague.example", "417GAF25",
       "225cc5aa6a071133249d25fef42ae516fc7a86c523aa1c6980a7f73e784c972d"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.receiving, c.originating, c.stream_id);
    CHECK(dialbackKey(c.secret, c.receiving, c.originating, c.stream_id) == c.key);
    CHECK(dialbackKeyMatches(c.key, c.secret, c.receiving, c.originating, c.stream_id));
  }
}

TEST_CASE("dialbackKeyMatches refuses every other key", "[s2s][dialback]") {
  const std::string key = dialbackKey("secret", "b.example", "a.example", "id1");
  CHECK(key.size() == 64);
  CHECK(dialbackKeyMatches(key, "secret", "b.example", "a.example", "id1"));
  CHECK_FALSE(dialbackKeyMatches(key, "other", "b.example", "a.example", "id1"));
  CHECK_FALSE(dialbackKeyMatches(key, "secret", "a.example", "b.example", "id1"));
  CHECK_FALSE(dialbackKeyMatches(key, "secret", "b.example", "a.example", "id2"));
  CHECK_FALSE(dialbackKeyMatches("", "secret", "b.example", "a.example", "id1"));
  CHECK_FALSE(dialbackKeyMatches(key.substr(1), "secret", "b.example", "a.example", "id1"));
  CHECK_FALSE(dialbackKeyMatches(key + "0", "secret", "b.example", "a.example", "id1"));
  std::string flipped = key;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  CHECK_FALSE(dialbackKeyMatches(flipped, "secret", "b.example", "a.example", "id1"));
  // The separator keeps "ab c" and "a bc" apart (XEP-0185 §2, note 5).
  CHECK(dialbackKey("s", "ab", "c", "x") != dialbackKey("s", "a", "bc", "x"));
}

TEST_CASE("parseDialback: the four shapes of XEP-0220", "[s2s][dialback]") {
  SECTION("db:result request, the key trimmed") {
    auto parsed = parseDialback(
        parse("<db:result from='capulet.example' to='montague.example'>\n  "
              "b4835385f37fe2895af6c196b59097b16862406db80559900d96bf6fa7d23df3\n</db:result>"));
    REQUIRE(parsed);
    CHECK(parsed->kind == DialbackKind::Result);
    CHECK(parsed->isRequest());
    CHECK(parsed->from == "capulet.example");
    CHECK(parsed->to == "montague.example");
    CHECK(parsed->key == "b4835385f37fe2895af6c196b59097b16862406db80559900d96bf6fa7d23df3");
    CHECK(parsed->id.empty());
  }
  SECTION("db:result answers") {
    for (auto [text, type] : std::vector<std::pair<const char*, DialbackType>>{
             {"valid", DialbackType::Valid}, {"invalid", DialbackType::Invalid}}) {
      auto parsed = parseDialback(parse(std::string("<db:result from='montague.example' "
                                                    "to='capulet.example' type='") +
                                        text + "'/>"));
      REQUIRE(parsed);
      CHECK(parsed->type == type);
      CHECK_FALSE(parsed->isRequest());
      CHECK_FALSE(parsed->error);
    }
  }
  SECTION("db:result error with its stanza error") {
    auto parsed = parseDialback(
        parse("<db:result from='montague.example' to='capulet.example' type='error'>"
              "<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
              "</error></db:result>"));
    REQUIRE(parsed);
    CHECK(parsed->type == DialbackType::Error);
    REQUIRE(parsed->error);
    CHECK(parsed->error->condition == StanzaError::Condition::ItemNotFound);
    CHECK(parsed->error->type == StanzaError::Type::Cancel);
  }
  SECTION("db:verify request and answer") {
    auto request = parseDialback(
        parse("<db:verify from='capulet.example' id='417GAF25' to='montague.example'>"
              "225cc5aa6a071133249d25fef42ae516fc7a86c523aa1c6980a7f73e784c972d</db:verify>"));
    REQUIRE(request);
    CHECK(request->kind == DialbackKind::Verify);
    CHECK(request->id == "417GAF25");
    CHECK(request->key == "225cc5aa6a071133249d25fef42ae516fc7a86c523aa1c6980a7f73e784c972d");
    auto answer = parseDialback(parse(
        "<db:verify from='montague.example' id='417GAF25' to='capulet.example' type='valid'/>"));
    REQUIRE(answer);
    CHECK(answer->type == DialbackType::Valid);
    CHECK(answer->id == "417GAF25");
  }
  SECTION("domains come out prepared") {
    auto parsed = parseDialback(
        parse("<db:result from='Capulet.Example.' to='MONTAGUE.example'>k</db:result>"));
    REQUIRE(parsed);
    CHECK(parsed->from == "capulet.example");
    CHECK(parsed->to == "montague.example");
  }
}

TEST_CASE("parseDialback: errors name the stream error condition", "[s2s][dialback]") {
  struct Case {
    const char* xml;
    StreamErrorCondition condition;
  };
  const std::vector<Case> cases = {
      {"<db:result to='b.example'>key</db:result>", StreamErrorCondition::ImproperAddressing},
      {"<db:result from='a.example'>key</db:result>", StreamErrorCondition::ImproperAddressing},
      {"<db:result from='' to='b.example'>key</db:result>",
       StreamErrorCondition::ImproperAddressing},
      {"<db:result from='a.example' to=''>key</db:result>",
       StreamErrorCondition::ImproperAddressing},
      {"<db:result from='user@a.example' to='b.example'>key</db:result>",
       StreamErrorCondition::InvalidFrom},
      {"<db:result from='a.example/res' to='b.example'>key</db:result>",
       StreamErrorCondition::InvalidFrom},
      {"<db:result from='a example' to='b.example'>key</db:result>",
       StreamErrorCondition::InvalidFrom},
      {"<db:result from='a.example' to='user@b.example'>key</db:result>",
       StreamErrorCondition::ImproperAddressing},
      {"<db:result from='a.example' to='b..example'>key</db:result>",
       StreamErrorCondition::ImproperAddressing},
      {"<db:verify from='a.example' to='b.example'>key</db:verify>",
       StreamErrorCondition::BadFormat},
      {"<db:result from='a.example' to='b.example' type='maybe'/>",
       StreamErrorCondition::BadFormat},
      {"<db:result from='a.example' to='b.example'/>", StreamErrorCondition::BadFormat},
      {"<db:result from='a.example' to='b.example'>  \n </db:result>",
       StreamErrorCondition::BadFormat},
      {"<db:result from='a.example' to='b.example' type='error'/>",
       StreamErrorCondition::BadFormat},
      {"<db:result from='a.example' to='b.example' type='error'><error type='cancel'>"
       "<no-such-condition xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></db:result>",
       StreamErrorCondition::BadFormat},
      {"<db:other from='a.example' to='b.example'>key</db:other>",
       StreamErrorCondition::UnsupportedStanzaType},
  };
  for (const Case& c : cases) {
    CAPTURE(c.xml);
    auto parsed = parseDialback(parse(c.xml));
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().condition == c.condition);
    CHECK_FALSE(parsed.error().text.empty());
  }
  // A result element in another namespace is not dialback.
  auto wrong_ns =
      xml::parseElement("<result from='a.example' to='b.example'>k</result>", "jabber:server");
  REQUIRE(wrong_ns);
  auto parsed = parseDialback(*wrong_ns);
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().condition == StreamErrorCondition::UnsupportedStanzaType);
}

TEST_CASE("dialback builders: elements and bytes", "[s2s][dialback]") {
  SECTION("db:result request") {
    const DialbackRequest request = resultRequest("capulet.example", "montague.example", "abc");
    CHECK(dialbackXml(request) ==
          "<db:result from='capulet.example' to='montague.example'>abc"
          "</db:result>");
    const xml::Element element = dialbackElement(request);
    CHECK(element.is("result", ns::kDialback));
    CHECK(element.text() == "abc");
  }
  SECTION("db:verify request and its reply") {
    const DialbackRequest request =
        verifyRequest("capulet.example", "montague.example", "417GAF25", "abc");
    CHECK(dialbackXml(request) ==
          "<db:verify from='capulet.example' to='montague.example' id='417GAF25'>abc"
          "</db:verify>");
    const DialbackRequest reply = replyTo(request, DialbackType::Invalid);
    CHECK(dialbackXml(reply) ==
          "<db:verify from='montague.example' to='capulet.example' id='417GAF25' "
          "type='invalid'/>");
  }
  SECTION("db:result valid reply") {
    const DialbackRequest reply =
        replyTo(resultRequest("capulet.example", "montague.example", "k"), DialbackType::Valid);
    CHECK(reply.key.empty());
    CHECK(dialbackXml(reply) ==
          "<db:result from='montague.example' to='capulet.example' type='valid'/>");
  }
  SECTION("db:result error reply carries a jabber:server <error/>") {
    const DialbackRequest reply =
        replyTo(resultRequest("capulet.example", "montague.example", "k"), DialbackType::Error,
                StanzaError::of(StanzaError::Condition::ItemNotFound));
    CHECK(dialbackXml(reply) ==
          "<db:result from='montague.example' to='capulet.example' type='error'>"
          "<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
          "</error></db:result>");
    const xml::Element element = dialbackElement(reply);
    const xml::Element* error = element.child("error");
    REQUIRE(error != nullptr);
    CHECK(error->xmlns() == ns::kServer);
  }
  SECTION("an error reply without an error says undefined-condition") {
    DialbackRequest bare;
    bare.from = "a.example";
    bare.to = "b.example";
    bare.type = DialbackType::Error;
    CHECK(dialbackXml(bare).find("<undefined-condition") != std::string::npos);
  }
  SECTION("attribute values are escaped") {
    const DialbackRequest request = verifyRequest("a.example", "b.example", "i'd<", "k&");
    CHECK(dialbackXml(request) ==
          "<db:verify from='a.example' to='b.example' id='i&apos;d&lt;'>k&amp;</db:verify>");
  }
}

TEST_CASE("dialback round trip: built, serialized, parsed", "[s2s][dialback]") {
  const std::vector<DialbackRequest> requests = {
      resultRequest("a.example", "b.example", dialbackKey("s", "b.example", "a.example", "X")),
      verifyRequest("b.example", "a.example", "X", "0123abcd"),
      replyTo(verifyRequest("b.example", "a.example", "X", "k"), DialbackType::Valid),
      replyTo(resultRequest("a.example", "b.example", "k"), DialbackType::Error,
              StanzaError::of(StanzaError::Condition::RemoteServerTimeout)),
  };
  for (const DialbackRequest& request : requests) {
    const std::string bytes = dialbackXml(request);
    CAPTURE(bytes);
    auto parsed = parseDialback(parse(bytes));
    REQUIRE(parsed);
    CHECK(parsed->kind == request.kind);
    CHECK(parsed->from == request.from);
    CHECK(parsed->to == request.to);
    CHECK(parsed->id == request.id);
    CHECK(parsed->key == request.key);
    CHECK(parsed->type == request.type);
    CHECK(parsed->error.has_value() == request.error.has_value());
    if (parsed->error) CHECK(parsed->error->condition == request.error->condition);
    // The element form parses the same way.
    auto from_element = parseDialback(dialbackElement(request));
    REQUIRE(from_element);
    CHECK(from_element->key == request.key);
  }
}

TEST_CASE("dialback and bidi stream features", "[s2s][dialback]") {
  CHECK(dialbackStreamFeature() ==
        "<dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback>");
  CHECK(bidiStreamFeature() == "<bidi xmlns='urn:xmpp:features:bidi'/>");
  auto feature = xml::parseElement(dialbackStreamFeature(), "jabber:server");
  REQUIRE(feature);
  CHECK(feature->is("dialback", ns::kDialbackFeature));
  CHECK(feature->child("errors", ns::kDialbackFeature) != nullptr);
}

TEST_CASE("typeName for dialback types", "[s2s][dialback]") {
  CHECK(typeName(DialbackType::None).empty());
  CHECK(typeName(DialbackType::Valid) == "valid");
  CHECK(typeName(DialbackType::Invalid) == "invalid");
  CHECK(typeName(DialbackType::Error) == "error");
}

}  // namespace
}  // namespace parley::s2s
