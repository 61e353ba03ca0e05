// The Neural NMF layer q(Z, A) = argmin_{S >= 0} ||Z - A S||_F^2, column by column, in Gram
// form: given G = A^T A and C = A^T Z, each column solves min 1/2 s^T G s - c^T s, s >= 0, by
// the Lawson-Hanson active-set method (Bro & de Jong's FNNLS) with an incrementally updated
// Cholesky factor of G[P, P] (docs/design.md, "The Gram-form active set").
//
// Two equivalent factorisations of the passive-set system G[P,P] z = c[P], chosen per column:
//  - primal: a Cholesky factor of G[P,P], |P| x |P|;
//  - dual: with H = G^-1, z = H (c + E_R lambda) where R is the complement of P and lambda
//    makes z[R] = 0, i.e. z = u - H[:,R] H[R,R]^-1 u[R] with u = H c; a Cholesky factor of
//    H[R,R], |R| x |R|. When the solution is dense (small R) this is far cheaper, and the
//    positive entries of u = H c are the cold-start passive set (FNNLS's usual seed).
// The dual form needs G well conditioned; otherwise every column uses the primal form.
// When G is so ill conditioned that no factorisation of it can resolve the solution (about
// half of double's digits lost: near-collinear columns of A), the caller solves from A itself
// instead: with a thin QR A D^-1 = Q R (D the column norms), each column is the k x k problem
// min ||R s' - Q^T z||, s' >= 0, and the primal form's factor of G[P,P] is built from R[:, P]
// by Gram-Schmidt (the triangular form, nnls_triangular; SubsetCholesky), as in Lawson and
// Hanson's own method, which never squares A.
//
// Numerics: the problem is solved in the Jacobi-scaled variables s' = sqrt(diag G) * s, so G
// has a unit diagonal, the entering tolerance is scale-free, and columns of A whose norms
// differ by many orders of magnitude are harmless (as long as G holds them: the caller scales
// columns whose squared norms would under- or overflow, python/nnmf/layer/_nnls.py). Zero
// columns of A never enter the passive set; a column numerically dependent on the passive set
// is refused by the factor (SubsetCholesky::append). All arithmetic on G, C and S is double,
// whatever T is.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "nnmf/nnls/cholesky.hpp"
#include "nnmf/platform/parallel.hpp"
#include "nnmf/types.hpp"

namespace nnmf {

struct NNLSOptions {
  int max_iter = 0;      // passive-set changes allowed per column; <= 0 means 10 k + 10
  double tol = 0.0;      // relative KKT tolerance; <= 0 means 64 k machine epsilons
  int n_threads = 1;
};

// The Gram matrix in scaled form, shared read-only by all threads.
struct ScaledGram {
  MatrixXdC G;            // D^-1 G D^-1: unit diagonal (set to 1 for unusable columns too)
  Eigen::VectorXd inv_d;  // 1 / sqrt(G_ii), 0 for unusable (zero) columns of A
  MatrixXdC H;            // G^-1 when G is well conditioned (enables the dual form), else empty
  double rcond = 0;       // reciprocal condition estimate of G (0: not positive definite)
  MatrixXdC R;            // the triangular form: R (G itself is then not formed), else empty

  // want_inverse = false: only G and rcond (what the caller needs to choose the form).
  explicit ScaledGram(const RefC<double>& gram, bool want_inverse = true)
      : G(gram), inv_d(gram.rows()) {
    const Index k = gram.rows();
    if (gram.cols() != k) throw std::invalid_argument("gram matrix must be square");
    for (Index i = 0; i < k; ++i) {
      const double gii = gram(i, i);
      inv_d[i] = gii > 0 && std::isfinite(gii) ? 1.0 / std::sqrt(gii) : 0.0;
    }
    for (Index j = 0; j < k; ++j)
      for (Index i = 0; i < k; ++i) G(i, j) *= inv_d[i] * inv_d[j];
    for (Index i = 0; i < k; ++i)
      if (inv_d[i] == 0) G(i, i) = 1.0;  // decoupled, and never entered
    if (k > 0) {
      Eigen::LLT<MatrixXdC> llt(G);
      if (llt.info() == Eigen::Success) rcond = llt.rcond();
      if (want_inverse && rcond > kMinRcond) H = llt.solve(MatrixXdC::Identity(k, k));
    }
  }

