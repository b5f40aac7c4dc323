// How many threads a CPU launcher's team may take now without waiting for cores that other
// processes hold (the load-aware part of cpu_loop.h's threading policy).
//
// On a machine whose cores are busy with other processes, a team of more threads than there are
// idle cores is slower than one thread, often several times: a thread of the team waits for a
// core (a scheduler time slice) while the others wait for it at the region's end, and OpenMP's
// default wait policy makes the waiting threads spin, taking the cores the late thread needs.
// So a team takes at most one thread per core that the other processes leave idle, as the
// kernel counts them at this moment: its runnable threads (the 4th field of /proc/loadavg, which
// is instantaneous, unlike the load averages that omp_set_dynamic uses), less this process's own
// runnable threads (its caller, and OpenMP workers still spinning after a previous region), the
// others spread over the cores this process may run on. A team takes the cores idle in both of
// the last two samples (one moment without the others, between their time slices, is no reason
// to take a core they will want back). The count is sampled at most once per kLoadSampleNs,
// and only for loops large enough to take a second thread: a sample reads /proc/loadavg (a few
// microseconds), and, when another thread than the caller runs, the states of this process's
// threads (50-80 us for a torch process on a busy 2-core machine).
//
// R3D_LOAD_AWARE_THREADS=0 in the environment turns this off (teams of the requested size, as
// the tests of the parallel paths need). Elsewhere than on Linux nothing is sampled.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

#ifdef __linux__
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/sysinfo.h>
#include <unistd.h>
#endif

namespace r3d {

// Nanoseconds for which a sample of the machine's load stands.
constexpr int64_t kLoadSampleNs = 10'000'000;

// Threads a team may take: requested, less the cores that `others` runnable threads of other
// processes hold among `cpus` (at least 1).
inline int threads_for_load(int requested, int64_t others, int cpus) {
  return static_cast<int>(std::clamp<int64_t>(cpus - std::max<int64_t>(others, 0), 1,
                                              std::max(requested, 1)));
}

#ifdef __linux__
namespace machine_load_detail {

// The first `size - 1` bytes of the file at path, NUL-terminated; false when it cannot be read.
inline bool read_head(const char* path, char* buf, size_t size) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const ssize_t got = read(fd, buf, size - 1);
  close(fd);
  if (got <= 0) return false;
  buf[got] = '\0';
  return true;
}

// Runnable threads of the whole machine (the R of "R/T" in /proc/loadavg); -1 when unknown.
inline int64_t machine_runnable() {
  char buf[128];
  if (!read_head("/proc/loadavg", buf, sizeof buf)) return -1;
  const char* p = buf;
  for (int field = 0; field < 3; ++field) {
    p = std::strchr(p, ' ');
    if (p == nullptr) return -1;
    ++p;
  }
  return std::strtoll(p, nullptr, 10);
}

// Threads of this process that are runnable now (state R in /proc/self/task/*/stat), the
// caller included; 1 when they cannot be counted.
inline int64_t own_runnable() {
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return 1;
  int64_t running = 0;
  char path[32 + sizeof(dirent::d_name)];  // room for any task name
  char buf[512];
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    std::snprintf(path, sizeof path, "/proc/self/task/%s/stat", entry->d_name);
    if (!read_head(path, buf, sizeof buf)) continue;
    const char* close_paren = std::strrchr(buf, ')');  // the state follows the command name
    if (close_paren != nullptr && close_paren[1] == ' ' && close_paren[2] == 'R') ++running;
  }
  closedir(dir);
  return std::max<int64_t>(running, 1);
}

// Cores this process may run on, and cores online.
inline void core_counts(int* allowed, int* online) {
  cpu_set_t set;
  *online = std::max(get_nprocs(), 1);
  *allowed = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : *online;
  *allowed = std::clamp(*allowed, 1, *online);
}

// Runnable threads of other processes on the cores this process may run on (0 when unknown;
// this process's threads are counted only when some other thread than the caller runs).
inline int64_t sample_others(int allowed, int online) {
  const int64_t runnable = machine_runnable();
  if (runnable <= 1) return 0;
  const int64_t others = std::max<int64_t>(runnable - own_runnable(), 0);
  return (others * allowed + online - 1) / online;  // spread over the online cores
}

}  // namespace machine_load_detail
#endif

// Threads a team may take now for `requested` wanted (see above): `requested` when load
// awareness is off or nothing can be sampled.
inline int usable_threads(int requested) {
#ifdef __linux__
  static const bool enabled = [] {
    const char* value = std::getenv("R3D_LOAD_AWARE_THREADS");
    return value == nullptr || std::strcmp(value, "0") != 0;
  }();
  if (requested <= 1 || !enabled) return std::max(requested, 1);
  static int allowed = 0, online = 0;
  static const bool counted = (machine_load_detail::core_counts(&allowed, &online), true);
  (void)counted;
  static std::atomic<int64_t> sampled_at{std::numeric_limits<int64_t>::min() / 2};  // long ago
  static std::atomic<int64_t> last{0};    // the last sample
  static std::atomic<int64_t> others{0};  // the larger of the last two samples
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  if (now - sampled_at.load(std::memory_order_relaxed) > kLoadSampleNs) {
    const int64_t sample = machine_load_detail::sample_others(allowed, online);
    others.store(std::max(sample, last.exchange(sample, std::memory_order_relaxed)),
                 std::memory_order_relaxed);
    sampled_at.store(now, std::memory_order_relaxed);
  }
  return threads_for_load(requested, others.load(std::memory_order_relaxed), allowed);
#else
  return std::max(requested, 1);
#endif
}

}  // namespace r3d
