// A Cholesky factor of G[P, P] for a growing and shrinking index set P: appending an index is
// one triangular solve, removing one is a sweep of Givens rotations, both O(|P|^2), so the
// active-set method never refactors from scratch.
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

  int size() const { return static_cast<int>(index_.size()); }
  const std::vector<int>& indices() const { return index_; }
  void clear() { index_.clear(); }

  // Appends index i. Returns false, leaving the factor unchanged, when column i of the problem
  // is numerically dependent on those already in P (squared sine of its angle to their span
  // below kDependent): entering it would make G[P, P] singular.
  bool append(int i) {
    const int p = size();
    double* l = tmp_.data();
    for (int r = 0; r < p; ++r) l[r] = G_[index_[r] + std::size_t(i) * k_];
    forward(l);
    double d2 = G_[i + std::size_t(i) * k_];
    for (int r = 0; r < p; ++r) d2 -= l[r] * l[r];
    if (!(d2 > kDependent * G_[i + std::size_t(i) * k_])) return false;
    for (int c = 0; c < p; ++c) at(p, c) = l[c];
    at(p, p) = std::sqrt(d2);
    index_.push_back(i);
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
    }
    index_.erase(index_.begin() + pos);
  }

  // x <- G[P, P]^{-1} x in place (x has size() entries, ordered like P).
  void solve(double* x) const {
    forward(x);
    backward(x);
  }

 private:
  // A few machine epsilons: on the unit diagonal the squared sine d2 = G_ii - |l|^2 is computed
  // with a rounding error of that order, so a smaller one cannot be told from zero.
  static constexpr double kDependent = 1e-15;

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

  const double* G_;
  int k_;
  std::vector<double> L_;
  std::vector<int> index_;
  std::vector<double> tmp_;
};

}  // namespace nnmf