  // The triangular form, from R (k x k) whose columns are A's scaled to unit norm (or zero,
  // for zero columns of A) in the basis Q.
  struct Triangular {};
  ScaledGram(const RefC<double>& r, Triangular) : inv_d(r.cols()), R(r) {
    if (r.rows() != r.cols()) throw std::invalid_argument("R must be square");
    for (Index i = 0; i < r.cols(); ++i) inv_d[i] = r.col(i).squaredNorm() > 0 ? 1.0 : 0.0;
  }

  int k() const { return static_cast<int>(inv_d.size()); }
  bool usable(int i) const { return inv_d[i] > 0; }
  bool has_inverse() const { return H.size() > 0; }
  bool triangular() const { return R.size() > 0; }

  // Below this reciprocal condition number the dual form's explicit inverse is not trusted:
  // an inverse loses about log10(1 / rcond) of double's 16 digits, so below 1e-6 the dual
  // form's solves would keep fewer than ten, and every column uses the primal form, whose
  // factor of G[P,P] is formed from G itself.
  // Below kRefineRcond (three digits lost) the passive-set solves get a step of iterative
  // refinement, which wins back what the conditioning cost; above it one is not worth its cost.
  // Below kTriangularRcond (half of double's digits lost, about sqrt(eps)) even a refined
  // solve from G cannot resolve the residual, and the caller switches to the triangular form.
  static constexpr double kMinRcond = 1e-6;
  static constexpr double kRefineRcond = 1e-3;
  static constexpr double kTriangularRcond = 1e-8;
};

// The reciprocal condition estimate of the Jacobi-scaled gram = A^T A (0 when it is not
// numerically positive definite): below ScaledGram::kTriangularRcond, solve in the
// triangular form.
inline double scaled_gram_rcond(const RefC<double>& gram) {
  return ScaledGram(gram, /*want_inverse=*/false).rcond;
}

// One thread's workspace: solves single columns of the scaled problem.
class ColumnSolver {
 public:
  ColumnSolver(const ScaledGram& gram, const NNLSOptions& opt)
      : gram_(gram),
        k_(gram.k()),
        max_iter_(opt.max_iter > 0 ? opt.max_iter : 10 * gram.k() + 10),
        tol_(opt.tol > 0 ? opt.tol : default_tol(gram)),
        primal_(gram.triangular() ? SubsetCholesky(gram.R.data(), gram.k(),
                                                   SubsetCholesky::Columns{})
                                  : SubsetCholesky(gram.G.data(), gram.k())),
        dual_(gram.has_inverse() ? gram.H.data() : gram.G.data(), gram.k()),
        c_(k_), s_(k_), z_(k_), w_(k_), u_(k_), y_(k_), r_(k_),
        b_(gram.triangular() ? k_ : 0), in_p_(k_), excluded_(k_), exchanged_(k_) {}

  // The default KKT tolerance: 64 k machine epsilons in the Gram form, where w = c - G s is
  // computed with rounding errors up to about k epsilons of |c_i| + ||s||_1. In the
  // triangular form one epsilon: near-collinear columns make a small violation worth much
  // (entering i lowers the objective by up to w_i^2 / sin^2 of a_i's angle to A_P), and the
  // unsquared residual resolves w to about that. A violation that is roundoff after all costs
  // one step: the entering coefficient comes out nonpositive and the index is excluded
  // (solve()), at most once per index and column.
  static double default_tol(const ScaledGram& gram) {
    const double eps = std::numeric_limits<double>::epsilon();
    return gram.triangular() ? eps : 64 * gram.k() * eps;
  }

