"""Fuzzing of every entry point that reaches the compiled core: nnmf.nnls, nnmf.nnls_vjp and
nnmf.nnls_jvp on dense and sparse data, the layer's Operand, and each raw binding of
nnmf.layer._core. Hypothesis draws the structure of each example (shapes with 0 rows, columns
or rank; dtypes float64/32/16, integer and bool; C or Fortran order, strided, reversed and
read-only views, lists; where NaN or infinity goes; every scipy sparse format, as matrix or
array, in any index dtype, unsorted, with duplicates, explicit zeros and non-contiguous data,
or corrupted; the raw bindings' arguments in wrong dtypes, shapes, orders and dimensions) and
a seed for the values.

Every call must raise a clean exception (TypeError or ValueError with a message; from the
public functions one that names the argument) or return what an independent oracle expects:

* nnls: per column, ||x - A s||^2 against scipy.optimize.nnls's within 1e-9 relative plus
  (32 eps kappa^2)^2 ||x||^2 in float64, kappa the condition number of the (unit-scaled)
  columns of A that s uses: a solve of the normal equations (the core's Gram form) leaves a
  residual between kappa eps ||x|| and kappa^2 eps ||x|| where scipy's QR leaves about
  eps ||x|| (tests/test_nnls.py), and the drawn A's reach the upper end. For float32 data,
  whose products with X run in float32, 1e-4 relative plus (2^10 eps32 kappa^2)^2 ||x||^2.
* nnls_vjp / nnls_jvp: the explicit formulas on the support P of each column of S with
  numpy.linalg.pinv(A_P^T A_P), within 1e3 eps cond(A_P^T A_P) of the sizes of the terms
  (eps of the dtype computed in); compared where that condition number is at most 1e6,
  required finite elsewhere.
* raw bindings: numpy's products, within (rows + 4) eps of the sizes of the terms; the KKT
  conditions of the quadratic program for nnls_gram; and nothing accepted that the binding's
  contract refuses (a wrong shape, a malformed CSC array).

Each test calls all the functions of its group once per example, so that the example count
is the count per binding: NNMF_FUZZ_EXAMPLES, 2000 by default, derandomized (every run draws
the same examples). `pytest -m fuzz` selects this file alone and sets the long run
(tests/conftest.py; bench/fuzz.md records the last one and what the fuzzing found).
"""

import itertools
import os

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnmf
from nnmf.layer import Operand, _core

pytestmark = pytest.mark.fuzz

N_EXAMPLES = int(os.environ.get("NNMF_FUZZ_EXAMPLES", "2000"))
# too_slow: every example runs the compiled solvers and their oracles
FUZZ = settings(max_examples=N_EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])

EPS = {np.dtype(np.float64): np.finfo(np.float64).eps,
       np.dtype(np.float32): np.finfo(np.float32).eps}
LD = np.longdouble
CLEAN = (TypeError, ValueError)

SEEDS = st.integers(0, 2**32 - 1)
THREADS = st.sampled_from([None, 1, 2, -1])
POISONS = st.sampled_from([np.nan, np.inf, -np.inf])


def combinations(*options):
    """Every combination of the options, as one draw: hypothesis's cost per example grows with
    the number of draws, and shrinking still goes to the first of each."""
    return st.sampled_from(list(itertools.product(*options)))


def shapes(m=7, k=4, n=4):
    return combinations(range(m + 1), range(k + 1), range(n + 1))


# ---------------------------------------------------------------- dense inputs

DTYPES = ["float64", "float32", "float16", "int64", "int32", "uint8", "bool"]
LAYOUTS = ["C", "F", "strided", "reversed", "flipped", "readonly", "list"]
KINDS = ["uniform", "normal", "integers", "spread", "sparse", "zeros", "repeated columns"]
# one draw per dense argument: its dtype, layout and kind of values
DENSE = combinations(DTYPES, LAYOUTS, KINDS)


def values(rng, shape, kind, dtype, nonneg=False):
    """Test values of a kind, exactly representable in dtype."""
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        return rng.integers(0 if nonneg or dtype.kind == "u" else -3, 4, shape).astype(dtype)
    if kind == "uniform":
        V = rng.random(shape)
    elif kind == "normal":
        V = rng.standard_normal(shape)
    elif kind == "integers":
        V = rng.integers(-3, 4, shape).astype(float)
    elif kind == "spread":  # entries over 8 decades (4 in float16, whose range is narrow)
        decades = 2 if dtype == np.float16 else 4
        V = 10.0 ** rng.uniform(-decades, decades, shape) * rng.choice([-1.0, 1.0], shape)
    elif kind == "sparse":
        V = rng.random(shape) * (rng.random(shape) < 0.3)
    elif kind == "zeros":
        V = np.zeros(shape)
    else:  # every column one of two: exact rank deficiency
        pool = rng.standard_normal((shape[0], 2))
        V = pool[:, rng.integers(0, 2, shape[1])]
    V = np.abs(V) if nonneg else V
    return V.astype(dtype)


def lay_out(V, layout):
    """V (same values) in a memory layout or as a list."""
    if layout == "C":
        return np.ascontiguousarray(V)
    if layout == "F":
        return np.asfortranarray(V)
    if layout == "strided":
        big = np.zeros((2 * V.shape[0], 3 * V.shape[1]), V.dtype)
        view = big[::2, ::3]
        view[...] = V
        return view
    if layout == "reversed":  # negative strides
        return V[::-1, ::-1].copy()[::-1, ::-1]
    if layout == "flipped":  # a negative column stride (numpy calls one column contiguous)
        return V[:, ::-1].copy()[:, ::-1]
    if layout == "readonly":
        R = V.copy()
        R.flags.writeable = False
        return R
    return V.tolist() if V.shape[0] else V  # [] would read as 1-D


