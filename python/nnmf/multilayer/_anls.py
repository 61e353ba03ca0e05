"""NMF by alternating nonnegative least squares (ANLS) on the compiled NNLS layer, and
layer-wise (hierarchical) NMF built from it.

Each half-step is one exact NNLS solve of a whole factor, warm-started from the previous
iterate: S = q(X, A), then A^T = q(X^T, S^T). The relative error comes from the Gram algebra
||X - AS||^2 = ||X||^2 - 2<A^T X, S> + <A^T A S, S>, reusing the A^T X that the S-solve forms,
so a sparse X is never densified.

References
----------
N. Gillis, *Nonnegative Matrix Factorization*, SIAM, 2020 (block coordinate descent and
ANLS). https://doi.org/10.1137/1.9781611976410

C. Boutsidis and E. Gallopoulos, "SVD based initialization: A head start for nonnegative
matrix factorization", Pattern Recognition 41(4), 2008. https://doi.org/10.1016/j.patcog.2007.09.010
"""

import warnings

import numpy as np
import scipy.sparse as sp

from .._utils.estimator import check_random_state
from .._utils.linalg import fit_sq, relative_error
from .._utils.params import Interval, Options, check_param
from ..layer import (as_operand, blas_threads_for, check_matrix, check_shape, fortran, gram,
                     resolve_n_threads, solve_layer)
from ..exceptions import ConvergenceWarning

__all__ = ["nmf_anls", "layerwise_nmf", "nndsvd", "random_factor", "INITS"]

INITS = ("nndsvd", "random")
_POSITIVE = Interval("int", 1, None)


def _relative_error(Xsq, A, S, C, G):
    """||X - A S||_F / ||X||_F from ||X||^2 (Xsq), C = A^T X and G = A^T A (float64)."""
    f64 = [M.astype(np.float64, copy=False) for M in (C, S)]
    return relative_error(fit_sq(Xsq, f64[0], G, None, f64[1])[0], Xsq)


def _top_svd(Xop, k, rng):
    """The k leading singular triplets of X (U: m x k, s: k, Vt: k x n), descending."""
    m, n = Xop.shape
    M = Xop.matrix
    if not Xop.is_sparse and m * n <= 4_000_000:
        U, s, Vt = np.linalg.svd(np.asarray(M, dtype=np.float64), full_matrices=False)
        return U[:, :k], s[:k], Vt[:k]
    if k < min(m, n) - 1:
        import scipy.sparse.linalg as spla  # ARPACK: loaded only for large inputs

        v0 = rng.uniform(-1.0, 1.0, min(m, n))
        U, s, Vt = spla.svds(M.astype(np.float64), k=k, v0=v0)
        order = np.argsort(s)[::-1]
        return U[:, order], s[order], Vt[order]
    # k close to min(m, n): eigen-decomposition of the Gram matrix of the smaller side.
    transposed = m < n
    M = M.T if transposed else M
    gram = M.T @ M
    gram = gram.toarray() if sp.issparse(gram) else np.asarray(gram)
    w, V = np.linalg.eigh(gram.astype(np.float64))
    order = np.argsort(w)[::-1][:k]
    s = np.sqrt(np.maximum(w[order], 0.0))
    V = V[:, order]
    U = np.asarray(M @ V) / np.where(s > 0, s, 1.0)
    return (V, s, U.T) if transposed else (U, s, V.T)


def nndsvd(Xop, k, rng):
    """NNDSVD's left factor (m x k, nonnegative): Boutsidis & Gallopoulos (2008)."""
    U, s, Vt = _top_svd(Xop, k, rng)
    W = np.zeros((Xop.shape[0], k))
    for j in range(len(s)):
        u, v = U[:, j], Vt[j]
        up, un = np.maximum(u, 0), np.maximum(-u, 0)
        vp, vn = np.maximum(v, 0), np.maximum(-v, 0)
        pos = np.linalg.norm(up) * np.linalg.norm(vp)
        neg = np.linalg.norm(un) * np.linalg.norm(vn)
        x, y, norm = (up, vp, pos) if pos >= neg else (un, vn, neg)
        nx = np.linalg.norm(x)
        if nx > 0 and norm > 0:
            W[:, j] = np.sqrt(s[j] * norm) * x / nx
    return W


