// The web page: files under [http] web_root served at "/" with their content types, validators
// (ETag, Last-Modified), conditional requests (304) and cache lifetimes.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string_view>

#include "core/http_route.h"
#include "util/result.h"

namespace parley::http {

// The content type for a file name's extension ("text/html; charset=utf-8", ...), or
// "application/octet-stream" when unknown.
std::string_view contentTypeFor(std::string_view file_name);

// Built at start-up, then read-only: serve() runs on every worker. Files are small (the chat
// page and its scripts) and read in full from the local disk.
class StaticFiles {
 public:
  static constexpr size_t kMaxFileBytes = 32 * 1024 * 1024;

  // `root` "" = no web page (everything is 404). Fails if root is not a directory.
  static Result<StaticFiles> open(const std::filesystem::path& root);

  bool isEnabled() const { return !root_.empty(); }
  // Answers a GET or HEAD for the decoded path (the caller checked the method). "/" and
  // directories give their index.html; a directory without the final '/' is redirected there
  // (301) so the page's relative links work. Nothing outside the root is ever read, through
  // symbolic links neither; names starting with '.' are not served.
  core::HttpResponse serve(const core::HttpRequest& request) const;

 private:
  explicit StaticFiles(std::filesystem::path root) : root_(std::move(root)) {}

  std::filesystem::path root_;  // canonical; empty = disabled
};

}  // namespace parley::http
