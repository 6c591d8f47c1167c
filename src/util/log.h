// Logging: four levels to stderr, one line per event, each with its context.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace parley::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

// Thread-safe. Lines below the threshold are discarded before formatting.
void setLevel(Level level);
Level level();
bool parseLevel(std::string_view text, Level& out);
bool enabled(Level level);
void write(Level level, std::string_view line);

namespace detail {
template <class... Parts>
void emit(Level lvl, const Parts&... parts) {
  if (!enabled(lvl)) return;
  std::ostringstream out;
  (out << ... << parts);
  write(lvl, out.str());
}
}  // namespace detail

template <class... Parts>
void debug(const Parts&... parts) {
  detail::emit(Level::Debug, parts...);
}
template <class... Parts>
void info(const Parts&... parts) {
  detail::emit(Level::Info, parts...);
}
template <class... Parts>
void warn(const Parts&... parts) {
  detail::emit(Level::Warn, parts...);
}
template <class... Parts>
void error(const Parts&... parts) {
  detail::emit(Level::Error, parts...);
}

}  // namespace parley::log

// Invariants. PARLEY_CHECK always runs and aborts with a message; PARLEY_ASSERT only in debug.
#define PARLEY_CHECK(cond)                                                      \
  do {                                                                          \
    if (!(cond)) ::parley::log::detail::checkFailed(#cond, __FILE__, __LINE__); \
  } while (0)
#ifdef NDEBUG
#define PARLEY_ASSERT(cond) ((void)0)
#else
#define PARLEY_ASSERT(cond) PARLEY_CHECK(cond)
#endif

namespace parley::log::detail {
[[noreturn]] void checkFailed(const char* expr, const char* file, int line);
}
