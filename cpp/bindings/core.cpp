// The pybind11 module of the core, the only file under cpp/ that includes Python headers. It is
// compiled once per instruction-set target (CMakeLists.txt), as the module NNMF_MODULE_NAME
// built for NNMF_TARGET; python/nnmf/layer/_core.py imports the one that suits the CPU.
// Arrays arrive already validated and laid out by python/nnmf/layer/_validation.py
// (column-major, one dtype; a tall A in either order), so every Eigen::Ref below binds
// without a copy (.noconvert()).
//
// One convention for the GIL: each function that works on arrays checks its arguments with the
// GIL held (the checks read Python objects), then runs the core through without_gil(), and its
// result becomes a Python object after the GIL is taken back. The constant-time queries at the
// end keep the GIL.
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>

#include "nnmf/kernels/dense.hpp"
#include "nnmf/kernels/sparse.hpp"
#include "nnmf/kernels/step.hpp"
#include "nnmf/kernels/tall.hpp"
#include "nnmf/nnls/nnls.hpp"
#include "nnmf/nnls/support_solve.hpp"
#include "nnmf/platform/cpu.hpp"
#include "nnmf/platform/memory.hpp"
#include "nnmf/platform/parallel.hpp"
#include "nnmf/types.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace {

using nnmf::MatrixC;
using nnmf::RefC;
using nnmf::RefR;
using RefGram = RefC<double>;

// Ctrl-C during a long call: Python only sets a flag when SIGINT arrives and runs its handler
// when the interpreter next gets control, which the core would not give it until it returns.
// So the core's loops call this between iterations, on the calling thread (at most every
// kInterruptInterval): it takes the GIL and runs the pending handlers; an exception from them
// (KeyboardInterrupt) stops the loop and is raised once its threads have stopped.
void check_signals() {
  py::gil_scoped_acquire gil;
  if (PyErr_CheckSignals() != 0) throw py::error_already_set();
}

// Short enough that an interrupt feels immediate, long enough that taking the GIL costs
// nothing measurable.
constexpr auto kInterruptInterval = std::chrono::milliseconds(50);

// Runs the core's work f() with the GIL released, so that other Python threads run meanwhile,
// and interruptible by Ctrl-C. Nothing in f may touch a Python object.
template <class F>
auto without_gil(F&& f) {
  const nnmf::InterruptCheck interrupt(check_signals, kInterruptInterval);
  py::gil_scoped_release release;
  return f();
}

// --- the NNLS layer and its derivatives -----------------------------------------------------

template <class T>
using NNLSResult = std::tuple<MatrixC<T>, Eigen::VectorXi, Eigen::Matrix<bool, Eigen::Dynamic, 1>>;

// S = q from gram and C, warm-started from *init, or cold when init is null (no k x n start is
// read, zeroed or copied either way: the solution goes to a new array).
template <class T>
NNLSResult<T> solve_nnls(const RefGram& gram, const RefC<T>& C, const RefC<T>* init,
                         int max_iter, double tol, int n_threads) {
  const nnmf::NNLSOptions opt{max_iter, tol, n_threads};
  MatrixC<T> S(C.rows(), C.cols());
  auto info = nnmf::nnls_gram<T>(gram, C, init, S, opt);
  return {std::move(S), std::move(info.n_iter), std::move(info.converged)};
}

template <class T>
NNLSResult<T> nnls_gram(RefGram gram, RefC<T> C, RefC<T> init, int max_iter, double tol,
                        int n_threads) {
  return without_gil([&] { return solve_nnls<T>(gram, C, &init, max_iter, tol, n_threads); });
}

// The cold start (init None).
template <class T>
NNLSResult<T> nnls_gram_cold(RefGram gram, RefC<T> C, py::none, int max_iter, double tol,
                             int n_threads) {
  return without_gil([&] { return solve_nnls<T>(gram, C, nullptr, max_iter, tol, n_threads); });
}

// The triangular form (nnmf/nnls/nnls.hpp), from R and B = Q^T Z; float64 only.
NNLSResult<double> nnls_triangular(RefGram R, RefC<double> B, std::optional<RefC<double>> init,
                                   int max_iter, double tol, int n_threads) {
  const nnmf::NNLSOptions opt{max_iter, tol, n_threads};
  return without_gil([&] {
    MatrixC<double> S(B.rows(), B.cols());
    auto info = nnmf::nnls_triangular<double>(R, B, init ? &*init : nullptr, S, opt);
    return NNLSResult<double>{std::move(S), std::move(info.n_iter), std::move(info.converged)};
  });
}

