// BOSH <body/> wrappers: reading requests, writing responses (XEP-0124 §4-§7, §17; XEP-0206).
#include "http/bosh_body.h"

#include <charconv>
#include <memory>

#include "xml/namespaces.h"
#include "xml/serializer.h"
#include "xml/stream_parser.h"

namespace parley::http::bosh {
namespace {

// Collects the one <body/> of a synthetic stream.
class BodyCollector final : public xml::StreamHandler {
 public:
  void onStreamOpen(const xml::Element& /*header*/) override {}
  void onStanza(std::unique_ptr<xml::Element> element) override {
    if (++count == 1) body = std::move(element);
  }
  void onStreamClose() override {}

  std::unique_ptr<xml::Element> body;
  size_t count = 0;
};

Unexpected<BodyError> bad(std::string message) { return Unexpected(BodyError{std::move(message)}); }

std::optional<uint64_t> parseNumber(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// A request's wait or hold: a small non-negative integer (larger values are capped later).
Result<std::optional<unsigned>, BodyError> parseSeconds(const xml::Element& body,
                                                        std::string_view name) {
  const auto* text = body.findAttr(name);
  if (!text) return std::optional<unsigned>();
  auto value = parseNumber(*text);
  if (!value) return bad("'" + std::string(name) + "' is not a number");
  return std::optional<unsigned>(static_cast<unsigned>(std::min<uint64_t>(*value, 1u << 30)));
}

// Skips whitespace and an XML declaration: <?xml version='1.0' encoding='utf-8'?>.
std::string_view withoutDeclaration(std::string_view body) {
  auto start = body.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return {};
  body.remove_prefix(start);
  if (body.starts_with("<?xml") && body.size() > 5 &&
      std::string_view(" \t\r\n").find(body[5]) != std::string_view::npos) {
    auto end = body.find("?>");
    if (end != std::string_view::npos) body.remove_prefix(end + 2);
  }
  return body;
}

void appendAttr(std::string& out, std::string_view name, std::string_view value) {
  out.append(" ").append(name).append("='");
  xml::appendEscapedAttr(out, value);
  out.append("'");
}

void appendAttr(std::string& out, std::string_view name, unsigned value) {
  out.append(" ").append(name).append("='").append(std::to_string(value)).append("'");
}

// <body xmlns='...'  (left open for attributes)
std::string openBody() {
  std::string out = "<body xmlns='";
  out.append(kHttpBind).append("'");
  return out;
}

void closeBody(std::string& out, std::string_view payloads) {
  if (payloads.empty()) {
    out.append("/>");
    return;
  }
  // XEP-0206 §2: features and stream errors keep their "stream:" prefix.
  out.append(" xmlns:stream='").append(ns::kStreams).append("'>");
  out.append(payloads).append("</body>");
}

struct Version {
  uint64_t major = 0, minor = 0;
  bool operator<(const Version& other) const {
    return major != other.major ? major < other.major : minor < other.minor;
  }
};

std::optional<Version> parseVersion(std::string_view text) {
  auto dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto major = parseNumber(text.substr(0, dot));
  auto minor = parseNumber(text.substr(dot + 1));
  if (!major || !minor) return std::nullopt;
  return Version{*major, *minor};
}

}  // namespace

std::string_view conditionName(Condition condition) {
  switch (condition) {
    case Condition::BadRequest:
      return "bad-request";
    case Condition::HostGone:
      return "host-gone";
    case Condition::HostUnknown:
      return "host-unknown";
    case Condition::ImproperAddressing:
      return "improper-addressing";
    case Condition::InternalServerError:
      return "internal-server-error";
    case Condition::ItemNotFound:
      return "item-not-found";
    case Condition::OtherRequest:
      return "other-request";
    case Condition::PolicyViolation:
      return "policy-violation";
    case Condition::RemoteConnectionFailed:
      return "remote-connection-failed";
    case Condition::RemoteStreamError:
      return "remote-stream-error";
    case Condition::SeeOtherUri:
      return "see-other-uri";
    case Condition::SystemShutdown:
      return "system-shutdown";
    case Condition::UndefinedCondition:
      return "undefined-condition";
  }
  return "undefined-condition";
}

Result<Request, BodyError> parseRequest(std::string_view text, size_t max_bytes, size_t max_depth) {
  BodyCollector collector;
  xml::StreamParser parser(collector, xml::Limits{max_bytes, max_depth});
  // No default namespace: a <body/> without xmlns='...httpbind' is the wrong root.
  std::string header = "<stream:stream xmlns:stream='";
  header.append(ns::kStreams).append("'>");
  if (auto opened = parser.feed(header); !opened) return bad(opened.error().message);
  if (auto fed = parser.feed(withoutDeclaration(text)); !fed) return bad(fed.error().message);
  if (collector.count == 0) return bad("no complete <body/> element");
  if (collector.count > 1) return bad("more than one element");
  const auto& body = *collector.body;
  if (!body.is("body", kHttpBind)) {
    return bad("the root is not <body xmlns='" + std::string(kHttpBind) + "'/>");
  }

  Request request;
  const auto* rid_text = body.findAttr("rid");
  if (!rid_text) return bad("no 'rid'");
  auto rid = parseNumber(*rid_text);
  if (!rid || *rid == 0 || *rid > kMaxRid) return bad("'rid' is not a number from 1 to 2^53-1");
  request.rid = *rid;
  request.sid = body.attr("sid");
  request.type = body.attr("type");
  auto restart = body.attr("{" + std::string(kXbosh) + "}restart");
  request.restart = restart == "true" || restart == "1";
  request.to = body.attr("to");
  request.lang = body.attr("xml:lang");
  request.ver = body.attr("ver");
  request.xmpp_version = body.attr("{" + std::string(kXbosh) + "}version");
  request.content = body.attr("content");
  auto wait = parseSeconds(body, "wait");
  if (!wait) return Unexpected(std::move(wait.error()));
  request.wait = *wait;
  auto hold = parseSeconds(body, "hold");
  if (!hold) return Unexpected(std::move(hold.error()));
  request.hold = *hold;

  for (auto& child : collector.body->children()) {
    if (!child.isElement()) {
      // §4: the wrapper holds no character data of its own (whitespace is layout).
      if (child.text.find_first_not_of(" \t\r\n") != std::string::npos)
        return bad("text directly inside <body/>");
      continue;
    }
    auto& payload = *child.element;
    payload.renameNamespace(kHttpBind, ns::kClient);
    request.payloads.push_back(std::move(payload));
  }
  return request;
}

std::string streamBytes(const Request& request) {
  std::string out;
  for (const auto& payload : request.payloads) xml::serialize(payload, out, ns::kClient);
  return out;
}

std::string streamHeader(std::string_view to, std::string_view lang,
                         std::string_view xmpp_version) {
  std::string header = "<stream:stream xmlns='jabber:client' xmlns:stream='";
  header.append(ns::kStreams).append("'");
  if (!to.empty()) appendAttr(header, "to", to);
  // XEP-0206 §3: xmpp:version is the stream's version; a client that leaves it out is
  // taken to speak 1.0, as every BOSH client in use does.
  appendAttr(header, "version", xmpp_version.empty() ? "1.0" : xmpp_version);
  if (!lang.empty()) appendAttr(header, "xml:lang", lang);
  header.append(">");
  return header;
}

std::string sessionCreationBody(const SessionCreation& creation, std::string_view payloads) {
  std::string out = openBody();
  out.append(" xmlns:xmpp='").append(kXbosh).append("'");
  appendAttr(out, "sid", creation.sid);
  appendAttr(out, "wait", creation.wait);
  appendAttr(out, "requests", creation.requests);
  appendAttr(out, "inactivity", creation.inactivity);
  appendAttr(out, "polling", creation.polling);
  appendAttr(out, "hold", creation.hold);
  appendAttr(out, "ver", creation.ver);
  if (!creation.from.empty()) appendAttr(out, "from", creation.from);
  if (!creation.authid.empty()) appendAttr(out, "authid", creation.authid);
  if (creation.secure) appendAttr(out, "secure", "true");
  appendAttr(out, "xmpp:version", "1.0");
  closeBody(out, payloads);
  return out;
}

std::string payloadBody(std::string_view payloads) {
  std::string out = openBody();
  closeBody(out, payloads);
  return out;
}

std::string terminateBody(std::optional<Condition> condition, std::string_view payloads) {
  std::string out = openBody();
  appendAttr(out, "type", "terminate");
  if (condition) appendAttr(out, "condition", conditionName(*condition));
  closeBody(out, payloads);
  return out;
}

std::string negotiatedVersion(std::string_view client_ver) {
  auto ours = parseVersion(kVersion);
  auto theirs = parseVersion(client_ver);
  if (!theirs || !(*theirs < *ours)) return std::string(kVersion);
  return std::to_string(theirs->major) + "." + std::to_string(theirs->minor);
}

bool isUsableContentType(std::string_view content) {
  if (content.empty() || content.size() > 200) return false;
  for (char c : content) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

void addCorsHeaders(core::HttpResponse& response) {
  response.set("Access-Control-Allow-Origin", "*");
  response.set("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
  response.set("Access-Control-Allow-Headers", "Content-Type");
  response.set("Access-Control-Max-Age", "86400");
}

core::HttpResponse xmlResponse(std::string body, std::string_view content_type) {
  auto response = core::HttpResponse::text(200, std::move(body), std::string(content_type));
  response.set("Cache-Control", "no-store");
  addCorsHeaders(response);
  return response;
}

core::HttpResponse terminalResponse(Condition condition, bool legacy,
                                    std::string_view content_type) {
  if (legacy) {
    int status = condition == Condition::BadRequest        ? 400
                 : condition == Condition::PolicyViolation ? 403
                 : condition == Condition::ItemNotFound    ? 404
                                                           : 0;
    if (status != 0) {
      auto response =
          core::HttpResponse::text(status, std::string(core::reasonPhrase(status)) + "\n");
      addCorsHeaders(response);
      return response;
    }
  }
  return xmlResponse(terminateBody(condition), content_type);
}

}  // namespace parley::http::bosh
