// Static files: path to file inside the root, validators and conditional GET (RFC 9110 §13).
#include "http/static_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "http/response_writer.h"
#include "util/log.h"

namespace parley::http {
namespace {

namespace fs = std::filesystem;

struct FileInfo {
  size_t size = 0;
  std::chrono::system_clock::time_point modified;  // whole seconds, as HTTP dates carry them
  int64_t modified_ns = 0;
};

struct ContentType {
  std::string_view extension;
  std::string_view type;
};

constexpr ContentType kContentTypes[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"json", "application/json; charset=utf-8"},
    {"map", "application/json; charset=utf-8"},
    {"txt", "text/plain; charset=utf-8"},
    {"svg", "image/svg+xml; charset=utf-8"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"ico", "image/vnd.microsoft.icon"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"wasm", "application/wasm"},
};

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string extensionOf(std::string_view name) {
  size_t slash = name.rfind('/');
  if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
  size_t dot = name.rfind('.');
  return dot == std::string_view::npos ? std::string() : lowercase(name.substr(dot + 1));
}

// Any segment starting with '.' (".git", ".htpasswd"): not part of a web page.
bool hasHiddenSegment(std::string_view path) {
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '.' && (i == 0 || path[i - 1] == '/')) return true;
  }
  return false;
}

bool isInside(const fs::path& root, const fs::path& candidate) {
  const std::string& r = root.native();
  const std::string& c = candidate.native();
  return c == r || (c.size() > r.size() && c.compare(0, r.size(), r) == 0 &&
                    (r.back() == '/' || c[r.size()] == '/'));
}

std::string etagFor(const FileInfo& info) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "\"%zx-%llx\"", info.size,
                static_cast<unsigned long long>(info.modified_ns));
  return buffer;
}

// RFC 9110 §13.1.2: weak comparison; "*" matches any current representation.
bool etagMatches(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view member = header.substr(0, comma);
    while (!member.empty() && (member.front() == ' ' || member.front() == '\t')) {
      member.remove_prefix(1);
    }
    while (!member.empty() && (member.back() == ' ' || member.back() == '\t')) {
      member.remove_suffix(1);
    }
    if (member.starts_with("W/")) member.remove_prefix(2);
    if (member == "*" || member == etag) return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

bool notModified(const core::HttpRequest& request, const FileInfo& info, const std::string& etag) {
  if (auto none_match = request.header("if-none-match")) return etagMatches(*none_match, etag);
  // §13.1.3: If-Modified-Since is ignored when If-None-Match is present, or unparsable.
  if (auto since = request.header("if-modified-since")) {
    if (auto when = parseHttpDate(*since)) return info.modified <= *when;
  }
  return false;
}

core::HttpResponse notFound() { return core::HttpResponse::text(404, "Not Found\n"); }

}  // namespace

std::string_view contentTypeFor(std::string_view file_name) {
  std::string extension = extensionOf(file_name);
  for (const auto& entry : kContentTypes) {
    if (entry.extension == extension) return entry.type;
  }
  return "application/octet-stream";
}

Result<StaticFiles> StaticFiles::open(const fs::path& root) {
  if (root.empty()) return StaticFiles(fs::path());
  std::error_code error;
  fs::path canonical = fs::canonical(root, error);
  if (error || !fs::is_directory(canonical, error)) {
    return fail("http.web_root ", root.string(), " is not a directory",
                error ? ": " + error.message() : "");
  }
  return StaticFiles(canonical);
}

core::HttpResponse StaticFiles::serve(const core::HttpRequest& request) const {
  if (!isEnabled() || hasHiddenSegment(request.path)) return notFound();
  std::error_code error;
  fs::path candidate = root_ / fs::path(request.path.substr(1));
  // Every symbolic link resolved: what is served must lie inside the root.
  fs::path real = fs::canonical(candidate, error);
  if (error || !isInside(root_, real)) return notFound();
  if (fs::is_directory(real, error)) {
    if (request.path.back() != '/') {
      core::HttpResponse redirect = core::HttpResponse::text(301, "Moved Permanently\n");
      std::string location = request.path + "/";
      if (!request.query.empty()) location += "?" + request.query;
      redirect.set("Location", location);
      return redirect;
    }
    real = fs::canonical(real / "index.html", error);
    if (error || !isInside(root_, real)) return notFound();
  }
  int fd = ::open(real.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    return errno == EACCES ? core::HttpResponse::text(403, "Forbidden\n") : notFound();
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return notFound();
  }
  if (static_cast<size_t>(st.st_size) > kMaxFileBytes) {
    ::close(fd);
    log::warn("http: ", real.string(), " is larger than ", kMaxFileBytes, " bytes; not served");
    return core::HttpResponse::text(500, "Internal Server Error\n");
  }
  FileInfo info;
  info.size = static_cast<size_t>(st.st_size);
  info.modified = std::chrono::system_clock::from_time_t(st.st_mtim.tv_sec);
  info.modified_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  std::string etag = etagFor(info);
  std::string name = real.filename().string();
  core::HttpResponse response;
  response.set("ETag", etag);
  response.set("Last-Modified", httpDate(info.modified));
  // The page itself is revalidated on every load, so a new version shows up at once; its
  // scripts and images may be cached for a day.
  response.set("Cache-Control", extensionOf(name) == "html" || extensionOf(name) == "htm"
                                    ? "no-cache"
                                    : "max-age=86400");
  if (notModified(request, info, etag)) {
    ::close(fd);
    response.status = 304;
    return response;
  }
  std::string body(info.size, '\0');
  size_t done = 0;
  while (done < body.size()) {
    ssize_t n = ::read(fd, body.data() + done, body.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  body.resize(done);  // a file that shrank meanwhile
  response.status = 200;
  response.body = std::move(body);
  response.set("Content-Type", std::string(contentTypeFor(name)));
  response.set("X-Content-Type-Options", "nosniff");
  return response;
}

}  // namespace parley::http
