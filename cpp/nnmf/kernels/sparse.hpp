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
#include <utility>
#include <vector>

#include "nnmf/kernels/finite.hpp"
#include "nnmf/kernels/tiles.hpp"
#include "nnmf/platform/parallel.hpp"
#include "nnmf/types.hpp"

namespace nnmf {

constexpr const char* kDecreasing = "sparse indptr must be nondecreasing";
constexpr const char* kOutOfRange = "sparse index out of range";

// o (k entries) += v * B's column i.
template <class T>
EIGEN_ALWAYS_INLINE void add_entry(const RefC<T>& B, Index i, T v, T* __restrict o) {
  const T* __restrict bi = B.col(i).data();
  for (Index t = 0; t < B.rows(); ++t) o[t] += v * bi[t];
}

// Adds the entries of columns [c0, c1) of Y to out. The column of each stored entry is found
// without a branch per column: count where each column after c0 starts, then a running sum
// over the entries. The CSR of a corpus has 0-2 entries per row, and a loop per column would
// mispredict its exit about once per entry (bench/bench_nnls.py, case 20News 37693x200, k=10:
// its VJP dA column).
template <class T, class I>
void add_block(const RefC<T>& B, const I* indptr, const I* indices, const T* data,
               std::int64_t c0, std::int64_t c1, std::vector<I>& starts, MutRefC<T>& out) {
  const I base = indptr[c0], nnz = indptr[c1] - base;
  if (nnz < 0) throw std::invalid_argument(kDecreasing);
  starts.assign(std::size_t(nnz) + 1, 0);
  for (std::int64_t j = c0 + 1; j <= c1; ++j) {
    const I at = indptr[j] - base;
    if (at < 0 || at > nnz) throw std::invalid_argument(kDecreasing);
    ++starts[at];
  }
  std::int64_t j = c0;
  for (I p = 0; p < nnz; ++p) {
    j += starts[p];
    const I i = indices[base + p];
    if (i < 0 || i >= B.cols()) throw std::invalid_argument(kOutOfRange);
    add_entry<T>(B, i, data[base + p], out.col(j).data());
  }
}

// Where B is larger than a cache of kChunkBytes, its columns are taken in chunks of that size,
// in turn: every column of Y adds its entries of one chunk before any column moves on to the
// next, so each entry reads its column of B from the cache. Read in column order, each entry
// would instead read B at a random place, and the product would wait on memory (A_0^T X at
// k = 100 on a 10^5 x 10^5 corpus, B 80 MB: bench/bench_training.py row 4;
// bench/RESULTS_notes.md, "The sparse kernel reads a large factor in cache-sized chunks").
// 6 MiB: about what a last-level cache holds beside the output columns in progress. Each
// column adds its entries in index order either way, so the result is the same.
constexpr std::size_t kChunkBytes = std::size_t(6) << 20;

// Adds the entries with row index in [r0, r1) of columns [c0, c1), from next[j] on (advanced
// past them); the last chunk (r1 = rows) checks that none is left, i.e. out of range.
template <class T, class I>
void add_chunk(const RefC<T>& B, const I* indptr, const I* indices, const T* data,
               std::int64_t c0, std::int64_t c1, std::int64_t r1, I* next, MutRefC<T>& out) {
  for (std::int64_t j = c0; j < c1; ++j) {
    I p = next[j];
    for (const I end = indptr[j + 1]; p < end && indices[p] < r1; ++p) {
      if (indices[p] < 0) throw std::invalid_argument(kOutOfRange);
      add_entry<T>(B, indices[p], data[p], out.col(j).data());
    }
    next[j] = p;
    if (r1 == B.cols() && p != indptr[j + 1]) throw std::invalid_argument(kOutOfRange);
  }
}

// out = B Y, each block of out's columns first set by init(c0, n, block) (which writes every
// entry), then the sparse part added; with check_finite, returns whether out is finite.
// extra_flops: init's work, for the thread count.
template <class T, class I, class Init>
bool dense_times_csc_impl(const RefC<T>& B, const I* indptr, const I* indices, const T* data,
                          std::int64_t rows, std::int64_t cols, int n_threads, double extra_flops,
                          bool check_finite, MutRefC<T> out, Init init) {
  if (B.cols() != rows) throw std::invalid_argument("dense_times_csc: inconsistent shapes");
  // Blocks of an eighth of the columns, so that the threads share at least 8 blocks even for
  // a corpus of 200 documents (bench/bench_nnls.py, case 20News 37693x200); at least 16
  // columns, so that a block's work outweighs handing it out, and at most 256, so that its
  // k x 256 output columns stay in cache while its entries are added. The size depends on
  // cols only, so results do not depend on the thread count.
  const std::int64_t block_cols = std::clamp<std::int64_t>((cols + 7) / 8, 16, 256);
  const Index k = B.rows();
  const std::int64_t blocks = ceil_div(cols, block_cols);
  const int threads =
      threads_for(n_threads, 2.0 * k * indptr[cols] + double(k) * cols + extra_flops);
  const std::int64_t chunk_rows = std::max<std::int64_t>(
      1, std::int64_t(kChunkBytes / (sizeof(T) * std::max<Index>(k, 1))));
  std::atomic<bool> finite{true};
  // The columns [c0, c1) of block b.
  const auto block_of = [&](std::int64_t b) {
    return std::pair<std::int64_t, std::int64_t>{b * block_cols,
                                                 std::min(cols, (b + 1) * block_cols)};
  };
  const auto start_block = [&](std::int64_t c0, std::int64_t c1) {
    auto block = out.middleCols(c0, c1 - c0);
    init(c0, c1 - c0, block);
  };
  const auto check_block = [&](std::int64_t c0, std::int64_t c1) {
    if (check_finite && !all_finite(out.middleCols(c0, c1 - c0)))
      finite.store(false, std::memory_order_relaxed);
  };
  if (rows <= chunk_rows) {  // B fits in a chunk: each block in one pass
    parallel_for(
        blocks, threads, 1, [] { return std::vector<I>(); },
        [&](std::vector<I>& starts, std::int64_t b) {
          const auto [c0, c1] = block_of(b);
          start_block(c0, c1);
          add_block<T, I>(B, indptr, indices, data, c0, c1, starts, out);
          check_block(c0, c1);
        });
    return finite.load();
  }
  std::vector<I> next(indptr, indptr + cols);  // each column's first entry not yet added
  parallel_for(blocks, threads, 1, [&](std::int64_t b) {
    const auto [c0, c1] = block_of(b);
    for (std::int64_t j = c0; j < c1; ++j)
      if (indptr[j + 1] < indptr[j]) throw std::invalid_argument(kDecreasing);
    start_block(c0, c1);
  });
  for (std::int64_t r0 = 0; r0 < rows; r0 += chunk_rows) {
    const std::int64_t r1 = std::min(rows, r0 + chunk_rows);
    parallel_for(blocks, threads, 1, [&](std::int64_t b) {
      const auto [c0, c1] = block_of(b);
      add_chunk<T, I>(B, indptr, indices, data, c0, c1, r1, next.data(), out);
      if (r1 == rows) check_block(c0, c1);
    });
  }
  return finite.load();
}

// out = B Y (its callers check the small products they make with it themselves).
template <class T, class I>
void dense_times_csc(const RefC<T>& B, const I* indptr, const I* indices, const T* data,
                     std::int64_t rows, std::int64_t cols, int n_threads, MutRefC<T> out) {
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
bool dense_times_csc_minus(const RefC<T>& B, const I* indptr, const I* indices, const T* data,
                           std::int64_t rows, std::int64_t cols, const RefC<T>& M,
                           const MatAt& At, int n_threads, MutRefC<T> out) {
  if (M.cols() != B.rows() || M.rows() != At.rows() || At.cols() != cols)
    throw std::invalid_argument("dense_times_csc_minus: inconsistent shapes");
  const PaddedRows<T> Mp(M);
  const Strided<T> A = strided_transpose(At);
  return dense_times_csc_impl<T, I>(
      B, indptr, indices, data, rows, cols, n_threads, 2.0 * M.size() * cols, true, out,
      [&](std::int64_t c0, std::int64_t n, auto&) {
        minus_product<false>(A, c0, c0 + n, Mp, out.data(), out.outerStride());
      });
}

}  // namespace nnmf