def make_dense(rng, shape, spec, *, nonneg=False, poison=None):
    """A dense argument as spec = (dtype, layout, kind) says; poison = (where, value) puts
    one NaN or infinity in it (in float64 when the dtype cannot hold it)."""
    dtype, layout, kind = (np.dtype(spec[0]), *spec[1:])
    if poison is not None and dtype.kind != "f":
        dtype = np.dtype(np.float64)
    V = values(rng, shape, kind, dtype, nonneg)
    if poison is not None and V.size:
        V.flat[poison[0] % V.size] = poison[1]
    return lay_out(V, layout)


def f64(M):
    return (M.toarray() if sp.issparse(M) else np.asarray(M)).astype(np.float64)


def result_dtype(*arrays):
    """float32 when every array is float32 (as numpy reads it), otherwise float64."""
    dtypes = {(M.dtype if sp.issparse(M) else np.asarray(M).dtype) for M in arrays}
    return np.dtype(np.float32 if dtypes == {np.dtype(np.float32)} else np.float64)


def raises_naming(name, func, *args, **kwargs):
    with pytest.raises(ValueError, match=rf"^{name} contains NaN or infinity"):
        func(*args, **kwargs)


# ---------------------------------------------------------------- sparse inputs

FORMATS = ["csc", "csr", "coo", "lil", "dok", "bsr", "dia"]
INDEX_DTYPES = ["int32", "int64", "int16", "uint16", "uint32", "uint64"]
CORRUPTIONS = ["indptr decreases", "indptr past the end", "indptr starts above 0",
               "indptr negative", "indptr too short", "indptr too long", "index too large",
               "index negative", "indices shorter than data", "data shorter than indices",
               "float indices", "2-D data", "2-D indptr", "coordinates differ in length"]
# (format, sparse array rather than matrix, dtype, index dtype, sorted, duplicates, explicit
# zeros, strided data, what goes wrong: None, "NaN" or a corruption)
SPARSE = combinations(FORMATS, [False, True], ["float64", "float32", "int64", "bool"],
                      INDEX_DTYPES, *[[False, True]] * 4,
                      [None, None, None, "NaN", *CORRUPTIONS])


