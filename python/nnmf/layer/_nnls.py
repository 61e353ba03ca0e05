"""The Neural NMF layer q(X, A) = argmin_{S >= 0} ||X - A S||_F^2 and its exact derivatives.

The big products with X (A^T X, X W^T) go to the core's kernels (dense X in either memory
order up to rank 64, beyond that numpy's BLAS; sparse X: the column-parallel sparse kernel);
the per-column active-set solves and the solves on the support run in the compiled core, in
parallel over columns, with the GIL released.
"""

from collections import namedtuple
import warnings

import numpy as np

from . import _core
from .._utils.linalg import times
from .._utils.params import Interval, check_param
from ._operand import as_operand
from ._validation import check_matrix, check_shape, float_dtype, fortran, resolve_n_threads, tall
from ..exceptions import ConvergenceWarning

__all__ = ["nnls", "nnls_vjp", "nnls_jvp", "NNLSInfo"]

NNLSInfo = namedtuple("NNLSInfo", ["n_iter", "converged"])
NNLSInfo.__doc__ = """Per-column diagnostics of :func:`nnls`.

n_iter : ndarray of int, shape (n,)
    Passive-set changes (active-set iterations) each column took.
converged : ndarray of bool, shape (n,)
    Whether each column met the KKT conditions within ``max_iter``.
"""


def _check_A(A, X_shape):
    # NaN and infinity in A are caught by gram() below, without a pass over A of their own
    A = check_matrix(A, "A", finite=False)
    if A.shape[0] != X_shape[0]:
        raise ValueError(
            f"A has shape {A.shape} and X has shape {tuple(X_shape)}: "
            "they must have the same number of rows")
    return A


def gram(A, n_threads):
    """A^T A in float64, computed by the core (see cpp/nnmf/kernels/tall.hpp for why not BLAS).
    Raises a ValueError if A holds NaN or infinity: then a diagonal entry sum_r A_ri^2 is
    not finite, so checking the k diagonal entries stands in for a pass over A."""
    G = _core.gram(tall(A, float_dtype(A)), n_threads)
    if not np.isfinite(np.diagonal(G)).all():
        check_matrix(A, "A")  # names NaN or infinity
        raise ValueError("A's entries are too large: A^T A overflows float64")
    return G


def _check_optional(M, name, shape, dtype):
    if M is None:
        return None
    M = check_matrix(M, name)
    check_shape(M.shape, shape, name, "k x n, like S")
    return fortran(M, dtype)


def nnls(A, X, *, init=None, max_iter=None, tol=None, n_threads=None, return_info=False):
    """Nonnegative least squares for every column at once: S = argmin_{S >= 0} ||X - A S||_F^2.

    Parameters
    ----------
    A : array-like of shape (m, k)
        Any real matrix (Neural NMF passes nonnegative ones). Zero or repeated columns are fine.
    X : array-like or scipy sparse matrix of shape (m, n)
        Dense (any memory order, read-only is fine) or sparse (CSC or CSR; any other scipy
        format is converted to CSC once). A sparse X is never densified.
    init : array-like of shape (k, n), default=None
        A previous solution (warm start): the positive entries of each column seed its passive
        set and the active-set method starts from them. After a small change of A this takes
        far fewer iterations than a cold start, and reaches the same minimiser.
    max_iter : int, default=None
        Passive-set changes allowed per column; None means ``10 * k + 10``. Columns that hit
        the limit keep their last feasible iterate and a :class:`ConvergenceWarning` is issued.
    tol : float, default=None
        Relative KKT tolerance: a zero entry may stay zero while its gradient violation is at
        most ``tol`` times the magnitude of the terms that make it up. None means
        ``64 * k * eps`` (float64 machine epsilon).
    n_threads : int, default=None
        OpenMP threads for the column solves and sparse products; None = OpenMP's maximum
        (honours OMP_NUM_THREADS), -1 = all, -2 = all but one. Results are identical for any
        thread count.
    return_info : bool, default=False
        Also return an :class:`NNLSInfo` with per-column iteration counts and flags.

    Returns
    -------
    S : ndarray of shape (k, n)
        float32 when A and X are both float32, float64 otherwise. With float32 inputs the
        products with X are computed in float32 (the core's kernels or BLAS sgemm) and the
        k x k solves in float64, then rounded to float32.
    info : NNLSInfo
        Only when ``return_info`` is true.

    Examples
    --------
    >>> import numpy as np, nnmf
    >>> rng = np.random.default_rng(0)
    >>> A, X = rng.random((50, 4)), rng.random((50, 6))
    >>> S = nnmf.nnls(A, X)
    >>> S.shape, bool((S >= 0).all())
    ((4, 6), True)
    """
    Xop = as_operand(X, defer_check=True)
    A = _check_A(A, Xop.shape)
    dtype = float_dtype(A, Xop)
    Xop = Xop.astype(dtype)
    k, n = A.shape[1], Xop.shape[1]
    init = _check_optional(init, "init", (k, n), dtype)
    # 0 selects the core's defaults
    max_iter = check_param(max_iter, "max_iter", [None, Interval("int", 1, None)]) or 0
    tol = check_param(tol, "tol", [None, Interval("real", 0, None, closed="neither")]) or 0.0
    S, _, n_iter, converged = solve_layer(tall(A, dtype), Xop, init,
                                          n_threads=resolve_n_threads(n_threads),
                                          max_iter=max_iter, tol=tol)
    if not converged.all():
        warnings.warn(
            f"nnls: {int((~converged).sum())} of {n} columns reached max_iter before meeting "
            "the KKT tolerance; increase max_iter", ConvergenceWarning, stacklevel=2)
    return (S, NNLSInfo(n_iter, converged)) if return_info else S


