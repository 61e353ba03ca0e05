// OpenMP helpers: a column-parallel loop that never lets an exception escape the parallel
// region (that would terminate the process) and that runs serially when built without OpenMP.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace nnmf {

inline bool openmp_enabled() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

inline int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// The thread count for a loop of about `flops` floating-point operations: one thread below
// ~100 microseconds of work, where waking a team costs more than it saves.
inline int threads_for(int n_threads, double flops) { return flops < 2e5 ? 1 : n_threads; }

// Columns handed out at a time to the threads of a per-column loop: about 8 chunks per
// thread, of 16 to 512 columns (a dense cold solve at k = 10 takes ~0.1 us per column, and
// threads taking turns on the loop counter every 16 columns made two threads no faster than
// one). Each column's result is independent of the chunking.
inline std::int64_t column_chunk(std::int64_t n, int n_threads) {
  return std::clamp<std::int64_t>(n / (8 * std::int64_t(std::max(n_threads, 1))), 16, 512);
}

// Calls body(thread_state, j) for j in [0, n) over n_threads threads, dynamic schedule.
// make_state() builds one per-thread workspace. The first exception thrown by any body is
// rethrown on the calling thread after the loop; the remaining iterations are skipped.
template <class MakeState, class Body>
void parallel_for(std::int64_t n, int n_threads, std::int64_t chunk, MakeState make_state,
                  Body body) {
  std::exception_ptr error;
  std::mutex error_mutex;
  std::atomic<bool> failed{false};
#ifdef _OPENMP
#pragma omp parallel num_threads(n_threads) if (n_threads > 1 && n > 1)
#endif
  {
    auto state = make_state();
#ifdef _OPENMP
#pragma omp for schedule(dynamic, chunk)
#endif
    for (std::int64_t j = 0; j < n; ++j) {
      if (failed.load(std::memory_order_relaxed)) continue;
      try {
        body(state, j);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!failed.exchange(true)) error = std::current_exception();
      }
    }
  }
  (void)n_threads;
  (void)chunk;
  if (error) std::rethrow_exception(error);
}

}  // namespace nnmf