  // Solves one column. c: the column of C (length k; in the triangular form, of Q^T Z). init:
  // the warm start (its support seeds the passive set; NaN or infinity in it is an error), or
  // nullptr for a cold start. s: the solution (only written), or an exception if it overflows
  // T. The seed (the warm support, or for a cold start the positives of the unconstrained
  // solution G^-1 c) is used from s = 0, so the first step drops every index whose
  // passive-set solution is not positive at once, instead of backing off one index per step;
  // a warm start then also enters all its violators at once. Returns the number of
  // passive-set changes; *converged tells whether the KKT conditions were met in max_iter.
  template <class T>
  int solve(const T* c, const T* init, T* s, bool* converged) {
    const int k = k_;
    const double* inv_d = gram_.inv_d.data();
    int warm = 0;
    u_is_hc_ = false;
    bool finite = true;
    for (int i = 0; i < k; ++i) {
      c_[i] = static_cast<double>(c[i]) * inv_d[i];
      s_[i] = 0.0;
      warm += in_p_[i] = init && gram_.usable(i) && init[i] > 0;
      if (init) finite &= std::isfinite(init[i]);
    }
    // checked here, where it is read anyway, rather than by a pass of its own over k x n
    if (!finite) throw std::invalid_argument("init contains NaN or infinity");
    if (gram_.triangular()) {  // c is b = Q^T z; the gradient at 0 is c = R^T b
      for (int i = 0; i < k; ++i) b_[i] = static_cast<double>(c[i]);
      vec(c_).noalias() = gram_.R.transpose() * vec(b_);
    }
    // A cold start seeds P with the positives of the unconstrained solution u = G^-1 c; a warm
    // start whose support is every index tries u first too. Either way, a positive u is
    // feasible, hence optimal: what the loop below would return, without its setup. Dense
    // solutions are common, and a warm call would otherwise cost more than a cold one
    // (bench/bench_nnls.py, warm-start table, case (1000, 10, 20000)).
    if (gram_.has_inverse() && (warm == 0 || warm == k)) {
      apply_inverse(c_.data(), u_.data());
      int p = 0;
      for (int i = 0; i < k; ++i) p += gram_.usable(i) && u_[i] > 0;
      if (p == k) {
        store(u_.data(), s, "S");
        *converged = true;
        return 0;
      }
      if (warm == 0)
        for (int i = 0; i < k; ++i) in_p_[i] = gram_.usable(i) && u_[i] > 0;
      u_is_hc_ = true;
    }
    std::fill(excluded_.begin(), excluded_.end(), 0);
    std::fill(exchanged_.begin(), exchanged_.end(), 0);
    choose_form();

    int iter = 0;
    bool first = warm > 0;
    *converged = false;
    while (true) {
      if (!make_feasible(&iter)) break;  // out of iterations
      const int i = most_violated();
      if (i < 0) {
        *converged = true;
        break;
      }
      if (iter == max_iter_) break;
      ++iter;
      if (first) {  // after a small change of A most violators belong in P: enter them at once
        first = false;
        for (int j = 0; j < k; ++j)
          if (violates(j)) enter(j);
        continue;
      }
      if (!enter(i) && !exchange(i)) continue;
      // A column may only enter if it improves the objective; if, solved with the others,
      // its coefficient is not positive, its violation was roundoff: exclude it.
      solve_passive();
      if (!(z_[i] > 0)) {
        leave(i);
        excluded_[i] = 1;
      }
    }
    store(s_.data(), s, "S");
    return iter;
  }

  // The linear algebra of q's derivatives for one column: w[P] = G[P,P]^{-1} r[P] on the
  // support P of s, w = 0 elsewhere. Returns false, leaving w untouched, when G[P,P] is
  // numerically singular (dependent columns of A on the support).
  template <class T>
  bool solve_on_support(const T* s, const T* r, T* w) {
    const int k = k_;
    const double* inv_d = gram_.inv_d.data();
    std::fill(excluded_.begin(), excluded_.end(), 0);
    u_is_hc_ = false;
    for (int i = 0; i < k; ++i) {
      in_p_[i] = gram_.usable(i) && s[i] > 0;
      c_[i] = in_p_[i] ? static_cast<double>(r[i]) * inv_d[i] : 0.0;
    }
    choose_form();
    for (int i = 0; i < k; ++i)
      if (excluded_[i]) return false;
    solve_passive();
    store(z_.data(), w, "the solve on the support, W,");
    return true;
  }

