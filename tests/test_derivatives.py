"""Exact derivatives of the NNLS layer: nnmf.nnls_vjp and nnmf.nnls_jvp (DESIGN.md section 3).

Checked against
* the paper's explicit per-column pseudo-inverse formulas (numpy.linalg.pinv), on whatever
  support the solver returns: agreement to ~1e-10 relative (both are exact; the difference
  is roundoff amplified by cond(A_P)^2 at most);
* central finite differences of nnmf.nnls itself, on problems built with a clear margin
  (positive entries of S >= 0.5, KKT multipliers of the zero entries >= 0.5) so the support
  cannot change within the step; the step h = 1e-5 gives O(h^2) ~ 1e-10 truncation and
  O(eps / h) ~ 1e-11 cancellation error, hence the 1e-6 relative tolerance;
* the adjoint identity <JVP(dA, dX), G> = <dA, dL/dA> + <dX, dL/dX>, an exact algebraic
  identity, to 1e-10 relative to the sizes of the terms.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnmf

EPS32 = np.finfo(np.float32).eps
SETTINGS = settings(max_examples=40, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------- helpers


def margin_problem(rng, m=40, k=6, n=8, margin=0.5, density=0.5):
    """(A, X, S) with S = nnls(A, X) known exactly: positive entries of S >= margin and the
    KKT multipliers lambda = A^T (A S - X) of the zero entries >= margin, so the support is
    stable under perturbations much smaller than the margin."""
    A = rng.random((m, k)) + np.eye(m, k)
    S = np.zeros((k, n))
    Lam = np.zeros((k, n))
    for j in range(n):
        P = rng.random(k) < density
        if j == 0:
            P[:] = True  # one column with full support
        elif j == 1:
            P[:] = False  # and one with empty support
        S[P, j] = margin + rng.random(P.sum())
        Lam[~P, j] = margin + rng.random((~P).sum())
    # residual R = X - A S with A^T R = -Lam: a particular solution plus a part orthogonal
    # to range(A), which does not change the KKT multipliers
    Q, _ = np.linalg.qr(A, mode="complete")
    R = -A @ np.linalg.solve(A.T @ A, Lam) + Q[:, k:] @ rng.standard_normal((m - k, n))
    return A, A @ S + R, S


def vjp_pinv(A, X, S, G):
    """The paper's formulas, column by column, with explicit pseudo-inverses of A_P:
    dL/dA[:, P] += -(A_P^+T g_P)(A_P^+ z)^T + (z - A_P A_P^+ z)(g_P^T A_P^+ A_P^+T),
    dL/dz = A_P^+T g_P."""
    X = X.toarray() if sp.issparse(X) else np.asarray(X)
    dA = np.zeros_like(A, dtype=np.float64)
    dX = np.zeros(X.shape)
    for j in range(X.shape[1]):
        P = S[:, j] > 0
        if not P.any():
            continue
        Ap = A[:, P]
        Api = np.linalg.pinv(Ap)
        g, z = G[P, j], X[:, j]
        u = Api.T @ g
        dX[:, j] = u
        dA[:, P] += -np.outer(u, Api @ z) + np.outer(z - Ap @ (Api @ z), g @ Api @ Api.T)
    return dA, dX


def inner(U, V):
    U = U.toarray() if sp.issparse(U) else U
    V = V.toarray() if sp.issparse(V) else V
    return float(np.vdot(U, V))


def assert_close_rel(actual, desired, rtol):
    """||actual - desired|| <= rtol * ||desired|| (Frobenius), for arrays of any shape."""
    actual, desired = np.asarray(actual, dtype=np.float64), np.asarray(desired, dtype=np.float64)
    assert actual.shape == desired.shape
    err = np.linalg.norm(actual - desired)
    rel = err / np.linalg.norm(desired)
    assert err <= rtol * np.linalg.norm(desired), f"relative error {rel:.3e}"


# ------------------------------------------------------------- the margin problems


def test_margin_problem_is_solved_exactly():
    A, X, S = margin_problem(np.random.default_rng(0))
    np.testing.assert_allclose(nnmf.nnls(A, X), S, rtol=0, atol=1e-12)


# ------------------------------------------------------ VJP against the paper's formula


@pytest.mark.parametrize("shape", [(40, 6, 8), (200, 15, 30), (12, 12, 10), (5, 1, 7)])
def test_vjp_matches_pinv_formula(shape):
    m, k, n = shape
    rng = np.random.default_rng(m + k + n)
    A, X = rng.random((m, k)), rng.random((m, n))
    X[:, 0] = 0
    S = nnmf.nnls(A, X)
    assert (S[:, 0] == 0).all() and 0 < (S > 0).mean() < 1
    G = rng.standard_normal((k, n))
    dA, dX = nnmf.nnls_vjp(A, X, S, G)
    dA_ref, dX_ref = vjp_pinv(A, X, S, G)
    assert dA.shape == (m, k) and dX.shape == (m, n)
    assert dA.dtype == np.float64 and dX.dtype == np.float64
    assert_close_rel(dA, dA_ref, 1e-10)
    assert_close_rel(dX, dX_ref, 1e-10)
    assert (dX[:, 0] == 0).all()  # empty support: no gradient flows to that column


@SETTINGS
@given(st.integers(1, 30), st.integers(1, 10), st.integers(1, 6), st.booleans(),
       st.integers(0, 2 ** 32 - 1))
def test_vjp_matches_pinv_formula_random(m, k, n, signed, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, k)) if signed else rng.random((m, k))
    X = rng.standard_normal((m, n)) if signed else rng.random((m, n))
    S = nnmf.nnls(A, X)
    G = rng.standard_normal((k, n))
    dA, dX = nnmf.nnls_vjp(A, X, S, G)
    dA_ref, dX_ref = vjp_pinv(A, X, S, G)
    # both are exact: they differ by roundoff amplified by at most cond(A_P)^2
    kappa = max([np.linalg.cond(A[:, S[:, j] > 0]) for j in range(n) if (S[:, j] > 0).any()],
                default=1.0)
    tol = 1e-13 * max(kappa, 1.0) ** 2
    np.testing.assert_allclose(dA, dA_ref, rtol=0, atol=tol * max(np.abs(dA_ref).max(), 1e-300))
    np.testing.assert_allclose(dX, dX_ref, rtol=0, atol=tol * max(np.abs(dX_ref).max(), 1e-300))


@pytest.mark.parametrize("factor", [1.0, 3.0, 1e-3], ids=["exact", "scaled_3", "scaled_1e-3"])
def test_vjp_dependent_support_uses_pseudo_inverse(factor):
    # A_P with two parallel columns: A_P^T A_P is singular and the minimiser is not unique.
    # With S the minimum-norm solution on P (so s_P = A_P^+ z), the paper's formulas use the
    # pseudo-inverse, and nnls_vjp says it does too.
    rng = np.random.default_rng(1)
    B = rng.random((30, 4)) + np.eye(30, 4)
    A = np.hstack([B, factor * B[:, :1]])
    X = B @ (0.5 + rng.random((4, 5))) + 0.01 * rng.standard_normal((30, 5))
    SB = nnmf.nnls(B, X)
    assert (SB[0] > 0).all()
    # minimum-norm split of the coefficient of b0 between b0 and factor * b0
    t = SB[0] / (1 + factor ** 2)
    S = np.vstack([SB, np.zeros((1, 5))])
    S[0], S[4] = t, factor * t
    np.testing.assert_allclose(A @ S, B @ SB, rtol=1e-13)
    G = rng.standard_normal((5, 5))
    dA, dX = nnmf.nnls_vjp(A, X, S, G)
    assert np.isfinite(dA).all() and np.isfinite(dX).all()
    dA_ref, dX_ref = vjp_pinv(A, X, S, G)
    assert_close_rel(dX, dX_ref, 1e-9)
    assert_close_rel(dA, dA_ref, 1e-9)


def test_vjp_gradient_off_support_is_ignored():
    # W = 0 off the support and W[P] depends on G[P] only: the entries of G where S = 0 do
    # not matter (up to roundoff relative to the gradient's size)
    rng = np.random.default_rng(2)
    A, X, S = margin_problem(rng)
    G = rng.standard_normal(S.shape)
    on = G * (S > 0)
    dA, dX = nnmf.nnls_vjp(A, X, S, G)
    dA_on, dX_on = nnmf.nnls_vjp(A, X, S, on)
    assert_close_rel(dA, dA_on, 1e-13)
    assert_close_rel(dX, dX_on, 1e-13)
    dA_off, dX_off = nnmf.nnls_vjp(A, X, S, G - on)
    assert np.linalg.norm(dA_off) <= 1e-13 * np.linalg.norm(dA_on)
    assert np.linalg.norm(dX_off) <= 1e-13 * np.linalg.norm(dX_on)


def test_vjp_need_dX():
    rng = np.random.default_rng(3)
    A, X, S = margin_problem(rng)
    G = rng.standard_normal(S.shape)
    dA, dX = nnmf.nnls_vjp(A, X, S, G)
    dA2, dX2 = nnmf.nnls_vjp(A, X, S, G, need_dX=False)
    assert dX2 is None and dX is not None
    assert np.array_equal(dA, dA2)


# ---------------------------------------------------------- finite differences


def _loss(A, X, G):
    return float(np.vdot(G, nnmf.nnls(A, X)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vjp_matches_finite_differences(seed):
    rng = np.random.default_rng(10 + seed)
    A, X, S = margin_problem(rng)
    G = rng.standard_normal(S.shape)
    dA, dX = nnmf.nnls_vjp(A, X, S, G)
    h = 1e-5
    for _ in range(3):
        E, F = rng.standard_normal(A.shape), rng.standard_normal(X.shape)
        # the support is the same at both ends of the step
        for sign in (1, -1):
            assert np.array_equal(nnmf.nnls(A + sign * h * E, X + sign * h * F) > 0, S > 0)
        for dA_dir, dX_dir, expected in ((E, 0, inner(E, dA)), (0, F, inner(F, dX)),
                                         (E, F, inner(E, dA) + inner(F, dX))):
            fd = (_loss(A + h * dA_dir, X + h * dX_dir, G)
                  - _loss(A - h * dA_dir, X - h * dX_dir, G)) / (2 * h)
            assert fd == pytest.approx(expected, rel=1e-6, abs=1e-8)


def test_vjp_full_jacobian_finite_differences():
    # every entry of dL/dA and dL/dX on a small problem
    rng = np.random.default_rng(20)
    A, X, S = margin_problem(rng, m=7, k=3, n=3)
    G = rng.standard_normal(S.shape)
    dA, dX = nnmf.nnls_vjp(A, X, S, G)
    h = 1e-5
    fd_A = np.zeros_like(A)
    for idx in np.ndindex(*A.shape):
        E = np.zeros_like(A)
        E[idx] = h
        fd_A[idx] = (_loss(A + E, X, G) - _loss(A - E, X, G)) / (2 * h)
    fd_X = np.zeros_like(X)
    for idx in np.ndindex(*X.shape):
        F = np.zeros_like(X)
        F[idx] = h
        fd_X[idx] = (_loss(A, X + F, G) - _loss(A, X - F, G)) / (2 * h)
    np.testing.assert_allclose(dA, fd_A, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dX, fd_X, rtol=1e-6, atol=1e-8)
    assert np.abs(dA).max() > 1e-2  # the comparison is not vacuous


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_jvp_matches_finite_differences(seed):
    rng = np.random.default_rng(30 + seed)
    A, X, S = margin_problem(rng)
    h = 1e-5
    E, F = rng.standard_normal(A.shape), rng.standard_normal(X.shape)
    for dA_dir, dX_dir in ((E, None), (None, F), (E, F)):
        dS = nnmf.nnls_jvp(A, X, S, dA_dir, dX_dir)
        assert dS.shape == S.shape and dS.dtype == np.float64
        assert (dS[S == 0] == 0).all()
        EA = 0 if dA_dir is None else h * dA_dir
        FX = 0 if dX_dir is None else h * dX_dir
        Sp, Sm = nnmf.nnls(A + EA, X + FX), nnmf.nnls(A - EA, X - FX)
        assert np.array_equal(Sp > 0, S > 0) and np.array_equal(Sm > 0, S > 0)
        fd = (Sp - Sm) / (2 * h)
        np.testing.assert_allclose(dS, fd, rtol=1e-6, atol=1e-7 * np.abs(fd).max())
    assert (nnmf.nnls_jvp(A, X, S, None, None) == 0).all()


# ------------------------------------------------------------ adjoint identity


def _adjoint_terms(A, X, S, G, dA, dX):
    dS = nnmf.nnls_jvp(A, X, S, dA, dX)
    gA, gX = nnmf.nnls_vjp(A, X, S, G)
    lhs = inner(dS, G)
    rhs = (0.0 if dA is None else inner(dA, gA)) + (0.0 if dX is None else inner(dX, gX))
    size = (np.linalg.norm(dS) * np.linalg.norm(G)
            + (0.0 if dA is None else np.linalg.norm(dA) * np.linalg.norm(gA))
            + (0.0 if dX is None else np.linalg.norm(dX.toarray() if sp.issparse(dX) else dX)
               * np.linalg.norm(gX)))
    return lhs, rhs, size


@SETTINGS
@given(st.integers(1, 30), st.integers(1, 10), st.integers(1, 6),
       st.sampled_from(["nonneg", "signed", "duplicates"]), st.integers(0, 2 ** 32 - 1))
def test_adjoint_identity(m, k, n, kind, seed):
    rng = np.random.default_rng(seed)
    if kind == "signed":
        A, X = rng.standard_normal((m, k)), rng.standard_normal((m, n))
    else:
        A, X = rng.random((m, k)), rng.random((m, n))
        if kind == "duplicates":
            A[:, k // 2:] = A[:, : k - k // 2][:, : k - k // 2]
    S = nnmf.nnls(A, X)
    G = rng.standard_normal((k, n))
    dA, dX = rng.standard_normal((m, k)), rng.standard_normal((m, n))
    lhs, rhs, size = _adjoint_terms(A, X, S, G, dA, dX)
    assert abs(lhs - rhs) <= 1e-10 * size


@pytest.mark.parametrize("which", ["dA", "dX", "both"])
@pytest.mark.parametrize("fmt", ["dense", "csc", "csr"])
def test_adjoint_identity_sparse(which, fmt):
    rng = np.random.default_rng(40)
    A = rng.random((60, 7))
    Xd = rng.random((60, 25)) * (rng.random((60, 25)) < 0.2)
    dXd = rng.standard_normal((60, 25)) * (rng.random((60, 25)) < 0.3)
    conv = {"dense": np.asarray, "csc": sp.csc_matrix, "csr": sp.csr_matrix}[fmt]
    X, dXs = conv(Xd), conv(dXd)
    S = nnmf.nnls(A, X)
    G = rng.standard_normal(S.shape)
    dA = rng.standard_normal(A.shape) if which != "dX" else None
    dX = dXs if which != "dA" else None
    lhs, rhs, size = _adjoint_terms(A, X, S, G, dA, dX)
    assert size > 0
    assert abs(lhs - rhs) <= 1e-10 * size


# --------------------------------------------- sparse, float32, threads, layouts


@pytest.mark.parametrize("fmt", ["csc", "csr", "coo"])
def test_derivatives_of_sparse_x_match_dense(fmt):
    rng = np.random.default_rng(50)
    A = rng.random((80, 9))
    Xd = rng.random((80, 40)) * (rng.random((80, 40)) < 0.15)
    Xs = sp.csc_matrix(Xd).asformat(fmt)
    S = nnmf.nnls(A, Xd)
    G = rng.standard_normal(S.shape)
    dA_d, dX_d = nnmf.nnls_vjp(A, Xd, S, G)
    dA_s, dX_s = nnmf.nnls_vjp(A, Xs, S, G)
    assert isinstance(dA_s, np.ndarray) and isinstance(dX_s, np.ndarray)
    assert_close_rel(dA_s, dA_d, 1e-13)
    assert_close_rel(dX_s, dX_d, 1e-13)
    E = rng.standard_normal(A.shape)
    F = rng.standard_normal(Xd.shape) * (Xd != 0)
    dS_d = nnmf.nnls_jvp(A, Xd, S, E, F)
    dS_s = nnmf.nnls_jvp(A, Xs, S, E, sp.csc_matrix(F).asformat(fmt))
    assert_close_rel(dS_s, dS_d, 1e-13)
    dS_mixed = nnmf.nnls_jvp(A, Xs, S, E, F)  # dense dX with sparse X
    assert_close_rel(dS_mixed, dS_d, 1e-13)


def test_float32_derivatives_keep_dtype_and_agree_with_float64():
    rng = np.random.default_rng(60)
    A64, X64, S64 = margin_problem(rng, m=50, k=6, n=20)
    G64 = rng.standard_normal(S64.shape)
    E64, F64 = rng.standard_normal(A64.shape), rng.standard_normal(X64.shape)
    A, X, S, G, E, F = (M.astype(np.float32) for M in (A64, X64, S64, G64, E64, F64))
    dA, dX = nnmf.nnls_vjp(A, X, S, G)
    dS = nnmf.nnls_jvp(A, X, S, E, F)
    assert dA.dtype == dX.dtype == dS.dtype == np.float32
    ref_A, ref_X = nnmf.nnls_vjp(A64, X64, S64, G64)
    ref_S = nnmf.nnls_jvp(A64, X64, S64, E64, F64)
    for got, ref in ((dA, ref_A), (dX, ref_X), (dS, ref_S)):
        assert_close_rel(got, ref, 1e3 * EPS32)
    dA_s, dX_s = nnmf.nnls_vjp(A, sp.csr_matrix(X), S, G)
    assert dA_s.dtype == np.float32
    assert_close_rel(dA_s, dA, 1e2 * EPS32)
    # any float64 operand makes the computation float64, the products with X included
    for Xf in (X, sp.csr_matrix(X)):
        Xd = Xf.astype(np.float64)
        np.testing.assert_array_equal(nnmf.nnls_vjp(A, Xf, S64, G)[0],
                                      nnmf.nnls_vjp(A.astype(np.float64), Xd, S64, G)[0])
    assert nnmf.nnls_jvp(A, X, S, E64, None).dtype == np.float64


@pytest.mark.parametrize("kind", ["dense", "csc", "csr"])
def test_derivatives_bitwise_identical_for_any_thread_count(kind):
    rng = np.random.default_rng(70)
    A = rng.random((100, 12))
    Xd = rng.random((100, 300)) * (rng.random((100, 300)) < 0.3)
    X = {"dense": Xd, "csc": sp.csc_matrix(Xd), "csr": sp.csr_matrix(Xd)}[kind]
    S = nnmf.nnls(A, X, n_threads=1)
    G = rng.standard_normal(S.shape)
    E = rng.standard_normal(A.shape)
    F = sp.csc_matrix(rng.standard_normal(Xd.shape) * (Xd != 0)) if kind != "dense" \
        else rng.standard_normal(Xd.shape)
    v1 = nnmf.nnls_vjp(A, X, S, G, n_threads=1)
    v2 = nnmf.nnls_vjp(A, X, S, G, n_threads=2)
    assert np.array_equal(v1[0], v2[0]) and np.array_equal(v1[1], v2[1])
    j1 = nnmf.nnls_jvp(A, X, S, E, F, n_threads=1)
    j2 = nnmf.nnls_jvp(A, X, S, E, F, n_threads=2)
    assert np.array_equal(j1, j2)


def test_empty_and_zero_inputs():
    rng = np.random.default_rng(80)
    A = rng.random((10, 4))
    X0 = np.zeros((10, 0))
    S0 = nnmf.nnls(A, X0)
    dA, dX = nnmf.nnls_vjp(A, X0, S0, np.zeros((4, 0)))
    assert dA.shape == (10, 4) and (dA == 0).all() and dX.shape == (10, 0)
    assert nnmf.nnls_jvp(A, X0, S0, A, X0).shape == (4, 0)
    # S = 0 everywhere (X <= 0): all derivatives vanish
    X = -rng.random((10, 5))
    S = nnmf.nnls(A, X)
    assert (S == 0).all()
    dA, dX = nnmf.nnls_vjp(A, X, S, rng.standard_normal((4, 5)))
    assert (dA == 0).all() and (dX == 0).all()
    assert (nnmf.nnls_jvp(A, X, S, rng.random(A.shape), rng.random(X.shape)) == 0).all()
