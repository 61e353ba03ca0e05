// A^T X for a dense X (m x n) and a thin factor A (m x k, k ~ 5..64): the product with X
// that every layer needs, and, transposed, X W^T = (W^T)^T X^T for the backward pass. At
// small k, BLAS's packing of X for its GEMM kernel costs more than the arithmetic, and its
// threads spin after each call and starve the OpenMP regions that follow (bench/bench_nnls.py,
// case (1000, 10, 20000): the A^T X and VJP dA columns of its breakdown, one for each memory
// order of X; bench/RESULTS_notes.md, "Dense products with X in the core"). X is read as it
// lies, in either memory order:
// - column-major X, and row-major X at k > kRankUpdateMaxRank: the register tiles of
//   tiles.hpp, a few columns of X at a time (their entries broadcast against vectors of A's
//   rows), over blocks of rows whose part of A stays in cache;
// - row-major X at small k: a block of out's columns stays in L1 while groups of 4 rows of X
//   stream along their length through it (a tile would read X down its columns, a few
//   entries from each row, which the prefetchers cannot follow).
// Each output entry is one fixed sequence of operations, whatever the thread count. Which
// ranks and layouts come here rather than to BLAS: docs/design.md, "The kernel dispatch rules".
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <vector>

#include "nnmf/kernels/tiles.hpp"
#include "nnmf/platform/parallel.hpp"
#include "nnmf/types.hpp"

