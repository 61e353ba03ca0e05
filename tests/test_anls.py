"""NMF by alternating NNLS on the core, layer-wise NMF, and the Operand helpers they use."""

import numpy as np
import pytest
import scipy.sparse as sp

from nnmf import ConvergenceWarning, nnls
from nnmf.layer import as_operand
from nnmf.multilayer import layerwise_nmf, nmf_anls, reconstruction_error
from nnmf._utils.collective import Local
from nnmf.multilayer import _anls
from nnmf._utils.estimator import check_random_state


def _planted(m=40, n=50, k=4, seed=0, density=None):
    rng = np.random.default_rng(seed)
    A = rng.random((m, k)) * (rng.random((m, k)) < 0.5)
    S = rng.random((k, n)) * (rng.random((k, n)) < 0.6)
    A[np.arange(k), np.arange(k)] = 1.0  # every topic used, identifiable
    S[np.arange(k), np.arange(k)] = 1.0
    return A @ S


@pytest.mark.parametrize("init", ["nndsvd", "random"])
def test_anls_fits_planted_nmf_monotonically(init):
    X = _planted()
    A, S, history = nmf_anls(X, 4, init=init, random_state=0, n_threads=1, tol=1e-8,
                             max_iter=300, warn=False)
    assert A.shape == (40, 4) and S.shape == (4, 50)
    assert (A >= 0).all() and (S >= 0).all()
    assert history[-1] < 1e-3
    # exact block minimisation never increases the error; the Gram algebra resolves a relative
    # error only down to about sqrt(machine epsilon), below which its steps are roundoff
    steps = np.diff(history)
    assert np.all(steps[history[1:] > 1e-6] <= 1e-12)
    assert np.all(steps <= 1e-7)
    assert history[-1] == pytest.approx(np.linalg.norm(X - A @ S) / np.linalg.norm(X),
                                        rel=1e-6, abs=1e-6)
    np.testing.assert_allclose(S, nnls(A, X, n_threads=1), atol=1e-10)  # S = q(X, A)


def test_anls_sparse_matches_dense():
    X = _planted(seed=1)
    X[X < 0.3] = 0
    Xs = sp.csc_matrix(X)
    dense = nmf_anls(X, 3, random_state=0, n_threads=1, warn=False, max_iter=20)
    sparse = nmf_anls(Xs, 3, random_state=0, n_threads=1, warn=False, max_iter=20)
    for a, b in zip(dense, sparse):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)
    # a CSR input gives the same result as its CSC
    csr = nmf_anls(sp.csr_matrix(X), 3, random_state=0, n_threads=1, warn=False, max_iter=20)
    np.testing.assert_allclose(csr[0], sparse[0], rtol=1e-10, atol=1e-12)


def test_anls_deterministic_and_thread_independent():
    X = sp.random(60, 45, density=0.3, random_state=2, format="csc")
    runs = [nmf_anls(X, 5, init="random", random_state=7, n_threads=t, warn=False,
                     max_iter=15) for t in (1, 2, 1)]
    for run in runs[1:]:
        for a, b in zip(runs[0], run):
            np.testing.assert_array_equal(a, b)


def test_anls_warm_starts_and_callback():
    X = _planted(seed=3)
    A, S, h = nmf_anls(X, 4, random_state=0, n_threads=1, warn=False, max_iter=50)
    # restarting from the solution converges at once, from A alone or from S alone
    A2, S2, h2 = nmf_anls(X, 4, A_init=A, S_init=S, n_threads=1, max_iter=5, warn=False)
    assert h2[0] <= h[-1] * (1 + 1e-6) + 1e-7
    _, _, h3 = nmf_anls(X, 4, S_init=S, n_threads=1, max_iter=5, warn=False)
    assert h3[0] <= h[-1] * (1 + 1e-3) + 1e-8
    seen = []

    def stop(it, state):
        seen.append((it, state["error"]))
        assert set(state) == {"A", "S", "error"}
        return it < 3
    _, _, h4 = nmf_anls(X, 4, random_state=0, n_threads=1, callback=stop, max_iter=50)
    assert len(h4) == 3 and [s[0] for s in seen] == [1, 2, 3]


def test_anls_convergence_warning():
    X = _planted(seed=4)
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        nmf_anls(X, 4, init="random", random_state=0, n_threads=1, max_iter=2, tol=0)
    nmf_anls(X, 4, init="random", random_state=0, n_threads=1, max_iter=2, tol=0, warn=False)


def test_anls_reseeds_dead_components():
    X = _planted(seed=5, k=3)
    A0 = np.random.default_rng(0).random((40, 3))
    A0[:, 1] = 0  # a component the data never uses
    A, S, _ = nmf_anls(X, 3, A_init=A0, n_threads=1, warn=False, max_iter=100, tol=1e-8)
    assert (S > 0).any(axis=1).all()
    assert np.linalg.norm(X - A @ S) / np.linalg.norm(X) < 1e-2


