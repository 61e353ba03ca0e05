// The Neural NMF layer q(Z, A) = argmin_{S >= 0} ||Z - A S||_F^2, column by column, in Gram
// form: given G = A^T A and C = A^T Z, each column solves min 1/2 s^T G s - c^T s, s >= 0, by
// the Lawson-Hanson active-set method (Bro & de Jong's FNNLS) with an incrementally updated
// Cholesky factor of G[P, P].
//
// Numerics: the problem is solved in the Jacobi-scaled variables s' = sqrt(diag G) * s, so G
// has a unit diagonal, the entering tolerance is scale-free, and columns of A whose norms
// differ by many orders of magnitude are harmless. Zero columns of A (zero diagonal) never
// enter the passive set; a column numerically dependent on the passive set is refused by the
// factor (SubsetCholesky::append). All arithmetic on G, C and S is double, whatever T is.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "cholesky.hpp"
#include "parallel.hpp"

namespace nnmf {

using MatrixXdC = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

template <class T>
using MatrixC = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

struct NNLSOptions {
  int max_iter = 0;      // passive-set changes allowed per column; <= 0 means 10 k + 10
  double tol = 0.0;      // relative KKT tolerance; <= 0 means 64 k machine epsilons
  int n_threads = 1;
};

// The Gram matrix in scaled form, shared read-only by all threads.
struct ScaledGram {
  MatrixXdC G;            // D^-1 G D^-1, unit diagonal where usable
  Eigen::VectorXd inv_d;  // 1 / sqrt(G_ii), 0 for unusable (zero) columns of A

  explicit ScaledGram(const Eigen::Ref<const MatrixXdC>& gram) : G(gram), inv_d(gram.rows()) {
    const Eigen::Index k = gram.rows();
    if (gram.cols() != k) throw std::invalid_argument("gram matrix must be square");
    for (Eigen::Index i = 0; i < k; ++i) {
      const double gii = gram(i, i);
      inv_d[i] = gii > 0 ? 1.0 / std::sqrt(gii) : 0.0;
    }
    for (Eigen::Index j = 0; j < k; ++j)
      for (Eigen::Index i = 0; i < k; ++i) G(i, j) *= inv_d[i] * inv_d[j];
  }

  int k() const { return static_cast<int>(G.rows()); }
  bool usable(int i) const { return inv_d[i] > 0; }
};

// One thread's workspace: solves single columns of the scaled problem.
class ColumnSolver {
 public:
  ColumnSolver(const ScaledGram& gram, const NNLSOptions& opt)
      : gram_(gram),
        k_(gram.k()),
        max_iter_(opt.max_iter > 0 ? opt.max_iter : 10 * gram.k() + 10),
        tol_(opt.tol > 0 ? opt.tol : 64 * gram.k() * std::numeric_limits<double>::epsilon()),
        chol_(gram.G.data(), gram.k()),
        c_(k_), s_(k_), z_(k_), w_(k_), scale_(k_), in_p_(k_), excluded_(k_) {}

  // Solves one column. c: the column of C (length k). s: on entry the warm start (entries > 0
  // seed the passive set; all zero for a cold start), on exit the solution. seed: optional
  // cold-start passive set (indices), used only when s is all zero. Returns the number of
  // passive-set changes; *converged tells whether the KKT conditions were met within max_iter.
  template <class T>
  int solve(const T* c, T* s, const std::vector<int>* seed, bool* converged) {
    const int k = k_;
    const double* inv_d = gram_.inv_d.data();
    chol_.clear();
    std::fill(in_p_.begin(), in_p_.end(), 0);
    std::fill(excluded_.begin(), excluded_.end(), 0);
    for (int i = 0; i < k; ++i) {
      c_[i] = static_cast<double>(c[i]) * inv_d[i];
      s_[i] = gram_.usable(i) ? std::max(0.0, static_cast<double>(s[i])) / inv_d[i] : 0.0;
    }
    bool warm = false;
    for (int i = 0; i < k; ++i)
      if (s_[i] > 0) {
        warm = true;
        enter(i);
      }
    if (!warm && seed)
      for (int i : *seed) enter(i);

    int iter = 0;
    *converged = false;
    while (true) {
      if (chol_.size() > 0 && !make_feasible(&iter)) break;  // out of iterations
      const int i = most_violated();
      if (i < 0) {
        *converged = true;
        break;
      }
      if (++iter > max_iter_) break;
      if (!enter(i)) continue;
      // A column may only enter if it improves the objective; if, solved with the others,
      // its coefficient is not positive, its violation was roundoff: exclude it.
      solve_passive();
      if (!(z_[chol_.size() - 1] > 0)) {
        chol_.remove(chol_.size() - 1);
        in_p_[i] = 0;
        excluded_[i] = 1;
      }
    }
    for (int i = 0; i < k; ++i) s[i] = static_cast<T>(s_[i] * inv_d[i]);
    return iter;
  }

