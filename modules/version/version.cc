// XEP-0092: the server's software name and version (and OS unless hidden).
#include <sys/utsname.h>

#include "core/module.h"

namespace parley::modules {
namespace {

using core::Addressee;
using core::Handled;
using core::StanzaEvent;

constexpr std::string_view kName = "Parley";
constexpr std::string_view kVersion = "0.1.0";

class Version final : public core::Module {
 public:
  Result<void> load(core::ModuleContext& ctx) override {
    if (auto known = ctx.knownOptions({"hide_os"}); !known) return fail(known.error().toString());
    auto hide_os = ctx.option<bool>("hide_os", false);
    if (!hide_os) return fail(hide_os.error().toString());
    xml::Element query("query", std::string(ns::kVersion));
    query.addChild("name", std::string(ns::kVersion)).addText(kName);
    query.addChild("version", std::string(ns::kVersion)).addText(kVersion);
    if (!*hide_os) {
      utsname info{};
      if (uname(&info) == 0) {
        query.addChild("os", std::string(ns::kVersion))
            .addText(std::string(info.sysname) + " " + info.release);
      }
    }
    query_ = std::move(query);
    ctx.addFeature(ns::kVersion);
    ctx.hook(core::events::iqGet(Addressee::Host, ns::kVersion, "query"),
             std::function<Handled(StanzaEvent&)>([this](StanzaEvent& ev) {
               return ev.reply(xmpp::resultWith(ev.element(), query_));
             }));
    return {};
  }

 private:
  xml::Element query_;  // built once at load; handlers only read it
};

}  // namespace
PARLEY_MODULE("version", Version);
}  // namespace parley::modules
