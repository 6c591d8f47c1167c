// Uploaded files and their metadata on disk.
#include "file_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>

#include "net/fd.h"
#include "slot_request.h"

namespace parley::modules::http_upload {
namespace {

constexpr std::string_view kMetadataVersion = "parley-upload 1";
constexpr std::string_view kMetadataSuffix = ".meta";
constexpr uintmax_t kMaxMetadataBytes = 4096;  // ours are a few hundred bytes

std::string errnoText(std::string_view what, const std::filesystem::path& path) {
  std::string text(what);
  text.append(" ").append(path.string()).append(": ").append(std::strerror(errno));
  return text;
}

std::optional<uint64_t> parseNumber(std::string_view text) {
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Writes all of CONTENT to a new file (O_EXCL: never over an existing one).
Result<void> writeNewFile(const std::filesystem::path& path, std::string_view content) {
  net::Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
  if (!fd.valid()) return fail(errnoText("cannot create", path));
  while (!content.empty()) {
    ssize_t written = ::write(fd.get(), content.data(), content.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return fail(errnoText("cannot write", path));
    }
    content.remove_prefix(static_cast<size_t>(written));
  }
  if (::close(fd.release()) != 0) return fail(errnoText("cannot write", path));
  return {};
}

Result<std::string> readWholeFile(const std::filesystem::path& path, size_t expected_size) {
  net::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return fail(errnoText("cannot open", path));
  std::string content(expected_size, '\0');
  size_t done = 0;
  while (done < content.size()) {
    ssize_t got = ::read(fd.get(), content.data() + done, content.size() - done);
    if (got < 0) {
      if (errno == EINTR) continue;
      return fail(errnoText("cannot read", path));
    }
    if (got == 0) return fail("file ", path.string(), " is shorter than its metadata says");
    done += static_cast<size_t>(got);
  }
  return content;
}

}  // namespace

bool looksLikeId(std::string_view text) {
  if (text.size() != 32) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string metadataText(const StoredFile& file) {
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(file.stored_at.time_since_epoch());
  std::string text(kMetadataVersion);
  text.append("\nuser ").append(file.user);
  text.append("\nfilename ").append(file.filename);
  text.append("\nsize ").append(std::to_string(file.size));
  text.append("\ntype ").append(file.content_type);
  text.append("\nstored ").append(std::to_string(millis.count()));
  text.append("\n");
  return text;
}

std::optional<StoredFile> parseMetadata(std::string_view text, std::string_view id) {
  std::map<std::string, std::string, std::less<>> fields;
  bool first = true;
  while (!text.empty()) {
    auto end = text.find('\n');
    if (end == std::string_view::npos) return std::nullopt;  // cut short
    auto line = text.substr(0, end);
    text.remove_prefix(end + 1);
    if (first) {
      if (line != kMetadataVersion) return std::nullopt;
      first = false;
      continue;
    }
    auto space = line.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    fields.emplace(std::string(line.substr(0, space)), std::string(line.substr(space + 1)));
  }
  auto size = parseNumber(fields["size"]);
  auto stored = parseNumber(fields["stored"]);
  StoredFile file{std::string(id),  fields["user"], fields["filename"],
                  size.value_or(0), fields["type"], SystemTime{}};
  if (first || !size || !stored || file.user.empty() || !isValidFilename(file.filename) ||
      !isValidContentType(file.content_type)) {
    return std::nullopt;
  }
  file.stored_at = SystemTime(std::chrono::milliseconds(static_cast<int64_t>(*stored)));
  return file;
}

std::filesystem::path FileStore::filePath(const StoredFile& file) const {
  return root_ / file.id / file.filename;
}

std::filesystem::path FileStore::metadataPath(std::string_view id) const {
  return root_ / (std::string(id) + std::string(kMetadataSuffix));
}

Result<void> FileStore::prepare() const {
  std::error_code error;
  std::filesystem::create_directories(root_, error);
  if (error) return fail("cannot create ", root_.string(), ": ", error.message());
  return {};
}

Result<void> FileStore::write(const StoredFile& file, std::string_view content) const {
  auto dir = root_ / file.id;
  if (::mkdir(dir.c_str(), 0750) != 0) return fail(errnoText("cannot create", dir));
  auto written = writeNewFile(filePath(file), content);
  if (written) {
    // The metadata makes the upload count, so it appears whole or not at all.
    auto temporary = metadataPath(file.id);
    temporary += ".tmp";
    written = writeNewFile(temporary, metadataText(file));
    if (written && ::rename(temporary.c_str(), metadataPath(file.id).c_str()) != 0) {
      written = fail(errnoText("cannot rename", temporary));
    }
    if (!written) ::unlink(temporary.c_str());
  }
  if (!written) remove(file.id);
  return written;
}

Result<std::string> FileStore::read(const StoredFile& file) const {
  return readWholeFile(filePath(file), file.size);
}

bool FileStore::remove(std::string_view id) const {
  std::error_code meta_error;
  std::error_code dir_error;
  std::filesystem::remove(metadataPath(id), meta_error);
  std::filesystem::remove_all(root_ / std::string(id), dir_error);
  return !meta_error && !dir_error;
}

FileStore::Scan FileStore::scan() const {
  Scan result;
  std::error_code error;
  std::vector<std::string> directories;
  std::vector<std::string> metadata;
  for (const auto& entry : std::filesystem::directory_iterator(root_, error)) {
    std::string name = entry.path().filename().string();
    if (entry.is_directory(error) && looksLikeId(name)) {
      directories.push_back(name);
    } else if (name.size() > kMetadataSuffix.size() && name.ends_with(kMetadataSuffix) &&
               looksLikeId(
                   std::string_view(name).substr(0, name.size() - kMetadataSuffix.size()))) {
      metadata.push_back(name.substr(0, name.size() - kMetadataSuffix.size()));
    } else if (name.ends_with(".meta.tmp")) {
      std::filesystem::remove(entry.path(), error);  // a metadata write cut short
    }
  }
  for (const auto& id : metadata) {
    std::optional<StoredFile> file;
    auto meta_size = std::filesystem::file_size(metadataPath(id), error);
    if (!error && meta_size <= kMaxMetadataBytes) {
      if (auto text = readWholeFile(metadataPath(id), static_cast<size_t>(meta_size))) {
        file = parseMetadata(*text, id);
      }
    }
    if (file) {
      auto size = std::filesystem::file_size(filePath(*file), error);
      if (error || size != file->size) file.reset();
    }
    if (file) {
      result.files.push_back(std::move(*file));
    } else {
      remove(id);
      ++result.removed;
    }
    std::erase(directories, id);
  }
  for (const auto& id : directories) {  // no metadata: never finished
    remove(id);
    ++result.removed;
  }
  return result;
}

}  // namespace parley::modules::http_upload
