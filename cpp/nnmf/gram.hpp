// The Gram matrix A^T A, in double, without a BLAS call: on 2 cores a multi-threaded BLAS call
// leaves its worker threads spinning and they starve the OpenMP regions that follow it. Rows
// are summed in fixed blocks and the block sums added in block order, so the result is the
// same for any thread count.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <vector>

#include "nnls.hpp"
#include "parallel.hpp"

namespace nnmf {

template <class T>
MatrixXdC gram(const Eigen::Ref<const MatrixC<T>>& A, int n_threads) {
  constexpr Eigen::Index kBlock = 1024;
  const Eigen::Index m = A.rows(), k = A.cols();
  const Eigen::Index blocks = (m + kBlock - 1) / kBlock;
  std::vector<MatrixXdC> parts(blocks);
  parallel_for(
      blocks, threads_for(n_threads, double(m) * k * k), 1, [] { return 0; },
      [&](int&, std::int64_t b) {
        const Eigen::Index r0 = b * kBlock, rows = std::min(kBlock, m - r0);
        const MatrixXdC Ab = A.middleRows(r0, rows).template cast<double>();
        parts[b] = MatrixXdC::Zero(k, k);
        parts[b].template selfadjointView<Eigen::Lower>().rankUpdate(Ab.transpose());
      });
  MatrixXdC G = MatrixXdC::Zero(k, k);
  for (const auto& part : parts) G += part;
  G.template triangularView<Eigen::StrictlyUpper>() = G.transpose();
  return G;
}

}  // namespace nnmf
