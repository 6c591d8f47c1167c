// Storage: opens the data directory and hands out the stores; what the rest of the server sees.
#include "storage/store.h"

#include "storage/keys.h"
#include "storage/lmdb_account_store.h"
#include "storage/lmdb_env.h"
#include "storage/lmdb_user_store.h"
#include "storage/writer.h"
#include "util/log.h"

namespace parley::storage {
namespace {

constexpr unsigned kMaxDbs = 64;  // named databases: one or a few per store, one per user store

std::string describe(std::string_view host, std::string_view user) {
  std::string out(user);
  out.push_back('@');
  out.append(host);
  return out;
}

}  // namespace

Result<std::unique_ptr<Storage>> Storage::open(const std::filesystem::path& data_dir,
                                               const StorageOptions& options) {
  std::unique_ptr<Storage> storage(new Storage());
  auto env = Environment::open(data_dir / "db", options.map_size, kMaxDbs);
  if (!env) return Unexpected(std::move(env).error());
  storage->env_ = std::move(*env);

  auto writer = Writer::start(*storage->env_);
  if (!writer) return Unexpected(std::move(writer).error());
  storage->writer_ = std::move(*writer);

  auto accounts = LmdbAccountStore::open(*storage->env_, *storage->writer_);
  if (!accounts) return Unexpected(std::move(accounts).error());
  storage->accounts_ = std::move(*accounts);

  return storage;
}

Storage::~Storage() { close(); }

void Storage::close() {
  if (writer_) writer_->stop();
}

UserStore& Storage::userStore(std::string_view name) {
  PARLEY_CHECK(LmdbUserStore::isValidName(name));
  std::lock_guard lock(user_stores_mutex_);
  if (auto it = user_stores_.find(name); it != user_stores_.end()) return *it->second;
  auto store = LmdbUserStore::open(*env_, *writer_, name);
  if (!store) {
    log::error("storage: cannot open user store ", name, ": ", store.error().message);
    PARLEY_CHECK(store.hasValue());
  }
  auto [it, inserted] = user_stores_.emplace(std::string(name), std::move(*store));
  return *it->second;
}

void Storage::removeUser(std::string_view host, std::string_view user,
                         std::function<void(Result<void, AccountError>)> done) {
  auto accounts = env_->openDb(LmdbAccountStore::kDbName);  // cached since open(): no write
  if (!accounts) {
    log::warn("storage: remove user ", describe(host, user), ": ", accounts.error().message);
    if (done) done(Unexpected(AccountError::Storage));
    return;
  }
  // Set by the apply callback, read by the completion; both run on the writer thread.
  struct Outcome {
    std::optional<AccountError> refusal;
    size_t entries = 0;
  };
  auto outcome = std::make_shared<Outcome>();
  WriteBatch batch;
  batch.setApply([outcome, db = *accounts, host = std::string(host),
                  user = std::string(user)](WriteTxnView& txn) -> Result<void> {
    *outcome = Outcome{};  // the callback may run again when its group is retried
    if (!isKeyPart(host) || !isKeyPart(user)) {
      outcome->refusal = AccountError::NotFound;
      return fail("invalid account name");
    }
    auto deleted = txn.del(db, makeKey({host, user}));
    if (!deleted) return Unexpected(std::move(deleted).error());
    if (!*deleted) {
      outcome->refusal = AccountError::NotFound;
      return fail("no such account");
    }
    auto entries = deleteUserData(txn, host, user);
    if (!entries) return Unexpected(std::move(entries).error());
    outcome->entries = *entries;
    return {};
  });
  writer_->submit(std::move(batch), [outcome, what = describe(host, user),
                                     done = std::move(done)](Result<void> result) {
    if (result) {
      log::info("storage: removed user ", what, " and ", outcome->entries, " stored entries");
      if (done) done({});
      return;
    }
    if (outcome->refusal) {
      if (done) done(Unexpected(*outcome->refusal));
      return;
    }
    log::warn("storage: remove user ", what, ": ", result.error().message);
    if (done) done(Unexpected(AccountError::Storage));
  });
}

}  // namespace parley::storage
