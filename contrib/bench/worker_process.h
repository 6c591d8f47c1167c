// A load generator worker process: one epoll loop driving the clients of a slice of the users,
// told what to do by the parent over a pipe (lines: GO rate duration_ms, STOP, QUIT) and
// answering with lines of key=value (READY online= failed=, then the results of each phase).
#pragma once

#include <cstddef>

#include "options.h"

namespace parley::bench {

// Runs users [lo, hi) until QUIT; returns the process exit status.
int runWorkerProcess(const Options& options, size_t index, size_t lo, size_t hi, int commands,
                     int results);

}  // namespace parley::bench