def random_factor(Xop, k, rng):
    m, n = Xop.shape
    nnz = Xop.matrix.nnz if Xop.is_sparse else m * n
    mean = np.sqrt(Xop.sqnorm() / max(nnz, 1)) * nnz / max(m * n, 1)
    return rng.random((m, k)) * np.sqrt(max(mean, np.finfo(float).tiny) / k)


def _column_sqnorms(Xop):
    M = Xop.matrix
    if Xop.is_sparse:
        return np.asarray(M.multiply(M).sum(axis=0)).ravel().astype(np.float64)
    return np.einsum("ij,ij->j", M, M, dtype=np.float64)


def _column(Xop, j):
    M = Xop.matrix
    return M[:, [j]].toarray().ravel() if Xop.is_sparse else np.asarray(M[:, j])


def _reseed_dead(Xop, A, S, C, col_sq, n_threads):
    """Give components whose row of S is all zero (a column of A that the data never uses)
    the data column that is worst approximated, then re-solve S. Returns (A, S, C)."""
    dead = np.flatnonzero(~(S > 0).any(axis=1))
    if dead.size == 0 or dead.size == S.shape[0]:
        return A, S, C
    S64 = S.astype(np.float64, copy=False)
    resid = (col_sq - 2.0 * np.einsum("ij,ij->j", C, S64)
             + np.einsum("ij,ij->j", (A.T @ A) @ S64, S64))
    worst = np.argsort(-resid, kind="stable")[:dead.size]
    A = A.copy()
    for i, j in zip(dead, worst):
        A[:, i] = _column(Xop, j)
    S, C, _, _ = solve_layer(fortran(A, Xop.dtype), Xop, fortran(S, Xop.dtype),
                             n_threads=n_threads)
    return A, S, C


def nmf_anls(X, k, *, A_init=None, S_init=None, init="nndsvd", max_iter=200, tol=1e-4,
             random_state=None, n_threads=None, callback=None, warn=True):
    """NMF X ~= A S by alternating nonnegative least squares, both factors solved exactly by
    the compiled NNLS layer.

    Parameters
    ----------
    X : array-like, scipy sparse matrix or Operand of shape (m, n)
        Nonnegative data, columns are samples. A sparse X is never densified.
    k : int
        Rank.
    A_init : array-like of shape (m, k), default=None
        Starting A (nonnegative). None: built by ``init``.
    S_init : array-like of shape (k, n), default=None
        Starting S. With ``A_init`` it is the warm start of the first S-solve; alone, the
        iteration starts with the A-solve. None: S = q(X, A_init).
    init : {"nndsvd", "random"}, default="nndsvd"
        How A is started when ``A_init`` is None: "nndsvd" is the nonnegative double SVD of
        Boutsidis & Gallopoulos (deterministic up to the SVD's signs); "random" is uniform
        on [0, sqrt(mean(X)/k)) from ``random_state``.
    max_iter : int, default=200
        Outer iterations (one A-solve and one S-solve each).
    tol : float, default=1e-4
        Stop when the relative error changes by less than ``tol`` (relatively) in one
        iteration.
    random_state : None, int or numpy.random.Generator, default=None
        Seeds "random" init and the sparse SVD's start vector.
    n_threads : int, default=None
        Threads of the core; None = OpenMP's maximum. Results do not depend on it.
    callback : callable, default=None
        ``callback(iteration, state)`` after each iteration with ``state`` a dict with keys
        "A", "S", "error"; returning False stops.
    warn : bool, default=True
        Issue a :class:`~nnmf.ConvergenceWarning` when ``max_iter`` is reached first.

    Returns
    -------
    A : ndarray of shape (m, k)
    S : ndarray of shape (k, n)
        Always the exact NNLS solution q(X, A) for the returned A.
    history : ndarray of shape (n_iter,)
        The relative error ||X - A S||_F / ||X||_F after each iteration.

    Notes
    -----
    Components the data stops using (an all-zero row of S) are re-seeded with the worst
    approximated data column, so the rank does not silently collapse.

    References
    ----------
    N. Gillis, *Nonnegative Matrix Factorization*, SIAM, 2020.
    https://doi.org/10.1137/1.9781611976410
    """
    Xop = as_operand(X, nonnegative=True)
    with blas_threads_for(Xop, k):
        return _nmf_anls(Xop, k, A_init, S_init, init, max_iter, tol, random_state, n_threads,
                         callback, warn)


