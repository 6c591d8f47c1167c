// UserStore on LMDB: database "user.<name>", key host\0user\0<key bytes>, value versioned.
#include "storage/lmdb_user_store.h"

#include <memory>

#include "storage/append_key.h"
#include "storage/keys.h"
#include "util/log.h"

namespace parley::storage {
namespace {

// Layout of a stored value: this byte, then the caller's bytes unchanged.
constexpr char kValueVersion = 1;

std::string encodeValue(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 1);
  out.push_back(kValueVersion);
  out.append(value);
  return out;
}

std::optional<std::string_view> decodeValue(std::string_view stored) {
  if (stored.empty() || stored[0] != kValueVersion) return std::nullopt;
  return stored.substr(1);
}

bool validUser(std::string_view host, std::string_view user) {
  return isKeyPart(host) && isKeyPart(user);
}

std::string describe(std::string_view store, std::string_view host, std::string_view user) {
  std::string out(store);
  out.append(" of ");
  out.append(user);
  out.push_back('@');
  out.append(host);
  return out;
}

struct CursorCloser {
  void operator()(MDB_cursor* cursor) const { mdb_cursor_close(cursor); }
};

// The greatest key starting with `prefix`, without the prefix; nullopt when there is none.
// Cursor only walks forward, so this positions a raw cursor at the first key past the prefix's
// range and steps back once.
Result<std::optional<std::string>> lastKeyWithPrefix(const TxnView& txn, Db db,
                                                     std::string_view prefix) {
  MDB_cursor* raw = nullptr;
  int rc = mdb_cursor_open(txn.handle(), db.dbi, &raw);
  if (rc != 0) return mdbError("cursor open", rc);
  std::unique_ptr<MDB_cursor, CursorCloser> cursor(raw);

  // prefix ends with the NUL delimiter; with that byte raised to 1 it is the smallest key after
  // every key that starts with the prefix.
  std::string past(prefix);
  past.back() = '\1';
  MDB_val key{past.size(), past.data()};
  MDB_val value{0, nullptr};
  rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_SET_RANGE);
  if (rc == MDB_NOTFOUND) {
    rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_LAST);
  } else if (rc == 0) {
    rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_PREV);
  }
  if (rc == MDB_NOTFOUND) return std::optional<std::string>();
  if (rc != 0) return mdbError("cursor", rc);
  std::string_view found(static_cast<const char*>(key.mv_data), key.mv_size);
  if (!found.starts_with(prefix)) return std::optional<std::string>();
  return std::optional<std::string>(std::string(found.substr(prefix.size())));
}

}  // namespace

bool LmdbUserStore::isValidName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

Result<std::unique_ptr<LmdbUserStore>> LmdbUserStore::open(Environment& env, Writer& writer,
                                                           std::string_view name) {
  if (!isValidName(name)) return fail("invalid user store name '", name, "'");
  std::string db_name(kDbPrefix);
  db_name.append(name);
  auto db = env.openDb(db_name);
  if (!db) return Unexpected(std::move(db).error());
  return std::unique_ptr<LmdbUserStore>(new LmdbUserStore(env, writer, *db, std::string(name)));
}

bool LmdbUserStore::fitsKey(std::string_view prefix, std::string_view key) const {
  return prefix.size() + key.size() <= env_.maxKeySize();
}

std::optional<std::string> LmdbUserStore::get(std::string_view host, std::string_view user,
                                              std::string_view key) const {
  if (!validUser(host, user)) return std::nullopt;
  auto txn = env_.beginRead();
  if (!txn) {
    log::warn("storage: ", describe(name_, host, user), ": ", txn.error().message);
    return std::nullopt;
  }
  std::string full_key = makePrefix({host, user});
  full_key.append(key);
  auto stored = txn->get(db_, full_key);
  if (!stored) {
    log::warn("storage: ", describe(name_, host, user), ": ", stored.error().message);
    return std::nullopt;
  }
  if (!stored->has_value()) return std::nullopt;
  auto value = decodeValue(**stored);
  if (!value) {
    log::error("storage: ", describe(name_, host, user), ": unreadable value (unknown version)");
    return std::nullopt;
  }
  return std::string(*value);
}

std::vector<UserStore::Entry> LmdbUserStore::list(std::string_view host,
                                                  std::string_view user) const {
  std::vector<Entry> out;
  if (!validUser(host, user)) return out;
  auto txn = env_.beginRead();
  if (!txn) {
    log::warn("storage: ", describe(name_, host, user), ": ", txn.error().message);
    return out;
  }
  const std::string prefix = makePrefix({host, user});
  size_t unreadable = 0;
  auto scanned = txn->forEachWithPrefix(db_, prefix, [&](const storage::Entry& entry) {
    auto value = decodeValue(entry.value);
    if (value) {
      out.emplace_back(std::string(entry.key.substr(prefix.size())), std::string(*value));
    } else {
      ++unreadable;
    }
    return true;
  });
  if (!scanned) log::warn("storage: ", describe(name_, host, user), ": ", scanned.error().message);
  if (unreadable > 0) {
    log::error("storage: ", describe(name_, host, user), ": skipped ", unreadable,
               " unreadable values (unknown version)");
  }
  return out;  // LMDB keeps keys in byte order
}

size_t LmdbUserStore::count(std::string_view host, std::string_view user) const {
  if (!validUser(host, user)) return 0;
  auto txn = env_.beginRead();
  if (!txn) {
    log::warn("storage: ", describe(name_, host, user), ": ", txn.error().message);
    return 0;
  }
  size_t n = 0;
  auto scanned = txn->forEachWithPrefix(db_, makePrefix({host, user}), [&](const auto&) {
    ++n;
    return true;
  });
  if (!scanned) log::warn("storage: ", describe(name_, host, user), ": ", scanned.error().message);
  return n;
}

