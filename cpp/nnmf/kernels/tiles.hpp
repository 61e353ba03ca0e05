// Register-tiled products of a tall m x k factor A with small k x k' matrices, for the small
// ranks of topic models (k ~ 5..100). Eigen's general GEMM packs its operands and dispatches
// on every call, which at such k costs more than the arithmetic; a tile instead keeps NV x NC
// SIMD vectors of partial sums in registers for the whole inner dimension (bench/bench_nnls.py,
// case 20News 37693x200, k=10: its gram and VJP dA columns; bench/RESULTS_notes.md,
// "Register-tiled kernels for the products with the tall A_0"). A is read through its two
// strides, so either memory order works without a copy. Each output entry is one fixed
// sequence of operations, whatever the thread count.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <type_traits>
#include <vector>

#include "nnmf/types.hpp"

namespace nnmf {

// One SIMD register of T: 4 doubles with AVX, 2 with SSE2 (the packet size Eigen compiles for).
template <class T>
using Vec = Eigen::Matrix<T, Eigen::internal::packet_traits<T>::size, 1>;

// A tile holds NV x NC accumulators plus NV operand vectors and one broadcast scalar: with
// NV = 3 and NC = 4 that is 16 vector registers, all that x86-64 has below AVX-512, so
// nothing spills.
constexpr int kTileVecs = 3;  // NV: vectors of partial sums along the output row
constexpr int kTileCols = 4;  // NC: broadcast scalars per inner step

// How a loop over tiles takes what is left after its whole tiles: one narrower tile (the
// vectors of an output row: 1 or 2 left), or tiles of width 1 (rows and columns: fewer
// instantiations of every kernel than a tile for each width).
enum class Rest { kNarrowerTile, kSingles };

// The remainder dispatch of every tiled loop: f(w, i) with w a std::integral_constant<int, N>
// at i = begin, begin + N, ... while a whole tile fits before end, then the rest as Rest says.
// A tile's width must be a compile-time constant (its accumulators are registers), so the
// runtime remainder is mapped here to the instantiation of that width.
template <int N, Rest R = Rest::kNarrowerTile, class F>
EIGEN_ALWAYS_INLINE void for_each_tile(Index begin, Index end, F&& f) {
  Index i = begin;
  for (; i + N <= end; i += N) f(std::integral_constant<int, N>(), i);
  if constexpr (R == Rest::kSingles) {
    for (; i < end; ++i) f(std::integral_constant<int, 1>(), i);
  } else if constexpr (N > 1) {
    if (end - i == N - 1) {
      f(std::integral_constant<int, N - 1>(), i);
    } else {
      for_each_tile<N - 1, R>(i, end, f);  // no whole tile of N - 1 fits: only the rest
    }
  }
}

// acc[i][c] = sum_{d < depth} P[d * ps + i * L .. + L] * Q[c * qc + d * qd]  (L = Vec's size).
template <class T, int NV, int NC>
EIGEN_ALWAYS_INLINE void tile(const T* P, Index ps, const T* Q, Index qc, Index qd, Index depth,
                              Vec<T> (&acc)[NV][NC]) {
  constexpr int L = Vec<T>::SizeAtCompileTime;
  for (int i = 0; i < NV; ++i)
    for (int c = 0; c < NC; ++c) acc[i][c].setZero();
  for (Index d = 0; d < depth; ++d) {
    Vec<T> p[NV];
    for (int i = 0; i < NV; ++i) p[i] = Eigen::Map<const Vec<T>>(P + d * ps + i * L);
    for (int c = 0; c < NC; ++c) {
      const T q = Q[c * qc + d * qd];
      for (int i = 0; i < NV; ++i) acc[i][c] += p[i] * q;
    }
  }
}

// M (rows x cols) as rows padded with zeros to a whole number of vectors, the tiles' P operand
// (a small M, or a tall factor A read through its strides).
template <class T>
struct PaddedRows {
  Index rows, cols, stride;
  std::vector<T> data;
  template <class MatM>
  explicit PaddedRows(const MatM& M) : PaddedRows(strided(M), M.rows(), M.cols()) {}
  PaddedRows(const Strided<T>& M, Index rows_, Index cols_)
      : rows(rows_),
        cols(cols_),
        stride(round_up(cols_, Vec<T>::SizeAtCompileTime)),
        data(rows * stride, T(0)) {
    for (Index j = 0; j < rows; ++j)
      for (Index t = 0; t < cols; ++t) data[j * stride + t] = M(j, t);
  }
  const T* row(Index j) const { return data.data() + j * stride; }
};

// Rows r0 .. r0+NC-1 of out (row c at out + c * os, k' entries) = base - A M, where base is the
// current content (Accumulate) or zero. NV vectors of columns from column t0.
template <bool Accumulate, class T, int NV, int NC>
EIGEN_ALWAYS_INLINE void minus_product_tile(const Strided<T>& A, Index r0,
                                            const PaddedRows<T>& M, Index t0, T* out, Index os) {
  constexpr int L = Vec<T>::SizeAtCompileTime;
  Vec<T> acc[NV][NC];
  tile<T, NV, NC>(M.data.data() + t0, M.stride, &A(r0, 0), A.rs, A.cs, M.rows, acc);
  for (int c = 0; c < NC; ++c) {
    T* y = out + (r0 + c) * os;
    for (int i = 0; i < NV; ++i) {
      const Index t = t0 + i * L;
      if (t + L <= M.cols) {
        Eigen::Map<Vec<T>> yv(y + t);
        if constexpr (Accumulate) yv -= acc[i][c];
        else yv = -acc[i][c];
      } else {  // the last, partial vector of the row
        for (Index l = 0; t + l < M.cols; ++l)
          y[t + l] = (Accumulate ? y[t + l] : T(0)) - acc[i][c][l];
      }
    }
  }
}

// Rows [r0, r1) of out (row r at out + r * os) = base - A M, base as in minus_product_tile.
template <bool Accumulate, class T>
void minus_product(const Strided<T>& A, Index r0, Index r1, const PaddedRows<T>& M, T* out,
                   Index os) {
  constexpr int L = Vec<T>::SizeAtCompileTime;
  for_each_tile<kTileCols, Rest::kSingles>(r0, r1, [&](auto nc, Index r) {
    for_each_tile<kTileVecs>(0, M.stride / L, [&](auto nv, Index v) {
      minus_product_tile<Accumulate, T, decltype(nv)::value, decltype(nc)::value>(A, r, M, v * L,
                                                                                  out, os);
    });
  });
}

// k padded to a multiple of both the vector length and kTileCols, so that whole tiles cover
// the triangle (the padding is zero and adds nothing).
inline Index gram_stride(Index k) {
  constexpr Index L = Vec<double>::SizeAtCompileTime;
  constexpr Index unit = L > kTileCols ? L : kTileCols;
  static_assert(unit % L == 0 && unit % kTileCols == 0, "tile sizes must divide each other");
  return round_up(k, unit);
}

// 64 rows: a panel of up to 32 KiB at k <= 64, which stays in the L1 cache while every tile
// of the triangle reads it.
constexpr Index kGramPanelRows = 64;

template <int NV>
EIGEN_ALWAYS_INLINE void gram_tile(const double* panel, Index rows, Index kp, Index v0, Index c0,
                                   double* Gp) {
  constexpr int L = Vec<double>::SizeAtCompileTime;
  Vec<double> acc[NV][kTileCols];
  tile<double, NV, kTileCols>(panel + v0 * L, kp, panel + c0, 1, kp, rows, acc);
  for (int i = 0; i < NV; ++i)
    for (int c = 0; c < kTileCols; ++c)
      for (int l = 0; l < L; ++l) Gp[(v0 * L + i * L + l) * kp + c0 + c] += acc[i][c][l];
}

// The lower triangle of A^T A over rows [r0, r1), in double, added to Gp (kp x kp row-major,
// kp = gram_stride(k)). Rows are copied kGramPanelRows at a time into a zero-padded double
// panel, which also converts float to double; the panel's sums are added to Gp in order.
template <class T>
void gram_rows(const Strided<T>& A, Index k, Index r0, Index r1, double* Gp,
               std::vector<double>& panel) {
  if (k == 0) return;  // no columns: nothing to add, and no element of A to address
  constexpr Index L = Vec<double>::SizeAtCompileTime;
  const Index kp = gram_stride(k), vecs = kp / L;
  panel.assign(kGramPanelRows * kp, 0.0);
  for (Index p0 = r0; p0 < r1; p0 += kGramPanelRows) {
    const Index rows = std::min(kGramPanelRows, r1 - p0);
    if (A.cs == 1) {  // rows contiguous (row-major A): a vectorised copy per row
      for (Index r = 0; r < rows; ++r) std::copy_n(&A(p0 + r, 0), k, &panel[r * kp]);
    } else {  // read down the columns
      for (Index j = 0; j < k; ++j)
        for (Index r = 0; r < rows; ++r) panel[r * kp + j] = double(A(p0 + r, j));
    }
    // column blocks c0 .. c0+3 against the row vectors that reach the diagonal or below
    for (Index c0 = 0; c0 < kp; c0 += kTileCols)
      for_each_tile<kTileVecs>(c0 / L, vecs, [&](auto nv, Index v) {
        gram_tile<decltype(nv)::value>(panel.data(), rows, kp, v, c0, Gp);
      });
  }
}

}  // namespace nnmf
