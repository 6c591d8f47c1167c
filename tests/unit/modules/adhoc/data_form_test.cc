// XEP-0004 form building and reading for ad-hoc commands.
#include "adhoc/data_form.h"

#include <catch2/catch.hpp>

#include "xml/serializer.h"

namespace parley::modules::adhoc {
namespace {

TEST_CASE("a built form reads back", "[adhoc]") {
  auto form = makeForm("form", "Adding a User", "Fill it in",
                       {{"FORM_TYPE", "hidden", "", false, {"http://jabber.org/protocol/admin"}},
                        {"accountjid", "jid-single", "JID", true, {}},
                        {"jids", "jid-multi", "", false, {"a@b", "c@d"}}});
  CHECK(form.attr("type") == "form");
  CHECK(form.childText("title", kDataFormsNs) == "Adding a User");
  const auto* required = form.children()[3].element.get();
  REQUIRE(required != nullptr);
  CHECK(required->attr("var") == "accountjid");
  CHECK(required->child("required", kDataFormsNs) != nullptr);

  auto values = formValues(form);
  CHECK(firstValue(values, "FORM_TYPE") == "http://jabber.org/protocol/admin");
  CHECK(values["jids"] == std::vector<std::string>{"a@b", "c@d"});
  CHECK(values.count("accountjid") == 1);
  CHECK(firstValue(values, "accountjid").empty());
  CHECK(firstValue(values, "missing").empty());
}

TEST_CASE("findForm finds only a jabber:x:data child", "[adhoc]") {
  xml::Element command{"command", "http://jabber.org/protocol/commands"};
  CHECK(findForm(command) == nullptr);
  command.addChild("x", "jabber:x:oob");
  CHECK(findForm(command) == nullptr);
  command.addChild("x", std::string(kDataFormsNs)).setAttr("type", "submit");
  REQUIRE(findForm(command) != nullptr);
  CHECK(findForm(command)->attr("type") == "submit");
}

}  // namespace
}  // namespace parley::modules::adhoc
