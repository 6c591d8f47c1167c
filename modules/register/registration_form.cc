// XEP-0077 payloads: field reading, checks and the forms the server sends.
#include "registration_form.h"

#include "xml/namespaces.h"
#include "xmpp/jid.h"

namespace parley::modules {
namespace {

using Condition = xmpp::StanzaError::Condition;

constexpr std::string_view kDataFormsNs = "jabber:x:data";

std::optional<std::string> legacyField(const xml::Element& query, std::string_view name) {
  const auto* field = query.child(name, kRegisterNs);
  if (!field) return std::nullopt;
  return field->text();
}

// The first <value/> of the field VAR in a submitted form, or nullopt when the field is absent.
std::optional<std::string> formField(const xml::Element& form, std::string_view var) {
  for (const auto& node : form.children()) {
    if (!node.isElement()) continue;
    const auto& field = *node.element;
    if (!field.is("field", kDataFormsNs) || field.attr("var") != var) continue;
    return field.childText("value", kDataFormsNs);
  }
  return std::nullopt;
}

}  // namespace

RegistrationFields readFields(const xml::Element& query) {
  RegistrationFields fields;
  fields.username = legacyField(query, "username");
  fields.password = legacyField(query, "password");
  fields.remove = query.child("remove", kRegisterNs) != nullptr;
  const auto* form = query.child("x", kDataFormsNs);
  if (form && form->attr("type") == "submit") {
    if (auto username = formField(*form, "username")) fields.username = std::move(username);
    if (auto password = formField(*form, "password")) fields.password = std::move(password);
  }
  return fields;
}

Result<Signup, xmpp::StanzaError> checkSignup(const RegistrationFields& fields) {
  if (!fields.username || fields.username->empty()) {
    return Unexpected(xmpp::StanzaError::of(Condition::NotAcceptable, "A username is required"));
  }
  if (!fields.password || fields.password->empty()) {
    return Unexpected(xmpp::StanzaError::of(Condition::NotAcceptable, "A password is required"));
  }
  if (fields.password->size() > kMaxPasswordBytes) {
    return Unexpected(xmpp::StanzaError::of(Condition::NotAcceptable, "The password is too long"));
  }
  auto username = xmpp::nodeprep(*fields.username);
  if (!username) {
    return Unexpected(
        xmpp::StanzaError::of(Condition::JidMalformed, "The username is not a valid localpart"));
  }
  return Signup{std::move(*username), *fields.password};
}

Result<std::string, xmpp::StanzaError> checkPasswordChange(const RegistrationFields& fields,
                                                           std::string_view user) {
  if (fields.username) {
    auto username = xmpp::nodeprep(*fields.username);
    if (!username || *username != user) {
      return Unexpected(
          xmpp::StanzaError::of(Condition::NotAllowed, "You may only change your own password"));
    }
  }
  if (!fields.password || fields.password->empty()) {
    return Unexpected(xmpp::StanzaError::of(Condition::BadRequest, "A new password is required"));
  }
  if (fields.password->size() > kMaxPasswordBytes) {
    return Unexpected(xmpp::StanzaError::of(Condition::NotAcceptable, "The password is too long"));
  }
  return *fields.password;
}

xml::Element registrationForm(std::string_view instructions) {
  const std::string ns(kRegisterNs);
  const std::string xdata(kDataFormsNs);
  xml::Element query("query", ns);
  query.addChild("instructions", ns).addText(instructions);
  query.addChild("username", ns);
  query.addChild("password", ns);

  auto& form = query.addChild("x", xdata);
  form.setAttr("type", "form");
  form.addChild("title", xdata).addText("Account registration");
  form.addChild("instructions", xdata).addText(instructions);
  auto& form_type = form.addChild("field", xdata);
  form_type.setAttr("type", "hidden").setAttr("var", "FORM_TYPE");
  form_type.addChild("value", xdata).addText(kRegisterNs);
  auto& username = form.addChild("field", xdata);
  username.setAttr("type", "text-single").setAttr("var", "username").setAttr("label", "Username");
  username.addChild("required", xdata);
  auto& password = form.addChild("field", xdata);
  password.setAttr("type", "text-private").setAttr("var", "password").setAttr("label", "Password");
  password.addChild("required", xdata);
  return query;
}

xml::Element registeredQuery(std::string_view user) {
  const std::string ns(kRegisterNs);
  xml::Element query("query", ns);
  query.addChild("registered", ns);
  query.addChild("username", ns).addText(user);
  return query;
}

}  // namespace parley::modules
