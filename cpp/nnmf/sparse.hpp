// Dense-times-sparse products, column-parallel and therefore deterministic for any thread count:
//   out = B Y   with B (k x r, column-major) and Y (r x c) in CSC arrays.
// Both products a Neural NMF step needs with a sparse X reduce to this one kernel:
//   A^T X   = B Y with B = A^T, Y = X   (CSC of X)
//   X W^T   = (W X^T)^T with B = W, Y = X^T (CSC of X^T, i.e. the CSR arrays of X).
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <stdexcept>

#include "nnls.hpp"
#include "parallel.hpp"

namespace nnmf {

template <class T, class I>
MatrixC<T> dense_times_csc(const Eigen::Ref<const MatrixC<T>>& B, const I* indptr,
                           const I* indices, const T* data, std::int64_t rows,
                           std::int64_t cols, int n_threads) {
  if (B.cols() != rows) throw std::invalid_argument("dense_times_csc: inconsistent shapes");
  const Eigen::Index k = B.rows();
  MatrixC<T> out = MatrixC<T>::Zero(k, cols);
  parallel_for(
      cols, threads_for(n_threads, 2.0 * k * indptr[cols]), 64, [] { return 0; },
      [&](int&, std::int64_t j) {
        T* __restrict o = out.col(j).data();
        for (I p = indptr[j]; p < indptr[j + 1]; ++p) {
          const I i = indices[p];
          if (i < 0 || i >= rows) throw std::invalid_argument("sparse index out of range");
          const T v = data[p];
          const T* __restrict b = B.col(i).data();
          for (Eigen::Index t = 0; t < k; ++t) o[t] += v * b[t];
        }
      });
  return out;
}

}  // namespace nnmf
