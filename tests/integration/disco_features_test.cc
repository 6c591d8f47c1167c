// disco#info (XEP-0030) on the server and on an account lists exactly the features the
// loaded modules provide: the default module list, and a host with only disco and ping.
#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "harness/scenario.h"

namespace parley::integration {
namespace {

constexpr const char* kDiscoInfoNs = "http://jabber.org/protocol/disco#info";

struct DiscoInfo {
  std::set<std::string> features;
  std::set<std::string> identities;  // "category/type"
  size_t feature_count = 0;          // with duplicates, which XEP-0030 §3.1 forbids
};

// Sends a disco#info get (to TO, or to the server when empty) and collects the answer.
DiscoInfo discoInfo(StropheClient& client, const std::string& id, const std::string& to) {
  auto reply =
      client.request("<iq type='get' id='" + id + "'" + (to.empty() ? "" : " to='" + to + "'") +
                         "><query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
                     id);
  REQUIRE(reply != nullptr);
  INFO(reply->xml);
  REQUIRE(reply->type == "result");
  const XmlNode* query = reply->tree.child("query", kDiscoInfoNs);
  REQUIRE(query != nullptr);
  DiscoInfo info;
  for (const XmlNode* feature : query->childrenNamed("feature")) {
    info.features.insert(feature->attr("var"));
    ++info.feature_count;
  }
  for (const XmlNode* identity : query->childrenNamed("identity")) {
    info.identities.insert(identity->attr("category") + "/" + identity->attr("type"));
  }
  return info;
}

using Features = std::set<std::string>;

TEST_CASE("disco#info lists exactly the default modules' features", "[disco]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");

  // Every addFeature() of the default modules (src/core/module.cc defaultModules()).
  const Features kServerFeatures = {
      "http://jabber.org/protocol/disco#info",   // disco
      "http://jabber.org/protocol/disco#items",  // disco
      "urn:xmpp:ping",                           // ping
      "jabber:iq:version",                       // version
      "urn:xmpp:time",                           // time
      "jabber:iq:register",                      // register
      "urn:xmpp:blocking",                       // blocking
      "http://jabber.org/protocol/commands",     // adhoc
      "msgoffline",                              // offline
      "vcard-temp",                              // vcard
      "jabber:iq:last",                          // last
      "urn:xmpp:http:upload:0",                  // http_upload
  };
  // Every addAccountFeature().
  const Features kAccountFeatures = {
      "http://jabber.org/protocol/disco#info",  // disco
      "urn:xmpp:blocking",                      // blocking
      "vcard-temp",                             // vcard
      "jabber:iq:private",                      // private
      "jabber:iq:last",                         // last
  };

  auto info = discoInfo(*romeo, "s1", "localhost");
  CHECK(info.features == kServerFeatures);
  CHECK(info.feature_count == info.features.size());
  CHECK(info.identities == std::set<std::string>{"server/im", "store/file"});  // + http_upload
  // RFC 6120 §10.3.3: no 'to' means one's own account, same as the bare JID.
  for (const std::string to : {"romeo@localhost", ""}) {
    INFO("account disco#info addressed to '" << to << "'");
    auto account = discoInfo(*romeo, "a" + to, to);
    CHECK(account.features == kAccountFeatures);
    CHECK(account.feature_count == account.features.size());
    CHECK(account.identities == std::set<std::string>{"account/registered"});
  }
}

TEST_CASE("a host with only disco and ping lists only their features", "[disco]") {
  ServerOptions options;
  options.host_extra = "modules = [\"disco\", \"ping\"]";
  auto server = startServer(options);
  auto romeo = login(*server, "romeo", "balcony");

  auto info = discoInfo(*romeo, "s1", "localhost");
  CHECK(info.features == Features{"http://jabber.org/protocol/disco#info",
                                  "http://jabber.org/protocol/disco#items", "urn:xmpp:ping"});
  CHECK(info.feature_count == info.features.size());
  CHECK(info.identities == std::set<std::string>{"server/im"});
  auto account = discoInfo(*romeo, "a1", "romeo@localhost");
  CHECK(account.features == Features{"http://jabber.org/protocol/disco#info"});
  CHECK(account.identities == std::set<std::string>{"account/registered"});

  // And what is not loaded is not answered either (RFC 6120 §8.4: service-unavailable).
  auto version = romeo->request(
      "<iq type='get' id='v1' to='localhost'><query xmlns='jabber:iq:version'/></iq>", "v1");
  REQUIRE(version != nullptr);
  INFO(version->xml);
  CHECK(version->type == "error");
  CHECK(version->xml.find("service-unavailable") != std::string::npos);
}

}  // namespace
}  // namespace parley::integration
