// The upload service's bookkeeping for one host: open slots, stored files, each user's quota
// and what has expired. In memory only (the files and their metadata are on disk, see
// file_store.h); time is passed in, so tests need no clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::modules::http_upload {

using SystemTime = std::chrono::system_clock::time_point;

struct Limits {
  uint64_t max_file_size = 10 * 1024 * 1024;
  uint64_t quota = 100 * 1024 * 1024;  // bytes stored per user; 0 = unlimited
  std::chrono::seconds slot_lifetime{300};
  std::chrono::seconds expire_after{7 * 24 * 3600};
  // Open slots plus stored files per user: keeps a user of tiny files from filling the disk
  // with entries when the byte quota would never stop them.
  size_t max_files_per_user = 10000;
};

// A granted upload: the client may PUT `size` bytes of `content_type` once, before `expires`.
struct Slot {
  std::string id;     // random, the URL's directory
  std::string token;  // random, the Authorization bearer token
  std::string user;   // the owner's localpart
  std::string filename;
  uint64_t size = 0;
  std::string content_type;  // "" when the request named none: the PUT's type is taken
  SystemTime expires;
};

// A file on disk, as its metadata records it.
struct StoredFile {
  std::string id;
  std::string user;
  std::string filename;
  uint64_t size = 0;
  std::string content_type;
  SystemTime stored_at;
};

// Why a slot was refused.
struct Refusal {
  enum class Reason { FileTooLarge, QuotaExceeded };
  Reason reason;
  // QuotaExceeded: when enough of the user's files will have expired for this one to fit
  // (assuming no new uploads), if that is known.
  std::optional<SystemTime> retry;
};

// What a PUT for a slot id finds.
enum class ClaimOutcome {
  Claimed,        // the slot is the caller's to fill; finish with complete() or release()
  NoSuchSlot,     // unknown or expired
  AlreadyStored,  // the file was uploaded already
  InProgress,     // another request is uploading it right now
};

// Thread-safe: one mutex, short critical sections (no I/O under it). Handlers on every
// worker share one ledger per host.
class UploadLedger {
 public:
  explicit UploadLedger(Limits limits) : limits_(limits) {}

  const Limits& limits() const { return limits_; }

  // Bytes a user holds: stored files plus open slots (reserved until they expire).
  uint64_t usage(std::string_view user, SystemTime now) const;

  // Grants SLOT (its id, token, user, filename, size and type filled in; `expires` is set
  // here) if the size is within limits and the user's quota has room.
  std::optional<Refusal> open(Slot& slot, SystemTime now);

  // A PUT for slot ID begins: on Claimed, `slot` is a copy of it.
  ClaimOutcome claim(std::string_view id, SystemTime now, Slot& slot);
  // The upload of a claimed slot failed (bad request or write error): open it again.
  void release(std::string_view id);
  // The upload of a claimed slot is on disk: the slot (of the same id) becomes FILE. False if
  // the slot is gone meanwhile (its owner was deleted): the caller deletes the file again.
  bool complete(StoredFile file);

  // A file found on disk at start.
  void addStored(StoredFile file);
  // The stored file with that id, if it has not expired.
  std::optional<StoredFile> stored(std::string_view id, SystemTime now) const;

  // Forgets up to LIMIT expired files and every expired slot; returns those files (for
  // their deletion from disk).
  std::vector<StoredFile> takeExpired(SystemTime now, size_t limit);
  // Forgets everything of USER (account deleted); returns the files to delete.
  std::vector<StoredFile> takeUser(std::string_view user);

  size_t openSlots() const;
  size_t storedFiles() const;

 private:
  struct OpenSlot {
    Slot slot;
    bool uploading = false;
  };

  // What one entry of a user holds, and when it will be gone at the latest.
  struct Holding {
    uint64_t size;
    SystemTime released;
  };

  SystemTime expiry(const StoredFile& file) const { return file.stored_at + limits_.expire_after; }
  std::vector<Holding> holdingsLocked(std::string_view user, SystemTime now) const;
  void dropExpiredSlotsLocked(std::string_view user, SystemTime now);
  void unindexLocked(const std::string& user, const std::string& id);

  const Limits limits_;
  mutable std::mutex mutex_;
  std::map<std::string, OpenSlot, std::less<>> slots_;    // by id; guarded
  std::map<std::string, StoredFile, std::less<>> files_;  // by id; guarded
  // The ids of each user's slots and files; guarded.
  std::map<std::string, std::vector<std::string>, std::less<>> by_user_;
};

// The effective size limit: a file larger than the quota could never be stored.
uint64_t effectiveMaxFileSize(const Limits& limits);

}  // namespace parley::modules::http_upload
