// The pybind11 module of the core: shape checks, GIL release and calls into the C++ core. It is
// compiled once per instruction-set target (CMakeLists.txt), as the module NNMF_MODULE_NAME
// built for NNMF_TARGET; python/nnmf/_core.py imports the one that suits the CPU.
// Arrays arrive already validated and laid out by python/nnmf/_validation.py (column-major,
// one dtype; a tall A in either order), so every Eigen::Ref below binds without a copy
// (.noconvert()).
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <tuple>

#include "nnmf/cpu.hpp"
#include "nnmf/dense.hpp"
#include "nnmf/memory.hpp"
#include "nnmf/nnls.hpp"
#include "nnmf/parallel.hpp"
#include "nnmf/sparse.hpp"
#include "nnmf/step.hpp"
#include "nnmf/support_solve.hpp"
#include "nnmf/tall.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace {

template <class T>
using RefC = Eigen::Ref<const nnmf::MatrixC<T>>;
template <class T>
using RefR = Eigen::Ref<const nnmf::MatrixR<T>>;
using RefGram = Eigen::Ref<const nnmf::MatrixXdC>;

template <class T>
using NNLSResult =
    std::tuple<nnmf::MatrixC<T>, Eigen::VectorXi, Eigen::Matrix<bool, Eigen::Dynamic, 1>>;

// S = q from gram and C, starting from S as given (or, cold, from nothing: S is only written).
template <class T>
NNLSResult<T> solve_nnls(RefGram gram, RefC<T> C, nnmf::MatrixC<T> S, int max_iter, double tol,
                         int n_threads, bool cold) {
  const nnmf::NNLSOptions opt{max_iter, tol, n_threads};
  auto info = nnmf::nnls_gram<T>(gram, C, S, opt, cold);
  return {std::move(S), std::move(info.n_iter), std::move(info.converged)};
}

template <class T>
NNLSResult<T> nnls_gram(RefGram gram, RefC<T> C, RefC<T> init, int max_iter, double tol,
                        int n_threads) {
  return solve_nnls<T>(gram, C, init, max_iter, tol, n_threads, /*cold=*/false);
}

// The cold start (init None): no k x n start is zeroed and copied.
template <class T>
NNLSResult<T> nnls_gram_cold(RefGram gram, RefC<T> C, py::none, int max_iter, double tol,
                             int n_threads) {
  py::gil_scoped_release release;
  return solve_nnls<T>(gram, C, nnmf::MatrixC<T>(C.rows(), C.cols()), max_iter, tol, n_threads,
                       /*cold=*/true);
}

template <class I>
using IndexArray = py::array_t<I, py::array::c_style>;

// The raw CSC arrays, checked for consistent lengths (the kernel checks each index).
template <class T, class I>
std::tuple<const I*, const I*, const T*> csc_arrays(const IndexArray<I>& indptr,
                                                    const IndexArray<I>& indices,
                                                    const py::array_t<T, py::array::c_style>& data,
                                                    std::int64_t cols) {
  if (indptr.ndim() != 1 || indptr.shape(0) != cols + 1)
    throw std::invalid_argument("indptr must have cols + 1 entries");
  if (indices.ndim() != 1 || data.ndim() != 1 || indices.shape(0) != data.shape(0))
    throw std::invalid_argument("indices and data must be 1-D of equal length");
  // the kernel checks that indptr does not decrease: then every entry lies in the arrays
  if (indptr.data()[0] != 0 || indptr.data()[cols] > indices.shape(0))
    throw std::invalid_argument("indptr must start at 0 and end within indices");
  return {indptr.data(), indices.data(), data.data()};
}

// B Y for Y in CSC arrays.
template <class T, class I>
nnmf::MatrixC<T> dense_times_csc(RefC<T> B, IndexArray<I> indptr, IndexArray<I> indices,
                                 py::array_t<T, py::array::c_style> data, std::int64_t rows,
                                 std::int64_t cols, int n_threads) {
  const auto [p, idx, val] = csc_arrays<T, I>(indptr, indices, data, cols);
  py::gil_scoped_release release;
  nnmf::MatrixC<T> out(B.rows(), cols);
  nnmf::dense_times_csc<T, I>(B, p, idx, val, rows, cols, n_threads, out);
  return out;
}

// B Y - M^T At for Y in CSC arrays and At in either order: (out, whether out is finite).
template <class T, class I, class RefAt>
std::tuple<nnmf::MatrixC<T>, bool> dense_times_csc_minus(
    RefC<T> B, IndexArray<I> indptr, IndexArray<I> indices,
    py::array_t<T, py::array::c_style> data, std::int64_t rows, std::int64_t cols, RefC<T> M,
    RefAt At, int n_threads) {
  const auto [p, idx, val] = csc_arrays<T, I>(indptr, indices, data, cols);
  py::gil_scoped_release release;
  nnmf::MatrixC<T> out(B.rows(), cols);
  const bool finite =
      nnmf::dense_times_csc_minus<T, I>(B, p, idx, val, rows, cols, M, At, n_threads, out);
  return {std::move(out), finite};
}

