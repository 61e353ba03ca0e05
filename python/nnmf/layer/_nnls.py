"""The Neural NMF layer q(X, A) = argmin_{S >= 0} ||X - A S||_F^2 and its exact derivatives.

The big products with X (A^T X, X W^T) go to the core's kernels (dense X in either memory
order up to rank 64, beyond that numpy's BLAS; sparse X: the column-parallel sparse kernel);
the per-column active-set solves and the solves on the support run in the compiled core, in
parallel over columns, with the GIL released.

Numerics (docs/design.md, "The Gram-form active set"). A column of A whose squared norm lies
far from 1 (tiny columns underflow in A^T A, huge ones overflow) is first scaled by a power of
two, exactly, and the solution scaled back: q(Z, A D) = D^-1 q(Z, A). When A^T A is too ill
conditioned for any solve from it (near-collinear columns), the columns are solved from a thin
QR of A instead (the core's triangular form), as scipy.optimize.nnls does, never from A^T A.
A solution that overflows its dtype raises a ValueError.
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


# A column of A whose squared norm (a diagonal entry of A^T A) lies outside 2^(+-maxexp/3) of
# its dtype (about 1e+-102 for float64, 1e+-12 for float32) is scaled to a norm near 1 first:
# inside it A^T A cannot under- or overflow, and A^T X's products (in X's dtype) only for X
# with entries near the ends of the dtype's range. Outside it an unscaled A loses digits, or
# the whole column, to underflow. Wide, so that the data of real fits never pays the scaling.
_SQNORM_WINDOW = {np.dtype(t): (2.0 ** -(np.finfo(t).maxexp // 3), 2.0 ** (np.finfo(t).maxexp // 3))
                  for t in (np.float32, np.float64)}


def _column_exponents(A, G):
    """Powers of two that bring A's columns to a norm near 1, or None when every column's
    squared norm (G = A^T A's diagonal, as the core computed it) is already inside the safe
    window or the column is zero. Returns e (int array of k) with the entries of
    A[:, i] * 2^-e[i] of largest magnitude in [0.5, 1), and e[i] = 0 for columns left as they
    are. Raises a ValueError if A holds NaN or infinity."""
    d = np.diagonal(G)
    lo, hi = _SQNORM_WINDOW[A.dtype]
    if d.size == 0 or lo <= d.min() and d.max() <= hi:  # NaN fails both
        return None
    outside = ~((d >= lo) & (d <= hi))  # also NaN, infinity, zero
    if not np.isfinite(d).all():
        check_matrix(A, "A")  # names NaN or infinity; otherwise a column is just huge
    cols = np.flatnonzero(outside)
    top = np.abs(A[:, cols]).max(axis=0, initial=0.0)
    e = np.zeros(A.shape[1], dtype=np.int64)
    e[cols] = np.frexp(top)[1]  # 0 for a zero column
    return e if e.any() else None


def _scaled(M, e):
    """M * 2^e row-wise (e: one exponent per row), exact unless it under- or overflows, in
    M's dtype and memory order."""
    return np.ldexp(M, e[:, None].astype(np.int32))


def _scale_columns(A, e):
    """A with column i times 2^-e[i], laid out like A (tall)."""
    return tall(_scaled(A.T, -e).T, A.dtype)


def _finite(M, what):
    if not np.isfinite(M).all():
        raise ValueError(f"{what} overflows {M.dtype}: rescale the inputs (A's columns are "
                         f"too small, or the other inputs' entries too large, for {M.dtype})")
    return M


def _check_init(M, shape, dtype):
    if M is None:
        return None
    # NaN and infinity are caught by the core, which reads every entry anyway
    M = check_matrix(M, "init", finite=False)
    check_shape(M.shape, shape, "init", "k x n, like S")
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
        ``64 * k * eps`` (float64 machine epsilon), or ``eps`` when ``A^T A`` is so ill
        conditioned that the columns are solved from a QR of A (docs/design.md).
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
        k x k solves in float64, then rounded to float32; a solution past float32's range
        raises a ValueError.
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
    init = _check_init(init, (k, n), dtype)
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
    max_iter/tol <= 0 select the core's defaults; G = gram(A) when the caller has it.
    Columns of A far from unit norm are scaled first, and an ill-conditioned A^T A is
    replaced by a QR of A (module docstring); only the support of init is used, so it needs
    no scaling."""
    # first: the Gram's diagonal checks A (_column_exponents)
    G = _core.gram(A, n_threads) if G is None else G
    e = _column_exponents(A, G)
    if e is not None:
        A = _scale_columns(A, e)
        G = _core.gram(A, n_threads)
    with np.errstate(over="ignore", invalid="ignore"):
        C = fortran(Xop.tdot(A, n_threads), A.dtype)
    Xop.ensure_finite(C, "A")
    if _core.gram_rcond(G) < _core.triangular_rcond:
        S, n_iter, converged = _solve_triangular(A, Xop, G, init, n_threads=n_threads,
                                                 max_iter=max_iter, tol=tol)
    else:
        S, n_iter, converged = solve_gram(G, C, init, n_threads=n_threads,
                                          max_iter=max_iter, tol=tol)
    if e is not None:
        with np.errstate(over="ignore"):
            S = _finite(fortran(_scaled(S, -e), S.dtype), "the solution S")
            C = fortran(_scaled(C, e), C.dtype)
    return S, C, n_iter, converged


def _solve_triangular(A, Xop, G, init, *, n_threads, max_iter, tol):
    """The layer from a thin QR A D^-1 = Q R (D: A's column norms) when G = A^T A is too ill
    conditioned to solve from: the core's triangular form on R and Q^T X, in float64.
    Returns (S in Xop's dtype, n_iter, converged)."""
    m, k = A.shape
    d = np.sqrt(np.diagonal(G))
    inv_d = np.divide(1.0, d, out=np.zeros_like(d), where=d > 0)
    Q, R = np.linalg.qr(A.astype(np.float64) * inv_d)
    if m < k:  # R is m x k: the missing rows are zero
        Q = np.hstack([Q, np.zeros((m, k - m))])
        R = np.vstack([R, np.zeros((k - m, k))])
    B = fortran(Xop.astype(np.float64).tdot(tall(Q, np.float64), n_threads), np.float64)
    start = None if init is None else fortran(init, np.float64)
    S, n_iter, converged = _core.nnls_triangular(fortran(R, np.float64), B, start, max_iter,
                                                 tol, n_threads)
    with np.errstate(over="ignore"):
        S = _finite(fortran(S * inv_d[:, None], Xop.dtype), "the solution S")
    return S, n_iter, converged


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
    A, S, G = tall(A, dtype), fortran(S, dtype), fortran(G, dtype)
    n_threads = resolve_n_threads(n_threads)
    gram_A = _core.gram(A, n_threads)
    e = _column_exponents(A, gram_A)
    if e is None:
        return vjp_layer(A, Xop.astype(dtype), S, G, n_threads=n_threads, need_dX=need_dX,
                         gram_A=gram_A)
    # for A = A' 2^e (column-wise), S = 2^-e S': the VJP of A' with upstream 2^-e G, whose dA
    # is 2^e times this one's and whose dX is this one's
    A, S, G = _scale_columns(A, e), fortran(_scaled(S, e), dtype), fortran(_scaled(G, -e), dtype)
    dA, dX = vjp_layer(A, Xop.astype(dtype), S, G, n_threads=n_threads, need_dX=need_dX)
    with np.errstate(over="ignore"):
        return _finite(_scaled(dA.T, -e).T, "dA"), dX


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
    dX = None
    if need_dX:  # column-ordered like W: the next VJP's G
        with np.errstate(over="ignore", invalid="ignore"):
            dX = _finite(times(A, W), "dX = A W")
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
    G = _core.gram(A, n_threads)
    e = _column_exponents(A, G)  # first: it checks A
    if e is not None:
        # for A = A' 2^e (column-wise): S = 2^-e S', and along dA = dA' 2^e, dS = 2^-e dS'
        A, S = _scale_columns(A, e), fortran(_scaled(S, e), dtype)
        dA = None if dA is None else _scale_columns(dA.astype(dtype, copy=False), e)
        G = _core.gram(A, n_threads)
    D = np.zeros((k, n), dtype=dtype, order="F")
    with np.errstate(over="ignore", invalid="ignore"):
        if dXop is not None:
            D += dXop.tdot(A, n_threads)
        if dA is not None:
            dA = dA.astype(dtype, copy=False)
            cross = A.T @ dA
            D += Xop.tdot(dA, n_threads) - (cross + cross.T) @ S
    _finite(D, "A^T (dX - dA S) + dA^T (X - A S)")
    dS = support_solve(G, S, D, n_threads=n_threads)
    if e is None:
        return dS
    with np.errstate(over="ignore"):
        return _finite(fortran(_scaled(dS, -e), dtype), "dS")