def solve_layer(A, Xop, init=None, *, n_threads, max_iter=0, tol=0.0, G=None):
    """The layer on validated inputs (A of Xop's dtype; init Fortran-ordered, or None for a
    cold start, which the core solves without reading a k x n start).
    Returns (S, C, n_iter, converged) with C = A^T X, which loss evaluations reuse.
    max_iter/tol <= 0 select the core's defaults; G = gram(A) when the caller has it."""
    G = gram(A, n_threads) if G is None else G  # first: it checks A
    with np.errstate(over="ignore", invalid="ignore"):
        C = fortran(Xop.tdot(A, n_threads), A.dtype)
    Xop.ensure_finite(C, "A")
    S, n_iter, converged = solve_gram(G, C, init, n_threads=n_threads, max_iter=max_iter,
                                      tol=tol)
    return S, C, n_iter, converged


def solve_gram(G, C, init=None, *, n_threads, max_iter=0, tol=0.0):
    """The active-set solves alone, on a given Gram matrix: every column of
    argmin_{S >= 0} 1/2 <S, G S> - <C, S>, for G = A^T A (k x k, float64) and C = A^T X
    (k x n, column-ordered, float32 or float64; S comes in C's dtype). ``init``: a
    column-ordered warm start, or None. Returns (S, n_iter, converged)."""
    return _core.nnls_gram(G, C, init, max_iter, tol, n_threads)


def support_solve(G, S, R, *, n_threads):
    """W with W[P, j] = (G[P, P])^{-1} R[P, j] on the support P of each column of S (where
    S > 0) and 0 elsewhere: the solve of the layer's derivatives (pseudo-inverse where G[P, P]
    is singular). G float64; S and R column-ordered of one dtype."""
    return _core.support_solve(G, S, R, n_threads)