 private:
  // out = x in the unscaled variables, in T. A result that T cannot hold (a float32 solution
  // past 3.4e38: A's columns tiny next to Z's entries) is an error, never an infinity returned.
  template <class T>
  void store(const double* x, T* out, const char* what) const {
    const double* inv_d = gram_.inv_d.data();
    bool finite = true;
    for (int i = 0; i < k_; ++i) {
      out[i] = static_cast<T>(x[i] * inv_d[i]);
      finite &= std::isfinite(out[i]);
    }
    if (!finite)
      throw std::domain_error(std::string(what) + " overflows " +
                              (sizeof(T) == 4 ? "float32" : "float64") +
                              ": rescale A or the right-hand side (A's columns are too small "
                              "for its entries)");
  }

  // The dual form when G^-1 is available and P holds at least half the indices, else primal.
  void choose_form() {
    int p = 0;
    for (int i = 0; i < k_; ++i) p += in_p_[i];
    if (!(gram_.has_inverse() && 2 * p >= k_ && build_dual())) build_primal();
  }

  // (Re)builds the primal factor from in_p_; indices it refuses leave P.
  void build_primal() {
    dual_mode_ = false;
    primal_.clear();
    for (int i = 0; i < k_; ++i)
      if (in_p_[i] && !primal_.append(i)) drop(i);
  }

  // Builds the dual factor from the complement of in_p_; false if H[R,R] is not numerically
  // positive definite (then the caller falls back to the primal form).
  bool build_dual() {
    dual_mode_ = true;
    dual_.clear();
    for (int i = 0; i < k_; ++i)
      if (!in_p_[i] && !dual_.append(i)) return false;
    return true;
  }

  // Column i violates the KKT conditions but is numerically dependent on A_P (a_i ~ A_P beta;
  // only the primal form refuses an index). Moving along e_i - beta lowers the objective at
  // rate w_i with almost no curvature, so step until the first s_j with beta_j > 0 reaches
  // zero, and exchange j for i (the degenerate pivot of the simplex method). Returns whether
  // i entered P; each index may be exchanged in once per column.
  bool exchange(int i) {
    if (dual_mode_ || exchanged_[i]) return false;
    exchanged_[i] = 1;
    if (gram_.triangular()) {
      least_squares(gram_.R.data() + std::size_t(i) * k_, u_.data());  // beta, zero outside P
    } else {
      passive_solve(gram_.G.data() + std::size_t(i) * k_, u_.data());
    }
    u_is_hc_ = false;
    int blocking = -1;
    double t = 0;
    for (int j = 0; j < k_; ++j)
      if (in_p_[j] && u_[j] > 0 && (blocking < 0 || s_[j] / u_[j] < t)) {
        t = s_[j] / u_[j];
        blocking = j;
      }
    if (blocking < 0) return false;
    for (int j = 0; j < k_; ++j)
      if (in_p_[j]) s_[j] = std::max(0.0, s_[j] - t * u_[j]);
    leave(blocking);
    excluded_[i] = 0;
    if (!primal_.append(i)) {
      drop(i);
      return false;
    }
    in_p_[i] = 1;
    s_[i] = t;
    return true;
  }

  void drop(int i) {
    in_p_[i] = 0;
    excluded_[i] = 1;
    s_[i] = 0;
  }

  // Moves i into P. False (and i is excluded) if it is unusable or dependent on P.
  bool enter(int i) {
    if (dual_mode_) {
      dual_.remove(i);
    } else if (!primal_.append(i)) {
      drop(i);
      return false;
    }
    in_p_[i] = 1;
    return true;
  }