def _nmf_anls(Xop, k, A_init, S_init, init, max_iter, tol, random_state, n_threads, callback,
              warn):
    """nmf_anls on an Operand."""
    n_threads = resolve_n_threads(n_threads)
    m, n = Xop.shape
    k = check_param(k, "k", [_POSITIVE])
    if k > min(m, n):
        raise ValueError(f"rank k={k} exceeds min(m, n) = {min(m, n)} for X of shape {(m, n)}")
    max_iter = check_param(max_iter, "max_iter", [_POSITIVE])
    tol = check_param(tol, "tol", [Interval("real", 0, None)])
    init = check_param(init, "init", [Options(*INITS)])
    rng = check_random_state(random_state)
    dtype = Xop.dtype
    Xt = Xop.transpose()
    Xsq = Xop.sqnorm()
    col_sq = _column_sqnorms(Xop)

    if S_init is not None:
        S_init = check_matrix(S_init, "S_init", nonnegative=True)
        check_shape(S_init.shape, (k, n), "S_init", "k x n")
        S_init = fortran(S_init, dtype)
    if A_init is None and S_init is None:
        A_init = nndsvd(Xop, k, rng) if init == "nndsvd" else random_factor(Xop, k, rng)
    if A_init is not None:
        A_init = check_matrix(A_init, "A_init", nonnegative=True)
        check_shape(A_init.shape, (m, k), "A_init", "m x k")
        A = fortran(A_init, dtype)
        S, C, _, _ = solve_layer(A, Xop, S_init, n_threads=n_threads)
        A, S, C = _reseed_dead(Xop, A, S, C, col_sq, n_threads)
        At = None
    else:
        A, S, At = None, S_init, None

    history = []
    converged = False
    for it in range(1, max_iter + 1):
        # S^T and A = At^T are row-major views of the core's column-major outputs: the
        # layer takes a tall factor in either order, so no transposed copies are made
        At, _, _, _ = solve_layer(S.T, Xt, At, n_threads=n_threads)
        A = At.T
        G = gram(A, n_threads)
        S, C, _, _ = solve_layer(A, Xop, S, n_threads=n_threads, G=G)
        A_used = A
        A, S, C = _reseed_dead(Xop, A, S, C, col_sq, n_threads)
        At = fortran(A.T, dtype)
        err = _relative_error(Xsq, A, S, C, G if A is A_used else gram(A, n_threads))
        history.append(err)
        if callback is not None and callback(it, {"A": A, "S": S, "error": err}) is False:
            converged = True
            break
        if it > 1 and abs(history[-2] - err) <= tol * max(history[-2], np.finfo(float).tiny):
            converged = True
            break
        if err == 0.0:
            converged = True
            break
    if warn and not converged:
        warnings.warn(
            f"ANLS reached max_iter={max_iter} before the relative error changed by less "
            f"than tol={tol}; increase max_iter", ConvergenceWarning, stacklevel=2)
    return np.asarray(A), np.asarray(S), np.asarray(history)


def layerwise_nmf(X, ranks, *, init="nndsvd", max_iter=200, tol=1e-4, random_state=None,
                  n_threads=None, warn=True):
    """Hierarchical NMF, one layer at a time: X ~= A_0 S_0, S_0 ~= A_1 S_1, ...

    Each layer is :func:`nmf_anls` of the previous layer's S with the next rank.

    Parameters
    ----------
    X : array-like, scipy sparse matrix or Operand of shape (m, n)
    ranks : sequence of int
        (k_0, ..., k_L).
    init, max_iter, tol, random_state, n_threads, warn
        As in :func:`nmf_anls`, for every layer.

    Returns
    -------
    As : list of ndarray
        A_l of shape (k_{l-1}, k_l), with k_{-1} = m.
    Ss : list of ndarray
        S_l of shape (k_l, n); S_l = q(S_{l-1}, A_l) exactly.
    """
    rng = check_random_state(random_state)
    Z = as_operand(X, nonnegative=True)
    As, Ss = [], []
    for k in ranks:
        A, S, _ = nmf_anls(Z, k, init=init, max_iter=max_iter, tol=tol, random_state=rng,
                           n_threads=n_threads, warn=warn)
        As.append(A)
        Ss.append(S)
        Z = as_operand(S)
    return As, Ss
