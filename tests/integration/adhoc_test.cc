// XEP-0050 ad-hoc commands with the XEP-0133 admin set: who may see and run what, and what
// each command does to accounts and online users.
#include <algorithm>
#include <catch2/catch.hpp>

#include "harness/scenario.h"

namespace parley::integration {
namespace {

constexpr const char* kCommandsNs = "http://jabber.org/protocol/commands";
constexpr const char* kAdmin = "http://jabber.org/protocol/admin";

ServerOptions withAdmin() {
  ServerOptions options;
  options.host_extra = "admins = [\"romeo@localhost\"]\n";
  return options;
}

std::vector<std::string> commandNodes(StropheClient& client, const std::string& id) {
  auto reply = client.request("<iq type='get' id='" + id +
                                  "' to='localhost'><query "
                                  "xmlns='http://jabber.org/protocol/disco#items' "
                                  "node='http://jabber.org/protocol/commands'/></iq>",
                              id);
  REQUIRE(reply != nullptr);
  INFO(reply->xml);
  REQUIRE(reply->type == "result");
  std::vector<std::string> nodes;
  for (const XmlNode* item : reply->tree.child("query")->childrenNamed("item")) {
    nodes.push_back(item->attr("node"));
  }
  return nodes;
}

std::string field(const std::string& var, const std::vector<std::string>& values) {
  std::string out = "<field var='" + var + "'>";
  for (const auto& value : values) out += "<value>" + value + "</value>";
  return out + "</field>";
}

// Runs a two-stage admin command: execute, check the form, submit FIELDS.
const ReceivedStanza* runWithForm(StropheClient& client, const std::string& command,
                                  const std::string& fields, const std::string& id) {
  auto first = client.request("<iq type='set' id='" + id + "a' to='localhost'><command xmlns='" +
                                  kCommandsNs + "' node='" + kAdmin + "#" + command +
                                  "' action='execute'/></iq>",
                              id + "a");
  REQUIRE(first != nullptr);
  INFO(first->xml);
  REQUIRE(first->type == "result");
  const XmlNode* cmd = first->tree.child("command", kCommandsNs);
  REQUIRE(cmd != nullptr);
  CHECK(cmd->attr("status") == "executing");
  REQUIRE(cmd->child("x", "jabber:x:data") != nullptr);
  std::string sessionid = cmd->attr("sessionid");
  REQUIRE_FALSE(sessionid.empty());
  return client.request("<iq type='set' id='" + id + "' to='localhost'><command xmlns='" +
                            kCommandsNs + "' node='" + kAdmin + "#" + command + "' sessionid='" +
                            sessionid +
                            "' action='complete'><x xmlns='jabber:x:data' type='submit'>" +
                            field("FORM_TYPE", {kAdmin}) + fields + "</x></command></iq>",
                        id);
}

std::string status(const ReceivedStanza& reply) {
  const XmlNode* cmd = reply.tree.child("command", kCommandsNs);
  return cmd ? cmd->attr("status") : "";
}

bool hasError(const ReceivedStanza& reply, const std::string& condition) {
  const XmlNode* error = reply.tree.child("error");
  return reply.type == "error" && error &&
         error->child(condition, "urn:ietf:params:xml:ns:xmpp-stanzas") != nullptr;
}

TEST_CASE("ad-hoc: non-admins see and run only ping", "[adhoc]") {
  auto server = startServer(withAdmin());
  auto juliet = login(*server, "juliet", "garden");
  CHECK(commandNodes(*juliet, "i1") == std::vector<std::string>{"ping"});

  auto pong =
      juliet->request(std::string("<iq type='set' id='c1' to='localhost'><command xmlns='") +
                          kCommandsNs + "' node='ping' action='execute'/></iq>",
                      "c1");
  REQUIRE(pong != nullptr);
  INFO(pong->xml);
  CHECK(status(*pong) == "completed");
  const XmlNode* note = pong->tree.child("command", kCommandsNs)->child("note");
  REQUIRE(note != nullptr);
  CHECK(note->text == "Pong");

  auto refused =
      juliet->request(std::string("<iq type='set' id='c2' to='localhost'><command "
                                  "xmlns='") +
                          kCommandsNs + "' node='" + kAdmin + "#add-user' action='execute'/></iq>",
                      "c2");
  REQUIRE(refused != nullptr);
  CHECK(hasError(*refused, "forbidden"));

  auto unknown = juliet->request(std::string("<iq type='set' id='c3' to='localhost'><command "
                                             "xmlns='") +
                                     kCommandsNs + "' node='nope' action='execute'/></iq>",
                                 "c3");
  REQUIRE(unknown != nullptr);
  CHECK(hasError(*unknown, "item-not-found"));

  auto features = juliet->request(
      "<iq type='get' id='f1' to='localhost'>"
      "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
      "f1");
  REQUIRE(features != nullptr);
  CHECK(features->xml.find(kCommandsNs) != std::string::npos);
}

TEST_CASE("ad-hoc: an admin manages accounts and online users", "[adhoc]") {
  auto server = startServer(withAdmin());
  auto romeo = login(*server, "romeo", "balcony");
  auto juliet = login(*server, "juliet", "garden");
  juliet->sendPresence(0);
  REQUIRE(juliet->syncWithServer());
  auto nodes = commandNodes(*romeo, "i1");
  for (const char* expected :
       {"add-user", "delete-user", "change-user-password", "get-online-users-list", "announce"}) {
    INFO(expected);
    CHECK(std::find(nodes.begin(), nodes.end(), std::string(kAdmin) + "#" + expected) !=
          nodes.end());
  }

  // Add mercutio; he can log in.
  auto added = runWithForm(*romeo, "add-user",
                           field("accountjid", {"mercutio@localhost"}) +
                               field("password", {"mercutio-pass"}) +
                               field("password-verify", {"mercutio-pass"}),
                           "a1");
  REQUIRE(added != nullptr);
  INFO(added->xml);
  CHECK(status(*added) == "completed");
  auto mercutio = login(*server, "mercutio", "street");

  // Adding him again is a conflict.
  auto again =
      runWithForm(*romeo, "add-user",
                  field("accountjid", {"mercutio@localhost"}) + field("password", {"x"}), "a2");
  REQUIRE(again != nullptr);
  CHECK(hasError(*again, "conflict"));

  // Online users: all three.
  auto online = romeo->request(std::string("<iq type='set' id='o1' to='localhost'><command "
                                           "xmlns='") +
                                   kCommandsNs + "' node='" + kAdmin +
                                   "#get-online-users-list' action='execute'/></iq>",
                               "o1");
  REQUIRE(online != nullptr);
  INFO(online->xml);
  CHECK(status(*online) == "completed");
  for (const char* user : {"romeo@localhost", "juliet@localhost", "mercutio@localhost"}) {
    CHECK(online->xml.find(std::string("<value>") + user + "</value>") != std::string::npos);
  }

  // Announce: juliet (available) gets it.
  auto announced = runWithForm(
      *romeo, "announce",
      field("subject", {"Notice"}) + field("announcement", {"The ball starts at nine"}), "n1");
  REQUIRE(announced != nullptr);
  CHECK(status(*announced) == "completed");
  const auto* headline = juliet->waitFor(messageWithBody("The ball starts at nine"));
  REQUIRE(headline != nullptr);
  CHECK(headline->type == "headline");
  CHECK(headline->from == "localhost");

  // Change mercutio's password: the new one works.
  auto changed = runWithForm(
      *romeo, "change-user-password",
      field("accountjid", {"mercutio@localhost"}) + field("password", {"queen-mab"}), "p1");
  REQUIRE(changed != nullptr);
  CHECK(status(*changed) == "completed");
  {
    StropheClient again_client;
    CHECK(again_client.connect("mercutio@localhost/second", "queen-mab", clientOptions(*server)));
  }

  // Delete him: his session ends and he cannot log in again.
  auto deleted =
      runWithForm(*romeo, "delete-user", field("accountjids", {"mercutio@localhost"}), "d1");
  REQUIRE(deleted != nullptr);
  INFO(deleted->xml);
  CHECK(status(*deleted) == "completed");
  CHECK(mercutio->waitDisconnected());
  StropheClient gone;
  CHECK_FALSE(gone.connect("mercutio@localhost/third", "queen-mab", clientOptions(*server)));

  auto missing =
      runWithForm(*romeo, "delete-user", field("accountjids", {"nobody@localhost"}), "d2");
  REQUIRE(missing != nullptr);
  CHECK(hasError(*missing, "item-not-found"));
}

TEST_CASE("ad-hoc: a wrong sessionid is refused", "[adhoc]") {
  auto server = startServer(withAdmin());
  auto romeo = login(*server, "romeo", "balcony");
  auto reply = romeo->request(std::string("<iq type='set' id='s1' to='localhost'><command "
                                          "xmlns='") +
                                  kCommandsNs + "' node='" + kAdmin +
                                  "#add-user' sessionid='made-up' action='complete'/></iq>",
                              "s1");
  REQUIRE(reply != nullptr);
  INFO(reply->xml);
  CHECK(hasError(*reply, "bad-request"));
  CHECK(reply->tree.child("error")->child("bad-sessionid", kCommandsNs) != nullptr);
}

}  // namespace
}  // namespace parley::integration
