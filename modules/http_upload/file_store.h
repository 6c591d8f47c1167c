// Uploaded files on disk: data_dir/upload/DOMAIN/ID/FILENAME, and beside each directory its
// metadata ID.meta (owner, name, size, type, time). The metadata is written last, by rename,
// so a directory without one is an upload that never finished.
//
// Plain POSIX I/O without fsync, called on loop threads: every call is bounded by the size
// of one file (at most max_file_size), except scan(), which runs once at load.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "upload_ledger.h"
#include "util/result.h"

namespace parley::modules::http_upload {

// Random ids are 32 lowercase hex digits (128 bits); nothing else in the folder is ours.
bool looksLikeId(std::string_view text);

// The metadata file's text, and reading it back (nullopt if it is damaged). Lines of
// "key value"; the values never hold a newline (file names and types have no control
// characters).
std::string metadataText(const StoredFile& file);
std::optional<StoredFile> parseMetadata(std::string_view text, std::string_view id);

// The files of one host. Safe from any thread: every call works on one id's paths, and the
// ledger hands each id to one request at a time.
class FileStore {
 public:
  explicit FileStore(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path filePath(const StoredFile& file) const;

  // Creates the host's folder.
  Result<void> prepare() const;
  // Stores CONTENT as FILE, then its metadata. On failure nothing of it stays.
  Result<void> write(const StoredFile& file, std::string_view content) const;
  // The content of a stored file.
  Result<std::string> read(const StoredFile& file) const;
  // Deletes a file, its directory and its metadata; false if something could not go.
  bool remove(std::string_view id) const;

  struct Scan {
    std::vector<StoredFile> files;  // intact files with their metadata
    size_t removed = 0;             // unfinished or damaged uploads deleted
  };
  // Everything stored, at load. Deletes unfinished uploads (a directory without metadata, or
  // metadata whose file is missing or has another size).
  Scan scan() const;

 private:
  std::filesystem::path metadataPath(std::string_view id) const;

  std::filesystem::path root_;
};

}  // namespace parley::modules::http_upload
