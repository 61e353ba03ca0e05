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

from .._utils.collective import Local, agreed, as_collective, column_random
from .._utils.estimator import check_random_state
from .._utils.linalg import fit_sq, relative_error, square_safe_exponent
from .._utils.params import Interval, Options, check_param
from ..layer import (as_operand, blas_threads_for, check_matrix, check_shape, fortran, gram,
                     resolve_n_threads, solve_gram, solve_layer)
from ..exceptions import ConvergenceWarning

__all__ = ["nmf_anls", "layerwise_nmf", "nndsvd", "random_factor", "data_scale", "INITS"]

INITS = ("nndsvd", "random")
_POSITIVE = Interval("int", 1, None)


# Up to this many rows (features), the leading singular vectors come from X X^T (m x m, summed
# across processes when X is split by columns); beyond it from a randomized range finder, whose
# messages are m x (k + 10).
_EXACT_SVD_ROWS = 2048
_OVERSAMPLE, _POWER_ITERATIONS = 10, 4


def _tdot64(Xop, A):
    """A^T X in float64, computed in X's dtype."""
    return np.asarray(Xop.tdot(np.ascontiguousarray(A, dtype=Xop.dtype), 1), dtype=np.float64)


def _dot_t64(Xop, W):
    """X W^T in float64, computed in X's dtype."""
    return np.asarray(Xop.dot_t(np.asarray(W, dtype=Xop.dtype), 1), dtype=np.float64)


def _top_svd(Xop, k, rng, collective):
    """The k leading singular triplets of X, descending: U (m x k), s (k,), and Vt (k x n)
    for this process's columns. The same for any split of X's columns across processes (up
    to rounding): every sum over columns goes through ``collective``, and the random test
    matrix of the range finder is drawn per column block (column_random)."""
    m = Xop.shape[0]
    start, stop, n = collective.block(Xop.shape[1])
    # Squares of X's entries (X X^T, B B^T below) are formed from X * 2^-e, exact, so that
    # data far from unit scale (1e-200, 1e+200) neither underflows to a zero factor nor
    # overflows; the singular values are scaled back
    M = Xop.matrix
    e = max(collective.allgather(square_safe_exponent(M.data if sp.issparse(M) else M)))
    # The products with X run in X's dtype (a float32 fit never makes a float64 copy of X);
    # the small factorisations in float64
    if m <= _EXACT_SVD_ROWS:
        if e:
            M = M * 2.0 ** -e
        XXt = M @ M.T
        (XXt,) = collective.sum(XXt.toarray() if sp.issparse(XXt) else np.asarray(XXt))
        w, U = np.linalg.eigh(np.asarray(XXt, dtype=np.float64))
        order = np.argsort(w)[::-1][:k]
        U, s = U[:, order], np.ldexp(np.sqrt(np.maximum(w[order], 0.0)), e)
        Vt = _tdot64(Xop, U) / np.where(s > 0, s, 1.0)[:, None]
        return U, s, Vt
    width = min(k + _OVERSAMPLE, m, n)
    seed = int(rng.integers(2**63))
    Omega = column_random(seed, start, stop, width, kind="normal")   # n_local x width
    (Y,) = collective.sum(_dot_t64(Xop, Omega.T))                     # X Omega, m x width
    for _ in range(_POWER_ITERATIONS):
        Q = np.linalg.qr(Y)[0]
        (Y,) = collective.sum(_dot_t64(Xop, np.ldexp(_tdot64(Xop, Q), -e)))
    Q = np.linalg.qr(Y)[0]
    B = _tdot64(Xop, Q)                                               # Q^T X, local columns
    Be = np.ldexp(B, -e)
    (BBt,) = collective.sum(Be @ Be.T)
    w, Ub = np.linalg.eigh(BBt)
    order = np.argsort(w)[::-1][:k]
    Ub, s = Ub[:, order], np.ldexp(np.sqrt(np.maximum(w[order], 0.0)), e)
    return Q @ Ub, s, (Ub.T @ B) / np.where(s > 0, s, 1.0)[:, None]