  void leave(int i) {
    in_p_[i] = 0;
    s_[i] = 0;
    if (!dual_mode_) {
      primal_.remove(i);
    } else if (!dual_.append(i)) {
      build_primal();  // H[R,R] lost definiteness numerically: continue in the primal form
    }
  }

  // out = H rhs (dual form only).
  void apply_inverse(const double* rhs, double* out) const {
    Eigen::Map<Eigen::VectorXd>(out, k_).noalias() =
        gram_.H * Eigen::Map<const Eigen::VectorXd>(rhs, k_);
  }

  // out = G[P,P]^{-1} rhs[P] scattered into a k-vector (zero outside P). In the dual form also
  // adds to y_ the multipliers y[R] = (rhs - G out)[R] (the KKT gradient w on R, for free).
  void passive_solve(const double* rhs, double* out) {
    const int k = k_;
    if (dual_mode_) {
      if (u_is_hc_ && rhs == c_.data()) {
        std::copy(u_.begin(), u_.end(), out);  // H c is already known
      } else {
        apply_inverse(rhs, out);
      }
      const auto& R = dual_.indices();
      const int nr = int(R.size());
      for (int a = 0; a < nr; ++a) r_[a] = out[R[a]];
      dual_.solve(r_.data());
      const double* H = gram_.H.data();
      for (int a = 0; a < nr; ++a) {
        const double* h = H + std::size_t(R[a]) * k;
        const double y = r_[a];
        for (int i = 0; i < k; ++i) out[i] -= h[i] * y;
      }
      for (int a = 0; a < nr; ++a) {
        out[R[a]] = 0.0;
        y_[R[a]] += r_[a];
      }
    } else {
      const auto& P = primal_.indices();
      const int np = int(P.size());
      for (int a = 0; a < np; ++a) r_[a] = rhs[P[a]];
      primal_.solve(r_.data());
      std::fill(out, out + k, 0.0);
      for (int a = 0; a < np; ++a) out[P[a]] = r_[a];
    }
  }

  // w_ -= G[:, P] x[P], column by column.
  void subtract_passive_columns(const double* x) {
    const int k = k_;
    const double* G = gram_.G.data();
    for (int j = 0; j < k; ++j) {
      if (!in_p_[j]) continue;
      const double xj = x[j];
      const double* g = G + std::size_t(j) * k;
      for (int i = 0; i < k; ++i) w_[i] -= g[i] * xj;
    }
  }

  static Eigen::Map<Eigen::VectorXd> vec(std::vector<double>& v) {
    return {v.data(), Eigen::Index(v.size())};
  }

  // Triangular form: out = argmin ||R[:, P] x - y|| scattered into a k-vector (zero outside P).
  void least_squares(const double* y, double* out) {
    const auto& P = primal_.indices();
    const int np = int(P.size());
    primal_.solve_least_squares(y, r_.data());
    std::fill(out, out + k_, 0.0);
    for (int a = 0; a < np; ++a) out[P[a]] = r_[a];
  }

  // Triangular form: w_ = R^T (b - R x), the KKT gradient at x (zero outside P) from the
  // unsquared residual, which keeps the digits that c - G x loses.
  void residual_gradient(const double* x) {
    vec(u_).noalias() = gram_.R * Eigen::Map<const Eigen::VectorXd>(x, k_);
    vec(u_) = vec(b_) - vec(u_);
    vec(w_).noalias() = gram_.R.transpose() * vec(u_);
  }

