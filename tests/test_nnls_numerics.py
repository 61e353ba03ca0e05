"""The layer's numerics at the edges of double precision, against scipy.optimize.nnls: columns of
A with tiny or huge norms (scaled before the Gram matrix is formed), near-collinear columns
(solved from a QR of A, never from A^T A), and solutions that overflow float32 (an error,
never an infinity)."""

import warnings

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp

import nnmf
from nnmf.layer import _core

RNG = np.random.default_rng(7)


def _scipy(A, X):
    return np.column_stack([scipy.optimize.nnls(A, x)[0] for x in X.T])


def _objective(A, X, S):
    return np.linalg.norm(A @ S - X, axis=0)


def _close(a, b, rtol):
    """Entrywise relative agreement, with entries far below the largest treated as zero."""
    scale = np.abs(b).max(axis=0, keepdims=True)
    return np.all(np.abs(a - b) <= rtol * np.maximum(np.abs(b), 1e-6 * scale))


# ------------------------------------------------------------- tiny and huge columns of A


def test_tiny_column_matches_scipy():
    S, info = nnmf.nnls([[1e-160]], [[1.0]], return_info=True)
    ref = scipy.optimize.nnls(np.array([[1e-160]]), np.array([1.0]))[0]
    assert S[0, 0] == pytest.approx(ref[0], rel=1e-12) and S[0, 0] == pytest.approx(1e160)
    assert info.converged.all()


# column scales spanning double's range, and scales of X
COLUMN_SCALES = [1e-160, 1.0, 1e160, 1e-100, 1e100]


@pytest.mark.parametrize("columns,x_scale", [
    ("mixed", 1.0), ("mixed", 1e-30), ("all tiny", 1.0), ("all tiny", 1e-200),
    ("all huge", 1.0), ("all huge", 1e150)])
def test_scaled_columns_match_scipy(columns, x_scale):
    # scipy solves the well-scaled problem; q(c X, A D) = c D^-1 q(X, A) gives the answer
    A0, X0 = RNG.random((30, 5)), RNG.random((30, 8))  # some entries of the solution zero
    d = {"mixed": np.array(COLUMN_SCALES), "all tiny": np.full(5, 1e-160),
         "all huge": np.full(5, 1e160)}[columns]
    with np.errstate(over="ignore", under="ignore"):
        expected = x_scale * _scipy(A0, X0) / d[:, None]
    assert np.isfinite(expected).all() and expected[expected > 0].min() > 1e-290
    S, info = nnmf.nnls(A0 * d, X0 * x_scale, return_info=True)
    assert info.converged.all()
    assert _close(S, expected, 1e-9)
    assert np.array_equal(S > 0, expected > 0)


def test_tiny_X_matches_scipy():
    A, X = RNG.random((40, 6)), RNG.random((40, 9)) * 1e-200
    S = nnmf.nnls(A, X)
    assert _close(S, _scipy(A, X * 1e200) * 1e-200, 1e-9)


def test_derivatives_with_scaled_columns():
    # S_d = q(X, A D) = D^-1 S, so a loss with upstream gradient D g in S_d has gradient g in
    # S: its VJP in A D is the VJP in A times D^-1, its dX the same; the JVP along (dA D, dX)
    # is D^-1 times the JVP along (dA, dX)
    A, X = RNG.random((25, 4)), RNG.random((25, 6))
    d = np.array([1e-160, 1.0, 1e160, 2.0 ** -600])
    S = nnmf.nnls(A, X)
    g = RNG.standard_normal(S.shape)
    S_d = nnmf.nnls(A * d, X)
    assert _close(S_d, S / d[:, None], 1e-10)
    dA_d, dX_d = nnmf.nnls_vjp(A * d, X, S_d, g * d[:, None])
    dA, dX = nnmf.nnls_vjp(A, X, S, g)
    assert _close(dA_d * d, dA, 1e-9)
    assert np.allclose(dX_d, dX, rtol=1e-9, atol=1e-12 * np.abs(dX).max())
    dA_in, dX_in = RNG.standard_normal(A.shape), RNG.standard_normal(X.shape)
    dS_d = nnmf.nnls_jvp(A * d, X, S_d, dA_in * d, dX_in)
    dS = nnmf.nnls_jvp(A, X, S, dA_in, dX_in)
    assert _close(dS_d * d[:, None], dS, 1e-9)


