// XEP-0115 verification strings, checked against the examples of §5.2 and §5.3.
#include "caps/verification.h"

#include <catch2/catch.hpp>

namespace parley::modules::caps {
namespace {

const std::vector<std::string> kFeatures = {
    "http://jabber.org/protocol/disco#items", "http://jabber.org/protocol/caps",
    "http://jabber.org/protocol/muc", "http://jabber.org/protocol/disco#info"};

TEST_CASE("caps: the simple example of XEP-0115 §5.2", "[caps]") {
  std::vector<CapsIdentity> identities = {{"client", "pc", "", "Exodus 0.9.1"}};
  CHECK(verificationString(identities, kFeatures, {}) ==
        "client/pc//Exodus 0.9.1<http://jabber.org/protocol/caps<"
        "http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<"
        "http://jabber.org/protocol/muc<");
  CHECK(verification(identities, kFeatures, {}) == "QgayPKawpkPSDYmwT/WM94uAlu0=");
  // Duplicated features count once, as disco#info lists them once.
  auto doubled = kFeatures;
  doubled.push_back("http://jabber.org/protocol/muc");
  CHECK(verification(identities, doubled, {}) == "QgayPKawpkPSDYmwT/WM94uAlu0=");
}

xml::Element field(std::string var, std::vector<std::string> values, std::string type = {}) {
  xml::Element element{"field", "jabber:x:data"};
  element.setAttr("var", std::move(var));
  if (!type.empty()) element.setAttr("type", std::move(type));
  for (auto& value : values) element.addChild("value", "jabber:x:data").addText(value);
  return element;
}

TEST_CASE("caps: the complex example of XEP-0115 §5.3", "[caps]") {
  std::vector<CapsIdentity> identities = {{"client", "pc", "en", "Psi 0.11"},
                                          {"client", "pc", "el", "\xCE\xA8 0.11"}};
  xml::Element form{"x", "jabber:x:data"};
  form.setAttr("type", "result");
  form.addChild(field("FORM_TYPE", {"urn:xmpp:dataforms:softwareinfo"}, "hidden"));
  form.addChild(field("ip_version", {"ipv6", "ipv4"}));
  form.addChild(field("os", {"Mac"}));
  form.addChild(field("os_version", {"10.5.1"}));
  form.addChild(field("software", {"Psi"}));
  form.addChild(field("software_version", {"0.11"}));
  CHECK(verification(identities, kFeatures, {form}) == "q07IKJEyjvHSyhy//CH0CxmKi8w=");

  // A form without FORM_TYPE is left out of the hash.
  xml::Element stray{"x", "jabber:x:data"};
  stray.addChild(field("os", {"Linux"}));
  CHECK(verification(identities, kFeatures, {form, stray}) == "q07IKJEyjvHSyhy//CH0CxmKi8w=");
}

}  // namespace
}  // namespace parley::modules::caps
