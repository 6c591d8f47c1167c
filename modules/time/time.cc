// XEP-0202: the server's time (UTC, offset +00:00).
#include <chrono>
#include <ctime>

#include "core/module.h"
#include "util/clock.h"

namespace parley::modules {
namespace {

using core::Addressee;
using core::Handled;
using core::StanzaEvent;

class Time final : public core::Module {
 public:
  Result<void> load(core::ModuleContext& ctx) override {
    ctx.addFeature(ns::kTime);
    ctx.hook(core::events::iqGet(Addressee::Host, ns::kTime, "time"), &Time::answer);
    return {};
  }

 private:
  static Handled answer(StanzaEvent& ev) {
    xml::Element time("time", std::string(ns::kTime));
    time.addChild("tzo", std::string(ns::kTime)).addText("+00:00");
    time.addChild("utc", std::string(ns::kTime))
        .addText(clock::xmppTimestamp(std::chrono::system_clock::now()));
    return ev.reply(xmpp::resultWith(ev.element(), std::move(time)));
  }
};

}  // namespace
PARLEY_MODULE("time", Time);
}  // namespace parley::modules
