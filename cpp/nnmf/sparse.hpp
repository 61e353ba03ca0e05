// Dense-times-sparse products, column-parallel and therefore deterministic for any thread count:
//   out = B Y   with B (k x r, column-major) and Y (r x c) in CSC arrays.
// Both products a Neural NMF step needs with a sparse X reduce to this one kernel:
//   A^T X   = B Y with B = A^T, Y = X   (CSC of X)
//   X W^T   = (W X^T)^T with B = W, Y = X^T (CSC of X^T, i.e. the CSR arrays of X).
// The VJP's dA = X W^T - A M is the second with a dense term: out = B Y - M^T A^T, where
// column j of A^T is row j of A. Columns go in blocks, so that term is one register-tiled
// product per block (tiles.hpp), written straight into the output block the sparse part then
// adds to: one pass over A and the output, instead of zeroing the output, adding X W^T and
// then subtracting A M.
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

template <class T, class I, class Init>
bool dense_times_csc_impl(const Eigen::Ref<const MatrixC<T>>& B, const I* indptr,
                          const I* indices, const T* data, std::int64_t rows, std::int64_t cols,
                          int n_threads, double extra_flops, bool check_finite,
                          Eigen::Ref<MatrixC<T>> out, Init init) {
  if (B.cols() != rows) throw std::invalid_argument("dense_times_csc: inconsistent shapes");
  // Blocks of up to 256 columns, at least 8 of them when there are few columns (A^T X for a
  // corpus of 200 documents); the size depends on cols only, so results do not depend on the
  // thread count.
  const std::int64_t block_cols = std::clamp<std::int64_t>((cols + 7) / 8, 16, 256);
  const Eigen::Index k = B.rows();
  const std::int64_t blocks = (cols + block_cols - 1) / block_cols;
  std::atomic<bool> finite{true};
  parallel_for(
      blocks, threads_for(n_threads, 2.0 * k * indptr[cols] + double(k) * cols + extra_flops), 1,
      [] { return std::vector<I>(); },
      [&](std::vector<I>& starts, std::int64_t b) {
        const std::int64_t c0 = b * block_cols, c1 = std::min(cols, c0 + block_cols);
        auto block = out.middleCols(c0, c1 - c0);
        init(c0, c1 - c0, block);
        // The column of each stored entry, found without a branch per column: count where
        // each column after c0 starts, then a running sum over the entries. (The CSR of a
        // corpus has 0-2 entries per row; a loop per column mispredicts its exit, and the
        // 20News product took 0.26 instead of 0.19 ms.)
        const I base = indptr[c0], nnz = indptr[c1] - base;
        const char* decreasing = "sparse indptr must be nondecreasing";
        if (nnz < 0) throw std::invalid_argument(decreasing);
        starts.assign(std::size_t(nnz) + 1, 0);
        for (std::int64_t j = c0 + 1; j <= c1; ++j) {
          const I at = indptr[j] - base;
          if (at < 0 || at > nnz) throw std::invalid_argument(decreasing);
          ++starts[at];
        }
        std::int64_t j = c0;
        for (I p = 0; p < nnz; ++p) {
          j += starts[p];
          const I i = indices[base + p];
          if (i < 0 || i >= rows) throw std::invalid_argument("sparse index out of range");
          const T v = data[base + p];
          T* __restrict o = out.col(j).data();
          const T* __restrict bi = B.col(i).data();
          for (Eigen::Index t = 0; t < k; ++t) o[t] += v * bi[t];
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
                             [](std::int64_t, std::int64_t, auto& block) {
                               // one fill: Eigen's setZero() on a block goes column by column,
                               // a memset call per 10-entry column at small k
                               if (block.outerStride() == block.rows())
                                 std::fill_n(block.data(), block.size(), T(0));
                               else
                                 block.setZero();
                             });
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
  const PaddedRows<T> Mp(M);
  const Strided<T> A{At.data(), At.colStride(), At.rowStride()};  // A = At^T
  return dense_times_csc_impl<T, I>(
      B, indptr, indices, data, rows, cols, n_threads, 2.0 * M.size() * cols, true, out,
      [&](std::int64_t c0, std::int64_t n, auto&) {
        minus_product<false>(A, c0, c0 + n, Mp, out.data(), out.outerStride());
      });
}

}  // namespace nnmf
