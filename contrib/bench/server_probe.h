// What the load generator reads of the server process: CPU time and RSS from /proc.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace parley::bench {

class ServerProbe {
 public:
  struct Sample {
    uint64_t cpu_ticks = 0;  // utime + stime, all threads
    uint64_t rss_kib = 0;    // VmRSS
  };

  explicit ServerProbe(pid_t pid) : pid_(pid) {}
  // Zeros without a pid or if the process is gone.
  Sample sample() const;

  static double cpuSeconds(const Sample& before, const Sample& after);
  static double cpuPercent(const Sample& before, const Sample& after, double wall_seconds);

 private:
  pid_t pid_;
};

}  // namespace parley::bench
