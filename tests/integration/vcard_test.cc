// vcard-temp (XEP-0054): storing one's own vCard, reading anyone's, the error cases; and the
// XEP-0153 photo hash the server adds to broadcast presence.
#include <catch2/catch.hpp>

#include "harness/scenario.h"

namespace parley::integration {
namespace {

constexpr const char* kVcardNs = "vcard-temp";
// base64("abc"); its SHA-1 is the avatar hash.
constexpr const char* kPhotoBase64 = "YWJj";
constexpr const char* kPhotoHash = "a9993e364706816aba3e25717850c26c9cd0d89d";

std::string vcardWithPhoto(const std::string& name) {
  return "<vCard xmlns='vcard-temp'><FN>" + name + "</FN><PHOTO><TYPE>image/png</TYPE><BINVAL>" +
         kPhotoBase64 + "</BINVAL></PHOTO></vCard>";
}

TEST_CASE("vCard round trip and reading another user's vCard", "[vcard]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto juliet = login(*server, "juliet", "garden");

  // XEP-0054 §3.1: no vCard yet: an empty one.
  auto empty = romeo->request("<iq type='get' id='v0'><vCard xmlns='vcard-temp'/></iq>", "v0");
  REQUIRE(empty != nullptr);
  INFO(empty->xml);
  CHECK(empty->type == "result");
  const XmlNode* none = empty->tree.child("vCard", kVcardNs);
  REQUIRE(none != nullptr);
  CHECK(none->children.empty());
  // XEP-0054 §3.3: another user without a vCard.
  auto missing = juliet->request(
      "<iq type='get' id='v1' to='romeo@localhost'><vCard xmlns='vcard-temp'/></iq>", "v1");
  REQUIRE(missing != nullptr);
  CHECK(missing->type == "error");
  CHECK(errorCondition(*missing) == "service-unavailable");

  auto set =
      romeo->request("<iq type='set' id='v2'>" + vcardWithPhoto("Romeo Montague") + "</iq>", "v2");
  REQUIRE(set != nullptr);
  INFO(set->xml);
  CHECK(set->type == "result");

  auto own = romeo->request("<iq type='get' id='v3'><vCard xmlns='vcard-temp'/></iq>", "v3");
  REQUIRE(own != nullptr);
  INFO(own->xml);
  REQUIRE(own->type == "result");
  const XmlNode* vcard = own->tree.child("vCard", kVcardNs);
  REQUIRE(vcard != nullptr);
  REQUIRE(vcard->child("FN") != nullptr);
  CHECK(vcard->child("FN")->text == "Romeo Montague");

  auto other = juliet->request(
      "<iq type='get' id='v4' to='romeo@localhost'><vCard xmlns='vcard-temp'/></iq>", "v4");
  REQUIRE(other != nullptr);
  INFO(other->xml);
  REQUIRE(other->type == "result");
  CHECK(other->from == "romeo@localhost");
  const XmlNode* photo = other->tree.child("vCard", kVcardNs)->child("PHOTO");
  REQUIRE(photo != nullptr);
  CHECK(photo->child("BINVAL")->text == kPhotoBase64);

  SECTION("setting another user's vCard is forbidden") {
    auto forbidden = juliet->request(
        "<iq type='set' id='v5' to='romeo@localhost'><vCard xmlns='vcard-temp'><FN>Mallory</FN>"
        "</vCard></iq>",
        "v5");
    REQUIRE(forbidden != nullptr);
    CHECK(forbidden->type == "error");
    CHECK(errorCondition(*forbidden) == "forbidden");
    auto unchanged = juliet->request(
        "<iq type='get' id='v6' to='romeo@localhost'><vCard xmlns='vcard-temp'/></iq>", "v6");
    REQUIRE(unchanged != nullptr);
    CHECK(unchanged->tree.child("vCard", kVcardNs)->child("FN")->text == "Romeo Montague");
  }
  SECTION("a user that does not exist") {
    auto nobody = juliet->request(
        "<iq type='get' id='v7' to='nobody@localhost'><vCard xmlns='vcard-temp'/></iq>", "v7");
    REQUIRE(nobody != nullptr);
    CHECK(nobody->type == "error");
    CHECK(errorCondition(*nobody) == "service-unavailable");
  }
  SECTION("an empty vCard clears it") {
    auto clear = romeo->request("<iq type='set' id='v8'><vCard xmlns='vcard-temp'/></iq>", "v8");
    REQUIRE(clear != nullptr);
    CHECK(clear->type == "result");
    auto cleared = romeo->request("<iq type='get' id='v9'><vCard xmlns='vcard-temp'/></iq>", "v9");
    REQUIRE(cleared != nullptr);
    CHECK(cleared->tree.child("vCard", kVcardNs)->children.empty());
  }
  SECTION("the vCard survives a restart") {
    romeo.reset();
    juliet.reset();
    REQUIRE(server->stop() == 0);
    REQUIRE(server->start());
    auto back = login(*server, "romeo", "balcony");
    auto stored = back->request("<iq type='get' id='v10'><vCard xmlns='vcard-temp'/></iq>", "v10");
    REQUIRE(stored != nullptr);
    REQUIRE(stored->tree.child("vCard", kVcardNs)->child("FN") != nullptr);
    CHECK(stored->tree.child("vCard", kVcardNs)->child("FN")->text == "Romeo Montague");
  }
}

TEST_CASE("a vCard over max_size is not acceptable", "[vcard]") {
  ServerOptions options;
  options.host_extra = "vcard = { max_size = 1024 }\n";
  auto server = startServer(options);
  auto romeo = login(*server, "romeo", "balcony");
  auto big = romeo->request("<iq type='set' id='b1'><vCard xmlns='vcard-temp'><DESC>" +
                                std::string(2000, 'x') + "</DESC></vCard></iq>",
                            "b1");
  REQUIRE(big != nullptr);
  CHECK(big->type == "error");
  CHECK(errorCondition(*big) == "not-acceptable");
  auto small = romeo->request(
      "<iq type='set' id='b2'><vCard xmlns='vcard-temp'><FN>R</FN></vCard></iq>", "b2");
  REQUIRE(small != nullptr);
  CHECK(small->type == "result");
}

TEST_CASE("vcard-temp is advertised for the server and for accounts", "[vcard]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  for (const char* to : {"localhost", "romeo@localhost"}) {
    INFO("disco#info to " << to);
    auto reply = romeo->request(std::string("<iq type='get' id='d' to='") + to +
                                    "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
                                "d");
    REQUIRE(reply != nullptr);
    const XmlNode* query = reply->tree.child("query", "http://jabber.org/protocol/disco#info");
    REQUIRE(query != nullptr);
    bool found = false;
    for (const XmlNode* feature : query->childrenNamed("feature")) {
      found = found || feature->attr("var") == kVcardNs;
    }
    CHECK(found);
  }
}

TEST_CASE("the server adds the XEP-0153 photo hash to broadcast presence", "[vcard]") {
  auto server = startServer();
  auto balcony = login(*server, "romeo", "balcony");
  auto set = balcony->request("<iq type='set' id='p1'>" + vcardWithPhoto("Romeo") + "</iq>", "p1");
  REQUIRE(set != nullptr);
  REQUIRE(set->type == "result");
  balcony->sendPresence(0);
  REQUIRE(balcony->syncWithServer());

  // RFC 6121 §4.2.2: a broadcast presence also reaches the user's other available resources.
  auto orchard = login(*server, "romeo", "orchard");
  orchard->sendPresence(0);
  auto seen = balcony->waitFor([](const ReceivedStanza& s) {
    return s.name == "presence" && s.from == "romeo@localhost/orchard";
  });
  REQUIRE(seen != nullptr);
  INFO(seen->xml);
  const XmlNode* update = seen->tree.child("x", "vcard-temp:x:update");
  REQUIRE(update != nullptr);
  REQUIRE(update->child("photo") != nullptr);
  CHECK(update->child("photo")->text == kPhotoHash);

  SECTION("a client's own update element is left alone") {
    orchard->send("<presence><x xmlns='vcard-temp:x:update'/></presence>");
    auto own = balcony->waitFor([](const ReceivedStanza& s) {
      return s.name == "presence" && s.from == "romeo@localhost/orchard";
    });
    REQUIRE(own != nullptr);
    INFO(own->xml);
    const XmlNode* x = own->tree.child("x", "vcard-temp:x:update");
    REQUIRE(x != nullptr);
    CHECK(x->child("photo") == nullptr);
  }
}

}  // namespace
}  // namespace parley::integration