void LmdbUserStore::refuse(std::string reason, Done done) {
  WriteBatch batch;
  batch.setApply(
      [reason = std::move(reason)](WriteTxnView&) -> Result<void> { return fail(reason); });
  writer_.submit(std::move(batch), std::move(done));
}

void LmdbUserStore::refuseInvalidUser(Done done) {
  refuse("user store " + name_ + ": invalid user (empty, or holding NUL)", std::move(done));
}

void LmdbUserStore::put(std::string_view host, std::string_view user, std::string_view key,
                        std::string value, Done done) {
  if (!validUser(host, user)) return refuseInvalidUser(std::move(done));
  std::string full_key = makePrefix({host, user});
  if (!fitsKey(full_key, key)) {
    return refuse("user store " + name_ + ": key too long", std::move(done));
  }
  full_key.append(key);
  WriteBatch batch;
  batch.reserve(1, full_key.size() + value.size() + 1);
  batch.put(db_, full_key, encodeValue(value));
  writer_.submit(std::move(batch), std::move(done));
}

void LmdbUserStore::remove(std::string_view host, std::string_view user, std::string_view key,
                           Done done) {
  if (!validUser(host, user)) return refuseInvalidUser(std::move(done));
  // A key too long to have been stored is simply absent; the delete succeeds with no effect.
  std::string full_key = makePrefix({host, user});
  full_key.append(key);
  WriteBatch batch;
  batch.del(db_, full_key);
  writer_.submit(std::move(batch), std::move(done));
}

void LmdbUserStore::apply(std::string_view host, std::string_view user, std::vector<Change> changes,
                          Done done) {
  if (!validUser(host, user)) return refuseInvalidUser(std::move(done));
  const std::string prefix = makePrefix({host, user});
  WriteBatch batch;
  std::string full_key;
  for (const Change& change : changes) {
    full_key.assign(prefix);
    full_key.append(change.key);
    if (change.value) {
      if (!fitsKey(prefix, change.key)) {
        return refuse("user store " + name_ + ": key too long", std::move(done));
      }
      batch.put(db_, full_key, encodeValue(*change.value));
    } else {
      batch.del(db_, full_key);
    }
  }
  // One batch is one nested commit: every change lands, or none does.
  writer_.submit(std::move(batch), std::move(done));
}

void LmdbUserStore::append(std::string_view host, std::string_view user, std::string value,
                           std::function<void(Result<std::string>)> done) {
  if (!validUser(host, user)) {
    return refuseInvalidUser([done = std::move(done)](Result<void> result) {
      if (done) done(Unexpected(std::move(result).error()));
    });
  }

  // The key is chosen inside the write transaction, after every earlier write of the group, so
  // concurrent appends see each other and never collide. The callback may run again on a retry;
  // each run overwrites `key`.
  auto key = std::make_shared<std::string>();
  WriteBatch batch;
  batch.setApply([db = db_, prefix = makePrefix({host, user}), value = encodeValue(value), key,
                  what = describe(name_, host, user)](WriteTxnView& txn) -> Result<void> {
    auto last = lastKeyWithPrefix(txn, db, prefix);
    if (!last) return Unexpected(std::move(last).error());
    auto next = nextAppendKey(*last);
    if (!next) return fail("append to ", what, ": no key sorts after the last one");
    *key = std::move(*next);
    return txn.put(db, prefix + *key, value);
  });
  writer_.submit(std::move(batch), [key, done = std::move(done)](Result<void> result) {
    if (!done) return;
    if (!result) return done(Unexpected(std::move(result).error()));
    done(std::move(*key));
  });
}

void LmdbUserStore::removeAll(std::string_view host, std::string_view user, Done done) {
  if (!validUser(host, user)) return refuseInvalidUser(std::move(done));
  WriteBatch batch;
  batch.delPrefix(db_, makePrefix({host, user}));
  writer_.submit(std::move(batch), std::move(done));
}

Result<size_t> deleteUserData(WriteTxnView& txn, std::string_view host, std::string_view user) {
  if (!validUser(host, user)) return size_t{0};
  // The main database holds one key per named database: its name.
  MDB_dbi main_dbi = 0;
  int rc = mdb_dbi_open(txn.handle(), nullptr, 0, &main_dbi);
  if (rc != 0) return mdbError("open main database", rc);
  std::vector<std::string> names;
  auto scanned = txn.forEachWithPrefix(Db{main_dbi}, LmdbUserStore::kDbPrefix,
                                       [&](const storage::Entry& entry) {
                                         names.emplace_back(entry.key);
                                         return true;
                                       });
  if (!scanned) return Unexpected(std::move(scanned).error());

  const std::string prefix = makePrefix({host, user});
  size_t deleted = 0;
  for (const std::string& name : names) {
    if (name.find('\0') != std::string::npos) continue;  // not a name mdb_dbi_open could take
    // For a database this process already opened this returns the same handle; otherwise the
    // handle opened here lives on if the transaction commits and is closed if it aborts, as
    // LMDB does for any handle opened in a write transaction.
    Db db;
    rc = mdb_dbi_open(txn.handle(), name.c_str(), 0, &db.dbi);
    if (rc != 0) return mdbError("open database " + name, rc);
    auto n = txn.delPrefix(db, prefix);
    if (!n) return Unexpected(std::move(n).error());
    deleted += *n;
  }
  return deleted;
}

}  // namespace parley::storage
