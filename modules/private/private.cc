// XEP-0049 private XML storage: an account keeps arbitrary XML on its server, one entry per
// namespace, readable and writable only by the account itself.
#include <memory>

#include "core/module.h"
#include "private_query.h"
#include "xml/serializer.h"
#include "xml/stream_parser.h"

namespace parley::modules {
namespace {

using core::Addressee;
using core::Handled;
using core::StanzaEvent;
using Condition = xmpp::StanzaError::Condition;

struct PrivateState {
  storage::UserStore& store;
  std::string domain;
};

class Private final : public core::Module {
 public:
  Result<void> load(core::ModuleContext& ctx) override {
    auto state =
        std::make_shared<const PrivateState>(PrivateState{ctx.openStore("private"), ctx.domain()});
    ctx.addAccountFeature(private_storage::kPrivateNs);
    using Handler = std::function<Handled(StanzaEvent&)>;
    ctx.hook(core::events::iqGet(Addressee::Self, private_storage::kPrivateNs, "query"),
             Handler([state](StanzaEvent& ev) { return get(*state, ev); }));
    ctx.hook(core::events::iqSet(Addressee::Self, private_storage::kPrivateNs, "query"),
             Handler([state](StanzaEvent& ev) { return set(state, ev); }));
    // XEP-0049 §2.3: another user's private data is forbidden (preferred over the
    // service-unavailable some servers answer).
    for (auto key : {core::events::iqGet(Addressee::Bare, private_storage::kPrivateNs, "query"),
                     core::events::iqSet(Addressee::Bare, private_storage::kPrivateNs, "query")}) {
      ctx.hook(key, Handler([](StanzaEvent& ev) { return ev.bounce(Condition::Forbidden); }));
    }
    return {};
  }

 private:
  static Handled get(const PrivateState& state, StanzaEvent& ev) {
    auto request = private_storage::parseGet(*ev.element().firstChild());
    if (!request) return ev.bounce(request.error());
    xml::Element query("query", std::string(private_storage::kPrivateNs));
    auto text = state.store.get(state.domain, ev.from.localpart(), request->xmlns());
    std::optional<xml::Element> parsed;
    if (text) {
      if (auto element = xml::parseElement(*text)) parsed = std::move(*element);
    }
    if (parsed) {
      private_storage::appendStored(query, *parsed);
    } else {
      // Nothing stored: the request's own (empty) element comes back.
      query.addChild(*request);
    }
    return ev.reply(xmpp::resultWith(ev.element(), std::move(query)));
  }

  // Stores every namespace of the query at once; the result goes out once it is on disk.
  static Handled set(const std::shared_ptr<const PrivateState>& state, StanzaEvent& ev) {
    auto entries = private_storage::parseSet(*ev.element().firstChild());
    if (!entries) return ev.bounce(entries.error());
    std::vector<storage::UserStore::Change> changes;
    for (auto& [xmlns, stored] : *entries) changes.push_back({xmlns, xml::toString(stored)});
    state->store.apply(state->domain, std::string(ev.from.localpart()), std::move(changes),
                       ev.resultAfterWrite("storing private XML"));
    return Handled::Yes;
  }
};

}  // namespace
PARLEY_MODULE("private", Private);
}  // namespace parley::modules
