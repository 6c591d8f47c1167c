// /proc/PID/stat (fields 14 and 15: utime, stime) and /proc/PID/status (VmRSS).
#include "server_probe.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace parley::bench {

ServerProbe::Sample ServerProbe::sample() const {
  Sample sample;
  if (pid_ <= 0) return sample;
  std::string base = "/proc/" + std::to_string(pid_);
  std::ifstream stat(base + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // The command name (field 2) is in parentheses and may contain spaces: count from its end.
  auto close = text.rfind(')');
  if (close != std::string::npos) {
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    uint64_t utime = 0, stime = 0;
    for (int index = 3; fields >> field; ++index) {
      if (index == 14) utime = std::stoull(field);
      if (index == 15) {
        stime = std::stoull(field);
        break;
      }
    }
    sample.cpu_ticks = utime + stime;
  }
  std::ifstream status(base + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) sample.rss_kib = std::stoull(line.substr(6));
  }
  return sample;
}

double ServerProbe::cpuSeconds(const Sample& before, const Sample& after) {
  if (after.cpu_ticks < before.cpu_ticks) return 0;
  return static_cast<double>(after.cpu_ticks - before.cpu_ticks) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

double ServerProbe::cpuPercent(const Sample& before, const Sample& after, double wall_seconds) {
  return wall_seconds <= 0 ? 0 : 100.0 * cpuSeconds(before, after) / wall_seconds;
}

}  // namespace parley::bench
