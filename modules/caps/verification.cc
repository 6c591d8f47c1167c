// The XEP-0115 verification string and its SHA-1 hash.
#include "verification.h"

#include <openssl/sha.h>

#include <algorithm>
#include <optional>
#include <tuple>

#include "auth/base64.h"

namespace parley::modules::caps {
namespace {

constexpr std::string_view kDataForms = "jabber:x:data";

struct Field {
  std::string var;
  std::vector<std::string> values;
};

std::vector<std::string> valuesOf(const xml::Element& field) {
  std::vector<std::string> values;
  for (const auto& node : field.children()) {
    if (node.isElement() && node.element->is("value", kDataForms)) {
      values.push_back(node.element->text());
    }
  }
  return values;
}

// §5.1 step 7 for one form: FORM_TYPE, then each field sorted by var with sorted values.
std::optional<std::pair<std::string, std::string>> formString(const xml::Element& form) {
  std::optional<std::string> form_type;
  std::vector<Field> fields;
  for (const auto& node : form.children()) {
    if (!node.isElement() || !node.element->is("field", kDataForms)) continue;
    const auto& field = *node.element;
    auto values = valuesOf(field);
    if (field.attr("var") == "FORM_TYPE") {
      form_type = values.empty() ? std::string() : values.front();
    } else {
      fields.push_back(Field{std::string(field.attr("var")), std::move(values)});
    }
  }
  if (!form_type) return std::nullopt;
  std::sort(fields.begin(), fields.end(),
            [](const Field& a, const Field& b) { return a.var < b.var; });
  std::string out = *form_type + "<";
  for (auto& field : fields) {
    out += field.var + "<";
    std::sort(field.values.begin(), field.values.end());
    for (const auto& value : field.values) out += value + "<";
  }
  return std::pair{*form_type, out};
}

}  // namespace

std::string verificationString(std::vector<CapsIdentity> identities,
                               std::vector<std::string> features,
                               const std::vector<xml::Element>& forms) {
  std::sort(identities.begin(), identities.end(), [](const auto& a, const auto& b) {
    return std::tie(a.category, a.type, a.lang, a.name) <
           std::tie(b.category, b.type, b.lang, b.name);
  });
  std::string out;
  for (const auto& identity : identities) {
    out +=
        identity.category + "/" + identity.type + "/" + identity.lang + "/" + identity.name + "<";
  }
  std::sort(features.begin(), features.end());
  features.erase(std::unique(features.begin(), features.end()), features.end());
  for (const auto& feature : features) out += feature + "<";
  std::vector<std::pair<std::string, std::string>> form_strings;
  for (const auto& form : forms) {
    if (auto text = formString(form)) form_strings.push_back(std::move(*text));
  }
  std::sort(form_strings.begin(), form_strings.end());
  for (const auto& [form_type, text] : form_strings) out += text;
  return out;
}

std::string verification(std::vector<CapsIdentity> identities, std::vector<std::string> features,
                         const std::vector<xml::Element>& forms) {
  auto text = verificationString(std::move(identities), std::move(features), forms);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return auth::base64Encode(
      std::string_view(reinterpret_cast<const char*>(digest), SHA_DIGEST_LENGTH));
}

}  // namespace parley::modules::caps
