// A Cholesky factor of G[P, P] for a growing and shrinking index set P: appending an index is
// one triangular solve, removing one is a sweep of Givens rotations, both O(|P|^2), so the
// active-set method never refactors from scratch.
//
// Two sources for it. From G itself (the Gram form). Or from the columns R[:, P] of a k x k
// matrix with R^T R = G (the triangular form, for an ill-conditioned G: R comes from a QR of
// A): then the factor L (L^T the triangular factor of a QR of R[:, P]) is built together with
// an orthonormal basis Q_P of R[:, P]'s columns by Gram-Schmidt, never from G, so a column at
// an angle theta to the others is resolved down to theta ~ eps instead of sqrt(eps), and the
// least-squares solve min ||R[:, P] z - y|| never squares R.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace nnmf {

class SubsetCholesky {
 public:
  // G: k x k symmetric, column-major, unit diagonal wherever a column is usable (the solver
  // rescales it so), which makes the dependence threshold below scale-free.
  SubsetCholesky(const double* G, int k) : G_(G), k_(k), L_(std::size_t(k) * k), tmp_(k) {
    index_.reserve(k);
  }

  // The triangular form: R k x k, column-major, unit-norm columns wherever a column is usable.
  struct Columns {};
  SubsetCholesky(const double* R, int k, Columns)
      : SubsetCholesky(R, k) {
    triangular_ = true;
    Q_.resize(std::size_t(k) * k);
    w_.resize(k);
  }

  int size() const { return static_cast<int>(index_.size()); }
  const std::vector<int>& indices() const { return index_; }
  void clear() { index_.clear(); }

  // Appends index i. Returns false, leaving the factor unchanged, when column i of the problem
  // is numerically dependent on those already in P (squared sine of its angle to their span
  // below kDependent; in the triangular form, its sine below kDependentSine): entering it
  // would make G[P, P] singular.
  bool append(int i) {
    if (triangular_) return append_column(i);
    const int p = size();
    double* l = tmp_.data();
    for (int r = 0; r < p; ++r) l[r] = G_[index_[r] + std::size_t(i) * k_];
    forward(l);
    double d2 = G_[i + std::size_t(i) * k_];
    for (int r = 0; r < p; ++r) d2 -= l[r] * l[r];
    if (!(d2 > kDependent * G_[i + std::size_t(i) * k_])) return false;
    push(i, std::sqrt(d2));
    return true;
  }

  // Removes index i, which must be in P.
  void remove(int i) {
    const int p = size();
    const int pos = int(std::find(index_.begin(), index_.end(), i) - index_.begin());
    // Shift rows pos+1.. up by one: the result is lower Hessenberg in columns pos..p-1.
    for (int c = 0; c < p; ++c)
      for (int r = std::max(pos, c - 1); r < p - 1; ++r) at(r, c) = at(r + 1, c);
    // Rotate column pairs (j, j+1) to clear the superdiagonal; L L^T is unchanged.
    for (int j = pos; j < p - 1; ++j) {
      const double a = at(j, j), b = at(j, j + 1);
      const double h = std::hypot(a, b);
      const double cs = a / h, sn = b / h;
      at(j, j) = h;
      at(j, j + 1) = 0.0;
      for (int r = j + 1; r < p - 1; ++r) {
        const double x = at(r, j), y = at(r, j + 1);
        at(r, j) = cs * x + sn * y;
        at(r, j + 1) = cs * y - sn * x;
      }
      if (triangular_) {  // R[:, P] = Q_P L^T stays true when Q_P's columns rotate alike
        double* qa = q(j);
        double* qb = q(j + 1);
        for (int r = 0; r < k_; ++r) {
          const double x = qa[r], y = qb[r];
          qa[r] = cs * x + sn * y;
          qb[r] = cs * y - sn * x;
        }
      }
    }
    index_.erase(index_.begin() + pos);
  }

  // x <- G[P, P]^{-1} x in place (x has size() entries, ordered like P).
  void solve(double* x) const {
    forward(x);
    backward(x);
  }

  // Triangular form only: x (size() entries, ordered like P) <- argmin_z ||R[:, P] z - y||
  // for y of length k, as L^-T Q_P^T y.
  void solve_least_squares(const double* y, double* x) const {
    const int p = size();
    for (int a = 0; a < p; ++a) x[a] = dot(q(a), y);
    backward(x);
  }

 private:
  // A few machine epsilons: on the unit diagonal the squared sine d2 = G_ii - |l|^2 is computed
  // with a rounding error of that order, so a smaller one cannot be told from zero.
  static constexpr double kDependent = 1e-15;
  // The same for the sine itself in the triangular form, where it is computed to a few machine
  // epsilons: a column this close to the span of the others would take coefficients of
  // 1 / kDependentSine, cancelling to the last digit.
  static constexpr double kDependentSine = 1e-13;

  const double* q(int a) const { return Q_.data() + std::size_t(a) * k_; }
  double* q(int a) { return Q_.data() + std::size_t(a) * k_; }
  double dot(const double* a, const double* b) const {
    double acc = 0;
    for (int r = 0; r < k_; ++r) acc += a[r] * b[r];
    return acc;
  }

  // Adds index i with the row l = tmp_ of L and diagonal entry d.
  void push(int i, double d) {
    const int p = size();
    for (int c = 0; c < p; ++c) at(p, c) = tmp_[c];
    at(p, p) = d;
    index_.push_back(i);
  }

  // append() in the triangular form: modified Gram-Schmidt of v = R[:, i] against Q_P, twice
  // (the second pass restores the orthogonality that one loses to cancellation).
  bool append_column(int i) {
    const int p = size();
    const double* v = G_ + std::size_t(i) * k_;
    double* l = tmp_.data();
    std::copy(v, v + k_, w_.begin());
    std::fill(l, l + p, 0.0);
    for (int pass = 0; pass < 2; ++pass)
      for (int a = 0; a < p; ++a) {
        const double* qa = q(a);
        const double t = dot(qa, w_.data());
        l[a] += t;
        for (int r = 0; r < k_; ++r) w_[r] -= t * qa[r];
      }
    const double d = std::sqrt(dot(w_.data(), w_.data()));
    if (!(d > kDependentSine * std::sqrt(dot(v, v)))) return false;
    double* qp = q(p);
    for (int r = 0; r < k_; ++r) qp[r] = w_[r] / d;
    push(i, d);
    return true;
  }

  double& at(int r, int c) { return L_[r + std::size_t(c) * k_]; }
  double at(int r, int c) const { return L_[r + std::size_t(c) * k_]; }

  void forward(double* x) const {  // L y = x
    const int p = size();
    for (int c = 0; c < p; ++c) {
      x[c] /= at(c, c);
      const double xc = x[c];
      for (int r = c + 1; r < p; ++r) x[r] -= at(r, c) * xc;
    }
  }

  void backward(double* x) const {  // L^T y = x
    const int p = size();
    for (int r = p - 1; r >= 0; --r) {
      double acc = x[r];
      for (int c = r + 1; c < p; ++c) acc -= at(c, r) * x[c];
      x[r] = acc / at(r, r);
    }
  }

  const double* G_;  // G, or R in the triangular form
  int k_;
  std::vector<double> L_;
  std::vector<int> index_;
  std::vector<double> tmp_;
  bool triangular_ = false;
  std::vector<double> Q_;  // triangular form: Q_P's columns, k apart
  std::vector<double> w_;
};

}  // namespace nnmf
