// Reading slot requests and building slots (XEP-0363 §4, §5).
#include "slot_request.h"

#include <charconv>

#include "util/clock.h"
#include "util/utf8.h"

namespace parley::modules::http_upload {
namespace {

// RFC 9110 §5.6.2 tchar.
bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool isToken(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!isTokenChar(c)) return false;
  }
  return true;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// "image/PNG; q=1" -> "image/png"
std::string essence(std::string_view content_type) {
  std::string out(trim(content_type.substr(0, content_type.find(';'))));
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::optional<uint64_t> parseSize(std::string_view text) {
  // Digits only (no sign, no blanks); 19 digits always fit in 64 bits.
  if (text.empty() || text.size() > 19) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

bool isValidFilename(std::string_view filename) {
  if (filename.empty() || filename.size() > kMaxFilenameBytes) return false;
  if (filename == "." || filename == "..") return false;
  for (unsigned char c : filename) {
    if (c == '/' || c < 0x20 || c == 0x7f) return false;
  }
  return utf8::isValid(filename);
}

bool isValidContentType(std::string_view content_type) {
  if (content_type.size() > kMaxContentTypeBytes) return false;
  for (unsigned char c : content_type) {
    if ((c < 0x20 && c != '\t') || c >= 0x7f) return false;
  }
  auto semicolon = content_type.find(';');
  auto media = trim(content_type.substr(0, semicolon));
  auto slash = media.find('/');
  if (slash == std::string_view::npos) return false;
  return isToken(media.substr(0, slash)) && isToken(media.substr(slash + 1));
}

bool sameContentType(std::string_view a, std::string_view b) { return essence(a) == essence(b); }

Result<SlotRequest> parseSlotRequest(const xml::Element& request) {
  SlotRequest slot;
  const std::string* filename = request.findAttr("filename");
  if (!filename || !isValidFilename(*filename)) {
    return fail("the filename must be 1 to 255 bytes of UTF-8 without '/' or control characters");
  }
  slot.filename = *filename;
  const std::string* size_text = request.findAttr("size");
  auto size = size_text ? parseSize(*size_text) : std::nullopt;
  if (!size) return fail("the size must be a number of bytes");
  slot.size = *size;
  const std::string* content_type = request.findAttr("content-type");
  if (!content_type || content_type->empty()) {
    slot.content_type.clear();  // the PUT may say; else kDefaultContentType
  } else if (isValidContentType(*content_type)) {
    slot.content_type = std::string(trim(*content_type));
  } else {
    return fail("the content-type is not a media type");
  }
  return slot;
}

std::string percentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::string fileUrl(std::string_view public_url, std::string_view domain, std::string_view id,
                    std::string_view filename) {
  std::string url(public_url);
  url.append("upload/").append(percentEncode(domain)).append("/");
  url.append(percentEncode(id)).append("/").append(percentEncode(filename));
  return url;
}

std::string routePrefix(std::string_view domain) {
  std::string prefix = "/upload/";
  prefix.append(domain).append("/");
  return prefix;
}

xml::Element slotElement(std::string_view url, std::string_view token) {
  xml::Element slot("slot", std::string(kNamespace));
  auto& put = slot.addChild("put", std::string(kNamespace));
  put.setAttr("url", std::string(url));
  auto& header = put.addChild("header", std::string(kNamespace));
  header.setAttr("name", "Authorization");
  header.addText(std::string("Bearer ").append(token));
  slot.addChild("get", std::string(kNamespace)).setAttr("url", std::string(url));
  return slot;
}

xml::Element fileTooLarge(uint64_t max_file_size) {
  xml::Element element("file-too-large", std::string(kNamespace));
  element.addChild("max-file-size", std::string(kNamespace)).addText(std::to_string(max_file_size));
  return element;
}

xml::Element retryAt(std::chrono::system_clock::time_point when) {
  xml::Element element("retry", std::string(kNamespace));
  element.setAttr("stamp", clock::xmppTimestamp(when));
  return element;
}

}  // namespace parley::modules::http_upload