template <class T, class I>
void bind_sparse(py::module_& m) {
  m.def("dense_times_csc", &dense_times_csc<T, I>, "B"_a.noconvert(), "indptr"_a.noconvert(),
        "indices"_a.noconvert(), "data"_a.noconvert(), "rows"_a, "cols"_a, "n_threads"_a);
  // At = A^T binds in either memory order, like a tall A below.
  m.def("dense_times_csc_minus", &dense_times_csc_minus<T, I, RefC<T>>, "B"_a.noconvert(),
        "indptr"_a.noconvert(), "indices"_a.noconvert(), "data"_a.noconvert(), "rows"_a,
        "cols"_a, "M"_a.noconvert(), "At"_a.noconvert(), "n_threads"_a);
  m.def("dense_times_csc_minus", &dense_times_csc_minus<T, I, RefR<T>>, "B"_a.noconvert(),
        "indptr"_a.noconvert(), "indices"_a.noconvert(), "data"_a.noconvert(), "rows"_a,
        "cols"_a, "M"_a.noconvert(), "At"_a.noconvert(), "n_threads"_a);
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
nnmf::MatrixC<T> tdot(py::array_t<T> A, py::array_t<T> X, int n_threads) {
  const auto a = strided_array(A, "A"), x = strided_array(X, "X");
  if (A.shape(0) != X.shape(0))
    throw std::invalid_argument("tdot: A and X must have the same number of rows");
  const auto m = A.shape(0), k = A.shape(1), n = X.shape(1);
  py::gil_scoped_release release;
  nnmf::MatrixC<T> out(k, n);
  nnmf::tdot<T>(a, m, k, x, n, out.data(), 1, k, n_threads);
  return out;
}

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
  py::gil_scoped_release release;
  return nnmf::projected_step<T>(pp, gp, step, nonneg, op, n, n_threads);
}

template <class T>
void bind_dtype(py::module_& m) {
  m.def("projected_step", &projected_step<T>, "p"_a.noconvert(), "g"_a.noconvert(), "step"_a,
        "nonneg"_a, "out"_a.noconvert(), "n_threads"_a);
  m.def("tdot", &tdot<T>, "A"_a.noconvert(), "X"_a.noconvert(), "n_threads"_a);
  const auto guard = py::call_guard<py::gil_scoped_release>();
  m.def("nnls_gram", &nnls_gram<T>, "gram"_a.noconvert(), "C"_a.noconvert(),
        "init"_a.noconvert(), "max_iter"_a, "tol"_a, "n_threads"_a, guard);
  m.def("nnls_gram", &nnls_gram_cold<T>, "gram"_a.noconvert(), "C"_a.noconvert(),
        "init"_a.none(true), "max_iter"_a, "tol"_a, "n_threads"_a);
  // A tall A binds in either memory order (pybind11 tries the overloads without conversion first).
  m.def("gram", &nnmf::gram<RefC<T>>, "A"_a.noconvert(), "n_threads"_a, guard);
  m.def("gram", &nnmf::gram<RefR<T>>, "A"_a.noconvert(), "n_threads"_a, guard);
  m.def("subtract_product", &nnmf::subtract_product<T, RefC<T>>, "Y"_a.noconvert(),
        "A"_a.noconvert(), "M"_a.noconvert(), "n_threads"_a, guard);
  m.def("subtract_product", &nnmf::subtract_product<T, RefR<T>>, "Y"_a.noconvert(),
        "A"_a.noconvert(), "M"_a.noconvert(), "n_threads"_a, guard);
  m.def("support_solve", &nnmf::support_solve<T>, "gram"_a.noconvert(), "S"_a.noconvert(),
        "R"_a.noconvert(), "n_threads"_a, guard);
  bind_sparse<T, std::int32_t>(m);
  bind_sparse<T, std::int64_t>(m);
}

}  // namespace

PYBIND11_MODULE(NNMF_MODULE_NAME, m) {
  m.doc() = "nnmf's compiled core: active-set NNLS, its derivatives, sparse products.";
  m.attr("target") = NNMF_TARGET;
  m.def("cpu_has_avx2_fma", &nnmf::cpu_has_avx2_fma);
  m.def("cpu_has_avx512f", &nnmf::cpu_has_avx512f);
  m.def("keep_freed_memory", &nnmf::keep_freed_memory, "mmap"_a, "trim"_a);
  bind_dtype<double>(m);
  bind_dtype<float>(m);
  m.def("openmp_enabled", &nnmf::openmp_enabled);
  m.def("max_threads", &nnmf::max_threads);
}