@pytest.mark.parametrize("scale", [1e-200, 1e150])
@pytest.mark.parametrize("name", ["NMF", "HierarchicalNMF", "DeepNMF"])
def test_baselines_report_the_true_relative_error(name, scale):
    # ||X||^2 under- or overflows double: the reported error must still be the fitted
    # model's ||X - P S|| / ||X||, here computed directly on the residual divided by the scale
    X = RNG.random((30, 20))
    kwargs = {"init": "random", "random_state": 0}
    model = nnmf.NMF(3, **kwargs) if name == "NMF" else \
        getattr(nnmf, name)((3, 2), max_iter=20, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnmf.exceptions.ConvergenceWarning)
        model.fit(X * scale)
    P = np.linalg.multi_dot(model.A_) if isinstance(model.A_, list) else model.A_
    S = model.S_[-1] if isinstance(model.S_, list) else model.S_
    direct = np.linalg.norm((X * scale - P @ S) / scale) / np.linalg.norm(X)
    assert 0.05 < direct <= 1.0
    assert model.reconstruction_err_ == pytest.approx(direct, rel=1e-6)


@pytest.mark.parametrize("rows", [40, 2100])  # X X^T exactly; the randomized range finder
@pytest.mark.parametrize("name", ["NMF", "HierarchicalNMF", "DeepNMF", "supervised"])
def test_the_baselines_fit_data_of_any_scale_alike(name, rows):
    # Squares of X * 1e-200 underflow (NNDSVD's X X^T once gave a zero start: A = 0, error 1;
    # DeepNMF's updates square S) and those of X * 1e150 overflow: the baselines fit X scaled
    # by a power of two, exactly, so every scale gives the unscaled fit, S scaled
    X = np.random.default_rng(1).random((rows, 30))
    y = np.arange(30) % 3
    make = {"NMF": lambda: nnmf.NMF(4, random_state=0),
            "HierarchicalNMF": lambda: nnmf.HierarchicalNMF((4, 2), random_state=0),
            "DeepNMF": lambda: nnmf.DeepNMF((4, 2), random_state=0, max_iter=30),
            "supervised": lambda: nnmf.HierarchicalNMF((4, 3), random_state=0)}[name]
    fits = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnmf.exceptions.ConvergenceWarning)
        for c in (1.0, 1e150, 1e-200):
            fits.append(make().fit(X * c, y if name == "supervised" else None))
    def fitted(model):  # the model's reconstruction of X
        As = model.A_ if isinstance(model.A_, list) else [model.A_]
        return np.linalg.multi_dot(As + [model.S_[-1] if isinstance(model.S_, list)
                                         else model.S_]) if len(As) > 1 else As[0] @ model.S_

    ref = fits[0]
    for c, model in zip((1e150, 1e-200), fits[1:]):
        assert model.reconstruction_err_ == pytest.approx(ref.reconstruction_err_, rel=1e-9)
        np.testing.assert_allclose(fitted(model) / c, fitted(ref), rtol=1e-6,
                                   atol=1e-9 * np.abs(X).max())
        if name == "supervised":
            np.testing.assert_array_equal(model.transduction_, ref.transduction_)


# ------------------------------------------------------------- near-collinear columns


def test_near_collinear_matches_scipy():
    A = np.array([[1e-8, 0.0], [1.0, -1.0]])
    x = np.array([1e-8, 1e-12])
    ref, ref_obj = scipy.optimize.nnls(A, x)
    S, info = nnmf.nnls(A, x[:, None], return_info=True)
    assert info.converged.all()
    # scipy's own answer is 1e-8 off the exact (1, 1 - 1e-12) (A's condition number is 2e8)
    assert np.allclose(S[:, 0], ref, rtol=1e-7)
    assert np.linalg.norm(A @ S[:, 0] - x) <= max(ref_obj, 1e-15) * 10


