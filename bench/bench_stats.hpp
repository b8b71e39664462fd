// Measurement helpers shared by the bench.Echo clients (raw_client, and the
// Actio client can use them too), so every client measures the same way.
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace bench_stats {

// CPU seconds (user + system, all threads) of the calling process.
inline double process_cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
         + static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

// utime + stime (all threads) of a process from /proc/PID/stat, or -1.
inline double pid_cpu_s(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  auto paren = line.rfind(')'); // comm may contain spaces and parentheses
  unsigned long utime = 0, stime = 0; // fields 14 and 15; 3 follows ") "
  if (paren == std::string::npos
      || std::sscanf(line.c_str() + paren + 1,
                     " %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %lu %lu",
                     &utime, &stime) != 2)
    return -1;
  return static_cast<double>(utime + stime)
         / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The q-quantile (0..1) of nanosecond samples, in microseconds: the sample
// of rank round(q * (n - 1)). Reorders v; v must not be empty.
inline double percentile_us(std::vector<int64_t>& v, double q) {
  auto k = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k]) / 1000.0;
}

} // namespace bench_stats
