// Private XML storage (XEP-0049): a round trip per namespace and every error case.
#include <catch2/catch.hpp>

#include "harness/scenario.h"

namespace parley::integration {
namespace {

constexpr const char* kPrivateNs = "jabber:iq:private";

std::string privateIq(const std::string& type, const std::string& id, const std::string& payload,
                      const std::string& to = "") {
  return "<iq type='" + type + "' id='" + id + "'" + (to.empty() ? "" : " to='" + to + "'") +
         "><query xmlns='jabber:iq:private'>" + payload + "</query></iq>";
}

TEST_CASE("private XML storage round trip", "[private]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");

  // Nothing stored: the requested element comes back empty.
  auto empty = romeo->request(privateIq("get", "p0", "<exodus xmlns='exodus:prefs'/>"), "p0");
  REQUIRE(empty != nullptr);
  INFO(empty->xml);
  REQUIRE(empty->type == "result");
  const XmlNode* query = empty->tree.child("query", kPrivateNs);
  REQUIRE(query != nullptr);
  REQUIRE(query->child("exodus", "exodus:prefs") != nullptr);
  CHECK(query->child("exodus", "exodus:prefs")->children.empty());

  auto set = romeo->request(
      privateIq("set", "p1",
                "<exodus xmlns='exodus:prefs'><defaultnick>Hamlet</defaultnick></exodus>"
                "<storage xmlns='storage:bookmarks'><url name='x' url='http://x/'/></storage>"),
      "p1");
  REQUIRE(set != nullptr);
  INFO(set->xml);
  CHECK(set->type == "result");

  auto prefs = romeo->request(privateIq("get", "p2", "<exodus xmlns='exodus:prefs'/>"), "p2");
  REQUIRE(prefs != nullptr);
  INFO(prefs->xml);
  REQUIRE(prefs->type == "result");
  const XmlNode* exodus = prefs->tree.child("query", kPrivateNs)->child("exodus", "exodus:prefs");
  REQUIRE(exodus != nullptr);
  REQUIRE(exodus->child("defaultnick") != nullptr);
  CHECK(exodus->child("defaultnick")->text == "Hamlet");
  // One namespace per entry: the bookmarks are not in this answer.
  CHECK(prefs->tree.child("query", kPrivateNs)->child("storage") == nullptr);

  auto bookmarks =
      romeo->request(privateIq("get", "p3", "<storage xmlns='storage:bookmarks'/>"), "p3");
  REQUIRE(bookmarks != nullptr);
  const XmlNode* storage =
      bookmarks->tree.child("query", kPrivateNs)->child("storage", "storage:bookmarks");
  REQUIRE(storage != nullptr);
  REQUIRE(storage->child("url") != nullptr);
  CHECK(storage->child("url")->attr("name") == "x");

  SECTION("a new set replaces that namespace only") {
    auto replace = romeo->request(
        privateIq("set", "p4",
                  "<exodus xmlns='exodus:prefs'><defaultnick>Romeo</defaultnick></exodus>"),
        "p4");
    REQUIRE(replace != nullptr);
    CHECK(replace->type == "result");
    auto again = romeo->request(privateIq("get", "p5", "<exodus xmlns='exodus:prefs'/>"), "p5");
    REQUIRE(again != nullptr);
    CHECK(again->tree.child("query", kPrivateNs)
              ->child("exodus", "exodus:prefs")
              ->child("defaultnick")
              ->text == "Romeo");
    auto kept =
        romeo->request(privateIq("get", "p6", "<storage xmlns='storage:bookmarks'/>"), "p6");
    REQUIRE(kept != nullptr);
    CHECK(kept->tree.child("query", kPrivateNs)
              ->child("storage", "storage:bookmarks")
              ->child("url") != nullptr);
  }
}

TEST_CASE("private XML storage errors", "[private]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto juliet = login(*server, "juliet", "garden");
  struct Case {
    std::string what;
    std::string iq;
    std::string condition;
  };
  std::vector<Case> cases = {
      {"get of another user's data", privateIq("get", "e", "<a xmlns='x:a'/>", "romeo@localhost"),
       "forbidden"},
      {"set of another user's data",
       privateIq("set", "e", "<a xmlns='x:a'>1</a>", "romeo@localhost"), "forbidden"},
      {"get without a child", privateIq("get", "e", ""), "not-acceptable"},
      {"set without a child", privateIq("set", "e", ""), "not-acceptable"},
      {"get of two namespaces", privateIq("get", "e", "<a xmlns='x:a'/><b xmlns='x:b'/>"),
       "bad-request"},
      {"set in a reserved namespace",
       privateIq("set", "e", "<vCard xmlns='vcard-temp'><FN>Hamlet</FN></vCard>"),
       "not-acceptable"},
      {"set in a jabber: namespace", privateIq("set", "e", "<query xmlns='jabber:iq:roster'/>"),
       "not-acceptable"},
      {"get in a reserved namespace",
       privateIq("get", "e", "<x xmlns='http://jabber.org/protocol/muc'/>"), "not-acceptable"},
  };
  int n = 0;
  for (auto& c : cases) {
    INFO(c.what);
    std::string id = "e" + std::to_string(++n);
    c.iq.replace(c.iq.find("id='e'"), 6, "id='" + id + "'");
    auto reply = juliet->request(c.iq, id);
    REQUIRE(reply != nullptr);
    INFO(reply->xml);
    CHECK(reply->type == "error");
    CHECK(errorCondition(*reply) == c.condition);
  }
  // Nothing of juliet's attempts reached romeo's storage.
  auto mine = romeo->request(privateIq("get", "m", "<a xmlns='x:a'/>"), "m");
  REQUIRE(mine != nullptr);
  CHECK(mine->tree.child("query", kPrivateNs)->child("a", "x:a")->text.empty());
}

}  // namespace
}  // namespace parley::integration
