// UserStore in memory: for anonymous hosts, whose users' data must vanish and never touch disk.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "storage/user_store.h"

namespace parley::storage {

// Thread-safe (one mutex). Same semantics as LmdbUserStore, including its key size limit, except
// that writes complete at once: `done` runs on the calling thread before the call returns, with
// the mutex released (so it may call the store again). Nothing survives the object.
class MemoryUserStore final : public UserStore {
 public:
  // host\0user\0 plus the key may not exceed this, as in LMDB (its default maximum key size).
  static constexpr size_t kMaxKeySize = 511;

  std::optional<std::string> get(std::string_view host, std::string_view user,
                                 std::string_view key) const override;
  std::vector<Entry> list(std::string_view host, std::string_view user) const override;
  size_t count(std::string_view host, std::string_view user) const override;

  void put(std::string_view host, std::string_view user, std::string_view key, std::string value,
           Done done) override;
  void remove(std::string_view host, std::string_view user, std::string_view key,
              Done done) override;
  void apply(std::string_view host, std::string_view user, std::vector<Change> changes,
             Done done) override;
  void append(std::string_view host, std::string_view user, std::string value,
              std::function<void(Result<std::string>)> done) override;
  void removeAll(std::string_view host, std::string_view user, Done done) override;

 private:
  using Map = std::map<std::string, std::string, std::less<>>;
  // The entries starting with `prefix`: [first, last).
  std::pair<Map::const_iterator, Map::const_iterator> range(std::string_view prefix) const;
  std::pair<Map::iterator, Map::iterator> range(std::string_view prefix);

  mutable std::mutex mutex_;
  Map entries_;  // guarded by mutex_; keys host\0user\0key, as in LMDB
};

// A new, empty MemoryUserStore, for callers that hold stores through the interface.
std::unique_ptr<UserStore> makeMemoryUserStore();

}  // namespace parley::storage
