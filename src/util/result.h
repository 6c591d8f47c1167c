// Result<T, E>: errors as values, shaped like std::expected so it can become that later.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace parley {

// The default error: a message for a log line or a reply. Layers that need an
// XMPP-shaped error (stream error, stanza error, SASL failure) use their own E.
struct Error {
  std::string message;
};

template <class E>
class Unexpected {
 public:
  explicit Unexpected(E error) : error_(std::move(error)) {}
  E& error() & { return error_; }
  E&& error() && { return std::move(error_); }

 private:
  E error_;
};

template <class E>
Unexpected(E) -> Unexpected<E>;

// Shorthand for the common case: return fail("bad thing: ", detail);
template <class... Parts>
Unexpected<Error> fail(Parts&&... parts) {
  std::string message;
  (message.append(std::forward<Parts>(parts)), ...);
  return Unexpected<Error>(Error{std::move(message)});
}

template <class T, class E = Error>
class [[nodiscard]] Result {
 public:
  Result() requires std::is_default_constructible_v<T> : value_(std::in_place_index<0>) {}
  Result(T value) : value_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
  template <class U>
  Result(Unexpected<U> error)  // NOLINT: implicit, as std::expected
      : value_(std::in_place_index<1>, E(std::move(error).error())) {}

  bool hasValue() const { return value_.index() == 0; }
  explicit operator bool() const { return hasValue(); }

  T& value() & { return std::get<0>(value_); }
  const T& value() const& { return std::get<0>(value_); }
  T&& value() && { return std::get<0>(std::move(value_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  E& error() & { return std::get<1>(value_); }
  const E& error() const& { return std::get<1>(value_); }
  E&& error() && { return std::get<1>(std::move(value_)); }

 private:
  std::variant<T, E> value_;
};

template <class E>
class [[nodiscard]] Result<void, E> {
 public:
  Result() = default;
  template <class U>
  Result(Unexpected<U> error) : error_(E(std::move(error).error())) {}  // NOLINT: implicit

  bool hasValue() const { return !error_.has_value(); }
  explicit operator bool() const { return hasValue(); }
  E& error() & { return *error_; }
  const E& error() const& { return *error_; }
  E&& error() && { return std::move(*error_); }

 private:
  std::optional<E> error_;
};

}  // namespace parley
