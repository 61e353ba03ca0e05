// OpenMP helpers: loops over columns or blocks that never let an exception escape the parallel
// region (that would terminate the process) and that run serially when built without OpenMP.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>

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
// 2e5, where waking a team of threads costs about as much as the loop, so a second thread
// cannot pay for itself. Every product of the small problems of bench/bench_training.py row 1
// (synthetic_noise 87x90) falls below it.
inline int threads_for(int n_threads, double flops) { return flops < 2e5 ? 1 : n_threads; }

// Columns handed out at a time to the threads of a per-column loop: about 8 chunks per thread,
// enough for the dynamic schedule to even out columns of unequal cost. A cold column at small
// k is so quick that with a fixed 16 columns a chunk the threads mostly took turns on the
// shared loop counter, and two were no faster than one (bench/bench_nnls.py, case
// (1000, 10, 20000)); so chunks grow with n, from 16 columns up to 512, a size at which the
// chunks left at the end of the loop are still short enough to balance. Each column's result
// is independent of the chunking.
inline std::int64_t column_chunk(std::int64_t n, int n_threads) {
  return std::clamp<std::int64_t>(n / (8 * std::int64_t(std::max(n_threads, 1))), 16, 512);
}

// A way to stop a long call early, e.g. on Ctrl-C: while an InterruptCheck is in scope on a
// thread, every loop below that this thread starts calls check() between iterations, on this
// thread only (the one that started the loop; the core needs no Python headers, and whatever
// check() reads may need the calling thread, as Python's signal flags do), at most once per
// interval. check() stops the loop by throwing: the exception is rethrown on this thread once
// every thread has left the loop, as any other thrown by the loop's body. The loops' results
// do not depend on it: an uninterrupted call computes exactly what it would without a check.
class InterruptCheck {
 public:
  using Clock = std::chrono::steady_clock;

  InterruptCheck(std::function<void()> check, Clock::duration interval)
      : check_(std::move(check)), interval_(interval), last_(Clock::now()), outer_(current_) {
    current_ = this;
  }
  ~InterruptCheck() { current_ = outer_; }
  InterruptCheck(const InterruptCheck&) = delete;
  InterruptCheck& operator=(const InterruptCheck&) = delete;

  // The check in scope on the calling thread, or nullptr.
  static InterruptCheck* current() { return current_; }

  // Calls check() if an interval has passed since the scope began or since the last call.
  // Reading the clock costs far less than the shortest loop iteration (a column at small k),
  // but is still done only every 8th call.
  void poll() {
    if (++calls_ % 8 != 0) return;
    const auto now = Clock::now();
    if (now - last_ < interval_) return;
    last_ = now;
    check_();
  }

 private:
  std::function<void()> check_;
  Clock::duration interval_;
  Clock::time_point last_;
  unsigned calls_ = 0;
  InterruptCheck* outer_;
  static inline thread_local InterruptCheck* current_ = nullptr;
};

namespace detail {

// The first exception thrown by any thread of a parallel region, kept to be rethrown on the
// calling thread after the region; once one is kept, the remaining work is skipped.
class FirstException {
 public:
  bool caught() const { return caught_.load(std::memory_order_relaxed); }

  template <class F>
  void run(F&& f) noexcept {
    if (caught()) return;
    try {
      f();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!caught_.exchange(true)) error_ = std::current_exception();
    }
  }

  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::exception_ptr error_;
  std::mutex mutex_;
  std::atomic<bool> caught_{false};
};

inline bool is_calling_thread() {
#ifdef _OPENMP
  return omp_get_thread_num() == 0;  // the thread that starts a region is its thread 0
#else
  return true;
#endif
}

// The one parallel region of the core: each thread makes its body once, by make_body(), then
// calls it for its share of j in [0, n), handed out `chunk` at a time (dynamic schedule). The
// calling thread polls its InterruptCheck, if any, after each of its iterations.
template <class MakeBody>
void parallel_region(std::int64_t n, int n_threads, std::int64_t chunk, MakeBody make_body) {
  FirstException error;
  InterruptCheck* const interrupt = InterruptCheck::current();
#ifdef _OPENMP
#pragma omp parallel num_threads(n_threads) if (n_threads > 1 && n > 1)
#endif
  {
    std::optional<decltype(make_body())> body;
    error.run([&] { body.emplace(make_body()); });
    InterruptCheck* const poller = interrupt && is_calling_thread() ? interrupt : nullptr;
#ifdef _OPENMP
#pragma omp for schedule(dynamic, chunk)
#endif
    for (std::int64_t j = 0; j < n; ++j) {
      error.run([&] { (*body)(j); });
      if (poller) error.run([&] { poller->poll(); });
    }
  }
  (void)n_threads;
  (void)chunk;
  error.rethrow();
}

}  // namespace detail

// Calls body(j) for j in [0, n) over n_threads threads, `chunk` iterations at a time. The
// first exception thrown by any call is rethrown here after the loop; the remaining
// iterations are skipped.
template <class Body>
void parallel_for(std::int64_t n, int n_threads, std::int64_t chunk, Body body) {
  detail::parallel_region(n, n_threads, chunk, [&] { return std::ref(body); });
}

// The same for a body that needs a workspace of its own on each thread: make_scratch() builds
// one per thread, and body(scratch, j) uses it.
template <class MakeScratch, class Body>
void parallel_for(std::int64_t n, int n_threads, std::int64_t chunk, MakeScratch make_scratch,
                  Body body) {
  detail::parallel_region(n, n_threads, chunk, [&] {
    return [&body, scratch = make_scratch()](std::int64_t j) mutable { body(scratch, j); };
  });
}

}  // namespace nnmf
