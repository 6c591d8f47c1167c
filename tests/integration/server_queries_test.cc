// Questions to the server itself: disco#info (XEP-0030), ping (XEP-0199), version
// (XEP-0092) and time (XEP-0202).
#include <algorithm>
#include <catch2/catch.hpp>
#include <regex>

#include "harness/scenario.h"

namespace parley::integration {
namespace {

TEST_CASE("the server answers disco#info and ping and version and time", "[server-queries]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");

  SECTION("disco#info: a server/im identity and the features we query next") {
    auto reply = romeo->request(
        "<iq type='get' id='d1' to='localhost'>"
        "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
        "d1");
    REQUIRE(reply != nullptr);
    INFO(reply->xml);
    CHECK(reply->type == "result");
    CHECK(reply->from == "localhost");
    const XmlNode* query = reply->tree.child("query", "http://jabber.org/protocol/disco#info");
    REQUIRE(query != nullptr);
    auto identities = query->childrenNamed("identity");
    CHECK(std::any_of(identities.begin(), identities.end(), [](const XmlNode* identity) {
      return identity->attr("category") == "server" && identity->attr("type") == "im";
    }));
    std::vector<std::string> features;
    for (const XmlNode* feature : query->childrenNamed("feature")) {
      features.push_back(feature->attr("var"));
    }
    for (const char* expected : {"http://jabber.org/protocol/disco#info", "urn:xmpp:ping",
                                 "jabber:iq:version", "urn:xmpp:time"}) {
      INFO("feature " << expected);
      CHECK(std::find(features.begin(), features.end(), expected) != features.end());
    }
  }

  SECTION("ping gets an empty result") {
    auto reply = romeo->request(
        "<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>", "p1");
    REQUIRE(reply != nullptr);
    INFO(reply->xml);
    CHECK(reply->type == "result");
    CHECK(reply->from == "localhost");
    CHECK(reply->to == "romeo@localhost/balcony");
  }

  SECTION("version says Parley") {
    auto reply = romeo->request(
        "<iq type='get' id='v1' to='localhost'><query xmlns='jabber:iq:version'/></iq>", "v1");
    REQUIRE(reply != nullptr);
    INFO(reply->xml);
    CHECK(reply->type == "result");
    const XmlNode* query = reply->tree.child("query", "jabber:iq:version");
    REQUIRE(query != nullptr);
    REQUIRE(query->child("name") != nullptr);
    CHECK(query->child("name")->text == "Parley");
    REQUIRE(query->child("version") != nullptr);
    CHECK_FALSE(query->child("version")->text.empty());
  }

  SECTION("time has a zone offset and UTC in XEP-0082 format") {
    auto reply = romeo->request(
        "<iq type='get' id='t1' to='localhost'><time xmlns='urn:xmpp:time'/></iq>", "t1");
    REQUIRE(reply != nullptr);
    INFO(reply->xml);
    CHECK(reply->type == "result");
    const XmlNode* time = reply->tree.child("time", "urn:xmpp:time");
    REQUIRE(time != nullptr);
    REQUIRE(time->child("tzo") != nullptr);
    REQUIRE(time->child("utc") != nullptr);
    CHECK(std::regex_match(time->child("tzo")->text, std::regex("Z|[+-]\\d{2}:\\d{2}")));
    CHECK(std::regex_match(time->child("utc")->text,
                           std::regex("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z")));
  }

  SECTION("an unknown query to the server is service-unavailable") {
    auto reply = romeo->request(
        "<iq type='get' id='u1' to='localhost'><query xmlns='urn:example:nothing'/></iq>", "u1");
    REQUIRE(reply != nullptr);
    INFO(reply->xml);
    CHECK(reply->type == "error");
    const XmlNode* error = reply->tree.child("error");
    REQUIRE(error != nullptr);
    CHECK(error->child("service-unavailable", "urn:ietf:params:xml:ns:xmpp-stanzas") != nullptr);
  }
}

}  // namespace
}  // namespace parley::integration
