// Products with a tall m x k factor (A_0 has a row per feature), done here by the register
// tiles of tiles.hpp rather than by BLAS: on 2 cores a multi-threaded BLAS call leaves its
// worker threads spinning, and they starve the OpenMP regions that follow it, so the product
// and the next core call both run several times slower (bench/bench_training.py rows 1 and 3,
// 20News and the thread-scaling table; bench/RESULTS_notes.md, "All products with the tall A_0
// in the core"). Both kernels work on fixed blocks of rows, so their results are the same for
// any thread count, and accept A in either memory order, so no m x k copy is ever made.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "nnmf/kernels/finite.hpp"
#include "nnmf/kernels/tiles.hpp"
#include "nnmf/platform/parallel.hpp"
#include "nnmf/types.hpp"

namespace nnmf {

// Rows a block: enough that a block's work dwarfs handing it to a thread and, for the Gram
// matrix, adding its k x k partial sum; few enough that A_0 of a corpus (37693 rows for
// 20News) splits into dozens of blocks for the threads to share.
constexpr Index kRowBlock = 1024;

// A^T A in double. The block sums are added in block order.
template <class MatA>
MatrixXdC gram(const MatA& A, int n_threads) {
  const Index m = A.rows(), k = A.cols(), kp = gram_stride(k);
  const Index blocks = ceil_div(m, kRowBlock);
  std::vector<std::vector<double>> parts(blocks);
  parallel_for(
      blocks, threads_for(n_threads, double(m) * k * k), 1, [] { return std::vector<double>(); },
      [&](std::vector<double>& panel, std::int64_t b) {
        const Index r0 = b * kRowBlock, r1 = std::min(m, r0 + kRowBlock);
        parts[b].assign(kp * kp, 0.0);
        gram_rows(strided(A), k, r0, r1, parts[b].data(), panel);
      });
  MatrixXdC G = MatrixXdC::Zero(k, k);
  for (const auto& part : parts)
    for (Index t = 0; t < k; ++t)
      for (Index c = 0; c <= t; ++c) G(t, c) += part[t * kp + c];
  G.template triangularView<Eigen::StrictlyUpper>() = G.transpose();
  return G;
}

// Y -= A M in place (Y m x k', A m x k, M k x k'). Returns whether every entry of the result
// is finite, so the caller needs no further pass over Y to check it.
template <class T, class MatA>
bool subtract_product(MutRefR<T> Y, const MatA& A, const RefC<T>& M, int n_threads) {
  const Index m = A.rows();
  if (Y.rows() != m || M.rows() != A.cols() || M.cols() != Y.cols())
    throw std::invalid_argument("subtract_product: inconsistent shapes");
  const PaddedRows<T> Mp(M);
  std::atomic<bool> finite{true};
  parallel_for(ceil_div(m, kRowBlock), threads_for(n_threads, 2.0 * m * A.cols() * Y.cols()), 1,
               [&](std::int64_t b) {
                 const Index r0 = b * kRowBlock, rows = std::min(kRowBlock, m - r0);
                 minus_product<true>(strided(A), r0, r0 + rows, Mp, Y.data(), Y.outerStride());
                 if (!all_finite(Y.middleRows(r0, rows)))
                   finite.store(false, std::memory_order_relaxed);
               });
  return finite.load();
}

}  // namespace nnmf
