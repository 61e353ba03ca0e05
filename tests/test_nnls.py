"""Correctness of the NNLS layer nnmf.nnls: optimality against scipy.optimize.nnls, KKT
conditions, warm starts, sparse and float32 inputs, thread-count determinism.

How "matches scipy" is measured (the tolerances used throughout this file):

* Objective. For each column, f(s) = ||x - A s||^2 is evaluated with the residual in long
  double, so the measurement itself adds no float64 noise. We require

      |f_ours - f_scipy| <= 1e-9 * f_scipy + FLOOR * ||x||^2,   FLOOR = (32 eps)^2 ~ 5e-29.

  The first term is the 1e-9 relative agreement asked for. The second only matters when the
  optimal residual is itself at roundoff level (x in the cone of A: wide A, exact fits): a
  float64 iterate s reproduces x only to ~c eps ||x|| (c a few units for scipy's QR, up to
  ~cond(A) for the Gram form), so no float64 solver can do better than (c eps ||x||)^2;
  (16 eps)^2 is the smallest power of two that the well-conditioned cases here pass. The
  check is two-sided, but its essential half is that ours is never meaningfully worse than
  scipy; ours is also checked against the KKT conditions, so a failure says which is off.
* KKT. With lambda = A^T (A s - x) (computed in long double) and the roundoff scale of each
  of its entries, scale_i = |a_i|^T (|x| + |A| |s|), we require s >= 0 exactly,
  lambda_i >= -KKT_TOL * scale_i for every i, and |lambda_i| <= KKT_TOL * scale_i where
  s_i > 0, with KKT_TOL = 1e-11. Every instance here, the nearly collinear ones included,
  has a solution meeting this by orders of magnitude (scipy's reach ~1e-16..1e-12, a Gram-form
  solve ~cond(A_P) eps with A_P the columns it actually uses); the slack above that is for
  the Gram form's cond(A_P) amplification. A zero entry whose column the solver refused as
  numerically dependent on its passive set is still held to this: its multiplier says the
  objective can be lowered by swapping it in.
* Solution. Where A has full column rank the minimiser is unique and S must match scipy's:
  with A scaled to unit columns (Dc = column norms, kappa = cond(A Dc^-1)), per column
  ||Dc (s - s_scipy)|| <= 1e3 * kappa^2 * eps * ||x|| / sigma_min(A Dc^-1), the first-order
  error bound of the normal-equation (Gram) solve the core uses.
"""

import warnings

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnmf

EPS = np.finfo(np.float64).eps
EPS32 = np.finfo(np.float32).eps
FLOOR = (32 * EPS) ** 2
REL = 1e-9
KKT_TOL = 1e-11
LD = np.longdouble

