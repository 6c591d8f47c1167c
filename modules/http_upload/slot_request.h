// XEP-0363 slot requests: reading <request filename size content-type/>, the checks on a file
// name and a media type, and the URLs and <slot/> element of the answer. Pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"
#include "xml/element.h"

namespace parley::modules::http_upload {

inline constexpr std::string_view kNamespace = "urn:xmpp:http:upload:0";
// Stored when a request names no type (XEP-0363 §6 allows assuming it).
inline constexpr std::string_view kDefaultContentType = "application/octet-stream";
// A file name is one path component on disk: NAME_MAX of Linux file systems.
inline constexpr size_t kMaxFilenameBytes = 255;
inline constexpr size_t kMaxContentTypeBytes = 255;

struct SlotRequest {
  std::string filename;
  uint64_t size = 0;
  std::string content_type;  // "" when the request named none
};

// Reads <request/>; the error (for modify/bad-request) says what is wrong.
Result<SlotRequest> parseSlotRequest(const xml::Element& request);

// A name that can be stored as one file and put in a URL: valid UTF-8, 1..255 bytes, no '/',
// no control characters, not "." or "..".
bool isValidFilename(std::string_view filename);
// A media type as HTTP writes it (RFC 9110 §8.3.1): type "/" subtype, optional parameters,
// printable ASCII only (it is echoed in a response header).
bool isValidContentType(std::string_view content_type);
// Whether two Content-Type values name the same type: the type and subtype compare
// case-insensitively, parameters exactly (whitespace around ';' ignored).
bool sameContentType(std::string_view a, std::string_view b);

// RFC 3986 §2.1: every byte but the unreserved characters (ALPHA DIGIT - . _ ~) as %XX.
std::string percentEncode(std::string_view text);

// The URL a slot is uploaded to and downloaded from:
// PUBLIC_URL + "upload/" + DOMAIN + "/" + ID + "/" + FILENAME, each part percent-encoded.
// public_url ends in '/'.
std::string fileUrl(std::string_view public_url, std::string_view domain, std::string_view id,
                    std::string_view filename);
// The HTTP path prefix the files of DOMAIN are served under, decoded: "/upload/DOMAIN/".
std::string routePrefix(std::string_view domain);

// <slot xmlns='urn:xmpp:http:upload:0'><put url><header name='Authorization'>Bearer TOKEN
// </header></put><get url/></slot>
xml::Element slotElement(std::string_view url, std::string_view token);

// XEP-0363 §5 application conditions, children of <error/>.
xml::Element fileTooLarge(uint64_t max_file_size);
xml::Element retryAt(std::chrono::system_clock::time_point when);

}  // namespace parley::modules::http_upload