def nnls_vjp(A, X, S, G, *, need_dX=True, n_threads=None):
    """Vector-Jacobian product of S = nnls(A, X): the gradients of a loss L(S) with respect
    to A and X, given G = dL/dS.

    Exact on the support of S (almost everywhere): per column, with P the entries where
    S > 0, w[P] = (A_P^T A_P)^{-1} g[P] and w = 0 elsewhere; then dL/dX = A W and
    dL/dA = X W^T - A (S W^T + W S^T). The m x n residual is never formed, so a sparse X stays
    sparse. Where A_P has dependent columns the pseudo-inverse is used.

    Parameters
    ----------
    A : array-like of shape (m, k)
    X : array-like or scipy sparse matrix of shape (m, n)
    S : array-like of shape (k, n)
        The layer's output, ``nnls(A, X)``.
    G : array-like of shape (k, n)
        The upstream gradient dL/dS.
    need_dX : bool, default=True
        Compute dL/dX (a dense m x n array). Layer 0 of a network does not need it.
    n_threads : int, default=None
        As in :func:`nnls`.

    Returns
    -------
    dA : ndarray of shape (m, k)
    dX : ndarray of shape (m, n), or None when ``need_dX`` is false
    """
    Xop = as_operand(X, defer_check=True)
    A = _check_A(A, Xop.shape)
    shape = (A.shape[1], Xop.shape[1])
    S, G = (check_matrix(M, name) for M, name in ((S, "S"), (G, "G")))
    check_shape(S.shape, shape, "S", "k x n for A of shape m x k and X of shape m x n")
    check_shape(G.shape, shape, "G", "like S")
    dtype = float_dtype(A, Xop, S, G)
    return vjp_layer(tall(A, dtype), Xop.astype(dtype), fortran(S, dtype), fortran(G, dtype),
                     n_threads=resolve_n_threads(n_threads), need_dX=need_dX)


def vjp_layer(A, Xop, S, G, *, n_threads, need_dX, extra=None, extra_A=None, gram_A=None):
    """nnls_vjp on inputs already in the layer's layout (module docstring of nnmf.layer):
    A, S and G in Xop's dtype, S and G column-ordered. Returns (dA, dX or None).
    A loss term's own gradient in A of the form X extra^T + A extra_A (extra k x n, extra_A
    k x k; e.g. the reconstruction loss's) is added to dA in the same passes over X and A.
    gram_A = gram(A) when the caller has it."""
    W = support_solve(gram(A, n_threads) if gram_A is None else gram_A, S, G,
                      n_threads=n_threads)
    M = S @ W.T
    M = M + M.T
    if extra_A is not None:
        M -= extra_A
    dX = times(A, W) if need_dX else None  # column-ordered like W: the next VJP's G
    if extra is not None:
        W += extra  # W is the core's new array: X (W + extra)^T in the same pass
    with np.errstate(over="ignore", invalid="ignore"):
        dA, finite = Xop.dot_t_minus(W, A, M, n_threads)
    Xop.ensure_finite(dA, "the solve's W", finite=finite)
    return dA, dX


def nnls_jvp(A, X, S, dA, dX, *, n_threads=None):
    """Jacobian-vector product (forward mode) of S = nnls(A, X) along (dA, dX).

    D = A^T (dX - dA S) + dA^T (X - A S), then per column dS[P] = (A_P^T A_P)^{-1} D[P] on the
    support P of S, and dS = 0 elsewhere. Computed without any m x n intermediate.

    Parameters
    ----------
    A, X, S : as in :func:`nnls_vjp`
    dA : array-like of shape (m, k), or None for zero
    dX : array-like or scipy sparse matrix of shape (m, n), or None for zero
    n_threads : int, default=None

    Returns
    -------
    dS : ndarray of shape (k, n)
    """
    Xop = as_operand(X)
    A = _check_A(A, Xop.shape)
    k, n = A.shape[1], Xop.shape[1]
    S = check_matrix(S, "S")
    check_shape(S.shape, (k, n), "S", "k x n for A of shape m x k and X of shape m x n")
    n_threads = resolve_n_threads(n_threads)
    dXop = None if dX is None else as_operand(dX, "dX")
    if dXop is not None:
        check_shape(dXop.shape, Xop.shape, "dX", "like X")
    if dA is not None:
        dA = check_matrix(dA, "dA")
        check_shape(dA.shape, A.shape, "dA", "like A")
    dtype = float_dtype(A, Xop, S, *(o for o in (dA, dXop) if o is not None))
    A, S, Xop = tall(A, dtype), fortran(S, dtype), Xop.astype(dtype)
    dXop = None if dXop is None else dXop.astype(dtype)
    G = gram(A, n_threads)  # first: it checks A
    D = np.zeros((k, n), dtype=dtype, order="F")
    if dXop is not None:
        D += dXop.tdot(A, n_threads)
    if dA is not None:
        dA = dA.astype(dtype, copy=False)
        cross = A.T @ dA
        D += Xop.tdot(dA, n_threads) - (cross + cross.T) @ S
    return support_solve(G, S, D, n_threads=n_threads)