SETTINGS = settings(max_examples=60, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------- helpers


def objective(A, x, s):
    """||x - A s||^2 with the residual formed in long double."""
    r = np.asarray(x, dtype=LD) - np.asarray(A, dtype=LD) @ np.asarray(s, dtype=LD)
    return float(np.sum(r * r))


def scipy_nnls(A, x):
    s, _ = scipy.optimize.nnls(A, x, maxiter=100 * A.shape[1] + 100)
    return s


def kkt_violation(A, x, s):
    """(worst dual infeasibility, worst complementarity), each relative to the roundoff scale
    of its lambda_i; 0 when the KKT conditions hold exactly."""
    AL, xl, sl = (np.asarray(M, dtype=LD) for M in (A, x, s))
    lam = AL.T @ (AL @ sl - xl)
    scale = np.abs(AL).T @ (np.abs(xl) + np.abs(AL) @ np.abs(sl))
    scale = np.where(scale > 0, scale, 1.0)
    dual = np.max(np.maximum(-lam, 0) / scale, initial=0.0)
    comp = np.max(np.where(np.asarray(s) > 0, np.abs(lam) / scale, 0), initial=0.0)
    return float(dual), float(comp)


def check_optimal(A, X, S, *, unique=False):
    """Asserts, column by column, feasibility, the KKT conditions, the objective against
    scipy.optimize.nnls and, when unique, the solution itself (see the module docstring)."""
    A = np.asarray(A, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    assert S.shape == (A.shape[1], X.shape[1])
    assert np.isfinite(S).all()
    assert (S >= 0).all()
    if unique:
        Dc = np.linalg.norm(A, axis=0)
        sv = np.linalg.svd(A / Dc, compute_uv=False)
        kappa = sv[0] / sv[-1]
    for j in range(X.shape[1]):
        x, s = X[:, j], S[:, j]
        s_ref = scipy_nnls(A, x)
        f_ours, f_ref = objective(A, x, s), objective(A, x, s_ref)
        floor = FLOOR * objective(A, x, np.zeros_like(s))
        assert abs(f_ours - f_ref) <= REL * f_ref + floor, (
            f"column {j}: objective {f_ours!r} vs scipy {f_ref!r} "
            f"(relative gap {(f_ours - f_ref) / max(f_ref, 1e-300):.3e})")
        dual, comp = kkt_violation(A, x, s)
        assert dual <= KKT_TOL, f"column {j}: dual infeasibility {dual:.3e}"
        assert comp <= KKT_TOL, f"column {j}: complementarity violation {comp:.3e}"
        if unique:
            err = np.linalg.norm(Dc * (s - s_ref))
            bound = 1e3 * kappa ** 2 * EPS * np.linalg.norm(x) / sv[-1]
            assert err <= bound, f"column {j}: solution differs from scipy's by {err:.3e}"


def spread(rng, shape, decades=8):
    """Positive factors 10^u, u uniform in [-decades, decades]."""
    return 10.0 ** rng.uniform(-decades, decades, shape)


# ------------------------------------------------------ random instances (hypothesis)


@st.composite
def instances(draw):
    m = draw(st.integers(1, 40))
    k = draw(st.integers(1, 12))
    n = draw(st.integers(1, 5))
    signed_A = draw(st.booleans())
    signed_X = draw(st.booleans())
    scaling = draw(st.sampled_from(["none", "columns", "entries"]))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, k)) if signed_A else rng.random((m, k))
    X = rng.standard_normal((m, n)) if signed_X else rng.random((m, n))
    if scaling == "columns":
        A *= spread(rng, (1, k))
        X *= spread(rng, (1, n))
    elif scaling == "entries":
        A *= spread(rng, (m, k))
        X *= spread(rng, (m, n))
    return A, X


@SETTINGS
@given(instances())
def test_random_instances_match_scipy(inst):
    A, X = inst
    S, info = nnmf.nnls(A, X, return_info=True)
    assert S.dtype == np.float64
    assert info.converged.all()
    check_optimal(A, X, S)


@st.composite
def full_rank_instances(draw):
    k = draw(st.integers(1, 10))
    m = draw(st.integers(k + 2, 50))
    n = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    A = rng.random((m, k)) + 0.1 * rng.standard_normal((m, k))
    X = rng.standard_normal((m, n)) + A @ rng.random((k, n))
    A *= spread(rng, (1, k), 4)
    return A, X


@SETTINGS
@given(full_rank_instances())
def test_unique_minimiser_matches_scipy(inst):
    A, X = inst
    check_optimal(A, X, nnmf.nnls(A, X), unique=True)


# ---------------------------------------------------------------- adversarial cases


def _near_duplicates(rel):
    def make(rng):
        B = rng.random((30, 5))
        A = np.hstack([B, B[:, :2] * (1 + rel * rng.standard_normal((30, 2)))])
        return A, rng.random((30, 20))
    return make


def _near_duplicates_signed(rel):
    def make(rng):
        B = rng.standard_normal((30, 5))
        A = np.hstack([B, B[:, :1] + rel * rng.standard_normal((30, 1)), B[:, 1:2]])
        return A, rng.standard_normal((30, 20))
    return make


def _consistent(rng):
    A = rng.random((40, 8))
    S_true = rng.random((8, 10)) * (rng.random((8, 10)) < 0.5)
    return A, A @ S_true


def _dup(rng):
    B = rng.random((25, 5))
    return B[:, [0, 1, 2, 3, 4, 0, 2, 2]], rng.random((25, 10))


def _zero_cols_A(rng):
    A = rng.standard_normal((25, 7))
    A[:, [1, 4]] = 0
    return A, rng.standard_normal((25, 10))


def _zero_cols_X(rng):
    X = rng.random((25, 10))
    X[:, [0, 3, 9]] = 0
    return rng.random((25, 6)), X


def _ties(rng):
    # small integers: many exact ties among gradients and degenerate vertices
    return rng.integers(0, 2, (12, 9)).astype(float), rng.integers(0, 3, (12, 10)).astype(float)


