// XEP-0363 HTTP File Upload: the host itself is the upload service. Local users request
// slots over XMPP; files are PUT to and fetched from /upload/DOMAIN/ on the [http] listeners,
// kept under data_dir/upload/DOMAIN/ within a per-user quota, and deleted when they expire
// or their owner's account is deleted.
#include <openssl/rand.h>

#include <algorithm>

#include "core/module.h"
#include "disco/disco_extensions.h"
#include "slot_request.h"
#include "upload_service.h"

namespace parley::modules {
namespace {

using core::Addressee;
using core::Handled;
using core::StanzaEvent;
using http_upload::UploadService;
using Condition = xmpp::StanzaError::Condition;
using Type = xmpp::StanzaError::Type;

constexpr int64_t kMiB = 1024 * 1024;
// Expired files deleted per timer run: bounded work on the loop; the rest go next time.
constexpr size_t kExpiredPerSweep = 1000;

// N random bytes as lowercase hex; aborts if the system's random source fails, as nothing
// guessable may ever be handed out.
std::string randomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  PARLEY_CHECK(
      RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size())) == 1);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : raw) {
    hex.push_back(kHex[c >> 4]);
    hex.push_back(kHex[c & 0xf]);
  }
  return hex;
}

// XEP-0363 §3 / XEP-0128: the service's limit, for clients to check before they ask.
xml::Element serviceForm(uint64_t max_file_size) {
  xml::Element form("x", std::string(ns::kDataForms));
  form.setAttr("type", "result");
  auto& form_type = form.addChild("field", std::string(ns::kDataForms));
  form_type.setAttr("var", "FORM_TYPE").setAttr("type", "hidden");
  form_type.addChild("value", std::string(ns::kDataForms)).addText(http_upload::kNamespace);
  auto& size = form.addChild("field", std::string(ns::kDataForms));
  size.setAttr("var", "max-file-size");
  size.addChild("value", std::string(ns::kDataForms)).addText(std::to_string(max_file_size));
  return form;
}

struct Settings {
  bool allow_anonymous = false;
  std::string public_url;
};

class HttpUpload final : public core::Module {
 public:
  ~HttpUpload() override { disco::removeInfoExtensions(this); }

  Result<void> load(core::ModuleContext& ctx) override {
    auto limits = readLimits(ctx);
    if (!limits) return Unexpected(std::move(limits).error());
    // Off by default: every anonymous login is a new user, so the per-user quota does not
    // bound what anonymous visitors can store.
    auto allow_anonymous = ctx.option<bool>("allow_anonymous", false);
    if (!allow_anonymous) return fail(allow_anonymous.error().toString());

    uint64_t max_size = http_upload::effectiveMaxFileSize(*limits);
    ctx.addIdentity("store", "file", "HTTP File Upload");
    ctx.addFeature(http_upload::kNamespace);
    disco::addInfoExtension(ctx.domain(), this, serviceForm(max_size));
    if (!ctx.host().hasServer()) return {};  // parleyd --check: options only

    const auto& config = ctx.host().server().config();
    auto service = std::make_shared<UploadService>(ctx.domain(), *limits,
                                                   config.data_dir / "upload" / ctx.domain(),
                                                   [] { return std::chrono::system_clock::now(); });
    if (auto prepared = prepareStore(ctx, *service); !prepared) return prepared;
    auto settings =
        std::make_shared<const Settings>(Settings{*allow_anonymous, config.http.public_url});

    ctx.hook(core::events::iqGet(Addressee::Host, http_upload::kNamespace, "request"),
             std::function<Handled(StanzaEvent&)>([service, settings](StanzaEvent& ev) {
               return requestSlot(*service, *settings, ev);
             }));
    ctx.hook(core::events::userDeleted(),
             std::function<Handled(core::UserEvent&)>([service](core::UserEvent& ev) {
               if (size_t removed = service->forgetUser(ev.user)) {
                 log::info("mod_http_upload ", ev.host.domain(), ": deleted ", removed,
                           " files of the deleted account ", ev.user);
               }
               return Handled::No;
             }));
    core::HttpRoute route;
    route.prefix = http_upload::routePrefix(ctx.domain());
    route.max_body_bytes = static_cast<size_t>(max_size);
    route.handler = [service](const std::shared_ptr<core::HttpExchange>& exchange) {
      exchange->respond(http_upload::handleHttp(*service, exchange->request()));
    };
    // Nobody sends up to max_file_size into memory without a slot's authorization.
    route.check_head = [service](const core::HttpRequest& head) {
      return http_upload::checkHead(*service, head);
    };
    if (auto added = ctx.addHttpRoute(std::move(route)); !added) return added;
    // Often enough that a file is gone soon after it expires; GET refuses it meanwhile.
    auto sweep = std::clamp<std::chrono::milliseconds>(
        limits->expire_after / 4, std::chrono::seconds(1), std::chrono::seconds(60));
    ctx.every(sweep, [service] { service->expire(kExpiredPerSweep); });
    return {};
  }