def test_anls_bad_input():
    X = _planted()
    with pytest.raises(ValueError, match="exceeds min"):
        nmf_anls(X, 41, n_threads=1)
    with pytest.raises(ValueError, match="k must be a positive int"):
        nmf_anls(X, 0, n_threads=1)
    with pytest.raises(ValueError, match="init must be one of"):
        nmf_anls(X, 3, init="svd", n_threads=1)
    with pytest.raises(ValueError, match="nonnegative"):
        nmf_anls(-X, 3, n_threads=1)
    with pytest.raises(ValueError, match="max_iter"):
        nmf_anls(X, 3, max_iter=0, n_threads=1)
    with pytest.raises(ValueError, match="tol"):
        nmf_anls(X, 3, tol=-1.0, n_threads=1)
    with pytest.raises(ValueError, match="A_init has shape"):
        nmf_anls(X, 3, A_init=np.ones((5, 3)), n_threads=1)
    with pytest.raises(ValueError, match="S_init has shape"):
        nmf_anls(X, 3, S_init=np.ones((3, 5)), n_threads=1)
    with pytest.raises(ValueError, match="random_state"):
        check_random_state("seed")


def test_relative_error_by_gram_algebra():
    rng = np.random.default_rng(0)
    X, A, S = rng.random((20, 15)), rng.random((20, 3)), rng.random((3, 15))
    for As in ([A], [A[:, :2] * 2, np.array([[0.5, 0, 1], [0, 0.5, 0]])]):
        P = As[0] if len(As) == 1 else As[0] @ As[1]
        assert reconstruction_error(as_operand(X), As, S, 1) == pytest.approx(
            np.linalg.norm(X - P @ S) / np.linalg.norm(X), rel=1e-12)
    # an all-zero X is fitted exactly: every nonnegative least-squares S of it is zero
    assert reconstruction_error(as_operand(np.zeros((20, 15))), [A], 0 * S, 1) == 0.0


@pytest.mark.parametrize("exact_rows", [2048, 0])   # X X^T, or the randomized range finder
def test_top_svd_matches_numpy(monkeypatch, exact_rows):
    monkeypatch.setattr(_anls, "_EXACT_SVD_ROWS", exact_rows)
    rng = np.random.default_rng(1)
    X = rng.random((300, 8)) @ rng.random((8, 200)) + 0.01 * rng.random((300, 200))
    U0, s0, Vt0 = np.linalg.svd(X, full_matrices=False)
    for data in (X, sp.csc_matrix(X)):
        U, s, Vt = _anls._top_svd(as_operand(data), 4, np.random.default_rng(0), Local())
        np.testing.assert_allclose(s, s0[:4], rtol=1e-10)
        signs = np.sign(np.sum(U * U0[:, :4], axis=0))   # singular vectors up to sign
        np.testing.assert_allclose(U * signs, U0[:, :4], atol=1e-8)
        np.testing.assert_allclose(Vt * signs[:, None], Vt0[:4], atol=1e-8)
    U, s, Vt = _anls._top_svd(as_operand(X[:, :12]), 12, np.random.default_rng(0), Local())
    np.testing.assert_allclose(U @ np.diag(s) @ Vt, X[:, :12], atol=1e-9)  # k = min(m, n)


def test_layerwise_nmf_is_a_chain_of_exact_layers():
    X = _planted(m=50, n=60, k=6, seed=6)
    As, Ss = layerwise_nmf(X, (6, 3, 2), random_state=0, n_threads=1, warn=False)
    assert [A.shape for A in As] == [(50, 6), (6, 3), (3, 2)]
    assert [S.shape for S in Ss] == [(6, 60), (3, 60), (2, 60)]
    Z = X
    for A, S in zip(As, Ss):
        np.testing.assert_allclose(S, nnls(A, Z, n_threads=1), atol=1e-9)
        Z = S
    assert np.linalg.norm(X - As[0] @ Ss[0]) / np.linalg.norm(X) < 1e-3


@pytest.mark.parametrize("sparse", [False, True])
def test_operand_transpose_and_columns(sparse):
    rng = np.random.default_rng(0)
    X = rng.random((7, 5)) * (rng.random((7, 5)) < 0.6)
    op = as_operand(sp.csc_matrix(X) if sparse else X)
    t = op.transpose()
    assert t.shape == (5, 7) and t.is_sparse == sparse
    A, W = rng.random((5, 2)), rng.random((2, 7))
    np.testing.assert_allclose(t.tdot(A, 1), A.T @ X.T)
    np.testing.assert_allclose(t.dot_t(W, 1), X.T @ W.T)
    assert t.sqnorm() == pytest.approx(op.sqnorm())
    np.testing.assert_allclose(t.transpose().tdot(rng.random((7, 2)), 1).shape, (2, 5))
    cols = op.columns(np.array([4, 0, 2]))
    assert cols.shape == (7, 3)
    B = rng.random((7, 3))
    np.testing.assert_allclose(cols.tdot(B, 1), B.T @ X[:, [4, 0, 2]])


def test_anls_holds_blas_to_one_thread_when_the_core_does_every_product():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    X = sp.random(60, 40, density=0.2, random_state=0, format="csr")
    seen = []

    def callback(it, state):
        seen.extend(p["num_threads"] for p in threadpoolctl.threadpool_info()
                    if p["user_api"] == "blas")

    nmf_anls(X, 3, max_iter=3, tol=0.0, random_state=0, callback=callback, warn=False)
    assert seen and set(seen) == {1}
    seen.clear()  # a dense X whose products go to BLAS keeps BLAS's threads
    nmf_anls(np.random.default_rng(0).random((80, 70)), 65, max_iter=2, tol=0.0,
             random_state=0, callback=callback, warn=False)
    assert seen and set(seen) == {p["num_threads"] for p in threadpoolctl.threadpool_info()
                                  if p["user_api"] == "blas"}