namespace nnmf {

// --- register tiles: column-major X, and row-major X at k > kRankUpdateMaxRank ------------

// One block of out = A^T X: rows [d0, d0 + depth) of A and X, and some of X's columns. Ap
// points to A's row d0 as zero-padded rows of kp entries, X and out to the block's first row
// and column (out(t, j) = out[t * ors + j * ocs]); `first` says whether the block writes or adds.
template <class T>
struct TdotBlock {
  const T* Ap;
  Index k, kp;
  Strided<T> X;
  Index depth;
  T* out;
  Index ors, ocs;
  bool first;
  void put(Index t, Index j, T v) const {
    T& o = out[t * ors + j * ocs];
    o = first ? v : o + v;
  }
};

// Columns j .. j+NC-1 against NV vectors of A's rows from entry t0.
template <class T, int NV, int NC>
EIGEN_ALWAYS_INLINE void tdot_tile(const TdotBlock<T>& b, Index t0, Index j) {
  constexpr int L = Vec<T>::SizeAtCompileTime;
  Vec<T> acc[NV][NC];
  tile<T, NV, NC>(b.Ap + t0, b.kp, &b.X(0, j), b.X.cs, b.X.rs, b.depth, acc);
  for (int c = 0; c < NC; ++c)
    for (int i = 0; i < NV; ++i)
      for (int l = 0; l < L && t0 + i * L + l < b.k; ++l)
        b.put(t0 + i * L + l, j + c, acc[i][c][l]);
}

template <class T>
void tdot_tiled(const PaddedRows<T>& Ap, const Strided<T>& X, Index n, T* out, Index ors,
                Index ocs, int n_threads) {
  constexpr int L = Vec<T>::SizeAtCompileTime;
  // Blocks of columns x rows. A column-major X: 64 columns (16 tiles of 4 reuse each block of
  // A's rows) by as many rows as keep 128 KiB of A, well inside L2, next to the columns of X
  // streaming past. A row-major X (k > kRankUpdateMaxRank): 256 columns by 128 rows, runs of
  // 256 entries along each row of X that stay in L2 while the tiles take them 4 entries at a
  // time (bench/bench_nnls.py, case (10000, 50, 10000), with a C-ordered X).
  const Index m = Ap.rows, k = Ap.cols, kp = Ap.stride;
  const bool by_rows = X.cs == 1 && X.rs != 1;
  const Index kColumns = by_rows ? 256 : 64;
  const Index depth = by_rows ? 128 : std::max<Index>(128, 128 * 1024 / (kp * Index(sizeof(T))));
  const Index vecs = round_up(k, L) / L;
  parallel_for(ceil_div(n, kColumns), threads_for(n_threads, 2.0 * m * k * n), 1,
               [&](std::int64_t c) {
                 const Index j0 = c * kColumns, cols = std::min(n - j0, kColumns);
                 for (Index d0 = 0; d0 < m; d0 += depth) {
                   const TdotBlock<T> b{Ap.row(d0), k, kp, {&X(d0, j0), X.rs, X.cs},
                                        std::min(depth, m - d0), out + j0 * ocs, ors, ocs,
                                        d0 == 0};
                   for_each_tile<kTileCols, Rest::kSingles>(0, cols, [&](auto nc, Index j) {
                     for_each_tile<kTileVecs>(0, vecs, [&](auto nv, Index v) {
                       tdot_tile<T, decltype(nv)::value, decltype(nc)::value>(b, v * L, j);
                     });
                   });
                 }
               });
}

// --- rank updates: row-major X at k <= kRankUpdateMaxRank ----------------------------------

// C[t][0 .. cols) += sum_r a[r * as + t] * x_r[0 .. cols) for R rows x_r of X (a: A's rows,
// as apart) and TG rows t of C at a time: R x TG broadcast entries of A stay in registers
// while the rows stream.
template <class T, int R, int TG>
EIGEN_ALWAYS_INLINE void rank_update_rows(const T* a, Index as, Index t, const T* const (&x)[R],
                                          Index cols, T* C, Index cs) {
  constexpr Index L = Vec<T>::SizeAtCompileTime;
  const Index full = cols / L * L;
  Vec<T> av[R][TG];
  for (int r = 0; r < R; ++r)
    for (int g = 0; g < TG; ++g) av[r][g].setConstant(a[r * as + t + g]);
  for (Index v = 0; v < full; v += L) {
    Vec<T> xv[R];
    for (int r = 0; r < R; ++r) xv[r] = Eigen::Map<const Vec<T>>(x[r] + v);
    for (int g = 0; g < TG; ++g) {
      Eigen::Map<Vec<T>> cv(C + (t + g) * cs + v);
      Vec<T> s = cv;
      for (int r = 0; r < R; ++r) s += av[r][g].cwiseProduct(xv[r]);
      cv = s;
    }
  }
  for (Index v = full; v < cols; ++v)
    for (int g = 0; g < TG; ++g)
      for (int r = 0; r < R; ++r) C[(t + g) * cs + v] += a[r * as + t + g] * x[r][v];
}

// Rows i .. i+R-1 of X against all k rows of C, TG = 2 rows of C at a time: with R = 4 rows
// of X that is 8 broadcast entries of A, 4 vectors of X and 2 sums in registers, which fit
// the 16 that x86-64 has below AVX-512.
template <class T, int R>
EIGEN_ALWAYS_INLINE void rank_update(const PaddedRows<T>& Ap, Index i, const T* const (&x)[R],
                                     Index cols, T* C, Index cs) {
  for_each_tile<2, Rest::kSingles>(0, Ap.cols, [&](auto tg, Index t) {
    rank_update_rows<T, R, decltype(tg)::value>(Ap.row(i), Ap.stride, t, x, cols, C, cs);
  });
}

template <class T>
void tdot_rank_updates(const PaddedRows<T>& Ap, const Strided<T>& X, Index n, T* out,
                       Index ors, Index ocs, int n_threads) {
  // A block of w columns of out, k x w of them, in 16 KiB: half an L1 data cache, the other
  // half for the rows of X streaming through; w at most 512 and at most an eighth of n, so
  // that there are blocks for every thread to share.
  constexpr Index L = Vec<T>::SizeAtCompileTime, kBlockBytes = 16 * 1024, kRows = 4;
  const Index m = Ap.rows, k = Ap.cols;
  const Index fit = std::max<Index>(L, kBlockBytes / (k * Index(sizeof(T))) / L * L);
  const Index w = std::clamp<Index>(round_up(ceil_div(n, 8), L), L, std::min<Index>(fit, 512));
  parallel_for(
      ceil_div(n, w), threads_for(n_threads, 2.0 * m * k * n), 1,
      [&] { return std::vector<T>(k * w); },
      [&](std::vector<T>& C, std::int64_t b) {
        const Index j0 = b * w, cols = std::min(n - j0, w);
        std::fill(C.begin(), C.end(), T(0));
        for_each_tile<kRows, Rest::kSingles>(0, m, [&](auto nr, Index i) {
          constexpr int R = decltype(nr)::value;
          const T* x[R];
          for (int r = 0; r < R; ++r) x[r] = &X(i + r, j0);
          rank_update<T, R>(Ap, i, x, cols, C.data(), w);
        });
        for (Index j = 0; j < cols; ++j)
          for (Index t = 0; t < k; ++t) out[t * ors + (j0 + j) * ocs] = C[t * w + j];
      });
}

// Above this rank a row-major X goes to the tiles too: with more arithmetic per entry of X,
// their register reuse beats the longer runs of the rank updates (bench/bench_nnls.py, cases
// (2000, 40, 2000) and (1000, 10, 20000) with a C-ordered X, one thread; bench/RESULTS_notes.md,
// "Dense products with X in the core").
constexpr Index kRankUpdateMaxRank = 16;

// out (k x n, entry (t, j) at out[t * ors + j * ocs]) = A^T X for A (m x k) and X (m x n),
// both read through their strides; X's rows (X.cs == 1) or columns must be contiguous for
// speed, though any strides give the right result.
template <class T>
void tdot(const Strided<T>& A, Index m, Index k, const Strided<T>& X, Index n, T* out,
          Index ors, Index ocs, int n_threads) {
  if (k == 0 || n == 0) return;
  if (m == 0) {
    for (Index j = 0; j < n; ++j)
      for (Index t = 0; t < k; ++t) out[t * ors + j * ocs] = T(0);
    return;
  }
  const PaddedRows<T> Ap(A, m, k);  // A's rows side by side, whichever its memory order
  if (X.cs == 1 && X.rs != 1 && k <= kRankUpdateMaxRank) {
    tdot_rank_updates(Ap, X, n, out, ors, ocs, n_threads);
  } else {
    tdot_tiled(Ap, X, n, out, ors, ocs, n_threads);
  }
}

}  // namespace nnmf