double gram_rcond(RefGram gram) {
  return without_gil([&] { return nnmf::scaled_gram_rcond(gram); });
}

template <class T>
MatrixC<T> support_solve(RefGram gram, RefC<T> S, RefC<T> R, int n_threads) {
  return without_gil([&] { return nnmf::support_solve<T>(gram, S, R, n_threads); });
}

// --- products with a tall factor ------------------------------------------------------------

// RefA: RefC<T> or RefR<T>, a tall A in either memory order.
template <class RefA>
nnmf::MatrixXdC gram(RefA A, int n_threads) {
  return without_gil([&] { return nnmf::gram(A, n_threads); });
}

template <class T, class RefA>
bool subtract_product(nnmf::MutRefR<T> Y, RefA A, RefC<T> M, int n_threads) {
  return without_gil([&] { return nnmf::subtract_product<T>(Y, A, M, n_threads); });
}

// A 2-D array of T as a strided view (numpy's byte strides in elements).
template <class T>
nnmf::Strided<T> strided_array(const py::array_t<T>& a, const char* name) {
  if (a.ndim() != 2) throw std::invalid_argument(std::string(name) + " must be 2-D");
  const auto s = py::ssize_t(sizeof(T));
  if (a.strides(0) % s || a.strides(1) % s)
    throw std::invalid_argument(std::string(name) + " must have whole-element strides");
  return {a.data(), a.strides(0) / s, a.strides(1) / s};
}

// A^T X (k x n, column-major) for A (m x k) and X (m x n) in any memory order.
template <class T>
MatrixC<T> tdot(py::array_t<T> A, py::array_t<T> X, int n_threads) {
  const auto a = strided_array(A, "A"), x = strided_array(X, "X");
  if (A.shape(0) != X.shape(0))
    throw std::invalid_argument("tdot: A and X must have the same number of rows");
  const auto m = A.shape(0), k = A.shape(1), n = X.shape(1);
  return without_gil([&] {
    MatrixC<T> out(k, n);
    nnmf::tdot<T>(a, m, k, x, n, out.data(), 1, k, n_threads);
    return out;
  });
}

// --- products with a sparse matrix ----------------------------------------------------------

template <class I>
using IndexArray = py::array_t<I, py::array::c_style>;

template <class T, class I>
struct CscArrays {
  const I* indptr;
  const I* indices;
  const T* data;
};

// The raw CSC arrays, checked for consistent lengths (the kernel checks each index).
template <class T, class I>
CscArrays<T, I> csc_arrays(const IndexArray<I>& indptr, const IndexArray<I>& indices,
                           const py::array_t<T, py::array::c_style>& data, std::int64_t rows,
                           std::int64_t cols) {
  // first: with cols = -1 an empty indptr would pass the length check below, and its
  // entry [cols] lie before the array
  if (rows < 0 || cols < 0) throw std::invalid_argument("rows and cols must be nonnegative");
  if (indptr.ndim() != 1 || indptr.shape(0) != cols + 1)
    throw std::invalid_argument("indptr must have cols + 1 entries");
  if (indices.ndim() != 1 || data.ndim() != 1 || indices.shape(0) != data.shape(0))
    throw std::invalid_argument("indices and data must be 1-D of equal length");
  if (indptr.data()[0] != 0 || indptr.data()[cols] > indices.shape(0))
    throw std::invalid_argument("indptr must start at 0 and end within indices");
  // Checked here, before any thread reads a block: with indptr nondecreasing every entry lies
  // in the arrays (the kernel's own checks see one block of columns at a time)
  const I* p = indptr.data();
  for (std::int64_t j = 0; j < cols; ++j)
    if (p[j + 1] < p[j]) throw std::invalid_argument("sparse indptr must be nondecreasing");
  return {indptr.data(), indices.data(), data.data()};
}

// B Y for Y in CSC arrays.
template <class T, class I>
MatrixC<T> dense_times_csc(RefC<T> B, IndexArray<I> indptr, IndexArray<I> indices,
                           py::array_t<T, py::array::c_style> data, std::int64_t rows,
                           std::int64_t cols, int n_threads) {
  const auto y = csc_arrays<T, I>(indptr, indices, data, rows, cols);
  return without_gil([&] {
    MatrixC<T> out(B.rows(), cols);
    nnmf::dense_times_csc<T, I>(B, y.indptr, y.indices, y.data, rows, cols, n_threads, out);
    return out;
  });
}

