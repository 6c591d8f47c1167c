// The HTTP side of XEP-0363: PUT into a slot (§6), GET and HEAD of stored files, CORS.
#include "upload_service.h"

#include <openssl/crypto.h>

#include "slot_request.h"
#include "util/log.h"

namespace parley::modules::http_upload {
namespace {

constexpr std::string_view kAllowedMethods = "GET, HEAD, PUT, OPTIONS";
// Every URL names one immutable upload (a fresh random id per slot), so caches may keep it.
constexpr std::string_view kCacheControl = "public, max-age=31536000, immutable";

struct FileLocation {
  std::string id;
  std::string filename;
};

// "/upload/DOMAIN/ID/FILENAME" (decoded) -> {ID, FILENAME}.
std::optional<FileLocation> locate(const UploadService& service, std::string_view path) {
  auto prefix = routePrefix(service.domain);
  if (!path.starts_with(prefix)) return std::nullopt;
  path.remove_prefix(prefix.size());
  auto slash = path.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  FileLocation location{std::string(path.substr(0, slash)), std::string(path.substr(slash + 1))};
  if (!looksLikeId(location.id) || !isValidFilename(location.filename)) return std::nullopt;
  return location;
}

core::HttpResponse plain(int status, std::string text) {
  auto response = core::HttpResponse::text(status, std::move(text) + "\n");
  // Browsers read error statuses of cross-origin uploads only with this.
  response.set("Access-Control-Allow-Origin", "*");
  return response;
}

bool isAuthorized(const core::HttpRequest& request, const Slot& slot) {
  auto given = request.header("authorization");
  std::string expected = "Bearer " + slot.token;
  return given && given->size() == expected.size() &&
         CRYPTO_memcmp(given->data(), expected.data(), expected.size()) == 0;
}

core::HttpResponse preflight() {
  core::HttpResponse response;
  response.status = 204;
  response.set("Access-Control-Allow-Origin", "*");
  response.set("Access-Control-Allow-Methods", std::string(kAllowedMethods));
  response.set("Access-Control-Allow-Headers", "Authorization, Content-Type");
  response.set("Access-Control-Max-Age", "86400");
  return response;
}

// Checks a claimed slot's PUT; the status and reason of a refusal, or 0.
std::pair<int, std::string> checkUpload(const core::HttpRequest& request,
                                        const FileLocation& location, const Slot& slot) {
  if (location.filename != slot.filename) return {403, "this URL is not an upload slot"};
  if (!isAuthorized(request, slot)) return {403, "the Authorization of the slot is missing"};
  // XEP-0363 §6: the service MUST reject a Content-Length other than the slot's size. The
  // server has checked Content-Length against the body it read.
  if (request.body.size() > slot.size) return {413, "larger than the slot's size"};
  if (request.body.size() < slot.size) return {400, "the size differs from the slot's"};
  auto type = request.header("content-type");
  if (type && !isValidContentType(*type)) return {400, "the Content-Type is not a media type"};
  // §6: SHOULD reject a Content-Type other than the one requested.
  if (!slot.content_type.empty() && (!type || !sameContentType(*type, slot.content_type))) {
    return {400, "the Content-Type differs from the slot's"};
  }
  return {0, {}};
}

// The answer to a PUT whose slot could not be claimed, or nullopt when it was.
std::optional<core::HttpResponse> claimRefusal(ClaimOutcome outcome) {
  switch (outcome) {
    case ClaimOutcome::Claimed:
      return std::nullopt;
    case ClaimOutcome::NoSuchSlot:
      return plain(403, "no such upload slot, or it has expired");
    case ClaimOutcome::AlreadyStored:
      return plain(409, "this file has been uploaded already");
    case ClaimOutcome::InProgress:
      return plain(409, "this file is being uploaded");
  }
  return plain(500, "unexpected slot state");
}

core::HttpResponse put(UploadService& service, const core::HttpRequest& request,
                       const FileLocation& location) {
  auto now = service.now();
  Slot slot;
  if (auto refusal = claimRefusal(service.ledger.claim(location.id, now, slot))) return *refusal;
  if (auto [status, reason] = checkUpload(request, location, slot); status != 0) {
    service.ledger.release(slot.id);
    return plain(status, std::move(reason));
  }
  std::string type = slot.content_type;
  if (type.empty()) {
    type = std::string(request.header("content-type").value_or(kDefaultContentType));
  }
  StoredFile file{slot.id, slot.user, slot.filename, slot.size, std::move(type), now};
  if (auto written = service.files.write(file, request.body); !written) {
    log::warn("mod_http_upload ", service.domain,
              ": storing an upload failed: ", written.error().message);
    service.ledger.release(slot.id);
    return plain(500, "the file could not be stored");
  }
  if (!service.ledger.complete(file)) {  // the account went away meanwhile
    service.files.remove(file.id);
    return plain(403, "no such upload slot, or it has expired");
  }
  log::debug("mod_http_upload ", service.domain, ": ", slot.user, " stored ", slot.size,
             " bytes as ", slot.id);
  auto response = plain(201, "created");
  return response;
}

struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
};

std::optional<uint64_t> parseOffset(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

// RFC 9110 §14.1.2: one range of "bytes=FIRST-LAST", "bytes=FIRST-" or "bytes=-SUFFIX".
// Returns nullopt for a header we serve the whole file for (several ranges, another unit,
// a malformed value); a range that starts past the end has first > last.
std::optional<ByteRange> parseRange(std::string_view header, uint64_t size) {
  if (!header.starts_with("bytes=")) return std::nullopt;
  header.remove_prefix(6);
  auto dash = header.find('-');
  if (dash == std::string_view::npos || header.find(',') != std::string_view::npos) {
    return std::nullopt;
  }
  auto first = header.substr(0, dash);
  auto last = header.substr(dash + 1);
  if (first.empty()) {  // the final SUFFIX bytes
    auto suffix = parseOffset(last);
    if (!suffix) return std::nullopt;
    if (*suffix == 0 || size == 0) return ByteRange{1, 0};
    return ByteRange{size - std::min(*suffix, size), size - 1};
  }
  auto from = parseOffset(first);
  auto to = last.empty() ? std::optional<uint64_t>(UINT64_MAX) : parseOffset(last);
  if (!from || !to || *to < *from) return std::nullopt;
  if (*from >= size) return ByteRange{1, 0};
  return ByteRange{*from, std::min(*to, size - 1)};
}

core::HttpResponse get(UploadService& service, const core::HttpRequest& request,
                       const FileLocation& location) {
  auto file = service.ledger.stored(location.id, service.now());
  if (!file || file->filename != location.filename) return plain(404, "no such file");
  core::HttpResponse response;
  response.set("Access-Control-Allow-Origin", "*");
  std::string etag = "\"" + file->id + "\"";
  response.set("ETag", etag);
  response.set("Cache-Control", std::string(kCacheControl));
  if (auto match = request.header("if-none-match");
      match && (*match == "*" || match->find(etag) != std::string_view::npos)) {
    response.status = 304;  // RFC 9110 §13.1.2
    return response;
  }
  response.status = 200;
  response.set("Content-Type", file->content_type);
  response.set("X-Content-Type-Options", "nosniff");
  response.set("Accept-Ranges", "bytes");
  if (isActiveContent(file->content_type)) {
    // A page or script under our origin would run with it: offer it as a download only.
    response.set("Content-Disposition",
                 "attachment; filename*=UTF-8''" + percentEncode(file->filename));
    response.set("Content-Security-Policy", "default-src 'none'");
  }
  if (request.method == "HEAD") {
    // The server sends this length for a HEAD with an empty body (RFC 9110 §9.3.2).
    response.set("Content-Length", std::to_string(file->size));
    return response;
  }
  auto content = service.files.read(*file);
  if (!content) {
    log::warn("mod_http_upload ", service.domain, ": reading ", file->id,
              " failed: ", content.error().message);
    return plain(500, "the file could not be read");
  }
  // Video and audio players seek with ranges.
  auto range_header = request.header("range");
  auto if_range = request.header("if-range");
  if (range_header && (!if_range || *if_range == etag)) {
    if (auto range = parseRange(*range_header, file->size)) {
      std::string total = std::to_string(file->size);
      if (range->first > range->last) {
        response.status = 416;
        response.set("Content-Range", "bytes */" + total);
        return response;
      }
      response.status = 206;
      response.set("Content-Range", "bytes " + std::to_string(range->first) + "-" +
                                        std::to_string(range->last) + "/" + total);
      response.body = content->substr(range->first, range->last - range->first + 1);
      return response;
    }
  }
  response.body = std::move(*content);
  return response;
}

}  // namespace

bool isActiveContent(std::string_view content_type) {
  std::string type(content_type.substr(0, content_type.find(';')));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.pop_back();
  for (char& c : type) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (type == "text/html" || type == "application/xhtml+xml" || type == "image/svg+xml") {
    return true;
  }
  if (type.ends_with("/xml") || type.ends_with("+xml") || type == "text/xsl") return true;
  return type.find("javascript") != std::string::npos ||
         type.find("ecmascript") != std::string::npos;
}

size_t UploadService::expire(size_t limit) {
  auto expired = ledger.takeExpired(now(), limit);
  for (const auto& file : expired) {
    if (!files.remove(file.id)) {
      log::warn("mod_http_upload ", domain, ": could not delete the expired upload ", file.id);
    }
  }
  return expired.size();
}

size_t UploadService::forgetUser(std::string_view user) {
  auto owned = ledger.takeUser(user);
  for (const auto& file : owned) files.remove(file.id);
  return owned.size();
}

std::optional<core::HttpResponse> checkHead(UploadService& service, const core::HttpRequest& head) {
  if (head.method != "PUT") return std::nullopt;
  auto location = locate(service, head.path);
  if (!location) return plain(404, "no such file");
  Slot slot;
  if (auto refusal = claimRefusal(service.ledger.claim(location->id, service.now(), slot)))
    return refusal;
  service.ledger.release(slot.id);  // claimed again by put() once the body is in
  if (location->filename != slot.filename) return plain(403, "this URL is not an upload slot");
  if (!isAuthorized(head, slot)) return plain(403, "the Authorization of the slot is missing");
  // A chunked body is measured once it is in; a Content-Length can be checked now.
  if (auto length = head.header("content-length")) {
    if (*length != std::to_string(slot.size)) {
      bool larger = length->size() > std::to_string(slot.size).size() ||
                    (length->size() == std::to_string(slot.size).size() &&
                     *length > std::to_string(slot.size));
      return larger ? plain(413, "larger than the slot's size")
                    : plain(400, "the size differs from the slot's");
    }
  }
  return std::nullopt;
}

core::HttpResponse handleHttp(UploadService& service, const core::HttpRequest& request) {
  const std::string& method = request.method;
  if (method == "OPTIONS") return preflight();
  bool is_get = method == "GET" || method == "HEAD";
  if (!is_get && method != "PUT") {
    auto response = plain(405, "use GET, HEAD or PUT");
    response.set("Allow", std::string(kAllowedMethods));
    return response;
  }
  auto location = locate(service, request.path);
  if (!location) return plain(404, "no such file");
  return is_get ? get(service, request, *location) : put(service, request, *location);
}

}  // namespace parley::modules::http_upload