def _near_collinear(m, k, n, angle):
    """A with pairs of columns at `angle` from each other, and X that needs both of a pair."""
    A = RNG.random((m, k))
    for j in range(1, k, 2):
        u = RNG.standard_normal(m)
        u -= A[:, j - 1] * (u @ A[:, j - 1]) / (A[:, j - 1] @ A[:, j - 1])
        A[:, j] = A[:, j - 1] + angle * np.linalg.norm(A[:, j - 1]) * u / np.linalg.norm(u)
    X = A @ RNG.random((k, n)) + 1e-3 * RNG.random((m, n))
    return A, X


@pytest.mark.parametrize("angle", [1e-6, 1e-9])
def test_near_collinear_random_problems(angle):
    A, X = _near_collinear(60, 8, 40, angle)
    assert _core.gram_rcond(np.asfortranarray(A.T @ A)) < _core.triangular_rcond
    S, info = nnmf.nnls(A, X, return_info=True)
    assert info.converged.all() and (S >= 0).all()
    ours, theirs = _objective(A, X, S), _objective(A, X, _scipy(A, X))
    assert np.all(ours <= theirs * (1 + 1e-9) + 1e-13 * np.linalg.norm(X, axis=0))
    # the same bits for any thread count, and a warm start reaches the same solution
    assert np.array_equal(S, nnmf.nnls(A, X, n_threads=2))
    S_warm = nnmf.nnls(A, X, init=S)
    assert np.all(_objective(A, X, S_warm) <= ours * (1 + 1e-12) + 1e-15)


def test_near_collinear_float32_and_sparse():
    A, X = _near_collinear(50, 6, 20, 1e-6)
    S64 = nnmf.nnls(A, X)
    S32 = nnmf.nnls(A.astype(np.float32), X.astype(np.float32))
    assert S32.dtype == np.float32
    # the sparse kernel sums Q^T X in its own order: equal to the dense result up to rounding
    # (bitwise in the release build, not in every build, e.g. the sanitizer's)
    np.testing.assert_allclose(nnmf.nnls(A, sp.csc_matrix(X)), S64, rtol=1e-9,
                               atol=1e-12 * np.abs(S64).max())
    ours32 = _objective(A, X, S32.astype(np.float64))
    assert np.all(ours32 <= _objective(A, X, S64) + 1e-4 * np.linalg.norm(X, axis=0))


def test_repeated_columns_still_fine():
    A = RNG.random((20, 3))
    A = np.column_stack([A, A[:, 0]])  # A^T A singular: solved in the triangular form
    X = RNG.random((20, 5))
    S, info = nnmf.nnls(A, X, return_info=True)
    assert info.converged.all()
    ours, theirs = _objective(A, X, S), _objective(A, X, _scipy(A, X))
    assert np.allclose(ours, theirs, rtol=1e-10)


# ------------------------------------------------------------- overflow of float32 results


def test_float32_solution_overflow_raises():
    # A's columns tiny for float32 (scaled first, then scaled back)
    A = np.full((2, 1), 1e-30, np.float32)
    X = np.full((2, 1), 1e30, np.float32)
    with pytest.raises(ValueError, match="S overflows float32"):
        nnmf.nnls(A, X)
    # A's columns of a plain scale, X huge: the core's own check
    A = np.array([[1e-3], [2e-3]], np.float32)
    X = np.full((2, 3), 3e37, np.float32)
    with pytest.raises(ValueError, match="S overflows float32"):
        nnmf.nnls(A, X)
    S = nnmf.nnls(A.astype(np.float64), X)
    assert np.isfinite(S).all() and S.max() > 1e39


def test_float32_derivative_overflow_raises():
    A = np.array([[1e-3, 0.0], [0.0, 2e-3], [1e-3, 1e-3]], np.float32)
    X = np.ones((3, 2), np.float32)
    S = nnmf.nnls(A, X)
    G = np.full(S.shape, 3e37, np.float32)
    with pytest.raises(ValueError, match="overflows float32"):
        nnmf.nnls_vjp(A, X, S, G)
    with pytest.raises(ValueError, match="overflows float32"):
        nnmf.nnls_jvp(A, X, S, None, np.full(X.shape, 3e37, np.float32))
