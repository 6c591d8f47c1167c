// AccountStore on LMDB: db "accounts", key host\0user, value an encoded AccountRecord.
#pragma once

#include <memory>

#include "storage/account_store.h"
#include "storage/lmdb_env.h"
#include "storage/writer.h"

namespace parley::storage {

// Thread-safe: reads open their own short read transaction; writes go through the Writer.
class LmdbAccountStore final : public AccountStore {
 public:
  static constexpr const char* kDbName = "accounts";

  // `env` and `writer` must outlive the store.
  static Result<std::unique_ptr<LmdbAccountStore>> open(Environment& env, Writer& writer);

  std::optional<AccountRecord> get(std::string_view host, std::string_view user) const override;
  bool exists(std::string_view host, std::string_view user) const override;
  std::vector<std::string> users(std::string_view host) const override;

  void create(std::string_view host, std::string_view user, AccountRecord record,
              std::function<void(Result<void, AccountError>)> done) override;
  void update(std::string_view host, std::string_view user, AccountRecord record,
              std::function<void(Result<void, AccountError>)> done) override;
  void remove(std::string_view host, std::string_view user,
              std::function<void(Result<void, AccountError>)> done) override;

 private:
  using Done = std::function<void(Result<void, AccountError>)>;
  // One step of a conditional write, run in the writer's transaction. It returns an error to
  // roll back, having set `refusal` when the reason is the caller's (Conflict, NotFound).
  using Step = std::function<Result<void>(WriteTxnView&, std::optional<AccountError>& refusal)>;

  LmdbAccountStore(Environment& env, Writer& writer, Db db) : env_(env), writer_(writer), db_(db) {}
  void submitConditional(std::string what, Step step, Done done);
  // Fails a write whose host or user cannot be a key (empty, or holding NUL).
  void refuse(AccountError error, Done done);

  Environment& env_;
  Writer& writer_;
  Db db_;
};

}  // namespace parley::storage
