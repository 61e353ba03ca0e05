// Products with a tall m x k factor (A_0 has a row per feature), done here by the register
// tiles of tiles.hpp rather than by BLAS: on 2 cores a multi-threaded BLAS call leaves its
// worker threads spinning, and they starve the OpenMP regions that follow it (a 0.3 ms product
// then costs 3 ms, and the next core call as much again). Both kernels work on fixed blocks of
// rows, so their results are the same for any thread count, and accept A in either memory
// order, so no m x k copy is ever made.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "finite.hpp"
#include "nnls.hpp"
#include "parallel.hpp"
#include "tiles.hpp"

namespace nnmf {

template <class T>
using MatrixR = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr Eigen::Index kRowBlock = 1024;

// A^T A in double. The block sums are added in block order.
template <class MatA>
MatrixXdC gram(const MatA& A, int n_threads) {
  const Eigen::Index m = A.rows(), k = A.cols(), kp = gram_stride(k);
  const Eigen::Index blocks = (m + kRowBlock - 1) / kRowBlock;
  std::vector<std::vector<double>> parts(blocks);
  parallel_for(
      blocks, threads_for(n_threads, double(m) * k * k), 1, [] { return std::vector<double>(); },
      [&](std::vector<double>& panel, std::int64_t b) {
        const Eigen::Index r0 = b * kRowBlock, r1 = std::min(m, r0 + kRowBlock);
        parts[b].assign(kp * kp, 0.0);
        gram_rows(strided(A), k, r0, r1, parts[b].data(), panel);
      });
  MatrixXdC G = MatrixXdC::Zero(k, k);
  for (const auto& part : parts)
    for (Eigen::Index t = 0; t < k; ++t)
      for (Eigen::Index c = 0; c <= t; ++c) G(t, c) += part[t * kp + c];
  G.template triangularView<Eigen::StrictlyUpper>() = G.transpose();
  return G;
}

// Y -= A M in place (Y m x k', A m x k, M k x k'). Returns whether every entry of the result
// is finite, so the caller needs no further pass over Y to check it.
template <class T, class MatA>
bool subtract_product(Eigen::Ref<MatrixR<T>> Y, const MatA& A,
                      const Eigen::Ref<const MatrixC<T>>& M, int n_threads) {
  const Eigen::Index m = A.rows();
  if (Y.rows() != m || M.rows() != A.cols() || M.cols() != Y.cols())
    throw std::invalid_argument("subtract_product: inconsistent shapes");
  const PaddedRows<T> Mp(M);
  const Eigen::Index blocks = (m + kRowBlock - 1) / kRowBlock;
  std::atomic<bool> finite{true};
  parallel_for(
      blocks, threads_for(n_threads, 2.0 * m * A.cols() * Y.cols()), 1, [] { return 0; },
      [&](int&, std::int64_t b) {
        const Eigen::Index r0 = b * kRowBlock, rows = std::min(kRowBlock, m - r0);
        minus_product<true>(strided(A), r0, r0 + rows, Mp, Y.data(), Y.outerStride());
        if (!all_finite(Y.middleRows(r0, rows))) finite.store(false, std::memory_order_relaxed);
      });
  return finite.load();
}

}  // namespace nnmf
