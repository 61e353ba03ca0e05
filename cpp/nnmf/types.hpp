// The aliases and views that the core's headers share: Eigen's index type, dense matrices in
// the two memory orders and references to them, a strided view that reads a matrix in either
// order without a copy, and the index arithmetic of blocked loops.
#pragma once

#include <Eigen/Core>

namespace nnmf {

using Index = Eigen::Index;

// Column-major: every k x n result (columns are the unit of work), the Gram matrix and the
// small k x k' operands. Row-major: the m x k' products with a tall factor (X W^T - A M),
// which Python sees as C-ordered.
template <class T>
using MatrixC = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
template <class T>
using MatrixR = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// The Gram matrix and the solver's arithmetic are double, whatever the data's type.
using MatrixXdC = MatrixC<double>;

// Read-only and writable references, which bind numpy arrays of the same memory order
// without a copy.
template <class T>
using RefC = Eigen::Ref<const MatrixC<T>>;
template <class T>
using RefR = Eigen::Ref<const MatrixR<T>>;
template <class T>
using MutRefC = Eigen::Ref<MatrixC<T>>;
template <class T>
using MutRefR = Eigen::Ref<MatrixR<T>>;

// A read-only strided view of a matrix: M(r, j) = data[r * rs + j * cs]. Kernels read a tall
// factor through it in whichever memory order it lies.
template <class T>
struct Strided {
  const T* data;
  Index rs, cs;
  const T& operator()(Index r, Index j) const { return data[r * rs + j * cs]; }
};

template <class Mat>
Strided<typename Mat::Scalar> strided(const Mat& M) {
  return {M.data(), M.rowStride(), M.colStride()};
}

// M^T as a strided view, for a caller that holds the transpose of the matrix it needs.
template <class Mat>
Strided<typename Mat::Scalar> strided_transpose(const Mat& M) {
  return {M.data(), M.colStride(), M.rowStride()};
}

// The number of blocks of `size` that cover n, and n rounded up to a multiple of unit.
constexpr Index ceil_div(Index n, Index size) { return (n + size - 1) / size; }
constexpr Index round_up(Index n, Index unit) { return ceil_div(n, unit) * unit; }

}  // namespace nnmf