 private:
  bool enter(int i) {
    if (!gram_.usable(i) || in_p_[i] || excluded_[i]) return false;
    if (!chol_.append(i)) {
      excluded_[i] = 1;
      s_[i] = 0;
      return false;
    }
    in_p_[i] = 1;
    return true;
  }

  // z[0..p) <- G[P,P]^{-1} c[P], with one step of iterative refinement.
  void solve_passive() {
    const int p = chol_.size();
    const auto& P = chol_.indices();
    const double* G = gram_.G.data();
    for (int r = 0; r < p; ++r) z_[r] = c_[P[r]];
    chol_.solve(z_.data());
    for (int r = 0; r < p; ++r) {
      double acc = c_[P[r]];
      const double* g = G + std::size_t(P[r]) * k_;
      for (int t = 0; t < p; ++t) acc -= g[P[t]] * z_[t];
      w_[r] = acc;
    }
    chol_.solve(w_.data());
    for (int r = 0; r < p; ++r) z_[r] += w_[r];
  }

  // Lawson-Hanson inner loop: moves s toward the passive-set solution z, dropping the indices
  // that hit zero, until z > 0; then s = z. Returns false when out of iterations.
  bool make_feasible(int* iter) {
    while (true) {
      solve_passive();
      const int p = chol_.size();
      double alpha = 1.0;
      int blocking = -1;
      for (int r = 0; r < p; ++r)
        if (!(z_[r] > 0)) {
          const double si = s_[chol_.index(r)];
          const double a = si > 0 ? si / (si - z_[r]) : 0.0;
          if (a < alpha || blocking < 0) {
            alpha = std::min(a, alpha);
            blocking = r;
          }
        }
      if (blocking < 0) {
        for (int r = 0; r < p; ++r) s_[chol_.index(r)] = z_[r];
        return true;
      }
      if (++*iter > max_iter_) return false;
      for (int r = 0; r < p; ++r) {
        const int i = chol_.index(r);
        s_[i] += alpha * (z_[r] - s_[i]);
      }
      s_[chol_.index(blocking)] = 0;
      // Drop every index at zero: the blocking one, and any other that hit zero with it.
      for (int r = p - 1; r >= 0; --r) {
        const int i = chol_.index(r);
        if (s_[i] <= 0) {
          s_[i] = 0;
          in_p_[i] = 0;
          chol_.remove(r);
        }
      }
      if (chol_.size() == 0) return true;
    }
  }

  // The index outside P with the largest KKT violation w_i = c_i - (G s)_i above its
  // scale-aware tolerance, or -1 when the KKT conditions hold.
  int most_violated() {
    const int k = k_;
    const double* G = gram_.G.data();
    for (int i = 0; i < k; ++i) {
      w_[i] = c_[i];
      scale_[i] = std::abs(c_[i]);
    }
    for (int r = 0; r < chol_.size(); ++r) {
      const int j = chol_.index(r);
      const double sj = s_[j];
      const double* g = G + std::size_t(j) * k;
      for (int i = 0; i < k; ++i) {
        w_[i] -= g[i] * sj;
        scale_[i] += std::abs(g[i] * sj);
      }
    }
    int best = -1;
    double best_w = 0;
    for (int i = 0; i < k; ++i) {
      if (in_p_[i] || excluded_[i] || !gram_.usable(i)) continue;
      if (w_[i] > tol_ * scale_[i] && w_[i] > best_w) {
        best = i;
        best_w = w_[i];
      }
    }
    return best;
  }

  const ScaledGram& gram_;
  int k_;
  int max_iter_;
  double tol_;
  SubsetCholesky chol_;
  std::vector<double> c_, s_, z_, w_, scale_;
  std::vector<char> in_p_, excluded_;
};

struct NNLSInfo {
  Eigen::VectorXi n_iter;
  Eigen::Matrix<bool, Eigen::Dynamic, 1> converged;
};

// S = q(Z, A) from gram = A^T A and C = A^T Z. S holds the warm start on entry (zeros for a
// cold start) and the solution on exit.
template <class T>
NNLSInfo nnls_gram(const Eigen::Ref<const MatrixXdC>& gram, const Eigen::Ref<const MatrixC<T>>& C,
                   Eigen::Ref<MatrixC<T>> S, const NNLSOptions& opt) {
  const int k = static_cast<int>(gram.rows());
  if (C.rows() != k || S.rows() != k || S.cols() != C.cols())
    throw std::invalid_argument("nnls_gram: inconsistent shapes");
  const ScaledGram scaled(gram);
  const std::int64_t n = C.cols();
  NNLSInfo info{Eigen::VectorXi::Zero(n), Eigen::Matrix<bool, Eigen::Dynamic, 1>::Zero(n)};
  parallel_for(
      n, opt.n_threads, 16, [&] { return ColumnSolver(scaled, opt); },
      [&](ColumnSolver& solver, std::int64_t j) {
        bool ok = false;
        info.n_iter[j] = solver.solve(C.col(j).data(), S.col(j).data(), nullptr, &ok);
        info.converged[j] = ok;
      });
  return info;
}

}  // namespace nnmf