// B Y - M^T At for Y in CSC arrays and At in either order: (out, whether out is finite).
template <class T, class I, class RefAt>
std::tuple<MatrixC<T>, bool> dense_times_csc_minus(RefC<T> B, IndexArray<I> indptr,
                                                   IndexArray<I> indices,
                                                   py::array_t<T, py::array::c_style> data,
                                                   std::int64_t rows, std::int64_t cols,
                                                   RefC<T> M, RefAt At, int n_threads) {
  const auto y = csc_arrays<T, I>(indptr, indices, data, rows, cols);
  return without_gil([&] {
    MatrixC<T> out(B.rows(), cols);
    const bool finite = nnmf::dense_times_csc_minus<T, I>(B, y.indptr, y.indices, y.data, rows,
                                                          cols, M, At, n_threads, out);
    return std::tuple<MatrixC<T>, bool>{std::move(out), finite};
  });
}

// --- the optimiser's step -------------------------------------------------------------------

// out = P(p - step g) over flat arrays of equal length; returns <g, out - p>.
template <class T>
double projected_step(py::array_t<T, py::array::c_style> p, py::array_t<T, py::array::c_style> g,
                      double step, bool nonneg, py::array_t<T, py::array::c_style> out,
                      int n_threads) {
  const std::int64_t n = p.size();
  if (p.ndim() != 1 || g.ndim() != 1 || out.ndim() != 1 || g.size() != n || out.size() != n)
    throw std::invalid_argument("projected_step: p, g and out must be 1-D of equal length");
  const T* pp = p.data();
  const T* gp = g.data();
  T* op = out.mutable_data();
  return without_gil(
      [&] { return nnmf::projected_step<T>(pp, gp, step, nonneg, op, n, n_threads); });
}

// --- docstrings (also the stub's, python/nnmf/layer/_core.pyi) -------------------------------

constexpr const char* kNNLSGramDoc =
    "(S, n_iter, converged) with S = argmin_{S >= 0} ||Z - A S||_F^2 column by column, from\n"
    "gram = A^T A (float64) and C = A^T Z, both column-major; n_iter: passive-set changes per\n"
    "column; converged: whether each column met the KKT tolerance. init: a warm start of C's\n"
    "shape and dtype (its support seeds each column's passive set), or None for a cold start.\n"
    "max_iter <= 0 and tol <= 0 select the defaults 10 k + 10 and 64 k machine epsilons.";
constexpr const char* kNNLSTriangularDoc =
    "(S, n_iter, converged) as nnls_gram, in the triangular form for an ill-conditioned A^T A:\n"
    "from a thin QR A D^-1 = Q R (D: A's column norms, zero columns left zero) given R and\n"
    "B = Q^T Z (float64, column-major), S = D q(Z, A). init: a warm start of B's shape or None.";
constexpr const char* kGramRcondDoc =
    "The reciprocal condition estimate of gram with its diagonal scaled to one (0 when not\n"
    "numerically positive definite); below triangular_rcond, solve by nnls_triangular.";
constexpr const char* kSupportSolveDoc =
    "W with W[P, j] = gram[P, P]^-1 R[P, j] on the support P of each column S[:, j], 0 elsewhere\n"
    "(the pseudo-inverse where gram[P, P] is singular): the solves of the layer's VJP and JVP.";
constexpr const char* kGramDoc = "A^T A in float64 for a tall A in either memory order.";
constexpr const char* kSubtractProductDoc =
    "Y -= A M in place (Y row-major); returns whether every entry of Y is then finite.";
constexpr const char* kTdotDoc =
    "A^T X (k x n, column-major) for dense A (m x k) and X (m x n) in any memory order.";
constexpr const char* kDenseTimesCscDoc =
    "B Y (column-major) for a column-major B and Y (rows x cols) in CSC arrays\n"
    "(indptr, indices, data), sorted, of one index dtype.";
constexpr const char* kDenseTimesCscMinusDoc =
    "(B Y - M^T At, whether it is finite) for B and Y as in dense_times_csc, a column-major M\n"
    "and At in either memory order.";
constexpr const char* kProjectedStepDoc =
    "out = P(p - step g), P = max(., 0) if nonneg else the identity, over 1-D arrays of equal\n"
    "length; returns <g, out - p> (summed in float64).";

