// RAII wrappers over LMDB: the environment, named databases, read and write transactions, cursors.
#include "storage/lmdb_env.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "util/log.h"

namespace parley::storage {
namespace {

MDB_val toVal(std::string_view bytes) {
  // LMDB takes non-const pointers but never writes through them for keys and put values.
  return MDB_val{bytes.size(), const_cast<char*>(bytes.data())};
}

std::string_view toView(const MDB_val& val) {
  return {static_cast<const char*>(val.mv_data), val.mv_size};
}

// Creates `dir` and any missing parents with mode 0700; leaves existing directories alone.
Result<void> makePrivateDirectory(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return {};
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    auto parent = makePrivateDirectory(dir.parent_path());
    if (!parent) return parent;
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return fail("cannot create ", dir.string(), ": ", std::strerror(errno));
  }
  return {};
}

}  // namespace

Unexpected<Error> mdbError(std::string_view what, int rc) {
  return fail(what, ": ", mdb_strerror(rc));
}

// ---- Cursor

Cursor::Cursor(Cursor&& other) noexcept : cursor_(other.cursor_) { other.cursor_ = nullptr; }

Cursor::~Cursor() {
  if (cursor_ != nullptr) mdb_cursor_close(cursor_);
}

Result<std::optional<Entry>> Cursor::step(std::string_view key, MDB_cursor_op op) {
  MDB_val k = toVal(key);
  MDB_val v{0, nullptr};
  int rc = mdb_cursor_get(cursor_, &k, &v, op);
  if (rc == MDB_NOTFOUND) return std::optional<Entry>();
  if (rc != 0) return mdbError("cursor", rc);
  return std::optional<Entry>(Entry{toView(k), toView(v)});
}

Result<std::optional<Entry>> Cursor::seek(std::string_view key) {
  // LMDB rejects an empty key for MDB_SET_RANGE; the smallest key >= "" is the first one.
  return key.empty() ? step({}, MDB_FIRST) : step(key, MDB_SET_RANGE);
}

Result<std::optional<Entry>> Cursor::next() { return step({}, MDB_NEXT); }

Result<void> Cursor::erase() {
  int rc = mdb_cursor_del(cursor_, 0);
  if (rc != 0) return mdbError("cursor delete", rc);
  return {};
}

// ---- Transactions