  // z <- G[P,P]^{-1} c[P] (a k-vector, zero outside P), refined once unless G is well
  // conditioned enough not to need it (then so is every G[P,P], a principal submatrix). In
  // the triangular form z = argmin ||R[:, P] z - b||, refined once against its residual.
  void solve_passive() {
    const int k = k_;
    std::fill(y_.begin(), y_.end(), 0.0);
    if (gram_.triangular()) {
      least_squares(b_.data(), z_.data());
      vec(u_).noalias() = gram_.R * vec(z_);
      vec(u_) = vec(b_) - vec(u_);
      least_squares(u_.data(), w_.data());
      vec(z_) += vec(w_);
      return;
    }
    passive_solve(c_.data(), z_.data());
    if (gram_.rcond > ScaledGram::kRefineRcond) return;
    for (int i = 0; i < k; ++i) w_[i] = in_p_[i] ? c_[i] : 0.0;
    subtract_passive_columns(z_.data());
    for (int i = 0; i < k; ++i)
      if (!in_p_[i]) w_[i] = 0.0;
    passive_solve(w_.data(), u_.data());
    u_is_hc_ = false;
    for (int i = 0; i < k; ++i) z_[i] += u_[i];
  }

  // Lawson-Hanson inner loop: moves s toward the passive-set solution z, dropping the indices
  // that hit zero, until z > 0 on P; then s = z. Returns false when out of iterations.
  bool make_feasible(int* iter) {
    const int k = k_;
    while (true) {
      solve_passive();
      double alpha = 1.0;
      int blocking = -1;
      for (int i = 0; i < k; ++i)
        if (in_p_[i] && !(z_[i] > 0)) {
          const double si = s_[i];
          const double a = si > 0 ? si / (si - z_[i]) : 0.0;
          if (a < alpha || blocking < 0) {
            alpha = std::min(a, alpha);
            blocking = i;
          }
        }
      if (blocking < 0) {
        for (int i = 0; i < k; ++i) s_[i] = in_p_[i] ? z_[i] : 0.0;
        return true;
      }
      if (*iter == max_iter_) return false;
      ++*iter;
      for (int i = 0; i < k; ++i)
        if (in_p_[i]) s_[i] += alpha * (z_[i] - s_[i]);
      s_[blocking] = 0;
      // Drop every index stuck at zero: the blocking one and any other that hit zero with it.
      // One at zero with z > 0 stays (a seeded cold start begins at s = 0 with alpha = 0).
      // A single drop updates the factor; several (a seed that was far too dense) rebuild
      // it, in the form that suits the smaller P: updating the dual factor once per index
      // costs O(|R|^2) each as R grows, and the dual form's solves cost O(k^2) however small
      // P gets (cold solves at k = 100 whose seed is far denser than the solution:
      // bench/bench_nnls.py, warm-start table, problem dense planted (2000, 100, 2000);
      // bench/RESULTS_notes.md, "NNLS: several indices dropped at once rebuild the factor").
      // P shrinks: an index refused as dependent on the larger P, or whose entry was judged
      // roundoff against it, may enter the smaller one (a warm start denser than A's rank
      // would otherwise end with violators locked out, reported as converged).
      std::fill(excluded_.begin(), excluded_.end(), 0);
      int drops = 0;
      for (int i = 0; i < k; ++i) drops += stuck(i);
      if (drops == 1) {
        leave(blocking);
      } else {
        for (int i = 0; i < k; ++i)
          if (stuck(i)) {
            in_p_[i] = 0;
            s_[i] = 0;
          }
        choose_form();
      }
    }
  }

  // Whether i is in P at zero with a passive-set solution that would not move it up.
  bool stuck(int i) const { return in_p_[i] && s_[i] <= 0 && !(z_[i] > 0); }

  // The index outside P with the largest KKT violation w_i = c_i - (G s)_i above its
  // tolerance, or -1 when the KKT conditions hold. The tolerance scales with a bound on the
  // terms that make up w_i: |c_i| + sum_j |G_ij| s_j <= |c_i| + ||s||_1 (unit-diagonal G).
  // In the dual form w on R is the multiplier vector of the last solve; otherwise computed.
  int most_violated() {
    const int k = k_;
    double s1 = 0;
    for (int j = 0; j < k; ++j) s1 += s_[j];
    if (dual_mode_) {
      std::copy(y_.begin(), y_.end(), w_.begin());
    } else if (gram_.triangular()) {
      residual_gradient(s_.data());
    } else {
      std::copy(c_.begin(), c_.end(), w_.begin());
      subtract_passive_columns(s_.data());
    }
    s1_ = s1;
    int best = -1;
    for (int i = 0; i < k; ++i)
      if (violates(i) && (best < 0 || w_[i] > w_[best])) best = i;
    return best;
  }