def nndsvd(Xop, k, rng, collective=None):
    """NNDSVD's left factor (m x k, nonnegative): Boutsidis & Gallopoulos (2008). With a
    ``collective``, X's columns are split across its processes and the factor is the same on
    each."""
    collective = Local() if collective is None else collective
    U, s, Vt = _top_svd(Xop, k, rng, collective)
    vp, vn = np.maximum(Vt, 0), np.maximum(-Vt, 0)
    (vnorms,) = collective.sum(np.concatenate([(vp * vp).sum(axis=1), (vn * vn).sum(axis=1)]))
    vnorms = np.sqrt(vnorms)
    W = np.zeros((Xop.shape[0], k))
    for j in range(len(s)):
        up, un = np.maximum(U[:, j], 0), np.maximum(-U[:, j], 0)
        pos = np.linalg.norm(up) * vnorms[j]
        neg = np.linalg.norm(un) * vnorms[len(s) + j]
        x, norm = (up, pos) if pos >= neg else (un, neg)
        nx = np.linalg.norm(x)
        if nx > 0 and norm > 0:
            W[:, j] = np.sqrt(s[j] * norm) * x / nx
    return W


def data_scale(Xop, collective=None):
    """sqrt(mean(X) / 1) for the scale of random factors: the root mean square of X's
    nonzeros times its density, over every process's columns."""
    collective = Local() if collective is None else collective
    m, n = Xop.shape
    nnz = Xop.matrix.nnz if Xop.is_sparse else m * n
    xsq, nnz, n = collective.sum(Xop.sqnorm(), nnz, n)
    return np.sqrt(xsq / max(nnz, 1)) * nnz / max(m * n, 1)


def random_factor(Xop, k, rng, collective=None):
    """A uniform random m x k factor scaled to X (the same on every process of a
    ``collective``)."""
    mean = data_scale(Xop, collective)
    return rng.random((Xop.shape[0], k)) * np.sqrt(max(mean, np.finfo(float).tiny) / k)


def _column_sqnorms(Xop):
    M = Xop.matrix
    if Xop.is_sparse:
        return np.asarray(M.multiply(M).sum(axis=0)).ravel().astype(np.float64)
    return np.einsum("ij,ij->j", M, M, dtype=np.float64)


def _column(Xop, j):
    M = Xop.matrix
    return M[:, [j]].toarray().ravel() if Xop.is_sparse else np.asarray(M[:, j])


def _reseed_dead(Xop, A, S, C, col_sq, n_threads, collective):
    """Give components whose row of S is all zero (a column of A that the data never uses)
    the data columns that are worst approximated, over every process's columns, then
    re-solve S. Returns (A, S, C)."""
    (used,) = collective.sum((S > 0).any(axis=1).astype(np.float64))
    dead = np.flatnonzero(used == 0)
    if dead.size == 0 or dead.size == S.shape[0]:
        return A, S, C
    S64 = S.astype(np.float64, copy=False)
    resid = (col_sq - 2.0 * np.einsum("ij,ij->j", C, S64)
             + np.einsum("ij,ij->j", (A.T @ A) @ S64, S64))
    start = collective.block(S.shape[1])[0]
    local = np.argsort(-resid, kind="stable")[:dead.size]
    candidates = [c for part in collective.allgather(
        [(float(resid[j]), start + int(j)) for j in local]) for c in part]
    # the worst columns, ties to the first (as a stable sort over all columns would)
    worst = [j for _, j in sorted(candidates, key=lambda c: (-c[0], c[1]))[:dead.size]]
    columns = np.zeros((A.shape[0], dead.size))
    for i, j in enumerate(worst):
        if start <= j < start + S.shape[1]:
            columns[:, i] = _column(Xop, j - start)
    (columns,) = collective.sum(columns)
    A = A.copy()
    A[:, dead] = columns
    S, C, _, _ = solve_layer(fortran(A, Xop.dtype), Xop, fortran(S, Xop.dtype),
                             n_threads=n_threads)
    return A, S, C


def nmf_anls(X, k, *, A_init=None, S_init=None, init="nndsvd", max_iter=200, tol=1e-4,
             random_state=None, n_threads=None, callback=None, warn=True, comm=None):
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
    comm : mpi4py communicator, default=None
        Data-parallel over MPI: each rank passes its own block of X's columns (and of
        ``S_init``); A and the history are the same on every rank, S is the rank's block.
        None: one process.

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
    collective = as_collective(comm)
    Xop = agreed(collective, lambda: as_operand(X, nonnegative=True))
    with blas_threads_for(Xop, k):
        return _nmf_anls(Xop, k, A_init, S_init, init, max_iter, tol, random_state, n_threads,
                         callback, warn, collective)