template <class T, class I>
void bind_sparse(py::module_& m) {
  m.def("dense_times_csc", &dense_times_csc<T, I>, kDenseTimesCscDoc, "B"_a.noconvert(),
        "indptr"_a.noconvert(), "indices"_a.noconvert(), "data"_a.noconvert(), "rows"_a,
        "cols"_a, "n_threads"_a);
  // At = A^T binds in either memory order, like a tall A below.
  m.def("dense_times_csc_minus", &dense_times_csc_minus<T, I, RefC<T>>, kDenseTimesCscMinusDoc,
        "B"_a.noconvert(), "indptr"_a.noconvert(), "indices"_a.noconvert(),
        "data"_a.noconvert(), "rows"_a, "cols"_a, "M"_a.noconvert(), "At"_a.noconvert(),
        "n_threads"_a);
  m.def("dense_times_csc_minus", &dense_times_csc_minus<T, I, RefR<T>>, kDenseTimesCscMinusDoc,
        "B"_a.noconvert(), "indptr"_a.noconvert(), "indices"_a.noconvert(),
        "data"_a.noconvert(), "rows"_a, "cols"_a, "M"_a.noconvert(), "At"_a.noconvert(),
        "n_threads"_a);
}

template <class T>
void bind_dtype(py::module_& m) {
  m.def("projected_step", &projected_step<T>, kProjectedStepDoc, "p"_a.noconvert(),
        "g"_a.noconvert(), "step"_a, "nonneg"_a, "out"_a.noconvert(), "n_threads"_a);
  m.def("tdot", &tdot<T>, kTdotDoc, "A"_a.noconvert(), "X"_a.noconvert(), "n_threads"_a);
  m.def("nnls_gram", &nnls_gram<T>, kNNLSGramDoc, "gram"_a.noconvert(), "C"_a.noconvert(),
        "init"_a.noconvert(), "max_iter"_a, "tol"_a, "n_threads"_a);
  m.def("nnls_gram", &nnls_gram_cold<T>, kNNLSGramDoc, "gram"_a.noconvert(), "C"_a.noconvert(),
        "init"_a.none(true), "max_iter"_a, "tol"_a, "n_threads"_a);
  // A tall A binds in either memory order (pybind11 tries the overloads without conversion first).
  m.def("gram", &gram<RefC<T>>, kGramDoc, "A"_a.noconvert(), "n_threads"_a);
  m.def("gram", &gram<RefR<T>>, kGramDoc, "A"_a.noconvert(), "n_threads"_a);
  m.def("subtract_product", &subtract_product<T, RefC<T>>, kSubtractProductDoc,
        "Y"_a.noconvert(), "A"_a.noconvert(), "M"_a.noconvert(), "n_threads"_a);
  m.def("subtract_product", &subtract_product<T, RefR<T>>, kSubtractProductDoc,
        "Y"_a.noconvert(), "A"_a.noconvert(), "M"_a.noconvert(), "n_threads"_a);
  m.def("support_solve", &support_solve<T>, kSupportSolveDoc, "gram"_a.noconvert(),
        "S"_a.noconvert(), "R"_a.noconvert(), "n_threads"_a);
  bind_sparse<T, std::int32_t>(m);
  bind_sparse<T, std::int64_t>(m);
}

}  // namespace

PYBIND11_MODULE(NNMF_MODULE_NAME, m) {
  m.doc() = "nnmf's compiled core: active-set NNLS, its derivatives, sparse products.";
  m.attr("target") = NNMF_TARGET;
  m.def("cpu_has_avx2_fma", &nnmf::cpu_has_avx2_fma,
        "Whether this CPU (and OS) can run the AVX2 + FMA build of the core.");
  m.def("cpu_has_avx512f", &nnmf::cpu_has_avx512f, "Whether this CPU (and OS) has AVX-512F.");
  m.def("keep_freed_memory", &nnmf::keep_freed_memory,
        "Asks glibc's malloc to serve blocks below mmap bytes from the heap and to keep up to\n"
        "trim bytes of freed memory; returns whether it applied (False off glibc).",
        "mmap"_a, "trim"_a);
  bind_dtype<double>(m);
  bind_dtype<float>(m);
  m.def("nnls_triangular", &nnls_triangular, kNNLSTriangularDoc, "R"_a.noconvert(),
        "B"_a.noconvert(), "init"_a.noconvert().none(true), "max_iter"_a, "tol"_a,
        "n_threads"_a);
  m.def("gram_rcond", &gram_rcond, kGramRcondDoc, "gram"_a.noconvert());
  m.attr("triangular_rcond") = nnmf::ScaledGram::kTriangularRcond;
  m.def("openmp_enabled", &nnmf::openmp_enabled, "Whether the core was built with OpenMP.");
  m.def("max_threads", &nnmf::max_threads,
        "OpenMP's maximum thread count (honours OMP_NUM_THREADS); 1 without OpenMP.");
}
