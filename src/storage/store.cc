// Storage: opens the data directory and hands out the stores; what the rest of the server sees.
#include "storage/store.h"

#include "storage/lmdb_account_store.h"
#include "storage/lmdb_env.h"
#include "storage/writer.h"

namespace parley::storage {
namespace {

constexpr unsigned kMaxDbs = 32;  // named databases: one or a few per store

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

}  // namespace parley::storage
