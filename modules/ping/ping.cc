// XEP-0199: answer pings sent to the server or on behalf of an account.
#include "core/module.h"

namespace parley::modules {
namespace {

using core::Addressee;
using core::Handled;
using core::StanzaEvent;

class Ping final : public core::Module {
 public:
  Result<void> load(core::ModuleContext& ctx) override {
    ctx.addFeature(ns::kPing);
    for (auto to : {Addressee::Host, Addressee::Self, Addressee::Bare}) {
      ctx.hook(core::events::iqGet(to, ns::kPing, "ping"), &Ping::pong);
    }
    return {};
  }

 private:
  static Handled pong(StanzaEvent& ev) { return ev.reply(xmpp::emptyResult(ev.element())); }
};

}  // namespace
PARLEY_MODULE("ping", Ping);
}  // namespace parley::modules