Result<std::optional<std::string_view>> TxnView::get(Db db, std::string_view key) const {
  MDB_val k = toVal(key);
  MDB_val v{0, nullptr};
  int rc = mdb_get(txn_, db.dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string_view>();
  // A key longer than the maximum cannot have been stored, so it is simply absent.
  if (rc == MDB_BAD_VALSIZE && !key.empty()) return std::optional<std::string_view>();
  if (rc != 0) return mdbError("get", rc);
  return std::optional<std::string_view>(toView(v));
}

Result<Cursor> TxnView::cursor(Db db) const {
  MDB_cursor* cursor = nullptr;
  int rc = mdb_cursor_open(txn_, db.dbi, &cursor);
  if (rc != 0) return mdbError("cursor open", rc);
  return Cursor(cursor);
}

Result<void> WriteTxnView::put(Db db, std::string_view key, std::string_view value) {
  MDB_val k = toVal(key);
  MDB_val v = toVal(value);
  int rc = mdb_put(txn_, db.dbi, &k, &v, 0);
  if (rc != 0) return mdbError("put", rc);
  return {};
}

Result<bool> WriteTxnView::del(Db db, std::string_view key) {
  MDB_val k = toVal(key);
  int rc = mdb_del(txn_, db.dbi, &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  if (rc == MDB_BAD_VALSIZE && !key.empty()) return false;  // too long to exist, as in get()
  if (rc != 0) return mdbError("delete", rc);
  return true;
}

Result<size_t> WriteTxnView::delPrefix(Db db, std::string_view prefix) {
  auto cur = cursor(db);
  if (!cur) return Unexpected(std::move(cur).error());
  size_t deleted = 0;
  auto entry = cur->seek(prefix);
  while (true) {
    if (!entry) return Unexpected(std::move(entry).error());
    if (!entry->has_value() || !(*entry)->key.starts_with(prefix)) return deleted;
    auto erased = cur->erase();
    if (!erased) return Unexpected(std::move(erased).error());
    ++deleted;
    entry = cur->next();  // after a delete, MDB_NEXT yields the entry that followed it
  }
}

ReadTxn::~ReadTxn() {
  if (txn_ != nullptr) mdb_txn_abort(txn_);
}

WriteTxn::~WriteTxn() { abort(); }

void WriteTxn::abort() {
  if (txn_ != nullptr) mdb_txn_abort(txn_);
  txn_ = nullptr;
}

Result<WriteTxn> WriteTxn::beginChild() {
  MDB_txn* child = nullptr;
  int rc = mdb_txn_begin(mdb_txn_env(txn_), txn_, 0, &child);
  if (rc != 0) return mdbError("begin nested transaction", rc);
  return WriteTxn(child);
}

Result<void> WriteTxn::commit() {
  MDB_txn* txn = txn_;
  txn_ = nullptr;  // mdb_txn_commit frees the transaction even when it fails
  int rc = mdb_txn_commit(txn);
  if (rc != 0) return mdbError("commit", rc);
  return {};
}

// ---- Environment

Environment::Environment(MDB_env* env, std::filesystem::path path)
    : env_(env),
      path_(std::move(path)),
      max_key_size_(static_cast<size_t>(mdb_env_get_maxkeysize(env))) {}

Environment::~Environment() { mdb_env_close(env_); }

Result<std::unique_ptr<Environment>> Environment::open(const std::filesystem::path& dir,
                                                       size_t map_size, unsigned max_dbs) {
  auto made = makePrivateDirectory(dir);
  if (!made) return Unexpected(std::move(made).error());

  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc != 0) return mdbError("mdb_env_create", rc);
  auto close_on_error = [&](std::string_view what, int code) {
    mdb_env_close(env);
    return mdbError(std::string(what) + " " + dir.string(), code);
  };
  if ((rc = mdb_env_set_mapsize(env, map_size)) != 0) return close_on_error("map size for", rc);
  if ((rc = mdb_env_set_maxdbs(env, max_dbs)) != 0) return close_on_error("max dbs for", rc);
  // Short read transactions from every worker thread, plus parleyctl in another process.
  if ((rc = mdb_env_set_maxreaders(env, 256)) != 0) return close_on_error("max readers for", rc);
  // MDB_NOTLS: read transactions are not bound to the thread that began them. No MDB_NOSYNC:
  // every commit is durable, and the writer's group commit amortizes the fsync.
  if ((rc = mdb_env_open(env, dir.c_str(), MDB_NOTLS, 0600)) != 0) {
    return close_on_error("cannot open LMDB environment", rc);
  }
  int stale = 0;
  mdb_reader_check(env, &stale);  // free reader slots left behind by crashed processes
  if (stale > 0) log::warn("storage ", dir.string(), ": cleared ", stale, " stale reader slots");
  log::info("storage: opened ", dir.string(), " (map ", map_size >> 20, " MiB)");
  return std::unique_ptr<Environment>(new Environment(env, dir));
}

Result<Db> Environment::openDb(const std::string& name) {
  std::lock_guard lock(dbs_mutex_);
  if (auto it = dbs_.find(name); it != dbs_.end()) return it->second;
  auto txn = beginWrite();
  if (!txn) return Unexpected(std::move(txn).error());
  Db db;
  int rc = mdb_dbi_open(txn->handle(), name.c_str(), MDB_CREATE, &db.dbi);
  if (rc != 0) return mdbError("open database " + name, rc);
  auto committed = txn->commit();
  if (!committed) return Unexpected(std::move(committed).error());
  dbs_.emplace(name, db);
  return db;
}

Result<ReadTxn> Environment::beginRead() const {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
  if (rc != 0) return mdbError("begin read transaction", rc);
  return ReadTxn(txn);
}

Result<WriteTxn> Environment::beginWrite() {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc != 0) return mdbError("begin write transaction", rc);
  return WriteTxn(txn);
}

}  // namespace parley::storage
