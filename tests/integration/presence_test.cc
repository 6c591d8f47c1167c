// Presence (RFC 6121 §3-4): the subscription handshake, stored requests, pre-approval,
// cancelling, probes at login, broadcast, directed presence and unavailable on logout.
#include <catch2/catch.hpp>

#include "harness/scenario.h"

namespace parley::integration {
namespace {

constexpr const char* kRosterNs = "jabber:iq:roster";

StropheClient::Predicate presence(const std::string& from, const std::string& type = "") {
  return [from, type](const ReceivedStanza& s) {
    return s.name == "presence" && s.from == from && s.type == type;
  };
}

// A roster push about JID whose item has SUBSCRIPTION (and ask='subscribe' when ASK).
StropheClient::Predicate pushOf(const std::string& jid, const std::string& subscription,
                                bool ask = false) {
  return [=](const ReceivedStanza& s) {
    if (s.name != "iq" || s.type != "set") return false;
    const auto* query = s.tree.child("query", kRosterNs);
    if (!query) return false;
    auto items = query->childrenNamed("item");
    return items.size() == 1 && items[0]->attr("jid") == jid &&
           items[0]->attr("subscription") == subscription &&
           (items[0]->attr("ask") == "subscribe") == ask;
  };
}

// The item for JID in the client's roster (a fresh roster get), or nullptr.
std::optional<XmlNode> rosterItem(StropheClient& client, const std::string& jid) {
  static int n = 0;
  std::string id = "rg" + std::to_string(++n);
  auto reply =
      client.request("<iq type='get' id='" + id + "'><query xmlns='jabber:iq:roster'/></iq>", id);
  REQUIRE(reply != nullptr);
  const auto* query = reply->tree.child("query", kRosterNs);
  REQUIRE(query != nullptr);
  for (const auto* item : query->childrenNamed("item")) {
    if (item->attr("jid") == jid) return *item;
  }
  return std::nullopt;
}

void requestRoster(StropheClient& client) {
  REQUIRE(rosterItem(client, "nobody@localhost") == std::nullopt);
}

void sendTo(StropheClient& client, const std::string& to, const std::string& type) {
  client.send("<presence to='" + to + "' type='" + type + "'/>");
}

// Romeo and juliet subscribe to each other; both end with subscription='both'.
void subscribeBoth(StropheClient& romeo, StropheClient& juliet) {
  sendTo(romeo, "juliet@localhost", "subscribe");
  REQUIRE(juliet.waitFor(presence("romeo@localhost", "subscribe")) != nullptr);
  sendTo(juliet, "romeo@localhost", "subscribed");
  REQUIRE(romeo.waitFor(pushOf("juliet@localhost", "to")) != nullptr);
  sendTo(juliet, "romeo@localhost", "subscribe");
  REQUIRE(romeo.waitFor(presence("juliet@localhost", "subscribe")) != nullptr);
  sendTo(romeo, "juliet@localhost", "subscribed");
  REQUIRE(romeo.waitFor(pushOf("juliet@localhost", "both")) != nullptr);
  REQUIRE(juliet.waitFor(pushOf("romeo@localhost", "both")) != nullptr);
}

TEST_CASE("romeo and juliet subscribe to each other and see each other's presence", "[presence]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto juliet = login(*server, "juliet", "chamber");
  requestRoster(*romeo);
  requestRoster(*juliet);
  romeo->sendPresence(0);
  juliet->sendPresence(0);

  sendTo(*romeo, "juliet@localhost", "subscribe");
  // §3.1.2: romeo's roster shows the pending request...
  REQUIRE(romeo->waitFor(pushOf("juliet@localhost", "none", true)) != nullptr);
  // ...and juliet gets it from romeo's bare JID.
  auto request = juliet->waitFor(presence("romeo@localhost", "subscribe"));
  REQUIRE(request != nullptr);
  CHECK(request->to == "juliet@localhost");

  sendTo(*juliet, "romeo@localhost", "subscribed");
  REQUIRE(juliet->waitFor(pushOf("romeo@localhost", "from")) != nullptr);
  auto approved = romeo->waitFor(presence("juliet@localhost", "subscribed"));
  REQUIRE(approved != nullptr);
  REQUIRE(romeo->waitFor(pushOf("juliet@localhost", "to")) != nullptr);
  // §3.1.5: juliet's current presence follows the approval.
  CHECK(romeo->waitFor(presence("juliet@localhost/chamber")) != nullptr);

  auto romeo_item = rosterItem(*romeo, "juliet@localhost");
  REQUIRE(romeo_item);
  CHECK(romeo_item->attr("subscription") == "to");
  CHECK(romeo_item->attr("ask").empty());
  auto juliet_item = rosterItem(*juliet, "romeo@localhost");
  REQUIRE(juliet_item);
  CHECK(juliet_item->attr("subscription") == "from");

  // Juliet's broadcasts reach romeo; romeo's do not reach juliet yet.
  juliet->send("<presence><show>away</show></presence>");
  auto away = romeo->waitFor(presence("juliet@localhost/chamber"));
  REQUIRE(away != nullptr);
  CHECK(away->tree.child("show") != nullptr);

  sendTo(*juliet, "romeo@localhost", "subscribe");
  REQUIRE(romeo->waitFor(presence("juliet@localhost", "subscribe")) != nullptr);
  sendTo(*romeo, "juliet@localhost", "subscribed");
  REQUIRE(romeo->waitFor(pushOf("juliet@localhost", "both")) != nullptr);
  REQUIRE(juliet->waitFor(pushOf("romeo@localhost", "both")) != nullptr);
  CHECK(juliet->waitFor(presence("romeo@localhost/balcony")) != nullptr);

  romeo->send("<presence><status>at the balcony</status></presence>");
  auto status = juliet->waitFor(presence("romeo@localhost/balcony"));
  REQUIRE(status != nullptr);
  CHECK(status->xml.find("at the balcony") != std::string::npos);
}

TEST_CASE("a subscription request to a nonexistent user is answered unsubscribed", "[presence]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  requestRoster(*romeo);
  romeo->sendPresence(0);  // presence goes to available resources only
  sendTo(*romeo, "rosaline@localhost", "subscribe");
  REQUIRE(romeo->waitFor(pushOf("rosaline@localhost", "none", true)) != nullptr);
  auto answer = romeo->waitFor(presence("rosaline@localhost", "unsubscribed"));
  REQUIRE(answer != nullptr);
  // The 'unsubscribed' ends the pending request (RFC 6121 Appendix A.3.4).
  REQUIRE(romeo->waitFor(pushOf("rosaline@localhost", "none", false)) != nullptr);
}

TEST_CASE("a request sent while juliet is offline reaches her at her next login", "[presence]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  requestRoster(*romeo);
  sendTo(*romeo, "juliet@localhost", "subscribe");
  REQUIRE(romeo->waitFor(pushOf("juliet@localhost", "none", true)) != nullptr);
  REQUIRE(romeo->syncWithServer());

  auto juliet = login(*server, "juliet", "chamber");
  REQUIRE(juliet->syncWithServer());
  CHECK(juliet->pending(presence("romeo@localhost", "subscribe")).empty());  // not before presence
  juliet->sendPresence(0);
  REQUIRE(juliet->waitFor(presence("romeo@localhost", "subscribe")) != nullptr);

  SECTION("and again at the login after, until she answers") {
    juliet->disconnect();
    auto again = login(*server, "juliet", "garden");
    again->sendPresence(1);
    REQUIRE(again->waitFor(presence("romeo@localhost", "subscribe")) != nullptr);
    sendTo(*again, "romeo@localhost", "unsubscribed");
    REQUIRE(romeo->waitFor(pushOf("juliet@localhost", "none", false)) != nullptr);
    again->disconnect();
    auto third = login(*server, "juliet", "tomb");
    third->sendPresence(0);
    REQUIRE(third->syncWithServer());
    REQUIRE(romeo->syncWithServer());
    REQUIRE(third->syncWithServer());
    CHECK(third->pending(presence("romeo@localhost", "subscribe")).empty());
  }
}

TEST_CASE("a pre-approved subscription is granted without asking", "[presence]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto juliet = login(*server, "juliet", "chamber");
  requestRoster(*romeo);
  requestRoster(*juliet);
  juliet->sendPresence(0);
  romeo->sendPresence(0);
  REQUIRE(juliet->syncWithServer());

  // RFC 6121 §3.4: juliet approves before romeo asks.
  sendTo(*juliet, "romeo@localhost", "subscribed");
  auto pre = juliet->waitFor(pushOf("romeo@localhost", "none"));
  REQUIRE(pre != nullptr);
  CHECK(pre->tree.child("query", kRosterNs)->childrenNamed("item")[0]->attr("approved") == "true");
  REQUIRE(romeo->syncWithServer());
  CHECK(romeo->pending(presence("juliet@localhost", "subscribed")).empty());  // never routed

  sendTo(*romeo, "juliet@localhost", "subscribe");
  REQUIRE(romeo->waitFor(presence("juliet@localhost", "subscribed")) != nullptr);
  REQUIRE(romeo->waitFor(pushOf("juliet@localhost", "to")) != nullptr);
  REQUIRE(juliet->waitFor(pushOf("romeo@localhost", "from")) != nullptr);
  CHECK(juliet->pending(presence("romeo@localhost", "subscribe")).empty());
  auto item = rosterItem(*juliet, "romeo@localhost");
  REQUIRE(item);
  CHECK(item->attr("approved").empty());
}

TEST_CASE("unsubscribe and unsubscribed end the subscriptions", "[presence]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto juliet = login(*server, "juliet", "chamber");
  requestRoster(*romeo);
  requestRoster(*juliet);
  romeo->sendPresence(0);
  juliet->sendPresence(0);
  subscribeBoth(*romeo, *juliet);

  // Romeo stops following juliet: both -> from for him, both -> to for her.
  sendTo(*romeo, "juliet@localhost", "unsubscribe");
  REQUIRE(romeo->waitFor(pushOf("juliet@localhost", "from")) != nullptr);
  REQUIRE(juliet->waitFor(pushOf("romeo@localhost", "to")) != nullptr);
  REQUIRE(juliet->waitFor(presence("romeo@localhost", "unsubscribe")) != nullptr);

  // Romeo revokes juliet's subscription to him: from -> none for him, to -> none for her.
  sendTo(*romeo, "juliet@localhost", "unsubscribed");
  REQUIRE(romeo->waitFor(pushOf("juliet@localhost", "none")) != nullptr);
  REQUIRE(juliet->waitFor(pushOf("romeo@localhost", "none")) != nullptr);
  // §3.2.2: juliet is told romeo is now unavailable to her.
  REQUIRE(juliet->waitFor(presence("romeo@localhost/balcony", "unavailable")) != nullptr);

  // No more broadcasts either way.
  romeo->send("<presence><status>gone</status></presence>");
  REQUIRE(romeo->syncWithServer());
  REQUIRE(juliet->syncWithServer());
  CHECK(juliet
            ->pending([](const ReceivedStanza& s) {
              return s.name == "presence" && s.xml.find("gone") != std::string::npos;
            })
            .empty());
}

TEST_CASE("directed presence is followed by unavailable when the session ends", "[presence]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto juliet = login(*server, "juliet", "chamber");
  juliet->sendPresence(0);
  romeo->sendPresence(0);
  REQUIRE(juliet->syncWithServer());
  romeo->send("<presence to='juliet@localhost/chamber'><status>psst</status></presence>");
  REQUIRE(juliet->waitFor(presence("romeo@localhost/balcony")) != nullptr);
  romeo->disconnect();
  CHECK(juliet->waitFor(presence("romeo@localhost/balcony", "unavailable")) != nullptr);
}

TEST_CASE("a resource with negative priority still gets presence", "[presence]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto juliet = login(*server, "juliet", "hidden");
  requestRoster(*romeo);
  requestRoster(*juliet);
  juliet->sendPresence(-1);
  romeo->sendPresence(0);
  subscribeBoth(*romeo, *juliet);
  romeo->send("<presence><show>chat</show></presence>");
  CHECK(juliet->waitFor([](const ReceivedStanza& s) {
    return s.name == "presence" && s.from == "romeo@localhost/balcony" &&
           s.tree.child("show") != nullptr;
  }) != nullptr);
}

TEST_CASE("at login the probes bring the contacts' current presence", "[presence]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto juliet = login(*server, "juliet", "chamber");
  requestRoster(*romeo);
  requestRoster(*juliet);
  romeo->sendPresence(0);
  juliet->sendPresence(0);
  subscribeBoth(*romeo, *juliet);
  juliet->send("<presence><status>dreaming</status></presence>");
  REQUIRE(romeo->waitFor(presence("juliet@localhost/chamber")) != nullptr);
  romeo->disconnect();
  REQUIRE(juliet->waitFor(presence("romeo@localhost/balcony", "unavailable")) != nullptr);

  auto back = login(*server, "romeo", "orchard");
  back->sendPresence(0);
  auto current = back->waitFor(presence("juliet@localhost/chamber"));
  REQUIRE(current != nullptr);
  CHECK(current->xml.find("dreaming") != std::string::npos);
  // Juliet sees romeo come back; he sees his own presence too (§4.2.2).
  CHECK(juliet->waitFor(presence("romeo@localhost/orchard")) != nullptr);
  CHECK(back->waitFor(presence("romeo@localhost/orchard")) != nullptr);
}

}  // namespace
}  // namespace parley::integration

namespace parley::integration {
namespace {

TEST_CASE("a deleted account ends its subscriptions and goes offline for contacts",
          "[presence][register]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  auto juliet = login(*server, "juliet", "chamber");
  requestRoster(*romeo);
  requestRoster(*juliet);
  romeo->sendPresence(0);
  juliet->sendPresence(0);
  subscribeBoth(*romeo, *juliet);
  REQUIRE(romeo->waitFor(presence("juliet@localhost/chamber")) != nullptr);

  // XEP-0077 §3.2: juliet removes her account.
  juliet->send("<iq type='set' id='rm1'><query xmlns='jabber:iq:register'><remove/></query></iq>");
  // RFC 6121: romeo sees her go offline, and both subscriptions end.
  REQUIRE(romeo->waitFor(presence("juliet@localhost/chamber", "unavailable")) != nullptr);
  REQUIRE(romeo->waitFor(pushOf("juliet@localhost", "none")) != nullptr);
  auto item = rosterItem(*romeo, "juliet@localhost");
  REQUIRE(item);
  CHECK(item->attr("subscription") == "none");
}

}  // namespace
}  // namespace parley::integration