ADVERSARIAL = {
    "tall": lambda rng: (rng.random((300, 10)), rng.random((300, 12))),
    "wide": lambda rng: (rng.random((5, 20)), rng.random((5, 12))),
    "wide_signed": lambda rng: (rng.standard_normal((4, 15)), rng.standard_normal((4, 12))),
    "square": lambda rng: (rng.random((10, 10)), rng.random((10, 12))),
    "k1": lambda rng: (rng.random((30, 1)), rng.standard_normal((30, 12))),
    "k1_signed": lambda rng: (rng.standard_normal((30, 1)), rng.standard_normal((30, 12))),
    "m1": lambda rng: (rng.standard_normal((1, 6)), rng.standard_normal((1, 12))),
    "duplicate_columns": _dup,
    "zero_columns_A": _zero_cols_A,
    "all_zero_A": lambda rng: (np.zeros((10, 4)), rng.standard_normal((10, 5))),
    **{f"near_collinear_{rel:.0e}": _near_duplicates(rel)
       for rel in (1e-3, 1e-5, 1e-6, 3e-7, 1e-7, 3e-8, 1e-8, 3e-9, 1e-9, 1e-11, 1e-13, 1e-15)},
    **{f"near_collinear_signed_{rel:.0e}": _near_duplicates_signed(rel)
       for rel in (1e-6, 1e-7, 1e-8)},
    "zero_columns_X": _zero_cols_X,
    "spread_entries": lambda rng: (rng.random((30, 6)) * spread(rng, (30, 6)),
                                   rng.random((30, 10)) * spread(rng, (30, 10))),
    "spread_columns": lambda rng: (rng.random((30, 6)) * spread(rng, (1, 6)),
                                   rng.random((30, 10)) * spread(rng, (1, 10))),
    "spread_rows": lambda rng: (rng.random((30, 6)) * spread(rng, (30, 1)),
                                rng.random((30, 10))),
    "negative_A": lambda rng: (-rng.random((30, 6)), rng.random((30, 10))),
    "signed_A": lambda rng: (rng.standard_normal((30, 6)), rng.random((30, 10))),
    "negative_X": lambda rng: (rng.random((30, 6)), -rng.random((30, 10))),
    "signed_X": lambda rng: (rng.random((30, 6)), rng.standard_normal((30, 10))),
    "consistent": _consistent,
    "ties": _ties,
}


@pytest.mark.parametrize("case", sorted(ADVERSARIAL))
def test_adversarial_instances_match_scipy(case):
    A, X = ADVERSARIAL[case](np.random.default_rng(sum(map(ord, case))))
    S, info = nnmf.nnls(A, X, return_info=True)
    assert info.converged.all()
    check_optimal(A, X, S)


@pytest.mark.parametrize("case", ["tall", "square", "k1", "k1_signed", "spread_columns",
                                  "signed_A", "negative_X", "consistent"])
def test_adversarial_unique_minimiser(case):
    A, X = ADVERSARIAL[case](np.random.default_rng(sum(map(ord, case))))
    assert np.linalg.matrix_rank(A) == A.shape[1]
    check_optimal(A, X, nnmf.nnls(A, X), unique=True)


def test_zero_columns_give_zero_rows_and_columns():
    rng = np.random.default_rng(1)
    A = rng.random((20, 6))
    A[:, 2] = 0
    X = rng.random((20, 8))
    X[:, 5] = 0
    S, info = nnmf.nnls(A, X, return_info=True)
    assert (S[2] == 0).all()  # a zero column of A never enters
    assert (S[:, 5] == 0).all()  # a zero column of X has the zero solution
    assert info.n_iter[5] == 0 and info.converged[5]
    assert (S[[0, 1, 3, 4, 5]][:, [0, 1, 2, 3, 4, 6, 7]] > 0).any()


def test_negative_X_gives_zero():
    rng = np.random.default_rng(2)
    S = nnmf.nnls(rng.random((15, 4)), -rng.random((15, 6)))
    assert (S == 0).all()


def test_exact_recovery():
    # X = A S_true with a well-conditioned A: zero residual, S_true recovered.
    rng = np.random.default_rng(3)
    A = rng.random((50, 6)) + np.eye(50, 6)
    S_true = rng.random((6, 9)) * (rng.random((6, 9)) < 0.6)
    S = nnmf.nnls(A, A @ S_true)
    np.testing.assert_allclose(S, S_true, atol=1e-12)


