// XEP-0030: disco#info and disco#items for the server and for one's own account,
// built from what the loaded modules registered, so it always tells the truth.
#include "core/module.h"
#include "disco_extensions.h"

namespace parley::modules {
namespace {

using core::Addressee;
using core::Handled;
using core::StanzaEvent;
using Condition = xmpp::StanzaError::Condition;

xml::Element infoQuery(const std::vector<core::Identity>& identities,
                       const std::vector<std::string>& features) {
  xml::Element query("query", std::string(ns::kDiscoInfo));
  for (const auto& identity : identities) {
    auto& element = query.addChild("identity", std::string(ns::kDiscoInfo));
    element.setAttr("category", identity.category);
    element.setAttr("type", identity.type);
    if (!identity.name.empty()) element.setAttr("name", identity.name);
  }
  // XEP-0030 §3.1: each feature once.
  std::vector<std::string> sorted = features;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  for (const auto& feature : sorted) {
    query.addChild("feature", std::string(ns::kDiscoInfo)).setAttr("var", feature);
  }
  return query;
}

class Disco final : public core::Module {
 public:
  Result<void> load(core::ModuleContext& ctx) override {
    ctx.addIdentity("server", "im", "Parley");
    ctx.addFeature(ns::kDiscoInfo);
    ctx.addFeature(ns::kDiscoItems);
    ctx.addAccountFeature(ns::kDiscoInfo);
    ctx.hook(core::events::iqGet(Addressee::Host, ns::kDiscoInfo, "query"), &Disco::hostInfo);
    ctx.hook(core::events::iqGet(Addressee::Host, ns::kDiscoItems, "query"), &Disco::items);
    ctx.hook(core::events::iqGet(Addressee::Self, ns::kDiscoInfo, "query"), &Disco::accountInfo);
    ctx.hook(core::events::iqGet(Addressee::Self, ns::kDiscoItems, "query"), &Disco::items);
    return {};
  }

 private:
  static bool hasNode(const StanzaEvent& ev) {
    const auto* query = ev.element().firstChild();
    return query && !query->attr("node").empty();
  }

  static Handled hostInfo(StanzaEvent& ev) {
    if (hasNode(ev)) return ev.bounce(Condition::ItemNotFound);
    auto query = infoQuery(ev.host.identities(), ev.host.features());
    // XEP-0128: extended forms other modules registered (contact addresses, XEP-0157).
    for (auto& form : disco::infoExtensions(ev.host.domain())) query.addChild(std::move(form));
    return ev.reply(xmpp::resultWith(ev.element(), std::move(query)));
  }

  static Handled accountInfo(StanzaEvent& ev) {
    if (hasNode(ev)) return ev.bounce(Condition::ItemNotFound);
    static const std::vector<core::Identity> kAccount = {{"account", "registered", ""}};
    return ev.reply(xmpp::resultWith(ev.element(), infoQuery(kAccount, ev.host.accountFeatures())));
  }

  static Handled items(StanzaEvent& ev) {
    if (hasNode(ev)) return ev.bounce(Condition::ItemNotFound);
    return ev.reply(
        xmpp::resultWith(ev.element(), xml::Element("query", std::string(ns::kDiscoItems))));
  }
};

}  // namespace
PARLEY_MODULE("disco", Disco);
}  // namespace parley::modules
