// The linear algebra of q's derivatives: per column j, with P_j the support of S[:, j],
//   W[P_j, j] = G[P_j, P_j]^{-1} R[P_j, j],   W = 0 off P_j.
// With R the upstream gradient this is the W of the vector-Jacobian product; with R the
// perturbation D of the forward-mode formula it is dS itself (docs/design.md, "The derivative
// formulas"). The solves reuse the NNLS solver's factorisations (primal or dual form, see
// nnls.hpp).
#pragma once

#include <Eigen/Core>
#include <Eigen/QR>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "nnmf/nnls/nnls.hpp"
#include "nnmf/types.hpp"

namespace nnmf {

template <class T>
MatrixC<T> support_solve(const RefC<double>& gram, const RefC<T>& S, const RefC<T>& R,
                         int n_threads) {
  const Index k = gram.rows();
  if (gram.cols() != k || S.rows() != k || R.rows() != k || R.cols() != S.cols())
    throw std::invalid_argument("support_solve: inconsistent shapes");
  const ScaledGram scaled(gram);
  NNLSOptions opt;
  opt.n_threads = n_threads;
  MatrixC<T> W = MatrixC<T>::Zero(k, S.cols());
  for_each_column(scaled, S.cols(), opt, [&](ColumnSolver& solver, std::int64_t j) {
    if (solver.solve_on_support(S.col(j).data(), R.col(j).data(), W.col(j).data())) return;
    // G[P, P] singular (dependent columns of A on the support): the pseudo-inverse gives
    // the minimum-norm W, matching the paper's pseudo-inverse formulas. Unscaled
    // variables, since the minimum norm is not invariant under column scaling.
    std::vector<Index> P;
    for (Index i = 0; i < k; ++i)
      if (S(i, j) > 0 && scaled.usable(int(i))) P.push_back(i);
    const Index p = Index(P.size());
    MatrixXdC Gpp(p, p);
    Eigen::VectorXd rhs(p);
    for (Index a = 0; a < p; ++a) {
      rhs[a] = double(R(P[a], j));
      for (Index b = 0; b < p; ++b) Gpp(a, b) = gram(P[a], P[b]);
    }
    const Eigen::VectorXd x = Gpp.completeOrthogonalDecomposition().solve(rhs);
    for (Index a = 0; a < p; ++a) W(P[a], j) = T(x[a]);
  });
  return W;
}

}  // namespace nnmf