# ------------------------------------------------------------------- info, warnings


def test_info_fields():
    rng = np.random.default_rng(4)
    A, X = rng.random((30, 8)), rng.random((30, 7))
    S, info = nnmf.nnls(A, X, return_info=True)
    assert isinstance(info, nnmf.NNLSInfo)
    assert info.n_iter.shape == (7,) and np.issubdtype(info.n_iter.dtype, np.integer)
    assert info.converged.shape == (7,) and info.converged.dtype == bool
    assert info.converged.all() and (info.n_iter >= 0).all() and info.n_iter.sum() > 0
    assert np.array_equal(nnmf.nnls(A, X), S)


def _hard_problem():
    rng = np.random.default_rng(5)
    A, X = rng.standard_normal((60, 25)), rng.standard_normal((60, 8))
    X[:, 0] = 0  # needs no iteration: converges even with max_iter=1
    return A, X


def test_max_iter_warns_and_stays_feasible():
    A, X = _hard_problem()
    with pytest.warns(nnmf.ConvergenceWarning, match="max_iter"):
        S, info = nnmf.nnls(A, X, max_iter=1, return_info=True)
    assert np.isfinite(S).all() and (S >= 0).all()
    assert info.converged[0] and (S[:, 0] == 0).all()
    assert not info.converged.all()
    for j in range(1, 8):  # an active-set method only descends from its start, S = 0
        f0 = objective(A, X[:, j], np.zeros(25))
        assert objective(A, X[:, j], S[:, j]) <= f0 * (1 + 1e-12)
    S_full = nnmf.nnls(A, X)
    assert not np.allclose(S, S_full)
    # enough iterations: no warning (filterwarnings=error would fail the test)
    S2, info2 = nnmf.nnls(A, X, max_iter=1000, return_info=True)
    assert info2.converged.all()
    np.testing.assert_array_equal(S2, S_full)


@pytest.mark.parametrize("max_iter", [1, 2, 5])
def test_n_iter_never_exceeds_max_iter(max_iter):
    # n_iter counts passive-set changes and max_iter is how many are allowed
    A, X = _hard_problem()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnmf.ConvergenceWarning)
        _, info = nnmf.nnls(A, X, max_iter=max_iter, return_info=True)
    assert info.n_iter.max() <= max_iter, info.n_iter


def test_tol_is_respected():
    rng = np.random.default_rng(6)
    A, X = rng.random((40, 15)), rng.random((40, 5))
    S_default = nnmf.nnls(A, X)
    np.testing.assert_array_equal(nnmf.nnls(A, X, tol=64 * 15 * EPS), S_default)
    S_loose = nnmf.nnls(A, X, tol=0.5)
    assert (S_loose >= 0).all()
    # a loose tolerance stops earlier: never a better objective than the default
    for j in range(5):
        f_loose = objective(A, X[:, j], S_loose[:, j])
        assert f_loose >= objective(A, X[:, j], S_default[:, j]) * (1 - 1e-12)


# ----------------------------------------------------------------------- warm start


def _warm_problem(rng, m=200, k=30, n=150, planted=True):
    A = rng.random((m, k))
    if not planted:
        return A, rng.random((m, n))
    S_true = rng.random((k, n)) * (rng.random((k, n)) < 0.4)
    X = A @ S_true + 0.05 * rng.random((m, n))  # X ~ A S, as inside NMF
    return A, X


@pytest.mark.parametrize("planted", [False, True], ids=["random_X", "planted_X"])
def test_warm_start_same_answer_fewer_iterations(planted):
    rng = np.random.default_rng(7)
    A, X = _warm_problem(rng, planted=planted)
    S0 = nnmf.nnls(A, X)
    A1 = A * (1 + 0.01 * rng.standard_normal(A.shape))  # A moved by 1%
    S_cold, info_cold = nnmf.nnls(A1, X, return_info=True)
    S_warm, info_warm = nnmf.nnls(A1, X, init=S0, return_info=True)
    assert info_cold.converged.all() and info_warm.converged.all()
    np.testing.assert_allclose(S_warm, S_cold, rtol=0, atol=1e-10 * np.abs(S_cold).max())
    assert np.array_equal(S_warm > 0, S_cold > 0)
    check_optimal(A1, X[:, :10], S_warm[:, :10])
    if planted:
        # The cold start seeds each column with the positives of the unconstrained solution,
        # which on X ~ A S is already within about one step of the optimum; the previous
        # support is not a better seed there (a 1% change of A moves ~3 of its entries).
        return
    assert info_warm.n_iter.sum() < 0.5 * info_cold.n_iter.sum(), (
        f"warm {info_warm.n_iter.sum()} vs cold {info_cold.n_iter.sum()} iterations")


