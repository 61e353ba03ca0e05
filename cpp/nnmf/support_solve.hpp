// The linear algebra of q's derivatives: per column j, with P_j the support of S[:, j],
//   W[P_j, j] = G[P_j, P_j]^{-1} R[P_j, j],   W = 0 off P_j.
// With R the upstream gradient this is the W of the vector-Jacobian product; with R the
// perturbation D of the forward-mode formula it is dS itself (DESIGN.md section 3).
// The solves reuse the NNLS solver's factorisations (primal or dual form, see nnls.hpp).
#pragma once

#include <Eigen/Core>
#include <Eigen/QR>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "nnls.hpp"
#include "parallel.hpp"

namespace nnmf {

template <class T>
MatrixC<T> support_solve(const Eigen::Ref<const MatrixXdC>& gram,
                         const Eigen::Ref<const MatrixC<T>>& S,
                         const Eigen::Ref<const MatrixC<T>>& R, int n_threads) {
  const Eigen::Index k = gram.rows();
  if (gram.cols() != k || S.rows() != k || R.rows() != k || R.cols() != S.cols())
    throw std::invalid_argument("support_solve: inconsistent shapes");
  const ScaledGram scaled(gram, /*want_inverse=*/true);
  const NNLSOptions opt;
  MatrixC<T> W = MatrixC<T>::Zero(k, S.cols());
  const int threads = threads_for(n_threads, 4.0 * S.cols() * k * k);
  parallel_for(
      S.cols(), threads, column_chunk(S.cols(), threads), [&] { return ColumnSolver(scaled, opt); },
      [&](ColumnSolver& solver, std::int64_t j) {
        if (solver.solve_on_support(S.col(j).data(), R.col(j).data(), W.col(j).data())) return;
        // G[P, P] singular (dependent columns of A on the support): the pseudo-inverse gives
        // the minimum-norm W, matching the paper's pseudo-inverse formulas. Unscaled
        // variables, since the minimum norm is not invariant under column scaling.
        std::vector<Eigen::Index> P;
        for (Eigen::Index i = 0; i < k; ++i)
          if (S(i, j) > 0 && scaled.usable(int(i))) P.push_back(i);
        const Eigen::Index p = Eigen::Index(P.size());
        MatrixXdC Gpp(p, p);
        Eigen::VectorXd rhs(p);
        for (Eigen::Index a = 0; a < p; ++a) {
          rhs[a] = double(R(P[a], j));
          for (Eigen::Index b = 0; b < p; ++b) Gpp(a, b) = gram(P[a], P[b]);
        }
        const Eigen::VectorXd x = Gpp.completeOrthogonalDecomposition().solve(rhs);
        for (Eigen::Index a = 0; a < p; ++a) W(P[a], j) = T(x[a]);
      });
  return W;
}

}  // namespace nnmf
