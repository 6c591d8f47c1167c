// XEP-0115 server capabilities and XEP-0157 contact addresses: the caps hash in the stream
// features matches the disco#info answer, which carries the configured addresses.
#include <openssl/sha.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <regex>
#include <tuple>

#include "harness/scenario.h"
#include "harness/xml_text.h"

namespace parley::integration {
namespace {

constexpr const char* kDiscoInfo = "http://jabber.org/protocol/disco#info";

std::string sha1Base64(const std::string& text) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return base64Encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

// XEP-0115 §5.1, written out again from the disco#info answer.
std::string recomputeVer(const XmlNode& query) {
  std::vector<std::tuple<std::string, std::string, std::string, std::string>> identities;
  for (const XmlNode* identity : query.childrenNamed("identity")) {
    identities.emplace_back(identity->attr("category"), identity->attr("type"),
                            identity->attr("xml:lang"), identity->attr("name"));
  }
  std::sort(identities.begin(), identities.end());
  std::string s;
  for (const auto& [category, type, lang, name] : identities) {
    s += category + "/" + type + "/" + lang + "/" + name + "<";
  }
  std::vector<std::string> features;
  for (const XmlNode* feature : query.childrenNamed("feature")) {
    features.push_back(feature->attr("var"));
  }
  std::sort(features.begin(), features.end());
  for (const auto& feature : features) s += feature + "<";
  std::vector<std::pair<std::string, std::string>> forms;
  for (const XmlNode* form : query.childrenNamed("x")) {
    std::string form_type;
    std::vector<std::pair<std::string, std::vector<std::string>>> fields;
    for (const XmlNode* field : form->childrenNamed("field")) {
      std::vector<std::string> values;
      for (const XmlNode* value : field->childrenNamed("value")) values.push_back(value->text);
      if (field->attr("var") == "FORM_TYPE") {
        form_type = values.empty() ? "" : values.front();
        continue;
      }
      std::sort(values.begin(), values.end());
      fields.emplace_back(field->attr("var"), values);
    }
    std::sort(fields.begin(), fields.end());
    std::string text = form_type + "<";
    for (const auto& [var, values] : fields) {
      text += var + "<";
      for (const auto& value : values) text += value + "<";
    }
    forms.emplace_back(form_type, text);
  }
  std::sort(forms.begin(), forms.end());
  for (const auto& form : forms) s += form.second;
  return sha1Base64(s);
}

// The ver of the <c/> the server offers after STARTTLS.
std::string advertisedVer(const ParleyServer& server) {
  RawClient raw;
  auto login = raw.loginRaw(server.c2sPort(), false, "romeo", kRomeoPassword, "SCRAM-SHA-1");
  INFO(login.failure);
  REQUIRE(login.success);
  INFO(login.features);
  std::smatch match;
  std::regex caps(elementPattern("c", "http://jabber.org/protocol/caps") + "[^>]*");
  REQUIRE(std::regex_search(login.features, match, caps));
  std::string element = match.str(0);
  CHECK(std::regex_search(element, std::regex(attributePattern("hash", "sha-1"))));
  CHECK(std::regex_search(element, std::regex(attributePattern("node", "https://parley.im"))));
  std::smatch ver;
  REQUIRE(std::regex_search(element, ver, std::regex("ver=['\"]([^'\"]+)['\"]")));
  return ver.str(1);
}

const XmlNode* discoInfo(StropheClient& client, const std::string& id, const std::string& node) {
  std::string node_attr = node.empty() ? "" : " node='" + node + "'";
  auto reply = client.request("<iq type='get' id='" + id + "' to='localhost'><query xmlns='" +
                                  kDiscoInfo + "'" + node_attr + "/></iq>",
                              id);
  REQUIRE(reply != nullptr);
  INFO(reply->xml);
  REQUIRE(reply->type == "result");
  const XmlNode* query = reply->tree.child("query", kDiscoInfo);
  REQUIRE(query != nullptr);
  return query;
}

TEST_CASE("caps: the advertised ver matches disco#info", "[caps]") {
  auto server = startServer();
  auto ver = advertisedVer(*server);
  auto romeo = login(*server, "romeo", "balcony");
  const XmlNode* info = discoInfo(*romeo, "d1", "");
  CHECK(recomputeVer(*info) == ver);
  // XEP-0115 §6.2: the node#ver query gets the same answer, with the node.
  const XmlNode* by_node = discoInfo(*romeo, "d2", "https://parley.im#" + ver);
  CHECK(by_node->attr("node") == "https://parley.im#" + ver);
  CHECK(recomputeVer(*by_node) == ver);
}

TEST_CASE("contact addresses appear in disco#info and in the caps hash", "[caps][contact_info]") {
  ServerOptions options;
  options.extra_toml =
      "[hosts.\"localhost\".contact_info]\n"
      "abuse = [\"mailto:abuse@localhost\"]\n"
      "admin = [\"xmpp:romeo@localhost\", \"mailto:romeo@localhost\"]\n";
  auto server = startServer(options);
  auto ver = advertisedVer(*server);
  auto romeo = login(*server, "romeo", "balcony");
  const XmlNode* info = discoInfo(*romeo, "d1", "");
  const XmlNode* form = info->child("x", "jabber:x:data");
  REQUIRE(form != nullptr);
  std::map<std::string, std::vector<std::string>> fields;
  for (const XmlNode* field : form->childrenNamed("field")) {
    for (const XmlNode* value : field->childrenNamed("value")) {
      fields[field->attr("var")].push_back(value->text);
    }
  }
  CHECK(fields["FORM_TYPE"] == std::vector<std::string>{"http://jabber.org/network/serverinfo"});
  CHECK(fields["abuse-addresses"] == std::vector<std::string>{"mailto:abuse@localhost"});
  CHECK(fields["admin-addresses"] ==
        std::vector<std::string>{"xmpp:romeo@localhost", "mailto:romeo@localhost"});
  CHECK(fields.count("sales-addresses") == 0);
  CHECK(recomputeVer(*info) == ver);
}

TEST_CASE("without contact addresses disco#info has no serverinfo form", "[contact_info]") {
  auto server = startServer();
  auto romeo = login(*server, "romeo", "balcony");
  // Other forms may be there (http_upload's max-file-size), but none of FORM_TYPE serverinfo.
  for (const XmlNode* form : discoInfo(*romeo, "d1", "")->childrenNamed("x")) {
    for (const XmlNode* field : form->childrenNamed("field")) {
      if (field->attr("var") != "FORM_TYPE") continue;
      const XmlNode* value = field->child("value");
      CHECK((value == nullptr || value->text != "http://jabber.org/network/serverinfo"));
    }
  }
}

TEST_CASE("an unknown contact_info key is a config error", "[contact_info]") {
  ServerOptions options;
  options.extra_toml = "[hosts.\"localhost\".contact_info]\nphone = [\"tel:123\"]\n";
  ParleyServer server(options);
  CHECK_FALSE(server.start());
}

}  // namespace
}  // namespace parley::integration