def test_warm_start_from_solution_is_free():
    rng = np.random.default_rng(8)
    A, X = _warm_problem(rng, 80, 12, 40)
    S, info = nnmf.nnls(A, X, return_info=True)
    S2, info2 = nnmf.nnls(A, X, init=S, return_info=True)
    assert info.n_iter.sum() > 0
    assert info2.n_iter.sum() == 0
    np.testing.assert_allclose(S2, S, rtol=0, atol=1e-12 * np.abs(S).max())


@pytest.mark.parametrize("init_kind", ["ones", "random", "negative", "wrong_support"])
def test_warm_start_from_any_init_is_optimal(init_kind):
    rng = np.random.default_rng(9)
    A, X = _warm_problem(rng, 60, 10, 20)
    A[:, 3] = 0  # an init on a zero column of A must be ignored
    S_cold = nnmf.nnls(A, X)
    init = {"ones": np.ones_like(S_cold),
            "random": rng.random(S_cold.shape) * 10,
            "negative": -rng.random(S_cold.shape),
            "wrong_support": (S_cold == 0) * 1.0}[init_kind]
    init_before = init.copy()
    S = nnmf.nnls(A, X, init=init)
    np.testing.assert_array_equal(init, init_before)  # the caller's init is not modified
    np.testing.assert_allclose(S, S_cold, rtol=0, atol=1e-10 * np.abs(S_cold).max())
    check_optimal(A, X[:, :5], S[:, :5])


# ------------------------------------------------------ sparse, float32, threads


def _sparse_problem(rng, m=80, k=8, n=60, density=0.15):
    A = rng.random((m, k))
    Xd = rng.random((m, n)) * (rng.random((m, n)) < density)
    Xd[:, 3] = 0  # an empty column
    return A, sp.csc_matrix(Xd)


@pytest.mark.parametrize("fmt", ["csc", "csr", "coo", "csr_array", "csc_array"])
def test_nnls_of_sparse_x_matches_dense(fmt):
    rng = np.random.default_rng(10)
    A, Xs = _sparse_problem(rng)
    Xd = Xs.toarray()
    S_dense, info_dense = nnmf.nnls(A, Xd, return_info=True)
    Xf = {"csc": Xs.tocsc(), "csr": Xs.tocsr(), "coo": Xs.tocoo(),
          "csr_array": sp.csr_array(Xs), "csc_array": sp.csc_array(Xs)}[fmt]
    S_sparse, info_sparse = nnmf.nnls(A, Xf, return_info=True)
    assert type(S_sparse) is np.ndarray and S_sparse.shape == S_dense.shape
    assert info_sparse.converged.all()
    np.testing.assert_allclose(S_sparse, S_dense, rtol=0, atol=1e-12 * np.abs(S_dense).max())
    assert (S_sparse[:, 3] == 0).all()
    check_optimal(A, Xd[:, :6], S_sparse[:, :6])


def test_sparse_noncanonical_and_index_dtypes():
    rng = np.random.default_rng(11)
    A = rng.random((20, 5))
    # duplicate entries (summed) and unsorted indices; int64 indices
    rows = np.array([3, 1, 3, 7, 0, 19, 5, 5])
    cols = np.array([0, 0, 0, 2, 2, 4, 5, 5])
    vals = np.array([1.0, 2.0, 0.5, 3.0, 1.5, 2.5, 1.0, 1.0])
    Xcoo = sp.coo_matrix((vals, (rows, cols)), shape=(20, 6))
    Xd = Xcoo.toarray()
    S_ref = nnmf.nnls(A, Xd)
    Xcsc = sp.csc_matrix((vals, (rows, cols)), shape=(20, 6))  # canonical
    Xcsc.has_canonical_format = False
    Xraw = sp.csc_matrix((vals[[1, 0, 2, 3, 4, 5, 6, 7]], rows[[1, 0, 2, 3, 4, 5, 6, 7]],
                          np.array([0, 3, 3, 5, 5, 6, 8])), shape=(20, 6))
    data_before = Xraw.data.copy()
    X64 = sp.csc_matrix(Xd)
    X64.indices, X64.indptr = X64.indices.astype(np.int64), X64.indptr.astype(np.int64)
    for X in (Xcoo, Xraw, X64, Xraw.tocsr()):
        np.testing.assert_allclose(nnmf.nnls(A, X), S_ref, rtol=0, atol=1e-13 * S_ref.max())
    np.testing.assert_array_equal(Xraw.data, data_before)  # not mutated


