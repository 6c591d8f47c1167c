// Slots, stored files, quotas and expiry of one host's upload service.
#include "upload_ledger.h"

#include <algorithm>

namespace parley::modules::http_upload {

uint64_t effectiveMaxFileSize(const Limits& limits) {
  if (limits.quota == 0) return limits.max_file_size;
  return std::min(limits.max_file_size, limits.quota);
}

std::vector<UploadLedger::Holding> UploadLedger::holdingsLocked(std::string_view user,
                                                                SystemTime now) const {
  std::vector<Holding> holdings;
  auto ids = by_user_.find(user);
  if (ids == by_user_.end()) return holdings;
  for (const auto& id : ids->second) {
    if (auto file = files_.find(id); file != files_.end()) {
      holdings.push_back({file->second.size, expiry(file->second)});
    } else if (auto open = slots_.find(id); open != slots_.end()) {
      const Slot& slot = open->second.slot;
      // An unused slot frees its room when it expires; one being filled only when the file
      // it becomes expires. Either way it is gone by then.
      if (slot.expires > now || open->second.uploading) {
        holdings.push_back({slot.size, slot.expires + limits_.expire_after});
      }
    }
  }
  return holdings;
}

uint64_t UploadLedger::usage(std::string_view user, SystemTime now) const {
  std::lock_guard lock(mutex_);
  uint64_t total = 0;
  for (const auto& holding : holdingsLocked(user, now)) total += holding.size;
  return total;
}

void UploadLedger::unindexLocked(const std::string& user, const std::string& id) {
  auto ids = by_user_.find(user);
  if (ids == by_user_.end()) return;
  std::erase(ids->second, id);
  if (ids->second.empty()) by_user_.erase(ids);
}

void UploadLedger::dropExpiredSlotsLocked(std::string_view user, SystemTime now) {
  auto ids = by_user_.find(user);
  if (ids == by_user_.end()) return;
  std::vector<std::string> expired;
  for (const auto& id : ids->second) {
    auto open = slots_.find(id);
    if (open != slots_.end() && !open->second.uploading && open->second.slot.expires <= now) {
      expired.push_back(id);
    }
  }
  std::string owner(user);
  for (const auto& id : expired) {
    slots_.erase(id);
    unindexLocked(owner, id);
  }
}

std::optional<Refusal> UploadLedger::open(Slot& slot, SystemTime now) {
  if (slot.size > effectiveMaxFileSize(limits_)) return Refusal{Refusal::Reason::FileTooLarge, {}};
  std::lock_guard lock(mutex_);
  dropExpiredSlotsLocked(slot.user, now);
  auto holdings = holdingsLocked(slot.user, now);
  uint64_t used = 0;
  for (const auto& holding : holdings) used += holding.size;
  auto fits = [&](uint64_t held, size_t entries) {
    bool bytes_ok = limits_.quota == 0 || held + slot.size <= limits_.quota;
    return bytes_ok && entries + 1 <= limits_.max_files_per_user;
  };
  if (!fits(used, holdings.size())) {
    // XEP-0363 §5: the earliest time by which enough of what the user holds is gone.
    std::sort(holdings.begin(), holdings.end(),
              [](const Holding& a, const Holding& b) { return a.released < b.released; });
    Refusal refusal{Refusal::Reason::QuotaExceeded, std::nullopt};
    size_t entries = holdings.size();
    for (const auto& holding : holdings) {
      used -= holding.size;
      --entries;
      if (fits(used, entries)) {
        refusal.retry = holding.released;
        break;
      }
    }
    return refusal;
  }
  slot.expires = now + limits_.slot_lifetime;
  by_user_[slot.user].push_back(slot.id);
  slots_.emplace(slot.id, OpenSlot{slot, false});
  return std::nullopt;
}

ClaimOutcome UploadLedger::claim(std::string_view id, SystemTime now, Slot& slot) {
  std::lock_guard lock(mutex_);
  if (files_.count(id)) return ClaimOutcome::AlreadyStored;
  auto open = slots_.find(id);
  if (open == slots_.end() || open->second.slot.expires <= now) return ClaimOutcome::NoSuchSlot;
  if (open->second.uploading) return ClaimOutcome::InProgress;
  open->second.uploading = true;
  slot = open->second.slot;
  return ClaimOutcome::Claimed;
}

void UploadLedger::release(std::string_view id) {
  std::lock_guard lock(mutex_);
  if (auto open = slots_.find(id); open != slots_.end()) open->second.uploading = false;
}

bool UploadLedger::complete(StoredFile file) {
  std::lock_guard lock(mutex_);
  auto open = slots_.find(file.id);
  if (open == slots_.end()) return false;
  // The user's index keeps the id: the entry changes from slot to file.
  slots_.erase(open);
  std::string id = file.id;
  files_.emplace(std::move(id), std::move(file));
  return true;
}

void UploadLedger::addStored(StoredFile file) {
  std::lock_guard lock(mutex_);
  std::string id = file.id;
  by_user_[file.user].push_back(id);
  files_.emplace(std::move(id), std::move(file));
}

std::optional<StoredFile> UploadLedger::stored(std::string_view id, SystemTime now) const {
  std::lock_guard lock(mutex_);
  auto file = files_.find(id);
  if (file == files_.end() || expiry(file->second) <= now) return std::nullopt;
  return file->second;
}

std::vector<StoredFile> UploadLedger::takeExpired(SystemTime now, size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<StoredFile> expired;
  for (auto it = files_.begin(); it != files_.end() && expired.size() < limit;) {
    if (expiry(it->second) <= now) {
      unindexLocked(it->second.user, it->first);
      expired.push_back(std::move(it->second));
      it = files_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = slots_.begin(); it != slots_.end();) {
    if (!it->second.uploading && it->second.slot.expires <= now) {
      unindexLocked(it->second.slot.user, it->first);
      it = slots_.erase(it);
    } else {
      ++it;
    }
  }
  return expired;
}

std::vector<StoredFile> UploadLedger::takeUser(std::string_view user) {
  std::lock_guard lock(mutex_);
  std::vector<StoredFile> files;
  auto ids = by_user_.find(user);
  if (ids == by_user_.end()) return files;
  for (const auto& id : ids->second) {
    if (auto file = files_.find(id); file != files_.end()) {
      files.push_back(std::move(file->second));
      files_.erase(file);
    } else {
      // A slot being filled right now finds itself gone at complete(), and its handler
      // deletes what it wrote.
      slots_.erase(id);
    }
  }
  by_user_.erase(ids);
  return files;
}

size_t UploadLedger::openSlots() const {
  std::lock_guard lock(mutex_);
  return slots_.size();
}

size_t UploadLedger::storedFiles() const {
  std::lock_guard lock(mutex_);
  return files_.size();
}

}  // namespace parley::modules::http_upload
