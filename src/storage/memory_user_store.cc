// UserStore in memory: for anonymous hosts, whose users' data must vanish and never touch disk.
#include "storage/memory_user_store.h"

#include "storage/append_key.h"
#include "storage/keys.h"

namespace parley::storage {
namespace {

bool validUser(std::string_view host, std::string_view user) {
  return isKeyPart(host) && isKeyPart(user);
}

void complete(const UserStore::Done& done, Result<void> result) {
  if (done) done(std::move(result));
}

Unexpected<Error> invalidUser() {
  return fail("memory user store: invalid user (empty, or holding NUL)");
}

Unexpected<Error> keyTooLong() { return fail("memory user store: key too long"); }

}  // namespace

std::pair<MemoryUserStore::Map::const_iterator, MemoryUserStore::Map::const_iterator>
MemoryUserStore::range(std::string_view prefix) const {
  auto first = entries_.lower_bound(prefix);
  auto last = first;
  while (last != entries_.end() && std::string_view(last->first).starts_with(prefix)) ++last;
  return {first, last};
}

std::pair<MemoryUserStore::Map::iterator, MemoryUserStore::Map::iterator> MemoryUserStore::range(
    std::string_view prefix) {
  auto first = entries_.lower_bound(prefix);
  auto last = first;
  while (last != entries_.end() && std::string_view(last->first).starts_with(prefix)) ++last;
  return {first, last};
}

std::optional<std::string> MemoryUserStore::get(std::string_view host, std::string_view user,
                                                std::string_view key) const {
  if (!validUser(host, user)) return std::nullopt;
  std::string full_key = makePrefix({host, user});
  full_key.append(key);
  std::lock_guard lock(mutex_);
  auto it = entries_.find(full_key);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

std::vector<UserStore::Entry> MemoryUserStore::list(std::string_view host,
                                                    std::string_view user) const {
  std::vector<Entry> out;
  if (!validUser(host, user)) return out;
  const std::string prefix = makePrefix({host, user});
  std::lock_guard lock(mutex_);
  auto [first, last] = range(prefix);
  for (auto it = first; it != last; ++it) {
    out.emplace_back(it->first.substr(prefix.size()), it->second);
  }
  return out;
}

size_t MemoryUserStore::count(std::string_view host, std::string_view user) const {
  if (!validUser(host, user)) return 0;
  const std::string prefix = makePrefix({host, user});
  std::lock_guard lock(mutex_);
  auto [first, last] = range(prefix);
  return static_cast<size_t>(std::distance(first, last));
}

void MemoryUserStore::put(std::string_view host, std::string_view user, std::string_view key,
                          std::string value, Done done) {
  if (!validUser(host, user)) return complete(done, invalidUser());
  std::string full_key = makePrefix({host, user});
  full_key.append(key);
  if (full_key.size() > kMaxKeySize) return complete(done, keyTooLong());
  {
    std::lock_guard lock(mutex_);
    entries_.insert_or_assign(std::move(full_key), std::move(value));
  }
  complete(done, {});
}

void MemoryUserStore::remove(std::string_view host, std::string_view user, std::string_view key,
                             Done done) {
  if (!validUser(host, user)) return complete(done, invalidUser());
  std::string full_key = makePrefix({host, user});
  full_key.append(key);
  {
    std::lock_guard lock(mutex_);
    entries_.erase(full_key);
  }
  complete(done, {});
}

void MemoryUserStore::apply(std::string_view host, std::string_view user,
                            std::vector<Change> changes, Done done) {
  if (!validUser(host, user)) return complete(done, invalidUser());
  const std::string prefix = makePrefix({host, user});
  // Everything that can fail is checked before anything changes: all or nothing.
  for (const Change& change : changes) {
    if (change.value && prefix.size() + change.key.size() > kMaxKeySize) {
      return complete(done, keyTooLong());
    }
  }
  {
    std::lock_guard lock(mutex_);
    for (Change& change : changes) {
      std::string full_key = prefix + change.key;
      if (change.value) {
        entries_.insert_or_assign(std::move(full_key), std::move(*change.value));
      } else {
        entries_.erase(full_key);
      }
    }
  }
  complete(done, {});
}

void MemoryUserStore::append(std::string_view host, std::string_view user, std::string value,
                             std::function<void(Result<std::string>)> done) {
  auto finish = [&done](Result<std::string> result) {
    if (done) done(std::move(result));
  };
  if (!validUser(host, user)) return finish(invalidUser());
  const std::string prefix = makePrefix({host, user});
  if (prefix.size() + 8 > kMaxKeySize) return finish(keyTooLong());
  std::optional<std::string> key;
  {
    std::lock_guard lock(mutex_);
    auto [first, last] = range(prefix);
    std::optional<std::string_view> last_key;
    if (first != last) last_key = std::string_view(std::prev(last)->first).substr(prefix.size());
    key = nextAppendKey(last_key);
    if (key) entries_.emplace(prefix + *key, std::move(value));
  }
  if (!key) return finish(fail("memory user store: append: no key sorts after the last one"));
  finish(std::move(*key));
}

void MemoryUserStore::removeAll(std::string_view host, std::string_view user, Done done) {
  if (!validUser(host, user)) return complete(done, invalidUser());
  const std::string prefix = makePrefix({host, user});
  {
    std::lock_guard lock(mutex_);
    auto [first, last] = range(prefix);
    entries_.erase(first, last);
  }
  complete(done, {});
}

std::unique_ptr<UserStore> makeMemoryUserStore() { return std::make_unique<MemoryUserStore>(); }

}  // namespace parley::storage
