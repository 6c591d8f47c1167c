// Logging implementation: formats a timestamped line and writes it to stderr in one call.
#include "util/log.h"

#include <execinfo.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "util/clock.h"

namespace parley::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::Info)};
constexpr const char* kNames[] = {"debug", "info", "warn", "error"};
}  // namespace

void setLevel(Level lvl) { g_level.store(static_cast<int>(lvl), std::memory_order_relaxed); }
Level level() { return static_cast<Level>(g_level.load(std::memory_order_relaxed)); }
bool enabled(Level lvl) { return static_cast<int>(lvl) >= g_level.load(std::memory_order_relaxed); }

bool parseLevel(std::string_view text, Level& out) {
  for (int i = 0; i < 4; ++i) {
    if (text == kNames[i]) {
      out = static_cast<Level>(i);
      return true;
    }
  }
  return false;
}

void write(Level lvl, std::string_view line) {
  auto stamp = clock::xmppTimestamp(std::chrono::system_clock::now());
  std::string out;
  out.reserve(line.size() + 48);
  out.append(stamp)
      .append(" ")
      .append(kNames[static_cast<int>(lvl)])
      .append(" ")
      .append(line)
      .append("\n");
  // One write(2) per line so lines from different threads never interleave.
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, out.data(), out.size());
}

namespace detail {
void checkFailed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "PARLEY_CHECK failed: %s at %s:%d\n", expr, file, line);
  // A backtrace for the bug report; resolve addresses with addr2line -e parleyd.
  void* frames[64];
  int count = ::backtrace(frames, 64);
  ::backtrace_symbols_fd(frames, count, STDERR_FILENO);
  std::abort();
}
}  // namespace detail

}  // namespace parley::log
