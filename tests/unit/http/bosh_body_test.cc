// Unit tests for BOSH <body/> wrappers (XEP-0124 §4-§7, §17; XEP-0206): reading requests,
// writing session creation, payload and terminate bodies.
#include "http/bosh_body.h"

#include <catch2/catch.hpp>
#include <string>

#include "xml/stream_parser.h"

namespace parley::http::bosh {
namespace {

constexpr size_t kMaxBytes = 65536;
constexpr size_t kMaxDepth = 33;

Result<Request, BodyError> parse(std::string_view body) {
  return parseRequest(body, kMaxBytes, kMaxDepth);
}

TEST_CASE("BOSH: a session creation request", "[bosh]") {
  auto request = parse(
      "<body content='text/xml; charset=utf-8' hold='1' rid='1573741820' to='localhost' "
      "wait='60' xml:lang='en' ver='1.6' xmpp:version='1.0' "
      "xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh'/>");
  REQUIRE(request);
  CHECK(request->rid == 1573741820);
  CHECK(request->sid.empty());
  CHECK(request->to == "localhost");
  CHECK(request->lang == "en");
  CHECK(request->ver == "1.6");
  CHECK(request->xmpp_version == "1.0");
  CHECK(request->content == "text/xml; charset=utf-8");
  CHECK(request->wait == 60u);
  CHECK(request->hold == 1u);
  CHECK_FALSE(request->restart);
  CHECK_FALSE(request->isTerminate());
  CHECK(request->payloads.empty());
}

TEST_CASE("BOSH: payloads, restart and terminate", "[bosh]") {
  SECTION("payloads keep their namespace; unqualified ones become jabber:client") {
    auto request = parse(
        "<?xml version='1.0' encoding='utf-8'?>\n"
        "<body rid='7' sid='abc' xmlns='http://jabber.org/protocol/httpbind'>\n"
        "  <auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGEAYg==</auth>\n"
        "  <message to='juliet@localhost'><body>hi &amp; bye</body></message>\n"
        "</body>");
    REQUIRE(request);
    CHECK(request->sid == "abc");
    REQUIRE(request->payloads.size() == 2);
    CHECK(request->payloads[0].is("auth", "urn:ietf:params:xml:ns:xmpp-sasl"));
    CHECK(request->payloads[1].is("message", "jabber:client"));
    CHECK(request->payloads[1].child("body")->xmlns() == "jabber:client");
    CHECK(streamBytes(*request) ==
          "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGEAYg==</auth>"
          "<message to='juliet@localhost'><body>hi &amp; bye</body></message>");
  }
  SECTION("xmpp:restart") {
    auto request = parse(
        "<body rid='8' sid='abc' to='localhost' xml:lang='en' xmpp:restart='true' "
        "xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh'/>");
    REQUIRE(request);
    CHECK(request->restart);
  }
  SECTION("a restart attribute outside urn:xmpp:xbosh is not one") {
    auto request = parse(
        "<body rid='8' sid='abc' restart='true' xmlns='http://jabber.org/protocol/httpbind'/>");
    REQUIRE(request);
    CHECK_FALSE(request->restart);
  }
  SECTION("type='terminate' with a last presence") {
    auto request = parse(
        "<body rid='9' sid='abc' type='terminate' xmlns='http://jabber.org/protocol/httpbind'>"
        "<presence type='unavailable' xmlns='jabber:client'/></body>");
    REQUIRE(request);
    CHECK(request->isTerminate());
    CHECK(streamBytes(*request) == "<presence type='unavailable'/>");
  }
}

TEST_CASE("BOSH: unreadable bodies are refused", "[bosh]") {
  const char* bad[] = {
      "",
      "not xml",
      "<body rid='1' xmlns='http://jabber.org/protocol/httpbind'>",  // unfinished
      "<body rid='1' xmlns='http://jabber.org/protocol/httpbind'><message></body>",
      "<body rid='1'/>",                                              // no namespace
      "<body rid='1' xmlns='jabber:client'/>",                        // wrong namespace
      "<html xmlns='http://jabber.org/protocol/httpbind' rid='1'/>",  // wrong root
      "<body xmlns='http://jabber.org/protocol/httpbind'/>",          // no rid
      "<body rid='' xmlns='http://jabber.org/protocol/httpbind'/>",
      "<body rid='12a' xmlns='http://jabber.org/protocol/httpbind'/>",
      "<body rid='-5' xmlns='http://jabber.org/protocol/httpbind'/>",
      "<body rid='0' xmlns='http://jabber.org/protocol/httpbind'/>",
      "<body rid='9007199254740992' xmlns='http://jabber.org/protocol/httpbind'/>",  // 2^53
      "<body rid='99999999999999999999999' xmlns='http://jabber.org/protocol/httpbind'/>",
      "<body rid='1' wait='soon' xmlns='http://jabber.org/protocol/httpbind'/>",
      "<body rid='1' hold='-1' xmlns='http://jabber.org/protocol/httpbind'/>",
      "<body rid='1' xmlns='http://jabber.org/protocol/httpbind'>text</body>",
      "<body rid='1' xmlns='http://jabber.org/protocol/httpbind'/><body rid='2' "
      "xmlns='http://jabber.org/protocol/httpbind'/>",
      "<body rid='1' xmlns='http://jabber.org/protocol/httpbind'><!-- hi --></body>",
      "<!DOCTYPE body><body rid='1' xmlns='http://jabber.org/protocol/httpbind'/>",
      "<body rid='1' xmlns='http://jabber.org/protocol/httpbind'><?pi x?></body>",
  };
  for (const char* body : bad) {
    INFO(body);
    CHECK_FALSE(parse(body));
  }
  CHECK(parse("<body rid='9007199254740991' xmlns='http://jabber.org/protocol/httpbind'/>"));
}

TEST_CASE("BOSH: body size and depth limits", "[bosh]") {
  std::string big = "<body rid='1' xmlns='http://jabber.org/protocol/httpbind'><message><body>";
  big.append(2000, 'x');
  big.append("</body></message></body>");
  CHECK(parseRequest(big, 4096, kMaxDepth));
  CHECK_FALSE(parseRequest(big, 1024, kMaxDepth));

  std::string deep = "<body rid='1' xmlns='http://jabber.org/protocol/httpbind'>";
  for (int i = 0; i < 5; ++i) deep.append("<a>");
  for (int i = 0; i < 5; ++i) deep.append("</a>");
  deep.append("</body>");
  CHECK(parseRequest(deep, kMaxBytes, 6));
  CHECK_FALSE(parseRequest(deep, kMaxBytes, 5));
}

TEST_CASE("BOSH: the stream header a request stands for", "[bosh]") {
  CHECK(streamHeader("localhost", "en", "1.0") ==
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
        "to='localhost' version='1.0' xml:lang='en'>");
  CHECK(streamHeader("a'b", "", "") ==
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
        "to='a&apos;b' version='1.0'>");
}

TEST_CASE("BOSH: response bodies", "[bosh]") {
  SECTION("session creation") {
    SessionCreation creation;
    creation.sid = "s1";
    creation.wait = 30;
    creation.requests = 2;
    creation.inactivity = 60;
    creation.polling = 2;
    creation.hold = 1;
    creation.ver = "1.6";
    creation.from = "localhost";
    creation.authid = "id1";
    creation.secure = true;
    auto body = sessionCreationBody(creation, "<stream:features/>");
    auto parsed = xml::parseElement(body);
    REQUIRE(parsed);
    CHECK(parsed->is("body", kHttpBind));
    CHECK(parsed->attr("sid") == "s1");
    CHECK(parsed->attr("wait") == "30");
    CHECK(parsed->attr("requests") == "2");
    CHECK(parsed->attr("inactivity") == "60");
    CHECK(parsed->attr("polling") == "2");
    CHECK(parsed->attr("hold") == "1");
    CHECK(parsed->attr("ver") == "1.6");
    CHECK(parsed->attr("from") == "localhost");
    CHECK(parsed->attr("authid") == "id1");
    CHECK(parsed->attr("secure") == "true");
    CHECK(parsed->attr("{urn:xmpp:xbosh}version") == "1.0");
    REQUIRE(parsed->firstChild());
    CHECK(parsed->firstChild()->is("features", "http://etherx.jabber.org/streams"));
  }
  SECTION("empty and with payloads") {
    CHECK(payloadBody({}) == "<body xmlns='http://jabber.org/protocol/httpbind'/>");
    auto body = payloadBody("<message xmlns='jabber:client'/>");
    auto parsed = xml::parseElement(body);
    REQUIRE(parsed);
    CHECK(parsed->firstChild()->is("message", "jabber:client"));
  }
  SECTION("terminate") {
    CHECK(terminateBody(std::nullopt) ==
          "<body xmlns='http://jabber.org/protocol/httpbind' type='terminate'/>");
    CHECK(terminateBody(Condition::ItemNotFound) ==
          "<body xmlns='http://jabber.org/protocol/httpbind' type='terminate' "
          "condition='item-not-found'/>");
    // XEP-0206 §2: a stream error travels inside with remote-stream-error.
    auto body = terminateBody(Condition::RemoteStreamError,
                              "<stream:error><conflict "
                              "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>");
    auto parsed = xml::parseElement(body);
    REQUIRE(parsed);
    CHECK(parsed->attr("condition") == "remote-stream-error");
    CHECK(parsed->firstChild()->is("error", "http://etherx.jabber.org/streams"));
  }
}

TEST_CASE("BOSH: condition names", "[bosh]") {
  CHECK(conditionName(Condition::BadRequest) == "bad-request");
  CHECK(conditionName(Condition::HostUnknown) == "host-unknown");
  CHECK(conditionName(Condition::ImproperAddressing) == "improper-addressing");
  CHECK(conditionName(Condition::ItemNotFound) == "item-not-found");
  CHECK(conditionName(Condition::PolicyViolation) == "policy-violation");
  CHECK(conditionName(Condition::RemoteStreamError) == "remote-stream-error");
  CHECK(conditionName(Condition::SystemShutdown) == "system-shutdown");
}

TEST_CASE("BOSH: terminal errors for current and legacy clients (§17.1)", "[bosh]") {
  auto current = terminalResponse(Condition::ItemNotFound, false);
  CHECK(current.status == 200);
  CHECK(current.header("content-type") == "text/xml; charset=utf-8");
  CHECK(current.header("access-control-allow-origin") == "*");
  CHECK(current.body.find("condition='item-not-found'") != std::string::npos);
  CHECK(terminalResponse(Condition::BadRequest, true).status == 400);
  CHECK(terminalResponse(Condition::PolicyViolation, true).status == 403);
  CHECK(terminalResponse(Condition::ItemNotFound, true).status == 404);
  // No HTTP status stands for host-unknown: a legacy client gets the body too.
  CHECK(terminalResponse(Condition::HostUnknown, true).status == 200);
  // XEP-0124 §7.1 'content': the Content-Type the client asked for.
  CHECK(xmlResponse("<body/>", "text/plain").header("content-type") == "text/plain");
}

TEST_CASE("BOSH: version negotiation and content types", "[bosh]") {
  CHECK(negotiatedVersion("1.6") == "1.6");
  CHECK(negotiatedVersion("1.11") == "1.6");
  CHECK(negotiatedVersion("2.0") == "1.6");
  CHECK(negotiatedVersion("1.5") == "1.5");
  CHECK(negotiatedVersion("1.05") == "1.5");
  CHECK(negotiatedVersion("junk") == "1.6");
  CHECK(isUsableContentType("text/xml; charset=utf-8"));
  CHECK_FALSE(isUsableContentType(""));
  CHECK_FALSE(isUsableContentType("text/xml\r\nSet-Cookie: x=y"));
}

}  // namespace
}  // namespace parley::http::bosh
