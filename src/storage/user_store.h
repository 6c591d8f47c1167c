// Per-user data of one kind (roster, vCard, offline messages, private XML, ...): for each
// user an ordered map from key to value. Modules open one by name; the backend is LMDB, or
// memory for anonymous hosts whose users vanish with their session.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"

namespace parley::storage {

// Reads are callable from any thread and see committed data. Writes complete through `done`,
// called once the change is durable (LMDB: committed and synced), on the storage writer
// thread — or, for the memory backend, at once on the calling thread. Callers that must act
// on their own loop post from `done`.
class UserStore {
 public:
  using Done = std::function<void(Result<void>)>;
  using Entry = std::pair<std::string, std::string>;  // key, value

  // One change of an atomic batch: a put, or a removal when value is std::nullopt.
  struct Change {
    std::string key;
    std::optional<std::string> value;
  };

  virtual ~UserStore() = default;

  virtual std::optional<std::string> get(std::string_view host, std::string_view user,
                                         std::string_view key) const = 0;
  // Every entry of the user, in key order (bytewise).
  virtual std::vector<Entry> list(std::string_view host, std::string_view user) const = 0;
  virtual size_t count(std::string_view host, std::string_view user) const = 0;

  virtual void put(std::string_view host, std::string_view user, std::string_view key,
                   std::string value, Done done) = 0;
  virtual void remove(std::string_view host, std::string_view user, std::string_view key,
                      Done done) = 0;
  // Several puts and removals of one user, all or nothing.
  virtual void apply(std::string_view host, std::string_view user, std::vector<Change> changes,
                     Done done) = 0;
  // Stores `value` under a new key that sorts after every key the user has in this store
  // (a queue: offline messages). `done` gets the key.
  virtual void append(std::string_view host, std::string_view user, std::string value,
                      std::function<void(Result<std::string>)> done) = 0;
  // Removes every entry the user has in this store.
  virtual void removeAll(std::string_view host, std::string_view user, Done done) = 0;
};

}  // namespace parley::storage
