"""Small linear algebra every model shares: the chained product of factors, the Gram-form
fit ||X - P S||^2 that never forms an m x n matrix, the relative error, and numpy products
that keep the core's column-ordered k x n arrays in column order.

The core takes and returns k x n arrays (S, C = A^T X, the VJPs' W) column-ordered. numpy's
``M @ Z`` returns a row-ordered array whatever Z's order, and ``np.vdot`` flattens its
arguments in row order, copying column-ordered ones (on a large corpus each such copy is a
k x n array of hundreds of MB). :func:`times` and :func:`inner` compute the same values
without those copies.
"""

import numpy as np

__all__ = ["chain", "prefix_chains", "fit_sq", "relative_error", "square_safe_exponent",
           "inner", "times"]


def chain(As, size=None):
    """The product A_0 A_1 ... A_L of a list of matrices; the identity of ``size`` for an
    empty list (None when ``size`` is None too)."""
    out = None
    for A in As:
        out = A if out is None else out @ A
    if out is None and size is not None:
        return np.eye(size)
    return out


def prefix_chains(As):
    """[A_0, A_0 A_1, ..., A_0 A_1 ... A_L]: every layer's topics over the features."""
    out = []
    for A in As:
        out.append(A if not out else out[-1] @ A)
    return out


def fit_sq(Xsq, C, G, Q, S):
    """||X - A Q S||^2 from the Gram algebra, for A (m x k), Q (k x k_L, None for the
    identity) and S (k_L x n), given Xsq = ||X||^2, C = A^T X (k x n) and G = A^T A.

    With Y = Q^T C (k_L x n), H = Q^T G Q and SS = S S^T (both k_L x k_L) it is
    ||X||^2 - 2 <Y, S> + <H, SS>: no m x n matrix and no k x n product with G.
    Returns (fit_sq, Y, H, SS), the pieces the reconstruction loss's gradient reuses."""
    Y, H = (C, G) if Q is None else (times(Q.T, C), Q.T @ G @ Q)
    SS = S @ S.T
    return Xsq - 2.0 * inner(Y, S) + float(np.vdot(H, SS)), Y, H, SS


def relative_error(fit_sq, Xsq):
    """sqrt(||X - P S||^2 / ||X||^2) from both squared norms. An all-zero X is fitted
    exactly (every nonnegative least-squares S of it is zero), so its error is 0; roundoff
    below 0 in ``fit_sq`` is clipped."""
    return float(np.sqrt(max(fit_sq, 0.0) / Xsq)) if Xsq > 0 else 0.0


def square_safe_exponent(values):
    """The exponent e of a power of two such that ``values * 2**-e`` can be squared and summed
    in double without underflow or overflow (so can a product of the scaled values with a
    factor of moderate size): 0 when the largest magnitude already lies within 2^(+-256) (or
    every value is 0), else that magnitude's binary exponent. Scaling by a power of two is
    exact, and a relative error is the same for the scaled data, so its ratio of squared norms
    is computed after the scaling, never from norms that under- or overflowed."""
    top = float(np.abs(values).max(initial=0.0))
    if top == 0.0 or 2.0 ** -256 <= top <= 2.0 ** 256:
        return 0
    return int(np.frexp(top)[1])


def times(M, Z):
    """M @ Z, laid out in Z's memory order: column-ordered when Z is (as (Z^T M^T)^T, the
    same product)."""
    if Z.flags.f_contiguous and not Z.flags.c_contiguous:
        return (Z.T @ M.T).T
    return M @ Z


def inner(a, b):
    """<a, b>, the sum of a * b over all entries, without copying a or b when both are
    column-ordered."""
    if a.flags.f_contiguous and b.flags.f_contiguous:
        return float(np.dot(a.ravel(order="F"), b.ravel(order="F")))
    return float(np.vdot(a, b))
