// Dense-times-sparse products, column-parallel and therefore deterministic for any thread count:
//   out = B Y   with B (k x r, column-major) and Y (r x c) in CSC arrays.
// Both products a Neural NMF step needs with a sparse X reduce to this one kernel:
//   A^T X   = B Y with B = A^T, Y = X   (CSC of X)
//   X W^T   = (W X^T)^T with B = W, Y = X^T (CSC of X^T, i.e. the CSR arrays of X).
// The VJP's dA = X W^T - A M is the second with a dense term: out = B Y - M^T A^T, where
// column j of A^T is row j of A. Columns go in blocks, so that term is one small GEMM per
// block, written straight into the output block the sparse part then adds to: one pass over
// A and the output, instead of zeroing the output, adding X W^T and then subtracting A M.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <stdexcept>

#include "finite.hpp"
#include "nnls.hpp"
#include "parallel.hpp"

namespace nnmf {

template <class T, class I, class Init>
bool dense_times_csc_impl(const Eigen::Ref<const MatrixC<T>>& B, const I* indptr,
                          const I* indices, const T* data, std::int64_t rows, std::int64_t cols,
                          int n_threads, double extra_flops, bool check_finite,
                          Eigen::Ref<MatrixC<T>> out, Init init) {
  if (B.cols() != rows) throw std::invalid_argument("dense_times_csc: inconsistent shapes");
  constexpr std::int64_t kBlock = 256;
  const Eigen::Index k = B.rows();
  const std::int64_t blocks = (cols + kBlock - 1) / kBlock;
  std::atomic<bool> finite{true};
  parallel_for(
      blocks, threads_for(n_threads, 2.0 * k * indptr[cols] + extra_flops), 1,
      [] { return 0; },
      [&](int&, std::int64_t b) {
        const std::int64_t c0 = b * kBlock, c1 = std::min(cols, c0 + kBlock);
        auto block = out.middleCols(c0, c1 - c0);
        init(c0, c1 - c0, block);
        for (std::int64_t j = c0; j < c1; ++j) {
          T* __restrict o = out.col(j).data();
          for (I p = indptr[j]; p < indptr[j + 1]; ++p) {
            const I i = indices[p];
            if (i < 0 || i >= rows) throw std::invalid_argument("sparse index out of range");
            const T v = data[p];
            const T* __restrict bi = B.col(i).data();
            for (Eigen::Index t = 0; t < k; ++t) o[t] += v * bi[t];
          }
        }
        if (check_finite && !all_finite(block)) finite.store(false, std::memory_order_relaxed);
      });
  return finite.load();
}

// out = B Y (its callers check the small products they make with it themselves).
template <class T, class I>
void dense_times_csc(const Eigen::Ref<const MatrixC<T>>& B, const I* indptr, const I* indices,
                     const T* data, std::int64_t rows, std::int64_t cols, int n_threads,
                     Eigen::Ref<MatrixC<T>> out) {
  dense_times_csc_impl<T, I>(B, indptr, indices, data, rows, cols, n_threads, 0.0, false, out,
                             [](std::int64_t, std::int64_t, auto& block) { block.setZero(); });
}

// out = B Y - M^T At, with At (k' x c) in either memory order (At = A^T). Returns whether out
// is finite.
template <class T, class I, class MatAt>
bool dense_times_csc_minus(const Eigen::Ref<const MatrixC<T>>& B, const I* indptr,
                           const I* indices, const T* data, std::int64_t rows, std::int64_t cols,
                           const Eigen::Ref<const MatrixC<T>>& M, const MatAt& At, int n_threads,
                           Eigen::Ref<MatrixC<T>> out) {
  if (M.cols() != B.rows() || M.rows() != At.rows() || At.cols() != cols)
    throw std::invalid_argument("dense_times_csc_minus: inconsistent shapes");
  const MatrixC<T> Mt = M.transpose();
  return dense_times_csc_impl<T, I>(
      B, indptr, indices, data, rows, cols, n_threads, 2.0 * M.size() * cols, true, out,
      [&](std::int64_t c0, std::int64_t n, auto& block) {
        block.noalias() = -(Mt * At.middleCols(c0, n));
      });
}

}  // namespace nnmf
