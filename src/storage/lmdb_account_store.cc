// AccountStore on LMDB: db "accounts", key host\0user, value an encoded AccountRecord.
#include "storage/lmdb_account_store.h"

#include "storage/account_codec.h"
#include "storage/keys.h"
#include "util/log.h"

namespace parley::storage {
namespace {

std::string describe(std::string_view host, std::string_view user) {
  std::string out(user);
  out.push_back('@');
  out.append(host);
  return out;
}

bool validName(std::string_view host, std::string_view user) {
  return isKeyPart(host) && isKeyPart(user);
}

}  // namespace

Result<std::unique_ptr<LmdbAccountStore>> LmdbAccountStore::open(Environment& env, Writer& writer) {
  auto db = env.openDb(kDbName);
  if (!db) return Unexpected(std::move(db).error());
  return std::unique_ptr<LmdbAccountStore>(new LmdbAccountStore(env, writer, *db));
}

std::optional<AccountRecord> LmdbAccountStore::get(std::string_view host,
                                                   std::string_view user) const {
  if (!validName(host, user)) return std::nullopt;
  auto txn = env_.beginRead();
  if (!txn) {
    log::warn("storage: account ", describe(host, user), ": ", txn.error().message);
    return std::nullopt;
  }
  auto value = txn->get(db_, makeKey({host, user}));
  if (!value) {
    log::warn("storage: account ", describe(host, user), ": ", value.error().message);
    return std::nullopt;
  }
  if (!value->has_value()) return std::nullopt;
  auto record = decodeAccount(**value);
  if (!record) {
    // The account stays in place (create still reports Conflict) but cannot log in until an
    // operator resets its password or removes it.
    log::error("storage: account ", describe(host, user),
               " is unreadable: ", record.error().message);
    return std::nullopt;
  }
  return std::move(*record);
}

bool LmdbAccountStore::exists(std::string_view host, std::string_view user) const {
  if (!validName(host, user)) return false;
  auto txn = env_.beginRead();
  if (!txn) {
    log::warn("storage: account ", describe(host, user), ": ", txn.error().message);
    return false;
  }
  auto value = txn->get(db_, makeKey({host, user}));
  if (!value) {
    log::warn("storage: account ", describe(host, user), ": ", value.error().message);
    return false;
  }
  return value->has_value();
}

std::vector<std::string> LmdbAccountStore::users(std::string_view host) const {
  std::vector<std::string> out;
  if (!isKeyPart(host)) return out;
  auto txn = env_.beginRead();
  if (!txn) {
    log::warn("storage: users of ", host, ": ", txn.error().message);
    return out;
  }
  const std::string prefix = makePrefix({host});
  auto scanned = txn->forEachWithPrefix(db_, prefix, [&](const Entry& entry) {
    out.emplace_back(entry.key.substr(prefix.size()));
    return true;
  });
  if (!scanned) log::warn("storage: users of ", host, ": ", scanned.error().message);
  return out;  // LMDB keeps keys in byte order, so this is sorted
}

void LmdbAccountStore::submitConditional(std::string what, Step step, Done done) {
  // The refusal travels from the apply callback to the done callback; both run on the writer
  // thread, one after the other.
  auto refusal = std::make_shared<std::optional<AccountError>>();
  WriteBatch batch;
  batch.setApply([refusal, step = std::move(step)](WriteTxnView& txn) {
    refusal->reset();  // the callback may run again when its group is retried
    return step(txn, *refusal);
  });
  auto complete = [refusal, what = std::move(what), done = std::move(done)](Result<void> result) {
    if (!done) return;
    if (result) return done({});
    if (refusal->has_value()) return done(Unexpected(**refusal));
    log::warn("storage: ", what, ": ", result.error().message);
    done(Unexpected(AccountError::Storage));
  };
  writer_.submit(std::move(batch), std::move(complete));
}

void LmdbAccountStore::refuse(AccountError error, Done done) {
  if (error == AccountError::Storage) log::warn("storage: refusing an invalid account name");
  // Through the writer all the same, so that done always runs on the writer thread.
  submitConditional(
      "invalid account name",
      [error](WriteTxnView&, std::optional<AccountError>& refusal) -> Result<void> {
        refusal = error;
        return fail("invalid account name");
      },
      std::move(done));
}

void LmdbAccountStore::create(std::string_view host, std::string_view user, AccountRecord record,
                              Done done) {
  if (!validName(host, user)) return refuse(AccountError::Storage, std::move(done));
  Step step = [db = db_, key = makeKey({host, user}), value = encodeAccount(record)](
                  WriteTxnView& txn, std::optional<AccountError>& refusal) -> Result<void> {
    auto existing = txn.get(db, key);
    if (!existing) return Unexpected(std::move(existing).error());
    if (existing->has_value()) {
      refusal = AccountError::Conflict;
      return fail("account exists");
    }
    return txn.put(db, key, value);
  };
  submitConditional("create account " + describe(host, user), std::move(step), std::move(done));
}

void LmdbAccountStore::update(std::string_view host, std::string_view user, AccountRecord record,
                              Done done) {
  if (!validName(host, user)) return refuse(AccountError::NotFound, std::move(done));
  Step step = [db = db_, key = makeKey({host, user}), value = encodeAccount(record)](
                  WriteTxnView& txn, std::optional<AccountError>& refusal) -> Result<void> {
    auto existing = txn.get(db, key);
    if (!existing) return Unexpected(std::move(existing).error());
    if (!existing->has_value()) {
      refusal = AccountError::NotFound;
      return fail("no such account");
    }
    return txn.put(db, key, value);
  };
  submitConditional("update account " + describe(host, user), std::move(step), std::move(done));
}

void LmdbAccountStore::remove(std::string_view host, std::string_view user, Done done) {
  if (!validName(host, user)) return refuse(AccountError::NotFound, std::move(done));
  Step step = [db = db_, key = makeKey({host, user})](
                  WriteTxnView& txn, std::optional<AccountError>& refusal) -> Result<void> {
    auto deleted = txn.del(db, key);
    if (!deleted) return Unexpected(std::move(deleted).error());
    if (!*deleted) {
      refusal = AccountError::NotFound;
      return fail("no such account");
    }
    return {};
  };
  submitConditional("remove account " + describe(host, user), std::move(step), std::move(done));
}

}  // namespace parley::storage
