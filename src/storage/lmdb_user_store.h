// UserStore on LMDB: database "user.<name>", key host\0user\0<key bytes>, value versioned.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "storage/lmdb_env.h"
#include "storage/user_store.h"
#include "storage/writer.h"

namespace parley::storage {

// Thread-safe: reads open their own short read transaction; writes go through the Writer and
// complete on its thread. The key part after host\0user\0 is stored raw, so it may hold any
// byte, NUL included; a list is a prefix scan of host\0user\0, which keeps "ann" from "anna".
class LmdbUserStore final : public UserStore {
 public:
  static constexpr std::string_view kDbPrefix = "user.";

  // Store names are [a-z0-9_]+.
  static bool isValidName(std::string_view name);

  // Opens (creating if needed) database "user." + name. `env` and `writer` must outlive the
  // store. Call once per store, not per operation (see Environment::openDb).
  static Result<std::unique_ptr<LmdbUserStore>> open(Environment& env, Writer& writer,
                                                     std::string_view name);

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

  const std::string& name() const { return name_; }

 private:
  LmdbUserStore(Environment& env, Writer& writer, Db db, std::string name)
      : env_(env), writer_(writer), db_(db), name_(std::move(name)) {}
  // Fails a write through the writer, so that done still runs on the writer thread.
  void refuse(std::string reason, Done done);
  void refuseInvalidUser(Done done);
  bool fitsKey(std::string_view prefix, std::string_view key) const;

  Environment& env_;
  Writer& writer_;
  Db db_;
  std::string name_;
};

// Deletes every entry of host/user in every "user.*" database of the environment, including the
// ones this process has not opened (found through LMDB's main database). Runs inside a write
// transaction: call it from a WriteBatch apply callback. Returns how many entries went.
Result<size_t> deleteUserData(WriteTxnView& txn, std::string_view host, std::string_view user);

}  // namespace parley::storage
