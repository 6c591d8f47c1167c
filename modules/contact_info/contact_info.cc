// XEP-0157: contact addresses for the server (abuse, admin, feedback, sales, security,
// support), published in the server's disco#info as an extended form (XEP-0128).
#include "core/module.h"
#include "disco/disco_extensions.h"

namespace parley::modules {
namespace {

constexpr std::string_view kServerInfo = "http://jabber.org/network/serverinfo";

// XEP-0157 §2: the registered field names, in the order we write them.
constexpr std::string_view kAddressKinds[] = {"abuse", "admin",    "feedback",
                                              "sales", "security", "support"};

class ContactInfo final : public core::Module {
 public:
  ~ContactInfo() override { disco::removeInfoExtensions(this); }

  Result<void> load(core::ModuleContext& ctx) override {
    if (auto known =
            ctx.knownOptions({"abuse", "admin", "feedback", "sales", "security", "support"});
        !known) {
      return fail(known.error().toString());
    }
    xml::Element form("x", std::string(ns::kDataForms));
    form.setAttr("type", "result");
    auto& form_type = form.addChild("field", std::string(ns::kDataForms));
    form_type.setAttr("var", "FORM_TYPE").setAttr("type", "hidden");
    form_type.addChild("value", std::string(ns::kDataForms)).addText(kServerInfo);
    bool any = false;
    for (auto kind : kAddressKinds) {
      auto addresses = ctx.option<std::vector<std::string>>(kind, {});
      if (!addresses) return fail(addresses.error().toString());
      if (addresses->empty()) continue;
      any = true;
      // XEP-0157 §2: field names are "<kind>-addresses", values are URIs.
      auto& field = form.addChild("field", std::string(ns::kDataForms));
      field.setAttr("var", std::string(kind) + "-addresses");
      field.setAttr("type", "list-multi");
      for (const auto& address : *addresses) {
        field.addChild("value", std::string(ns::kDataForms)).addText(address);
      }
    }
    if (!any) return {};  // an empty form would only say "no contacts", which absence says too
    disco::addInfoExtension(ctx.domain(), this, std::move(form));
    return {};
  }
};

}  // namespace
PARLEY_MODULE("contact_info", ContactInfo);
}  // namespace parley::modules
