// The linear algebra of q's derivatives: per column j, with P_j the support of S[:, j],
//   W[P_j, j] = G[P_j, P_j]^{-1} R[P_j, j],   W = 0 off P_j.
// With R the upstream gradient this is the W of the vector-Jacobian product; with R the
// perturbation D of the forward-mode formula it is dS itself (DESIGN.md section 3).
#pragma once

#include <Eigen/Core>
#include <Eigen/QR>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "cholesky.hpp"
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
  const ScaledGram scaled(gram);
  MatrixC<T> W = MatrixC<T>::Zero(k, S.cols());
  struct Workspace {
    SubsetCholesky chol;
    std::vector<double> x;
  };
  parallel_for(
      S.cols(), n_threads, 16,
      [&] { return Workspace{SubsetCholesky(scaled.G.data(), int(k)), std::vector<double>(k)}; },
      [&](Workspace& ws, std::int64_t j) {
        ws.chol.clear();
        bool singular = false;
        for (Eigen::Index i = 0; i < k; ++i)
          if (S(i, j) > 0 && !ws.chol.append(int(i))) singular = true;
        if (singular) {
          // G[P, P] singular (dependent columns of A on the support): the pseudo-inverse gives
          // the minimum-norm W, matching the paper's pseudo-inverse formulas.
          std::vector<int> P;
          for (Eigen::Index i = 0; i < k; ++i)
            if (S(i, j) > 0) P.push_back(int(i));
          const Eigen::Index p = Eigen::Index(P.size());
          MatrixXdC Gpp(p, p);
          Eigen::VectorXd rhs(p);
          for (Eigen::Index a = 0; a < p; ++a) {
            rhs[a] = double(R(P[a], j)) * scaled.inv_d[P[a]];
            for (Eigen::Index b = 0; b < p; ++b) Gpp(a, b) = scaled.G(P[a], P[b]);
          }
          const Eigen::VectorXd x = Gpp.completeOrthogonalDecomposition().solve(rhs);
          for (Eigen::Index a = 0; a < p; ++a) W(P[a], j) = T(x[a] * scaled.inv_d[P[a]]);
          return;
        }
        const int p = ws.chol.size();
        for (int a = 0; a < p; ++a) {
          const int i = ws.chol.index(a);
          ws.x[a] = double(R(i, j)) * scaled.inv_d[i];
        }
        ws.chol.solve(ws.x.data());
        for (int a = 0; a < p; ++a) {
          const int i = ws.chol.index(a);
          W(i, j) = T(ws.x[a] * scaled.inv_d[i]);
        }
      });
  return W;
}

}  // namespace nnmf