def _solve_factor(S, Xt, At, n_threads, collective):
    """The A-half-step of ANLS: A^T = argmin_{A^T >= 0} ||X^T - S^T A^T||, warm-started from
    At. Its Gram matrix S S^T and right-hand side S X^T are sums over columns: each process
    forms its own, one sum makes them global."""
    # S^T is a row-major view of the core's column-major S: the layer takes a tall factor in
    # either order, so no transposed copy is made
    G = gram(S.T, n_threads)
    with np.errstate(over="ignore", invalid="ignore"):
        C = fortran(Xt.tdot(S.T, n_threads), Xt.dtype)
    Xt.ensure_finite(C, "S")
    G, C = collective.sum(G, C)
    return solve_gram(np.asfortranarray(G), fortran(C, Xt.dtype), At, n_threads=n_threads)[0]


def _nmf_anls(Xop, k, A_init, S_init, init, max_iter, tol, random_state, n_threads, callback,
              warn, collective):
    """nmf_anls on an Operand."""
    n_threads = resolve_n_threads(n_threads)
    m, n_local = Xop.shape
    error = None
    try:
        k = check_param(k, "k", [_POSITIVE])
        max_iter = check_param(max_iter, "max_iter", [_POSITIVE])
        tol = check_param(tol, "tol", [Interval("real", 0, None)])
        init = check_param(init, "init", [Options(*INITS)])
        if S_init is not None:
            S_init = check_matrix(S_init, "S_init", nonnegative=True)
            check_shape(S_init.shape, (k, n_local), "S_init", "k x n")
        if A_init is not None:
            A_init = check_matrix(A_init, "A_init", nonnegative=True)
            check_shape(A_init.shape, (m, k), "A_init", "m x k")
    except (TypeError, ValueError) as exc:
        error = exc
    collective.agree(error)
    n = collective.block(n_local)[2]
    if k > min(m, n):
        raise ValueError(f"rank k={k} exceeds min(m, n) = {min(m, n)} for X of shape {(m, n)}")
    rng = check_random_state(random_state)
    dtype = Xop.dtype
    Xt = Xop.transpose()
    (Xsq,) = collective.sum(Xop.sqnorm())
    col_sq = _column_sqnorms(Xop)

    if S_init is not None:
        S_init = fortran(S_init, dtype)
    if A_init is None and S_init is None:
        A_init = (nndsvd(Xop, k, rng, collective) if init == "nndsvd"
                  else random_factor(Xop, k, rng, collective))
    if A_init is not None:
        A = fortran(A_init, dtype)
        S, C, _, _ = solve_layer(A, Xop, S_init, n_threads=n_threads)
        A, S, C = _reseed_dead(Xop, A, S, C, col_sq, n_threads, collective)
        At = None
    else:
        A, S, At = None, S_init, None

    history = []
    converged = False
    for it in range(1, max_iter + 1):
        At = _solve_factor(S, Xt, At, n_threads, collective)
        A = At.T
        G = gram(A, n_threads)
        S, C, _, _ = solve_layer(A, Xop, S, n_threads=n_threads, G=G)
        A_used = A
        A, S, C = _reseed_dead(Xop, A, S, C, col_sq, n_threads, collective)
        At = fortran(A.T, dtype)
        G = G if A is A_used else gram(A, n_threads)
        f64 = [M.astype(np.float64, copy=False) for M in (C, S)]
        (fit,) = collective.sum(fit_sq(Xop.sqnorm(), f64[0], G, None, f64[1])[0])
        err = relative_error(fit, Xsq)
        history.append(err)
        if callback is not None and collective.any(
                callback(it, {"A": A, "S": S, "error": err}) is False):
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
                  n_threads=None, warn=True, comm=None):
    """Hierarchical NMF, one layer at a time: X ~= A_0 S_0, S_0 ~= A_1 S_1, ...

    Each layer is :func:`nmf_anls` of the previous layer's S with the next rank.

    Parameters
    ----------
    X : array-like, scipy sparse matrix or Operand of shape (m, n)
    ranks : sequence of int
        (k_0, ..., k_L).
    init, max_iter, tol, random_state, n_threads, warn, comm
        As in :func:`nmf_anls`, for every layer.

    Returns
    -------
    As : list of ndarray
        A_l of shape (k_{l-1}, k_l), with k_{-1} = m.
    Ss : list of ndarray
        S_l of shape (k_l, n); S_l = q(S_{l-1}, A_l) exactly.
    """
    rng = check_random_state(random_state)
    collective = as_collective(comm)
    Z = agreed(collective, lambda: as_operand(X, nonnegative=True))
    As, Ss = [], []
    for k in ranks:
        A, S, _ = nmf_anls(Z, k, init=init, max_iter=max_iter, tol=tol, random_state=rng,
                           n_threads=n_threads, warn=warn, comm=collective)
        As.append(A)
        Ss.append(S)
        Z = as_operand(S)
    return As, Ss
