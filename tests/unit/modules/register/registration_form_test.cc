// Unit tests for XEP-0077 payloads: field reading, sign-up and password-change checks, forms.
#include "register/registration_form.h"

#include <catch2/catch.hpp>

#include "xml/element.h"
#include "xml/serializer.h"

namespace parley::modules {
namespace {

using Condition = xmpp::StanzaError::Condition;

xml::Element query() { return xml::Element("query", std::string(kRegisterNs)); }

xml::Element legacyQuery(std::optional<std::string> username, std::optional<std::string> password) {
  auto q = query();
  if (username) q.addChild("username", std::string(kRegisterNs)).addText(*username);
  if (password) q.addChild("password", std::string(kRegisterNs)).addText(*password);
  return q;
}

TEST_CASE("readFields reads legacy fields and a submitted data form", "[register]") {
  SECTION("legacy fields; absent is not empty") {
    auto fields = readFields(legacyQuery("bill", std::nullopt));
    CHECK(fields.username == "bill");
    CHECK_FALSE(fields.password.has_value());
    CHECK_FALSE(fields.remove);
    CHECK(readFields(legacyQuery("", "")).password == "");
  }
  SECTION("remove") {
    auto q = query();
    q.addChild("remove", std::string(kRegisterNs));
    CHECK(readFields(q).remove);
  }
  SECTION("a submitted form takes precedence over legacy fields") {
    auto q = legacyQuery("legacy", "old");
    auto& form = q.addChild("x", "jabber:x:data");
    form.setAttr("type", "submit");
    auto& user = form.addChild("field", "jabber:x:data");
    user.setAttr("var", "username");
    user.addChild("value", "jabber:x:data").addText("formuser");
    auto& pass = form.addChild("field", "jabber:x:data");
    pass.setAttr("var", "password");
    pass.addChild("value", "jabber:x:data").addText("formpass");
    auto fields = readFields(q);
    CHECK(fields.username == "formuser");
    CHECK(fields.password == "formpass");
  }
  SECTION("an unsubmitted form is ignored") {
    auto q = legacyQuery("legacy", "old");
    auto& form = q.addChild("x", "jabber:x:data");
    form.setAttr("type", "form");
    auto& user = form.addChild("field", "jabber:x:data");
    user.setAttr("var", "username");
    user.addChild("value", "jabber:x:data").addText("formuser");
    CHECK(readFields(q).username == "legacy");
  }
}

TEST_CASE("checkSignup accepts good sign-ups and names the error of bad ones", "[register]") {
  struct Case {
    std::optional<std::string> username, password;
    std::optional<Condition> error;  // nullopt = accepted
    std::string prepared;
  };
  auto c = GENERATE(values<Case>({
      {"bill", "secret", std::nullopt, "bill"},
      {"Bill", "secret", std::nullopt, "bill"},
      {"juliet.capulet", "x", std::nullopt, "juliet.capulet"},
      {std::nullopt, "secret", Condition::NotAcceptable, ""},
      {"", "secret", Condition::NotAcceptable, ""},
      {"bill", std::nullopt, Condition::NotAcceptable, ""},
      {"bill", "", Condition::NotAcceptable, ""},
      {"bill", std::string(kMaxPasswordBytes + 1, 'p'), Condition::NotAcceptable, ""},
      {"bill@example.com", "secret", Condition::JidMalformed, ""},
      {"bill/phone", "secret", Condition::JidMalformed, ""},
      {"bi ll", "secret", Condition::JidMalformed, ""},
      {"bill:x", "secret", Condition::JidMalformed, ""},
      {"<bill>", "secret", Condition::JidMalformed, ""},
      {std::string(1100, 'b'), "secret", Condition::JidMalformed, ""},
  }));
  INFO("username " << c.username.value_or("(absent)") << " password "
                   << c.password.value_or("(absent)").substr(0, 20));
  auto checked = checkSignup(readFields(legacyQuery(c.username, c.password)));
  if (c.error) {
    REQUIRE_FALSE(checked);
    CHECK(checked.error().condition == *c.error);
  } else {
    REQUIRE(checked);
    CHECK(checked->username == c.prepared);
    CHECK(checked->password == *c.password);
  }
}

TEST_CASE("checkPasswordChange: own account only and a password required", "[register]") {
  struct Case {
    std::optional<std::string> username, password;
    std::optional<Condition> error;
  };
  auto c = GENERATE(values<Case>({
      {"romeo", "new", std::nullopt},
      {"Romeo", "new", std::nullopt},
      {std::nullopt, "new", std::nullopt},
      {"juliet", "new", Condition::NotAllowed},
      {"romeo@x", "new", Condition::NotAllowed},
      {"romeo", std::nullopt, Condition::BadRequest},
      {"romeo", "", Condition::BadRequest},
      {"romeo", std::string(kMaxPasswordBytes + 1, 'p'), Condition::NotAcceptable},
  }));
  INFO("username " << c.username.value_or("(absent)"));
  auto checked = checkPasswordChange(readFields(legacyQuery(c.username, c.password)), "romeo");
  if (c.error) {
    REQUIRE_FALSE(checked);
    CHECK(checked.error().condition == *c.error);
  } else {
    REQUIRE(checked);
    CHECK(*checked == *c.password);
  }
}

TEST_CASE("the registration form offers legacy fields and a data form", "[register]") {
  auto form = registrationForm("Choose wisely");
  CHECK(form.is("query", kRegisterNs));
  CHECK(form.childText("instructions", kRegisterNs) == "Choose wisely");
  CHECK(form.child("username", kRegisterNs) != nullptr);
  CHECK(form.child("password", kRegisterNs) != nullptr);
  const auto* x = form.child("x", "jabber:x:data");
  REQUIRE(x != nullptr);
  CHECK(x->attr("type") == "form");
  std::string text = xml::toString(form);
  CHECK(text.find("var='FORM_TYPE'") != std::string::npos);
  CHECK(text.find("var='username'") != std::string::npos);
  CHECK(text.find("var='password'") != std::string::npos);
}

TEST_CASE("an account's registration shows registered and the username", "[register]") {
  auto q = registeredQuery("romeo");
  CHECK(q.child("registered", kRegisterNs) != nullptr);
  CHECK(q.childText("username", kRegisterNs) == "romeo");
}

}  // namespace
}  // namespace parley::modules
