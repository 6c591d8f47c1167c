// XEP-0054 vcard-temp: each account stores its own vCard, anyone may read it; and XEP-0153:
// the server adds the stored photo hash to broadcast presences that lack one.
#include <memory>

#include "avatar.h"
#include "core/module.h"
#include "xml/serializer.h"
#include "xml/stream_parser.h"

namespace parley::modules {
namespace {

using core::Addressee;
using core::Handled;
using core::StanzaEvent;
using Condition = xmpp::StanzaError::Condition;

// XEP-0153 stamping runs before every other pre-presence handler (blocking included): the
// stanza is re-routed with the hash added, and only that second pass reaches them.
constexpr int kAvatarStampPriority = core::priority::kPolicy + 50;

// Immutable after load; shared with storage callbacks.
struct VcardState {
  storage::UserStore& store;
  std::string domain;
  size_t max_size;
};

// Continues on this worker's loop from a storage callback; inline off a worker (tests).
xml::Element emptyVcard() { return xml::Element("vCard", std::string(vcard::kVcardNs)); }

bool isEmpty(const xml::Element& vcard) {
  return vcard.childElementCount() == 0 &&
         vcard.text().find_first_not_of(" \t\r\n") == std::string::npos;
}

class Vcard final : public core::Module {
 public:
  Result<void> load(core::ModuleContext& ctx) override {
    if (auto known = ctx.knownOptions({"max_size"}); !known) {
      return fail(known.error().toString());
    }
    auto max_size = ctx.option<int64_t>("max_size", 512 * 1024, {.min = 1024, .max = 16 << 20});
    if (!max_size) return fail(max_size.error().toString());
    auto state = std::make_shared<const VcardState>(
        VcardState{ctx.openStore(vcard::kStoreName), ctx.domain(), static_cast<size_t>(*max_size)});
    ctx.addFeature(vcard::kVcardNs);
    ctx.addAccountFeature(vcard::kVcardNs);
    using Handler = std::function<Handled(StanzaEvent&)>;
    ctx.hook(core::events::iqGet(Addressee::Self, vcard::kVcardNs, "vCard"),
             Handler([state](StanzaEvent& ev) { return getOwn(*state, ev); }));
    ctx.hook(core::events::iqGet(Addressee::Bare, vcard::kVcardNs, "vCard"),
             Handler([state](StanzaEvent& ev) { return getOther(*state, ev); }));
    ctx.hook(core::events::iqSet(Addressee::Self, vcard::kVcardNs, "vCard"),
             Handler([state](StanzaEvent& ev) { return set(state, ev); }));
    // XEP-0054 §3.2: nobody sets another user's vCard.
    ctx.hook(core::events::iqSet(Addressee::Bare, vcard::kVcardNs, "vCard"),
             Handler([](StanzaEvent& ev) { return ev.bounce(Condition::Forbidden); }));
    ctx.hook(core::events::prePresence(Addressee::Self),
             Handler([state](StanzaEvent& ev) { return stampAvatar(*state, ev); }),
             kAvatarStampPriority);
    return {};
  }

 private:
  static std::optional<xml::Element> stored(const VcardState& state, std::string_view user) {
    auto text = state.store.get(state.domain, user, vcard::kVcardKey);
    if (!text) return std::nullopt;
    auto parsed = xml::parseElement(*text);
    if (!parsed) {
      log::warn("mod_vcard ", user, "@", state.domain, ": stored vCard is unreadable");
      return std::nullopt;
    }
    return std::move(*parsed);
  }

  // XEP-0054 §3.1: one's own vCard, or an empty one when none is stored.
  static Handled getOwn(const VcardState& state, StanzaEvent& ev) {
    auto vcard = stored(state, ev.from.localpart());
    return ev.reply(xmpp::resultWith(ev.element(), vcard ? std::move(*vcard) : emptyVcard()));
  }

  // XEP-0054 §3.3: vCards are world-readable. No vCard or no such user:
  // service-unavailable for both, so the answer does not reveal whether the account exists.
  static Handled getOther(const VcardState& state, StanzaEvent& ev) {
    auto user = ev.to.localpart();
    if (!ev.host.userExists(user)) return ev.bounce(Condition::ServiceUnavailable);
    auto vcard = stored(state, user);
    if (!vcard) return ev.bounce(Condition::ServiceUnavailable);
    return ev.reply(xmpp::resultWith(ev.element(), std::move(*vcard)));
  }

  // XEP-0054 §3.2: replaces the whole vCard; the result goes out once it is on disk.
  static Handled set(const std::shared_ptr<const VcardState>& state, StanzaEvent& ev) {
    const auto* vcard = ev.element().child("vCard", vcard::kVcardNs);
    if (!vcard) return ev.bounce(Condition::BadRequest);
    auto text = xml::toString(*vcard);
    if (text.size() > state->max_size) {
      return ev.bounce(
          xmpp::StanzaError::of(Condition::NotAcceptable,
                                "the vCard exceeds " + std::to_string(state->max_size) + " bytes"));
    }
    std::vector<storage::UserStore::Change> changes;
    if (isEmpty(*vcard)) {
      // An empty vCard clears it.
      changes.push_back({std::string(vcard::kVcardKey), std::nullopt});
      changes.push_back({std::string(vcard::kPhotoHashKey), std::nullopt});
    } else {
      changes.push_back({std::string(vcard::kVcardKey), std::move(text)});
      changes.push_back({std::string(vcard::kPhotoHashKey), vcard::photoHash(*vcard)});
    }
    state->store.apply(state->domain, std::string(ev.from.localpart()), std::move(changes),
                       ev.resultAfterWrite("storing the vCard"));
    return Handled::Yes;
  }

  // XEP-0153 done by the server, as ejabberd's mod_vcard_xupdate does: a broadcast
  // available presence without <x xmlns='vcard-temp:x:update'/> gets the stored photo
  // hash and is routed again in place of the original.
  static Handled stampAvatar(const VcardState& state, StanzaEvent& ev) {
    const auto& presence = ev.element();
    if (!ev.origin || presence.findAttr("to") || presence.findAttr("type")) return Handled::No;
    if (vcard::hasAvatarUpdate(presence)) return Handled::No;
    auto hash = state.store.get(state.domain, ev.from.localpart(), vcard::kPhotoHashKey);
    if (!hash) return Handled::No;  // no vCard stored: nothing to advertise
    auto stamped = std::make_shared<const xml::Element>(vcard::withAvatarUpdate(presence, *hash));
    ev.router.routeFromClient(*ev.origin, std::move(stamped));
    return Handled::Yes;
  }
};

}  // namespace
PARLEY_MODULE("vcard", Vcard);
}  // namespace parley::modules