def test_float32_nnls_keeps_dtype_and_agrees_with_float64():
    rng = np.random.default_rng(12)
    A = (rng.random((60, 8)) + np.eye(60, 8)).astype(np.float32)
    X = rng.random((60, 30)).astype(np.float32)
    S32, info = nnmf.nnls(A, X, return_info=True)
    assert S32.dtype == np.float32 and info.converged.all()
    A64, X64 = A.astype(np.float64), X.astype(np.float64)
    S64 = nnmf.nnls(A64, X64)
    assert (S32 >= 0).all()
    # the products with X are float32 (relative error ~ m eps32); the Gram solve amplifies
    # by at most cond(A)^2, which is small here
    kappa = np.linalg.cond(A64 / np.linalg.norm(A64, axis=0))
    tol = 4 * 60 * kappa ** 2 * EPS32
    err = np.linalg.norm(S32 - S64, axis=0) / np.linalg.norm(S64, axis=0)
    assert err.max() <= tol
    # within float32 accuracy of the optimum
    for j in range(5):
        f32, f64 = objective(A64, X64[:, j], S32[:, j]), objective(A64, X64[:, j], S64[:, j])
        assert f64 <= f32 <= f64 * (1 + 1e-5)
    # sparse float32 agrees with dense float32
    S32s = nnmf.nnls(A, sp.csc_matrix(X))
    assert S32s.dtype == np.float32
    np.testing.assert_allclose(S32s, S32, rtol=0, atol=1e-5 * S32.max())
    # mixed precision computes in float64 throughout: float32 X is converted exactly, so
    # the result is bitwise the all-float64 one (with dense and sparse X)
    np.testing.assert_array_equal(nnmf.nnls(A64, X), S64)
    np.testing.assert_array_equal(nnmf.nnls(A64, sp.csc_matrix(X)), nnmf.nnls(A64, sp.csc_matrix(X64)))
    assert nnmf.nnls(A, X64).dtype == np.float64
    assert nnmf.nnls(A, X, init=S64.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("kind", ["dense", "csc", "csr", "float32"])
def test_nnls_bitwise_identical_for_any_thread_count(kind):
    rng = np.random.default_rng(13)
    A, Xs = _sparse_problem(rng, m=100, k=12, n=300, density=0.3)
    X = {"dense": Xs.toarray(), "csc": Xs.tocsc(), "csr": Xs.tocsr(),
         "float32": Xs.toarray().astype(np.float32)}[kind]
    if kind == "float32":
        A = A.astype(np.float32)
    S1, info1 = nnmf.nnls(A, X, n_threads=1, return_info=True)
    S2, info2 = nnmf.nnls(A, X, n_threads=2, return_info=True)
    S3 = nnmf.nnls(A, X, n_threads=-1)
    assert np.array_equal(S1, S2) and np.array_equal(S1, S3)
    assert np.array_equal(info1.n_iter, info2.n_iter)
    S0 = nnmf.nnls(A, X, n_threads=1)
    init = S0 * (1 + 0.1 * rng.random(S0.shape).astype(S0.dtype))
    assert np.array_equal(nnmf.nnls(A, X, init=init, n_threads=1),
                          nnmf.nnls(A, X, init=init, n_threads=2))


# ------------------------------------------------------------------------- metadata


def test_build_info_and_version():
    info = nnmf.build_info()
    assert set(info) >= {"version", "openmp", "max_threads", "core"}
    assert info["core"] in ("generic", "avx2", "native")
    assert info["version"] == nnmf.__version__
    assert isinstance(nnmf.__version__, str) and nnmf.__version__.count(".") >= 1
    assert isinstance(info["openmp"], bool)
    assert isinstance(info["max_threads"], int) and info["max_threads"] >= 1
    if not info["openmp"]:
        assert info["max_threads"] == 1