  // Whether index i may enter P, by the w_ and ||s||_1 of the last most_violated().
  bool violates(int i) const {
    return !in_p_[i] && !excluded_[i] && gram_.usable(i) &&
           w_[i] > tol_ * (std::abs(c_[i]) + s1_);
  }

  const ScaledGram& gram_;
  int k_;
  int max_iter_;
  double tol_;
  SubsetCholesky primal_;  // factor of G[P,P] (primal form)
  SubsetCholesky dual_;    // factor of H[R,R], R = complement of P (dual form)
  bool dual_mode_ = false;
  bool u_is_hc_ = false;  // u_ holds H c for the current column
  double s1_ = 0;         // ||s||_1 when w_ was last computed
  std::vector<double> c_, s_, z_, w_, u_, y_, r_;
  std::vector<double> b_;  // triangular form: the column of Q^T Z
  std::vector<char> in_p_, excluded_, exchanged_;
};

// Calls body(solver, j) for each column j in [0, n), over opt.n_threads threads with a
// ColumnSolver each.
template <class Body>
void for_each_column(const ScaledGram& gram, std::int64_t n, const NNLSOptions& opt,
                     Body body) {
  const int k = gram.k();
  const int threads = threads_for(opt.n_threads, 4.0 * n * k * k);
  parallel_for(
      n, threads, column_chunk(n, threads), [&] { return ColumnSolver(gram, opt); }, body);
}

struct NNLSInfo {
  Eigen::VectorXi n_iter;
  Eigen::Matrix<bool, Eigen::Dynamic, 1> converged;
};

// Every column of S from the matching column of C, by the form `scaled` is in.
template <class T>
NNLSInfo solve_columns(const ScaledGram& scaled, const RefC<T>& C, const RefC<T>* init,
                       MutRefC<T> S, const NNLSOptions& opt) {
  const int k = scaled.k();
  if (C.rows() != k || S.rows() != k || S.cols() != C.cols() ||
      (init && (init->rows() != k || init->cols() != C.cols())))
    throw std::invalid_argument("nnls: inconsistent shapes");
  const std::int64_t n = C.cols();
  NNLSInfo info{Eigen::VectorXi::Zero(n), Eigen::Matrix<bool, Eigen::Dynamic, 1>::Zero(n)};
  for_each_column(scaled, n, opt, [&](ColumnSolver& solver, std::int64_t j) {
    bool ok = false;
    const T* start = init ? init->col(j).data() : nullptr;
    info.n_iter[j] = solver.solve(C.col(j).data(), start, S.col(j).data(), &ok);
    info.converged[j] = ok;
  });
  return info;
}

// S = q(Z, A) from gram = A^T A and C = A^T Z, warm-started from init, or cold when init is
// nullptr. S is only written: a warm start is read where it lies, never copied.
template <class T>
NNLSInfo nnls_gram(const RefC<double>& gram, const RefC<T>& C, const RefC<T>* init,
                   MutRefC<T> S, const NNLSOptions& opt) {
  return solve_columns<T>(ScaledGram(gram), C, init, S, opt);
}

// The triangular form: S' = q(Z, A D^-1) = D q(Z, A) from a thin QR A D^-1 = Q R with D the
// column norms of A (unit columns; zero columns stay zero), given R and B = Q^T Z. init and S
// as in nnls_gram.
template <class T>
NNLSInfo nnls_triangular(const RefC<double>& R, const RefC<T>& B, const RefC<T>* init,
                         MutRefC<T> S, const NNLSOptions& opt) {
  return solve_columns<T>(ScaledGram(R, ScaledGram::Triangular{}), B, init, S, opt);
}

}  // namespace nnmf
