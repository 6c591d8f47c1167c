// XEP-0202: the server's time (UTC, offset +00:00).
#include <chrono>
#include <ctime>

#include "core/module.h"

namespace parley::modules {
namespace {

using core::Addressee;
using core::Handled;
using core::StanzaEvent;

// XEP-0082 date-time with milliseconds, always UTC.
std::string utcStamp(std::chrono::system_clock::time_point now) {
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return buffer;
}

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
        .addText(utcStamp(std::chrono::system_clock::now()));
    return ev.reply(xmpp::resultWith(ev.element(), std::move(time)));
  }
};

}  // namespace
PARLEY_MODULE("time", Time);
}  // namespace parley::modules