def make_sparse(rng, shape, spec, poison=np.nan):
    """(a scipy sparse matrix or array as spec says, its dense float64 value or None when it
    holds NaN or is corrupted). Corruptions apply to every format but DOK (a dict, whose keys
    scipy checks as they are set; it is made CSR when drawn with one)."""
    fmt, array, dtype, index, sort, duplicates, zeros, strided, wrong = spec
    m, n = shape
    dtype, index = np.dtype(dtype), np.dtype(index)
    if wrong not in (None, "NaN") and fmt == "dok":
        fmt = "csr"
    V = values(rng, shape, "sparse", dtype) if dtype.kind == "f" else \
        (values(rng, shape, "integers", dtype) * (rng.random(shape) < 0.4)).astype(dtype)
    rows, cols = np.nonzero(V)
    data = V[rows, cols]
    if zeros and V.size:
        extra = rng.integers(0, V.size, 3)
        rows, cols = np.r_[rows, extra // n], np.r_[cols, extra % n]
        data = np.r_[data, np.zeros(3, dtype)]
    if duplicates and data.size and dtype.kind == "f":  # pairs that sum to the entry
        split = rng.random(data.size) < 0.5
        part = (data[split] * 0.5).astype(dtype)
        rows, cols = np.r_[rows, rows[split]], np.r_[cols, cols[split]]
        data = np.r_[data, part]
        data[np.flatnonzero(split)] -= part
    order = rng.permutation(data.size)  # unsorted, unless sorted below
    rows, cols, data = rows[order], cols[order], data[order].astype(dtype)
    if wrong == "NaN" and data.size:
        data = data.astype(np.float64) if dtype.kind != "f" else data
        data[rng.integers(data.size)] = poison
    cls = getattr(sp, f"{fmt}_{'array' if array else 'matrix'}")
    if fmt in ("csc", "csr", "coo"):
        M = _compressed(fmt, cls, rows, cols, data, shape, index, sort=sort, strided=strided)
    else:
        base = sp.coo_matrix((data, (rows, cols)), shape=shape).tocsr()
        if fmt == "bsr":
            bm, bn = (max(d for d in (1, 2, 3) if size % d == 0) for size in shape)
            M = cls(base.tobsr(blocksize=(bm, bn)))
        else:
            M = cls(base.asformat(fmt))
    if wrong not in (None, "NaN"):
        return _corrupted(M, wrong, rng), None
    if wrong == "NaN" and data.size:
        return M, None
    value = np.zeros(shape)
    np.add.at(value, (rows, cols), data.astype(np.float64))
    return M, value


def _compressed(fmt, cls, rows, cols, data, shape, index, *, sort, strided):
    """CSC, CSR or COO arrays of these entries in index dtype (set after construction: scipy's
    constructors choose their own), unsorted within a column/row unless sort."""
    if strided:  # a valid, non-contiguous data array
        big = np.zeros(2 * data.size, data.dtype)
        big[::2] = data
        data = big[::2]
    if fmt == "coo":
        M = cls((np.ascontiguousarray(data), (rows, cols)), shape=shape)
        M.coords = (rows.astype(index), cols.astype(index))
        M.data = data
        return M
    major, minor = (cols, rows) if fmt == "csc" else (rows, cols)
    order = np.lexsort((minor, major)) if sort else np.argsort(major, kind="stable")
    n_major = shape[1] if fmt == "csc" else shape[0]
    indptr = np.r_[0, np.cumsum(np.bincount(major, minlength=n_major))]
    M = cls((np.ascontiguousarray(data[order]), minor[order], indptr), shape=shape)
    M.indices, M.indptr = minor[order].astype(index), indptr.astype(index)
    M.data = data[order]
    return M


def _corrupted(M, how, rng):
    """M with its structure broken as `how` says (always invalid, whatever M holds)."""
    if M.format == "lil":
        rows = [list(r) for r in M.rows]
        full = [i for i, r in enumerate(rows) if r]
        if how in ("index too large", "index negative") and full:
            rows[full[0]][-1] = -1 if how == "index negative" else M.shape[1]
        elif how == "indices shorter than data" and full:
            rows[full[0]].pop()
        elif how == "float indices" and full:
            rows[full[0]][0] = 0.5
        else:  # one list too few, or too many
            rows = rows[:-1] if rows else [[]]
        M.rows = np.empty(len(rows), dtype=object)
        M.rows[:] = rows
        return M
    if M.format == "dia":
        if how == "float indices":
            M.offsets = M.offsets.astype(np.float64)
        elif how == "2-D data":
            M.data = M.data.ravel()
        else:  # one offset more than rows of data
            M.offsets = np.r_[M.offsets, M.offsets.max(initial=0) + 1]
        return M
    if M.format == "coo":
        row, col = (np.asarray(c, np.int64) for c in M.coords)
        if how == "coordinates differ in length" or not row.size:
            M.coords = (np.r_[row, 0].astype(row.dtype), col)
        elif how == "index negative":
            row[rng.integers(row.size)] = -1
            M.coords = (row, col)
        else:
            col[rng.integers(col.size)] = M.shape[1] + int(rng.integers(0, 3))
            M.coords = (row, col)
        return M
    indptr, indices = np.asarray(M.indptr, np.int64), np.asarray(M.indices, np.int64)
    n_major = indptr.size - 1
    minor = M.shape[0] if M.format == "csc" else M.shape[1]
    if M.format == "bsr":
        minor //= M.blocksize[1]
    nnz = int(indptr[-1])
    data = M.data
    if how == "indptr decreases" and n_major >= 2 and nnz:
        indptr[rng.integers(1, n_major)] = nnz + 1 + int(rng.integers(0, 10**6))
    elif how in ("indptr past the end", "indptr decreases"):
        indptr[-1] = nnz + 1 + int(rng.integers(0, 5))
    elif how == "indptr starts above 0" and n_major:
        indptr[0] = 1
    elif how in ("indptr negative", "indptr starts above 0"):
        indptr[rng.integers(0, indptr.size)] = -1 - int(rng.integers(0, 5))
    elif how == "indptr too short":
        indptr = indptr[:-1]
    elif how == "indptr too long":
        indptr = np.r_[indptr, nnz]
    elif how in ("index too large", "index negative") and nnz:
        indices[rng.integers(0, nnz)] = minor + int(rng.integers(0, 3)) if \
            how == "index too large" else -1
    elif how in ("indices shorter than data", "index too large", "index negative") and nnz:
        indices = indices[:-1]
    elif how == "data shorter than indices" and nnz:
        data = data[:-1]
    elif how == "float indices":
        indices = indices.astype(np.float64)
    elif how == "2-D data":
        data = data[..., None]
    elif how == "2-D indptr":
        indptr = indptr[None, :]
    else:  # the same breakage for a matrix without entries: indptr past the end
        indptr[-1] = nnz + 1
    M.indptr, M.indices, M.data = indptr, indices, data
    return M


def sparse_arrays(M):
    """Copies of what holds M (to check that nothing changes it)."""
    if M.format in ("csr", "csc", "bsr"):
        arrays = [M.data, M.indices, M.indptr]
    elif M.format == "coo":
        arrays = [M.data, *M.coords]
    elif M.format == "dia":
        arrays = [M.data, M.offsets]
    elif M.format == "lil":  # lists, perhaps corrupted: their text
        arrays = [np.array([repr(list(r)) for r in [*M.rows, *M.data]])]
    else:
        arrays = [np.array(repr(sorted(M.items())))]
    return [np.array(a, copy=True) for a in arrays]


# ---------------------------------------------------------------- oracles


def check_nnls(A, X, S, dtype):
    """S = nnls(A, X) for A, X in float64 (the module docstring's tolerances)."""
    (m, k), n = A.shape, X.shape[1]
    assert S.shape == (k, n) and S.dtype == dtype
    assert np.isfinite(S).all() and (S >= 0).all()
    if m == 0 or k == 0:  # the objective is constant: S = 0, the minimum-norm answer
        assert (S == 0).all()
        return
    rel, floor = (1e-9, 32 * EPS[dtype]) if dtype == np.float64 else (1e-4, 2**10 * EPS[dtype])
    AL = A.astype(LD)
    for j in range(n):
        x, s = X[:, j], S[:, j].astype(np.float64)
        ref, _ = scipy.optimize.nnls(A, x, maxiter=100 * k + 100)
        r, r_ref = (x.astype(LD) - AL @ v.astype(LD) for v in (s, ref))
        f, f_ref = float(r @ r), float(r_ref @ r_ref)
        used = A[:, s > 0]
        kappa = np.linalg.cond(used / np.linalg.norm(used, axis=0)) if used.size else 1.0
        assert abs(f - f_ref) <= rel * f_ref + (floor * kappa**2) ** 2 * float(x @ x), (
            f"column {j}: objective {f!r}, scipy's {f_ref!r}, cond {kappa:.3g}")


def support_solve_ref(A, S, R):
    """(W, the largest cond(A_P^T A_P)): W[P, j] = pinv(A_P^T A_P) R[P, j] on the support P
    of each column of S, 0 elsewhere."""
    Gm = A.T @ A
    W = np.zeros_like(R)
    worst = 1.0
    for j in range(S.shape[1]):
        P = S[:, j] > 0
        if P.any():
            GP = Gm[np.ix_(P, P)]
            W[P, j] = np.linalg.pinv(GP) @ R[P, j]
            worst = max(worst, np.linalg.cond(GP))
    return W, worst


def assert_close(got, ref, size, tol, what):
    """||got - ref|| <= tol ||size||, size the magnitudes of the terms that make up ref."""
    err, scale = np.linalg.norm(got - ref), np.linalg.norm(size)
    assert err <= tol * scale, f"{what}: error {err:.3e}, size of the terms {scale:.3e}"


def check_vjp(A, X, S, G, dA, dX, dtype, need_dX):
    """(dA, dX) = nnls_vjp(A, X, S, G), for A, X, S, G in float64."""
    assert dA.shape == A.shape and dA.dtype == dtype and np.isfinite(dA).all()
    assert dX is None if not need_dX else (dX.shape == X.shape and dX.dtype == dtype)
    W, cond = support_solve_ref(A, S, G)
    if cond > 1e6:
        assert dX is None or np.isfinite(dX).all()
        return
    tol = 1e3 * EPS[dtype] * cond
    aW, aS = np.abs(W), np.abs(S)
    assert_close(dA, X @ W.T - A @ (S @ W.T + W @ S.T),
                 np.abs(X) @ aW.T + np.abs(A) @ (aS @ aW.T + aW @ aS.T), tol, "dA")
    if need_dX:
        assert_close(dX, A @ W, np.abs(A) @ aW, tol, "dX")


def check_jvp(A, X, S, E, Y, dS, dtype):
    """dS = nnls_jvp(A, X, S, E, Y), for all in float64 (E, Y zero when not given)."""
    assert dS.shape == S.shape and dS.dtype == dtype and np.isfinite(dS).all()
    assert (dS[S <= 0] == 0).all()  # zero off the support
    D = A.T @ (Y - E @ S) + E.T @ (X - A @ S)
    aA, aE, aS = np.abs(A), np.abs(E), np.abs(S)
    D_size = aA.T @ (np.abs(Y) + aE @ aS) + aE.T @ (np.abs(X) + aA @ aS)
    ref, cond = support_solve_ref(A, S, D)
    if cond <= 1e6:
        bound = np.linalg.norm(np.linalg.pinv(A.T @ A)) if A.size else 0.0
        assert_close(dS, ref, np.abs(ref) + bound * D_size, 1e3 * EPS[dtype] * cond, "dS")


# ---------------------------------------------------------------- the public functions

ARGS = ("A", "X", "S", "G", "dA", "dX")


@FUZZ
@given(shapes(), st.tuples(*[DENSE] * len(ARGS)), combinations(*[[False, True]] * 4),
       combinations([None] * 4 + list(ARGS), range(16), [np.nan, np.inf, -np.inf]),
       SEEDS, THREADS)
def test_dense_inputs(shape, specs, flags, poison, seed, n_threads):
    """nnls, nnls_vjp, nnls_jvp and Operand's products on one drawn set of dense arguments
    (S is also nnls's init)."""
    m, k, n = shape
    with_init, with_dA, with_dX, need_dX = flags
    rng = np.random.default_rng(seed)
    dims = {"A": (m, k), "X": (m, n), "S": (k, n), "G": (k, n), "dA": (m, k), "dX": (m, n)}
    name, where, value = poison
    A, X, S, G, dA, dX = (
        make_dense(rng, dims[a], spec, nonneg=a == "S",
                   poison=(where, value) if a == name else None)
        for a, spec in zip(ARGS, specs))
    bad = name if name and np.prod(dims[name]) else None
    init = S if with_init else None
    dA, dX = dA if with_dA else None, dX if with_dX else None

    if bad in ("A", "X") or (bad == "S" and with_init):
        raises_naming("init" if bad == "S" else bad, nnmf.nnls, A, X, init=init,
                      n_threads=n_threads)
    else:
        S_ = nnmf.nnls(A, X, init=init, n_threads=n_threads)
        check_nnls(f64(A), f64(X), S_, result_dtype(A, X))

    if bad in ("A", "X", "S", "G"):
        raises_naming(bad, nnmf.nnls_vjp, A, X, S, G, need_dX=need_dX, n_threads=n_threads)
    else:
        grads = nnmf.nnls_vjp(A, X, S, G, need_dX=need_dX, n_threads=n_threads)
        check_vjp(f64(A), f64(X), f64(S), f64(G), *grads, result_dtype(A, X, S, G), need_dX)

    if bad in ("A", "X", "S") or (bad == "dA" and with_dA) or (bad == "dX" and with_dX):
        raises_naming(bad, nnmf.nnls_jvp, A, X, S, dA, dX, n_threads=n_threads)
    else:
        dS = nnmf.nnls_jvp(A, X, S, dA, dX, n_threads=n_threads)
        given_ = [M for M in (A, X, S, dA, dX) if M is not None]
        check_jvp(f64(A), f64(X), f64(S), np.zeros((m, k)) if dA is None else f64(dA),
                  np.zeros((m, n)) if dX is None else f64(dX), dS, result_dtype(*given_))

    if bad == "X":
        raises_naming("X", Operand, X)
    else:
        check_operand(Operand(X), f64(X), rng)


# finding F1: a warm start whose support held dependent columns of A stopped at a non-optimal
# S, flagged converged (the columns refused as dependent stayed locked out as P shrank)
@pytest.mark.parametrize("A, X, init", [
    # more columns than rows; the optimum (0.217, 0, 0.806, 0) fits X
    ([[0.12573022, -0.13210486, 0.64042265, 0.10490012],
      [-0.53566937, 0.36159505, 1.30400005, 0.94708096]],
     [[0.54362499], [0.93507242]], [[0.81585355], [0.0027385], [0.85740428], [0.03358558]]),
    # square, of rank 2; the optimum is (0, 0.702, 0.309)
    ([[-1.0, 0.0, 1.0], [1.0, 2.0, -3.0], [0.0, 0.0, 0.0]],
     [[0.3089834307300702], [0.476083304399593], [0.15211620494464406]],
     [[0.44816284586519506], [0.7347761815615002], [0.11938253691788536]]),
], ids=["wide", "rank-deficient"])
def test_warm_start_on_dependent_columns(A, X, init):
    A, X = np.array(A), np.array(X)
    S, info = nnmf.nnls(A, X, init=np.array(init), return_info=True)
    assert info.converged.all()
    check_nnls(A, X, S, np.dtype(np.float64))


def test_what_the_fuzzing_found():
    """Inputs the fuzzing found mishandled, now handled, each pinned down on its own."""
    rng = np.random.default_rng(0)
    A, X = rng.random((5, 1)), rng.random((5, 3))
    S, G = nnmf.nnls(A, X), rng.standard_normal((1, 3))
    flipped = A[:, ::-1]  # numpy calls it contiguous; its column stride is negative
    ref = nnmf.nnls_vjp(A, sp.csr_matrix(X), S, G)
    for got, want in zip(nnmf.nnls_vjp(flipped, sp.csr_matrix(X), S[::-1], G[::-1]), ref):
        np.testing.assert_allclose(got, want, rtol=1e-13)
    np.testing.assert_allclose(nnmf.nnls_jvp(flipped, sp.csr_matrix(X), S, flipped, None),
                               nnmf.nnls_jvp(A, sp.csr_matrix(X), S, A, None), rtol=1e-13)
    bsr = sp.bsr_matrix(X)
    bsr.indptr = np.r_[bsr.indptr, bsr.indptr[-1]]  # one block row too many: scipy's tocoo
    with pytest.raises(ValueError, match=r"^X: indptr has 7 entries, expected 6"):
        nnmf.nnls(A, bsr)
    lil = sp.lil_matrix(X)
    lil.rows = lil.rows[:2]  # scipy's compiled conversion read past the lists
    with pytest.raises(ValueError, match=r"^X: it has 2 lists of indices and 5 of values"):
        nnmf.nnls(A, lil)
    dia = sp.dia_matrix(X)
    dia.offsets = dia.offsets[:-1]  # scipy's compiled conversion read past the offsets
    with pytest.raises(ValueError, match=r"^X: its data must be 2-D with a row per offset"):
        nnmf.nnls(A, dia)


@FUZZ
@given(shapes(), SPARSE, DENSE, POISONS, SEEDS, THREADS)
def test_sparse_inputs(shape, spec, a_spec, poison, seed, n_threads):
    """nnls, nnls_vjp, nnls_jvp (with the sparse X as dX too) and Operand's products on one
    drawn sparse X: a clean error naming X when it is corrupted or holds NaN or infinity."""
    m, k, n = shape
    rng = np.random.default_rng(seed)
    X, X_value = make_sparse(rng, (m, n), spec, poison)
    A = make_dense(rng, (m, k), a_spec)
    dtype = result_dtype(A, X)  # float32 for float32 data: the derivatives computed in it
    S = (np.abs(rng.standard_normal((k, n))) * (rng.random((k, n)) < 0.7)).astype(dtype)
    G, E = rng.standard_normal((k, n)).astype(dtype), rng.standard_normal((m, k)).astype(dtype)
    before = sparse_arrays(X)
    calls = [lambda: nnmf.nnls(A, X, n_threads=n_threads),
             lambda: nnmf.nnls_vjp(A, X, S, G, n_threads=n_threads),
             lambda: nnmf.nnls_jvp(A, X, S, E, X, n_threads=n_threads),
             lambda: Operand(X)]
    if X_value is None:
        for call in calls:
            with pytest.raises(CLEAN, match=r"^X contains NaN or infinity" if spec[-1] == "NaN"
                               else r"^X\b"):
                call()
    else:
        S_, grads, dS, op = (call() for call in calls)
        A, S, G, E = f64(A), f64(S), f64(G), f64(E)
        check_nnls(A, X_value, S_, dtype)
        check_vjp(A, X_value, S, G, *grads, dtype, True)
        check_jvp(A, X_value, S, E, X_value, dS, dtype)
        check_operand(op, X_value, rng)
    for a, b in zip(sparse_arrays(X), before):  # the caller's matrix is never changed
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


def check_operand(op, X, rng):
    """Operand(X)'s products against numpy's, in its dtype."""
    m, n = X.shape
    T = op.dtype
    tol = (m + n + 4) * EPS[T]
    A, W = rng.standard_normal((m, 3)).astype(T), rng.standard_normal((3, n)).astype(T)
    M = rng.standard_normal((3, 3)).astype(T)
    A64, W64, M64, aX = f64(A), f64(W), f64(M), np.abs(X)
    assert_close(op.tdot(A, 2), A64.T @ X, np.abs(A64).T @ aX, tol, "A^T X")
    assert_close(op.dot_t(W, 2), X @ W64.T, aX @ np.abs(W64).T, tol, "X W^T")
    got, finite = op.dot_t_minus(W, A, M, 2)
    assert finite and got.shape == (m, 3)
    assert_close(got, X @ W64.T - A64 @ M64, aX @ np.abs(W64).T + np.abs(A64) @ np.abs(M64),
                 tol, "X W^T - A M")
    assert_close(op.transpose().tdot(W.T, 2), W64 @ X.T, np.abs(W64) @ aX.T, tol, "W X^T")
    assert op.sqnorm() == pytest.approx(float(np.sum(X**2)), rel=tol, abs=1e-300)


# ---------------------------------------------------------------- the raw bindings

MUTATIONS = ["dtype", "int", "order", "strided", "1-D", "3-D", "rows", "cols", "none", "list",
             "readonly", "broadcast"]
RATES = st.sampled_from([0.0, 0.1, 0.25, 0.5])
RAW_THREADS = st.sampled_from([1, 2, 0, -1, 1, "2", 2.5, None, 2**64])


def mutations(rng, rate):
    """Endless: each a mutation drawn from MUTATIONS with probability rate, else "ok"."""
    while True:
        yield MUTATIONS[rng.integers(len(MUTATIONS))] if rng.random() < rate else "ok"


def mutate(a, how):
    """a, or a wrong (or differently laid out) version of it."""
    if how == "ok":
        return a
    if how == "dtype":
        return a.astype(np.float32 if a.dtype == np.float64 else np.float64)
    if how == "int":
        return a.astype(np.int32 if a.dtype.itemsize == 4 else np.int64)
    if how == "order":
        return np.ascontiguousarray(a) if a.flags.f_contiguous else np.asfortranarray(a)
    if how == "strided":
        big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
        view = big[..., ::2]
        view[...] = a
        return view
    if how == "1-D":
        return a.ravel()
    if how == "3-D":
        return a[None]
    if how in ("rows", "cols"):  # one more row or column
        pad = [(0, 0)] * a.ndim
        pad[0 if how == "rows" else -1] = (0, 1)
        padded = np.pad(a, pad)
        return np.asfortranarray(padded) if a.flags.f_contiguous else padded
    if how == "none":
        return None
    if how == "list":
        return a.tolist()
    if how == "readonly":
        r = a.copy(order="A")
        r.flags.writeable = False
        return r
    return np.broadcast_to(a.ravel()[:1], a.shape) if a.size else a  # zero strides


def call(f, *args):
    """(True, result), or (False, None) when f raised a clean exception."""
    try:
        return True, f(*args)
    except CLEAN as exc:
        assert str(exc).strip(), f"{type(exc).__name__} without a message"
        return False, None


def as_matrix(a, what, dtype=None):
    """The argument a as a binding that accepted it must have read it: a 2-D float32 or
    float64 array (of dtype, when given); pybind11 reads a 1-D array as one column."""
    a = np.asarray(a)
    a = a[:, None] if a.ndim == 1 else a
    assert a.ndim == 2 and a.dtype in EPS and (dtype is None or a.dtype == dtype), (
        f"the binding accepted {what} as {a.dtype} {a.shape}")
    return a


@FUZZ
@given(shapes(6, 4, 4),
       combinations([np.float64, np.float32],
                    ["uniform", "normal", "integers", "repeated columns"]),
       RATES, RAW_THREADS,
       combinations([False, True], [0, 0, -1, 1, 3, 2**31 - 1, 2**31, 1.5, "5"],
                    [0.0, 0.0, -1.0, 1e-12, 1e-3, np.nan, np.inf, 1e300, "x"],
                    [0.5, 0.0, -1.0, 1e300, np.nan, np.inf, "1"], [True, False, 1, None]),
       SEEDS)
def test_raw_dense_bindings(shape, data, rate, n_threads, scalars, seed):
    """gram, tdot, nnls_gram, support_solve, subtract_product and projected_step, each with
    its arguments drawn right or wrong (each wrong with probability rate)."""
    m, k, n = shape
    dtype, kind = np.dtype(data[0]), data[1]
    rng = np.random.default_rng(seed)
    A = values(rng, (m, k), kind, np.dtype(np.float64))
    X = rng.standard_normal((m, n))
    G = np.asfortranarray(A.T @ A)
    with_init, max_iter, tol, step, nonneg = scalars
    how = mutations(rng, rate)

    args = mutate(A.astype(dtype), next(how)), n_threads
    ok, out = call(_core.gram, *args)
    if ok:
        a = f64(as_matrix(args[0], "A"))
        assert out.dtype == np.float64 and out.flags.f_contiguous
        assert_close(out, a.T @ a, np.abs(a).T @ np.abs(a), (a.shape[0] + 4) * EPS[dtype],
                     "A^T A")

    args = mutate(A.astype(dtype), next(how)), mutate(X.astype(dtype), next(how)), n_threads
    ok, out = call(_core.tdot, *args)
    if ok:
        a = as_matrix(args[0], "A")
        T = a.dtype
        a, x = f64(a), f64(as_matrix(args[1], "X", T))
        assert out.dtype == T and out.shape == (a.shape[1], x.shape[1])
        assert_close(out, a.T @ x, np.abs(a).T @ np.abs(x), (a.shape[0] + 4) * EPS[T], "A^T X")

    C = np.asfortranarray((A.T @ X).astype(dtype))
    init = np.asfortranarray(np.abs(rng.standard_normal((k, n))).astype(dtype))
    args = (mutate(G, next(how)), mutate(C, next(how)),
            mutate(init, next(how)) if with_init else None, max_iter, tol, n_threads)
    ok, out = call(_core.nnls_gram, *args)
    if ok:
        check_raw_nnls_gram(args, *out)

    S = np.asfortranarray((rng.random((k, n)) * (rng.random((k, n)) < 0.6)).astype(dtype))
    R = np.asfortranarray(rng.standard_normal((k, n)).astype(dtype))
    args = mutate(G, next(how)), mutate(S, next(how)), mutate(R, next(how)), n_threads
    ok, out = call(_core.support_solve, *args)
    if ok:
        g = f64(as_matrix(args[0], "gram", np.float64))
        s = as_matrix(args[1], "S")
        T = s.dtype
        s, r = f64(s), f64(as_matrix(args[2], "R", T))
        assert g.shape == (s.shape[0],) * 2 and s.shape == r.shape, "inconsistent shapes"
        assert out.shape == s.shape and out.dtype == T and np.isfinite(out).all()
        assert (out[s <= 0] == 0).all()
        if np.array_equal(g, G):
            ref, cond = support_solve_ref(A, s, r)
            if cond <= 1e6:
                bound = np.linalg.norm(np.linalg.pinv(g)) if g.size else 0.0
                assert_close(out, ref, np.abs(ref) + bound * np.abs(r), 1e3 * EPS[T] * cond,
                             "W")

    Y = rng.standard_normal((m, 3)).astype(dtype)
    M = np.asfortranarray(rng.standard_normal((k, 3)).astype(dtype))
    args = mutate(Y, next(how)), mutate(A.astype(dtype), next(how)), mutate(M, next(how)), \
        n_threads
    y0 = None if args[0] is None else f64(args[0])
    ok, finite = call(_core.subtract_product, *args)
    if ok:
        y = as_matrix(args[0], "Y")
        T = y.dtype
        a, mm = (f64(as_matrix(v, w, T)) for v, w in ((args[1], "A"), (args[2], "M")))
        assert args[0].flags.c_contiguous and args[0].flags.writeable
        assert y.shape == (a.shape[0], mm.shape[1]) and a.shape[1] == mm.shape[0], (
            "inconsistent shapes accepted")
        assert_close(f64(y), y0 - a @ mm, np.abs(y0) + np.abs(a) @ np.abs(mm),
                     (a.shape[1] + 4) * EPS[T], "Y - A M")
        assert finite == bool(np.isfinite(y).all())

    p, g, out = (v.ravel().astype(dtype) for v in (X, rng.standard_normal((m, n)), X))
    args = [mutate(p, next(how)), mutate(g, next(how)), step, nonneg, mutate(out, next(how)),
            n_threads]
    ok, inner = call(_core.projected_step, *args)
    if ok:
        check_raw_projected_step(*args[:5], inner)


def check_raw_nnls_gram(args, S, n_iter, converged):
    gram, C, init, max_iter, tol, _ = args
    g, c = f64(as_matrix(gram, "gram", np.float64)), as_matrix(C, "C")
    T = c.dtype
    c = f64(c)
    assert init is None or as_matrix(init, "init", T).shape == c.shape
    assert g.shape == (c.shape[0],) * 2, "the binding accepted a gram of the wrong shape"
    assert S.shape == c.shape and S.dtype == T and np.isfinite(S).all() and (S >= 0).all()
    assert n_iter.shape == converged.shape == (c.shape[1],) and converged.dtype == bool
    if max_iter <= 0 and tol <= 0 and converged.all():  # KKT conditions
        s = S.astype(np.float64)
        lam = g @ s - c
        scale = np.abs(g) @ s + np.abs(c)
        slack = 1e-9 if T == np.float64 else 1e-5
        assert (lam >= -slack * scale).all(), "dual infeasible"
        assert (np.abs(lam[s > 0]) <= slack * scale[s > 0]).all(), "complementarity"


def check_raw_projected_step(p, g, step, nonneg, out, inner):
    p, g, out = (np.asarray(a) for a in (p, g, out))
    T = p.dtype
    assert p.shape == g.shape == out.shape == (p.size,) and T in EPS
    assert g.dtype == out.dtype == T
    with np.errstate(all="ignore"):  # the step is taken in T, as the core does
        step_g = T.type(float(step)) * g
        ref = np.maximum(p - step_g, 0) if nonneg else p - step_g
        ref_inner = float(np.sum(g.astype(np.float64) * (out.astype(np.float64) - p)))
        close = np.abs(out - ref) <= 4 * EPS[T] * (np.abs(p) + np.abs(step_g))  # FMA or not
    assert close[np.isfinite(ref)].all()
    if np.isfinite(ref).all():
        np.testing.assert_allclose(inner, ref_inner, rtol=1e-6, atol=1e-300)


@FUZZ
@given(shapes(4, 6, 5),
       combinations([np.float64, np.float32], ["int32", "int64"], [False, True]),
       st.sampled_from([None] * 8 + CORRUPTIONS[:-1]),
       st.sampled_from([(0, 0)] * 4 + [(1, 0), (0, 1), (0, -1), (-1, 0), (-100, -1),
                                       (0, 2**40), (2**63, 0), (0, "3")]),
       RATES, RAW_THREADS, SEEDS)
def test_raw_sparse_bindings(shape, types, corruption, offsets, rate, n_threads, seed):
    """dense_times_csc and dense_times_csc_minus with CSC arrays well formed or corrupted,
    and every other argument drawn right or wrong (each wrong with probability rate)."""
    k, rows, cols = shape
    dtype, index, minus = types
    rng = np.random.default_rng(seed)
    Y = (rng.standard_normal((rows, cols)) * (rng.random((rows, cols)) < 0.5)).astype(dtype)
    M = sp.csc_matrix(Y)
    M.indptr, M.indices = M.indptr.astype(index), M.indices.astype(index)
    if corruption:
        M = _corrupted(M, corruption, rng)
    B = np.asfortranarray(rng.standard_normal((k, rows)).astype(dtype))
    r = rows + offsets[0]
    c = offsets[1] if isinstance(offsets[1], str) else cols + offsets[1]
    how = mutations(rng, rate)
    arrays = [mutate(a, next(how)) for a in (B, M.indptr, M.indices, M.data)]
    Mm = np.asfortranarray(rng.standard_normal((2, k)).astype(dtype))
    At = rng.standard_normal((2, cols)).astype(dtype)
    extra = [mutate(Mm, next(how)), mutate(At, next(how))]
    if minus:
        ok, out = call(_core.dense_times_csc_minus, *arrays, r, c, *extra, n_threads)
    else:
        ok, out = call(_core.dense_times_csc, *arrays, r, c, n_threads)
    if not ok:
        return
    b = as_matrix(arrays[0], "B")
    T = b.dtype
    b, Yv = f64(b), csc_value(*arrays[1:], r, c, T)
    assert b.shape[1] == r, "the binding accepted B and rows that differ"
    ref, size = b @ Yv, np.abs(b) @ np.abs(Yv)
    if minus:
        out, finite = out
        mm, at = (f64(as_matrix(a, w, T)) for a, w in zip(extra, ("M", "At")))
        assert mm.shape[1] == b.shape[0] and mm.shape[0] == at.shape[0] and at.shape[1] == c
        ref, size = ref - mm.T @ at, size + np.abs(mm).T @ np.abs(at)
        assert finite == bool(np.isfinite(out).all())
    assert out.shape == ref.shape and out.dtype == T
    assert_close(out, ref, size, (r + 4) * EPS[T], "B Y")


def csc_value(indptr, indices, data, rows, cols, dtype):
    """The dense matrix of CSC arrays a binding accepted, asserting they are well formed."""
    indptr, indices, data = (np.asarray(a) for a in (indptr, indices, data))
    assert indptr.dtype == indices.dtype and indptr.dtype in (np.int32, np.int64)
    assert data.dtype == dtype
    assert indptr.ndim == indices.ndim == data.ndim == 1 and indptr.size == cols + 1
    assert indices.size == data.size and indptr[0] == 0 and indptr[-1] <= indices.size
    assert (np.diff(indptr) >= 0).all(), "the binding accepted a decreasing indptr"
    used = indices[:indptr[-1]]
    assert used.size == 0 or (used.min() >= 0 and used.max() < rows), (
        "the binding accepted an index out of range")
    Y = np.zeros((rows, cols))
    col = np.repeat(np.arange(cols), np.diff(indptr))
    np.add.at(Y, (used, col), data[:indptr[-1]].astype(np.float64))
    return Y


@pytest.mark.parametrize("rows, cols, n_indptr", [(3, -1, 0), (-1, 2, 3), (-5, -1, 0)])
def test_negative_sizes_are_refused_before_any_read(rows, cols, n_indptr):
    # found under AddressSanitizer: cols = -1 with an empty indptr passed the length check
    # (cols + 1 entries) and indptr[cols] was read before the array
    B = np.asfortranarray(np.ones((2, max(rows, 0))))
    indptr = np.zeros(n_indptr, dtype=np.int64)
    empty = np.zeros(0, dtype=np.int64)
    with pytest.raises(ValueError, match="nonnegative"):
        _core.dense_times_csc(B, indptr, empty, np.zeros(0), rows, cols, 1)
    with pytest.raises(ValueError, match="nonnegative"):
        _core.dense_times_csc_minus(B, indptr, empty, np.zeros(0), rows, cols,
                                    np.asfortranarray(np.ones((1, 2))),
                                    np.asfortranarray(np.ones((1, max(cols, 0)))), 1)
