// XEP-0115: entity capabilities of the server itself, offered as a stream feature, and the
// disco#info answer for its caps node ("https://parley.im#VER").
#include <atomic>

#include "core/module.h"
#include "disco/disco_extensions.h"
#include "verification.h"

namespace parley::modules {
namespace {

using core::Addressee;
using core::Handled;
using core::StanzaEvent;

constexpr std::string_view kNode = "https://parley.im";

std::vector<caps::CapsIdentity> capsIdentities(const core::Host& host) {
  std::vector<caps::CapsIdentity> identities;
  for (const auto& identity : host.identities()) {
    identities.push_back({identity.category, identity.type, "", identity.name});
  }
  return identities;
}

std::string currentVerification(const core::Host& host) {
  return caps::verification(capsIdentities(host), host.features(),
                            disco::infoExtensions(host.domain()));
}

// The disco#info query, as the disco module writes it for the server, with the node.
xml::Element infoQuery(const core::Host& host, std::string_view node) {
  xml::Element query("query", std::string(ns::kDiscoInfo));
  query.setAttr("node", std::string(node));
  for (const auto& identity : host.identities()) {
    auto& element = query.addChild("identity", std::string(ns::kDiscoInfo));
    element.setAttr("category", identity.category);
    element.setAttr("type", identity.type);
    if (!identity.name.empty()) element.setAttr("name", identity.name);
  }
  std::vector<std::string> features = host.features();
  std::sort(features.begin(), features.end());
  features.erase(std::unique(features.begin(), features.end()), features.end());
  for (const auto& feature : features) {
    query.addChild("feature", std::string(ns::kDiscoInfo)).setAttr("var", feature);
  }
  for (auto& form : disco::infoExtensions(host.domain())) query.addChild(std::move(form));
  return query;
}

class Caps final : public core::Module {
 public:
  Result<void> load(core::ModuleContext&) override { return {}; }

  // Once every module registered its features, so the hash covers all of them.
  Result<void> allLoaded(core::ModuleContext& ctx) override {
    advertised_ = currentVerification(ctx.host());
    std::string feature = "<c xmlns='" + std::string(ns::kCaps) + "' hash='sha-1' node='" +
                          std::string(kNode) + "' ver='" + advertised_ + "'/>";
    // XEP-0115 §6.3: servers may announce their caps in stream features; before
    // authentication too, so a client can look up its cache early.
    ctx.addStreamFeature(core::StreamPhase::Unauthenticated, feature);
    ctx.addStreamFeature(core::StreamPhase::Authenticated, feature);
    // Before the disco module (priority 0), which refuses every node with item-not-found.
    ctx.hook(core::events::iqGet(Addressee::Host, ns::kDiscoInfo, "query"),
             std::function<Handled(StanzaEvent&)>([this](StanzaEvent& ev) { return nodeInfo(ev); }),
             core::priority::kDefault + 10);
    return {};
  }

 private:
  Handled nodeInfo(StanzaEvent& ev) {
    const auto* query = ev.element().firstChild();
    auto node = query ? query->attr("node") : std::string_view();
    if (node.size() <= kNode.size() + 1 || node.substr(0, kNode.size()) != kNode ||
        node[kNode.size()] != '#') {
      return Handled::No;
    }
    if (currentVerification(ev.host) != advertised_ && !warned_.exchange(true)) {
      log::warn("mod_caps ", ev.host.domain(),
                ": disco#info changed after caps was loaded; list caps last in 'modules'");
    }
    // XEP-0115 §6.2: the same answer as without a node, with the node echoed.
    return ev.reply(xmpp::resultWith(ev.element(), infoQuery(ev.host, node)));
  }

  std::string advertised_;  // set at load, read-only afterwards
  std::atomic<bool> warned_{false};
};

}  // namespace
PARLEY_MODULE("caps", Caps);
}  // namespace parley::modules