 private:
  static Result<http_upload::Limits> readLimits(core::ModuleContext& ctx) {
    if (auto known = ctx.knownOptions(
            {"max_file_size", "quota", "slot_lifetime", "expire_after", "allow_anonymous"});
        !known) {
      return fail(known.error().toString());
    }
    // Bodies are held in memory while they arrive: keep one within reason.
    auto max_file_size =
        ctx.option<int64_t>("max_file_size", 10 * kMiB, {.min = 1, .max = 1024 * kMiB});
    if (!max_file_size) return fail(max_file_size.error().toString());
    auto quota = ctx.option<int64_t>("quota", 100 * kMiB, {.min = 0, .max = int64_t{1} << 50});
    if (!quota) return fail(quota.error().toString());
    auto slot_lifetime = ctx.option<std::chrono::seconds>(
        "slot_lifetime", std::chrono::minutes(5),
        {.min = std::chrono::seconds(1), .max = std::chrono::hours(24)});
    if (!slot_lifetime) return fail(slot_lifetime.error().toString());
    auto expire_after = ctx.option<std::chrono::seconds>(
        "expire_after", std::chrono::hours(24 * 7),
        {.min = std::chrono::seconds(1), .max = std::chrono::hours(24 * 3650)});
    if (!expire_after) return fail(expire_after.error().toString());
    http_upload::Limits limits;
    limits.max_file_size = static_cast<uint64_t>(*max_file_size);
    limits.quota = static_cast<uint64_t>(*quota);
    limits.slot_lifetime = *slot_lifetime;
    limits.expire_after = *expire_after;
    return limits;
  }

  // At load: what is on disk goes into the ledger, but for unfinished uploads, expired files
  // and files of accounts deleted while the server was down.
  static Result<void> prepareStore(core::ModuleContext& ctx, UploadService& service) {
    if (auto prepared = service.files.prepare(); !prepared) return prepared;
    auto scan = service.files.scan();
    auto now = service.now();
    size_t kept = 0;
    size_t dropped = scan.removed;
    for (auto& file : scan.files) {
      bool orphaned = !ctx.host().isAnonymous() && !ctx.host().userExists(file.user);
      if (orphaned || file.stored_at + service.ledger.limits().expire_after <= now) {
        service.files.remove(file.id);
        ++dropped;
      } else {
        service.ledger.addStored(std::move(file));
        ++kept;
      }
    }
    ctx.log(log::Level::Info, kept, " uploaded files kept, ", dropped, " deleted (expired, ",
            "unfinished or orphaned)");
    return {};
  }

  static Handled bounceWith(StanzaEvent& ev, xmpp::StanzaError error, xml::Element condition) {
    auto reply = xmpp::errorReply(ev.element(), error);
    reply.child("error", ns::kClient)->addChild(std::move(condition));
    return ev.reply(std::move(reply));
  }

  static Handled requestSlot(UploadService& service, const Settings& settings, StanzaEvent& ev) {
    // The files count against an account's quota here: only local users get slots.
    if (!ev.origin || !ev.from.hasLocalpart() || ev.from.domainpart() != ev.host.domain()) {
      return ev.bounce({Condition::Forbidden, Type::Auth, "only local users may upload files"});
    }
    if (ev.host.isAnonymous() && !settings.allow_anonymous) {  // XEP-0363 §5, permanent
      return ev.bounce(
          {Condition::NotAllowed, Type::Cancel, "anonymous users may not upload files"});
    }
    auto request = http_upload::parseSlotRequest(*ev.element().firstChild());
    if (!request) return ev.bounce({Condition::BadRequest, Type::Modify, request.error().message});
    http_upload::Slot slot{randomHex(16),
                           randomHex(24),
                           std::string(ev.from.localpart()),
                           request->filename,
                           request->size,
                           request->content_type,
                           {}};
    if (auto refusal = service.ledger.open(slot, service.now())) {
      if (refusal->reason == http_upload::Refusal::Reason::FileTooLarge) {
        uint64_t max_size = http_upload::effectiveMaxFileSize(service.ledger.limits());
        return bounceWith(
            ev,
            {Condition::NotAcceptable, Type::Modify,
             "File too large. The maximum file size is " + std::to_string(max_size) + " bytes"},
            http_upload::fileTooLarge(max_size));
      }
      xmpp::StanzaError error{Condition::ResourceConstraint, Type::Wait,
                              "Quota reached: your uploads use up your storage"};
      if (!refusal->retry) return ev.bounce(std::move(error));
      return bounceWith(ev, std::move(error), http_upload::retryAt(*refusal->retry));
    }
    auto url = http_upload::fileUrl(settings.public_url, service.domain, slot.id, slot.filename);
    return ev.reply(xmpp::resultWith(ev.element(), http_upload::slotElement(url, slot.token)));
  }
};

}  // namespace
PARLEY_MODULE("http_upload", HttpUpload);
}  // namespace parley::modules
