// The projected-gradient step on one parameter block, in a single pass over it:
//   out = P(p - step * g),  P = max(., 0) for a nonnegative block, the identity otherwise,
// returning <g, out - p>, the first-order change the Armijo test compares against. numpy needs
// three passes and two temporaries of the block's size for the step and two more for the inner
// product; A_0 is the largest array a training step touches besides X. The inner product is
// summed in double over fixed blocks, in block order: the same for any thread count.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "nnmf/platform/parallel.hpp"
#include "nnmf/types.hpp"

namespace nnmf {

// One block of the step; Nonneg a template parameter, so that the loop has no branch left
// and vectorises.
template <bool Nonneg, class T>
double projected_step_block(const T* p, const T* g, T step, T* out, std::int64_t n) {
  double acc = 0.0;
#pragma omp simd reduction(+ : acc)
  for (std::int64_t i = 0; i < n; ++i) {
    T t = p[i] - step * g[i];
    if (Nonneg) t = t < T(0) ? T(0) : t;  // NaN stays NaN, as with np.maximum
    out[i] = t;
    acc += double(g[i]) * (double(t) - double(p[i]));
  }
  return acc;
}

template <class T>
double projected_step(const T* p, const T* g, double step, bool nonneg, T* out, std::int64_t n,
                      int n_threads) {
  // 2^15 entries a block: enough work per block that handing it to a thread costs little,
  // and small enough that a factor of a few hundred thousand entries (A_0 of the 20News fits,
  // bench/bench_training.py row 1) still splits into blocks for every thread. Fixed, so the
  // partial sums and their order do not depend on the thread count.
  constexpr std::int64_t kBlock = std::int64_t(1) << 15;
  const std::int64_t blocks = ceil_div(n, kBlock);
  std::vector<double> partial(blocks, 0.0);
  const T s = static_cast<T>(step);
  parallel_for(blocks, threads_for(n_threads, 4.0 * n), 1, [&](std::int64_t b) {
    const std::int64_t i0 = b * kBlock, len = std::min(n, i0 + kBlock) - i0;
    partial[b] = nonneg ? projected_step_block<true>(p + i0, g + i0, s, out + i0, len)
                        : projected_step_block<false>(p + i0, g + i0, s, out + i0, len);
  });
  double total = 0.0;
  for (const double v : partial) total += v;
  return total;
}

}  // namespace nnmf
