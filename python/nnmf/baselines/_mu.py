"""Multiplicative-update (MU) solvers: flat NMF, semi-supervised NMF and deep (multilayer) NMF.

Every solver here minimises a sum of halved squared Frobenius norms by Lee & Seung's
multiplicative updates, one factor at a time. Each update is the exact minimiser of a
diagonal majorizer of the objective in that factor, so the objective never increases (up to
rounding); the small constant added to every denominator only shrinks the step and keeps that
property.

Sparse X is never densified: the numerators need the products A^T X and X W^T (through
:class:`~nnmf._operand.Operand`), the denominators only k x k Grams, and the objective uses
||X - A S||^2 = ||X||^2 - 2 <A, X S^T> + <A^T A, S S^T>, whose X S^T the A update has just
computed. The one exception is the entrywise weight (missing-data mask) W of
:func:`ssnmf_mu`, which needs the m x n product A S and is therefore for dense X only.
"""

import numpy as np

from .._utils.collective import Local
from .._utils.linalg import chain, fit_sq

__all__ = ["nmf_mu", "ssnmf_mu", "deep_mu"]


def _eps(dtype):
    """The denominator guard: positive, far below any meaningful denominator."""
    return np.finfo(dtype).tiny


def _mu_step(F, numer, denom, eps):
    """F <- F * numer / (denom + eps), in place. numer and denom are nonnegative; multiplying
    first keeps 0 * (x / eps) from producing NaN."""
    np.maximum(numer, 0, out=numer)  # rounding can leave -0 or tiny negatives
    F *= numer
    F /= denom + eps
    return F


def _fro_sq(xsq, XSt, A, AtA, SSt):
    """½||X - A S||^2 = ½(||X||^2 - 2<A, X S^T> + <A^T A, S S^T>), clipped at 0 (rounding)."""
    return 0.5 * max(xsq - 2.0 * float(np.vdot(XSt, A)) + float(np.vdot(AtA, SSt)), 0.0)


def _fro_sq_right(xsq, PtX, S, PtP):
    """½||X - P S||^2 from P^T X and P^T P (the Gram algebra), clipped at 0."""
    return 0.5 * max(fit_sq(xsq, PtX, PtP, None, S)[0], 0.0)


def _ending(history, objective, tol, notify, collective=None):
    """How an iteration of the joint updates ends the loop: "callback" when ``notify()`` (the
    user's callback, or None) returns False, "converged" when the objective changed by less
    than ``tol`` relatively, None to go on."""
    if notify is not None and (Local() if collective is None else collective).any(
            notify() is False):
        return "callback"
    prev, cur = objective(history[-2]), objective(history[-1])
    if tol > 0 and abs(prev - cur) / max(abs(prev), np.finfo(float).tiny) < tol:
        return "converged"
    return None


def nmf_mu(Xop, k, *, A_init, S_init, max_iter, tol, n_threads, callback=None,
           collective=None):
    """Lee–Seung MU for min ½||X - A S||_F^2 over A, S >= 0.

    Parameters
    ----------
    Xop : Operand
    k : int
    A_init, S_init : ndarray of shape (m, k) and (k, n), nonnegative (copied)
    max_iter : int
    tol : float
        Stop when the relative error ||X - A S|| / ||X|| changes by at most ``tol`` times its
        value over one iteration, as :func:`~nnmf._anls.nmf_anls` does (``tol = 0`` runs all
        ``max_iter`` iterations).
    n_threads : int
    callback : callable, default=None
        ``callback(iteration, A, S, objective)``; returning False stops the iterations.
    collective : default=None
        With X's columns split across processes (``nnmf._utils.collective``): S is this
        process's block, A and the history are the same on every process.

    Returns
    -------
    A, S : ndarrays
    history : list of float
        The objective ½||X - A S||^2 at the start (index 0) and after every iteration.
    converged : bool
        Whether the tolerance was met before ``max_iter``.
    """
    collective = Local() if collective is None else collective
    dtype = Xop.dtype
    eps = _eps(dtype)
    A = np.array(A_init, dtype=dtype, order="F", copy=True)
    S = np.array(S_init, dtype=dtype, order="F", copy=True)
    xsq, XSt, SSt = collective.sum(Xop.sqnorm(), Xop.dot_t(S, n_threads), S @ S.T)
    history = [_fro_sq(xsq, XSt, A, A.T @ A, SSt)]
    converged = False
    for it in range(1, max_iter + 1):
        # S <- S * (A^T X) / (A^T A S)
        AtA = A.T @ A
        _mu_step(S, np.asarray(Xop.tdot(A, n_threads)), AtA @ S, eps)
        # A <- A * (X S^T) / (A S S^T): sums over columns, of every process's
        XSt, SSt = collective.sum(Xop.dot_t(S, n_threads), S @ S.T)
        _mu_step(A, np.array(XSt), A @ SSt, eps)
        history.append(_fro_sq(xsq, XSt, A, A.T @ A, SSt))
        if callback is not None and collective.any(
                callback(it, A, S, history[-1]) is False):
            break
        # the objective is ½ xsq err^2, so compare errors: |e_prev - e| <= tol * e_prev
        if tol > 0 and (np.sqrt(history[-2]) - np.sqrt(history[-1])
                        <= tol * np.sqrt(history[-2])):
            converged = True
            break
    return A, S, history, converged


def ssnmf_mu(Xop, k, *, Y, weights, lam, A_init, S_init, B_init, max_iter, tol, n_threads,
             mask=None, update_A=True, update_B=True, callback=None, collective=None):
    """MU for semi-supervised NMF (Lee, Yoo & Choi 2010; Haddock et al.):

        min over A, B, S >= 0 of  ½||W ⊙ (X - A S)||^2 + λ ½||(Y - B S) diag(l)||^2

    where l (``weights``, length n, usually 0/1) marks the columns whose label counts.

    Parameters
    ----------
    Xop : Operand
    k : int
    Y : ndarray of shape (c, n)
        Targets (one-hot labels); columns with weight 0 are ignored.
    weights : ndarray of shape (n,)
        Nonnegative column weights l of the label term.
    lam : float
        λ >= 0.
    A_init, S_init, B_init : ndarrays of shape (m, k), (k, n), (c, k), nonnegative
    mask : ndarray of shape (m, n), default=None
        Entrywise weights W of the reconstruction term (e.g. 0 on missing entries); dense X
        only. None means all ones.
    update_A, update_B : bool, default=True
        Hold A (or B) fixed when false.
    max_iter, tol, n_threads, callback, collective : as in :func:`nmf_mu`; the callback
        receives ``(iteration, A, B, S, objective)``; a ``mask`` needs one process.

    Returns
    -------
    A, B, S : ndarrays
    history : list of (float, float)
        (reconstruction term, label term) — both halved, the label term without λ — at the
        start and after every iteration. The objective is ``rec + lam * label``.
    converged : bool
    """
    collective = Local() if collective is None else collective
    if mask is not None and collective.distributed:
        raise ValueError("a missing-entry mask needs a one-process fit (comm=None)")
    dtype = Xop.dtype
    eps = _eps(dtype)
    A = np.array(A_init, dtype=dtype, order="F", copy=True)
    S = np.array(S_init, dtype=dtype, order="F", copy=True)
    B = np.array(B_init, dtype=dtype, order="F", copy=True)
    l = np.asarray(weights, dtype=dtype)
    Y = np.asarray(Y, dtype=dtype)
    l2 = l * l
    Yl2 = Y * l2                                   # Y diag(l)^2: the numerators' targets
    lam = float(lam)
    if mask is not None:
        Wm = np.asarray(mask, dtype=dtype)
        WX = Wm * np.asarray(Xop.matrix, dtype=dtype)   # dense X only (checked by callers)
        W2X = Wm * WX                                  # W ⊙ W ⊙ X: the numerators' data
        W2 = Wm * Wm
    else:
        (xsq,) = collective.sum(Xop.sqnorm())

    def rec_term(XSt=None, SSt=None):
        if mask is not None:
            R = WX - Wm * (A @ S)
            return 0.5 * float(np.vdot(R, R))
        return _fro_sq(xsq, XSt, A, A.T @ A, SSt)

    def label_term():
        R = (Y - B @ S) * l
        return collective.sum(0.5 * float(np.vdot(R, R)))[0]

    def objective(t):
        return t[0] + lam * t[1]

    if mask is None:
        XSt, SSt = collective.sum(Xop.dot_t(S, n_threads), S @ S.T)
        history = [(rec_term(XSt, SSt), label_term())]
    else:
        history = [(rec_term(), label_term())]
    converged = False
    for it in range(1, max_iter + 1):
        # S <- S * (A^T (W²⊙X) + λ B^T Y diag(l)) / (A^T (W²⊙(A S)) + λ B^T B S diag(l))
        if mask is None:
            numer = np.asarray(Xop.tdot(A, n_threads)) + lam * (B.T @ Yl2)
            denom = (A.T @ A) @ S
        else:
            numer = A.T @ W2X + lam * (B.T @ Yl2)
            denom = A.T @ (W2 * (A @ S))
        if lam:
            denom += lam * ((B.T @ B) @ S) * l2
        _mu_step(S, numer, denom, eps)
        # the sums over columns the A and B updates need, of every process's columns
        if mask is None:
            XSt, SSt, YSt, SlSt = collective.sum(Xop.dot_t(S, n_threads), S @ S.T,
                                                 Yl2 @ S.T, (S * l2) @ S.T)
        else:
            SSt, YSt, SlSt = S @ S.T, Yl2 @ S.T, (S * l2) @ S.T
        if update_A:
            if mask is None:
                _mu_step(A, np.array(XSt), A @ SSt, eps)
            else:
                _mu_step(A, W2X @ S.T, (W2 * (A @ S)) @ S.T, eps)
        if update_B and lam:
            _mu_step(B, YSt, B @ SlSt, eps)
        history.append((rec_term(XSt, SSt) if mask is None else rec_term(), label_term()))
        end = _ending(history, objective, tol, callback and (
            lambda: callback(it, A, B, S, objective(history[-1]))), collective)
        if end is not None:
            converged = end == "converged"
            break
    return A, B, S, history, converged


def deep_mu(Xop, As, S_init, *, max_iter, tol, n_threads, Y=None, weights=None, lam=0.0,
            B_init=None, callback=None):
    """Joint MU fine-tuning of a multilayer factorisation X ≈ A_0 A_1 ... A_L S_L:

        min over A_0..A_L, S_L (and B) >= 0 of
            ½||X - A_0 ... A_L S_L||^2  [+ λ ½||(Y - B S_L) diag(l)||^2]

    One iteration updates A_0, A_1, ..., A_L, then S_L, then B, each by the MU step of the
    objective with the others fixed. With P = A_0 ... A_{i-1} and Q = A_{i+1} ... A_L S_L,
    the step for A_i is A_i * (P^T X Q^T) / (P^T P A_i Q Q^T): the tri-factor majorizer, so
    the objective never increases. Two passes over X per iteration, whatever the depth:
    X S^T (every A's numerator) and P^T X (S's numerator and the objective).

    Parameters
    ----------
    Xop : Operand
    As : list of ndarray
        The initial factors (copied), A_i of shape (k_{i-1}, k_i) with k_{-1} = m.
    S_init : ndarray of shape (k_L, n)
    max_iter, tol, n_threads : as in :func:`nmf_mu`
    Y, weights, lam, B_init : the optional label term, as in :func:`ssnmf_mu`; used when
        ``lam > 0``.
    callback : callable, default=None
        ``callback(iteration, As, S, B, objective)``; returning False stops.

    Returns
    -------
    As : list of ndarray
    S : ndarray
    B : ndarray or None
    history : list of (float, float)
        (reconstruction term, label term) at the start and after every iteration, as in
        :func:`ssnmf_mu`.
    converged : bool
    """
    dtype = Xop.dtype
    eps = _eps(dtype)
    As = [np.array(A, dtype=dtype, order="F", copy=True) for A in As]
    S = np.array(S_init, dtype=dtype, order="F", copy=True)
    L = len(As) - 1
    supervised = lam > 0
    lam = float(lam)
    if supervised:
        B = np.array(B_init, dtype=dtype, order="F", copy=True)
        l = np.asarray(weights, dtype=dtype)
        Y = np.asarray(Y, dtype=dtype)
        l2 = l * l
        Yl2 = Y * l2
    else:
        B = None
    xsq = Xop.sqnorm()

    def label_term():
        if not supervised:
            return 0.0
        R = (Y - B @ S) * l
        return 0.5 * float(np.vdot(R, R))

    def objective(t):
        return t[0] + lam * t[1]

    P = chain(As)
    history = [(_fro_sq_right(xsq, Xop.tdot(P, n_threads), S, P.T @ P), label_term())]
    converged = False
    for it in range(1, max_iter + 1):
        # With M_i = A_{i+1} ... A_L (M_L = I), Q_i = M_i S, so every numerator's product
        # with X comes from the one pass X S^T: X Q_i^T = (X S^T) M_i^T.
        XSt = np.asarray(Xop.dot_t(S, n_threads))
        SSt = S @ S.T
        M = [None] * (L + 1)
        for i in range(L - 1, -1, -1):
            M[i] = As[i + 1] if M[i + 1] is None else As[i + 1] @ M[i + 1]
        P = None  # prefix A_0 ... A_{i-1}; None is the identity
        for i in range(L + 1):
            if M[i] is None:
                XQt, QQt = XSt, SSt
            else:
                XQt, QQt = XSt @ M[i].T, M[i] @ SSt @ M[i].T
            if P is None:
                numer = np.array(XQt)
                denom = As[i] @ QQt
            else:
                numer = P.T @ XQt
                denom = (P.T @ P) @ As[i] @ QQt
            _mu_step(As[i], numer, denom, eps)
            P = As[i] if P is None else P @ As[i]
        # S <- S * (P^T X [+ λ B^T Y l]) / (P^T P S [+ λ B^T B S l²]) with P = A_0 ... A_L
        PtX = np.asarray(Xop.tdot(P, n_threads))
        PtP = P.T @ P
        numer = PtX.copy()
        denom = PtP @ S
        if supervised:
            numer += lam * (B.T @ Yl2)
            denom += lam * ((B.T @ B) @ S) * l2
        _mu_step(S, numer, denom, eps)
        if supervised:
            _mu_step(B, Yl2 @ S.T, B @ ((S * l2) @ S.T), eps)
        history.append((_fro_sq_right(xsq, PtX, S, PtP), label_term()))
        end = _ending(history, objective, tol, callback and (
            lambda: callback(it, As, S, B, objective(history[-1]))))
        if end is not None:
            converged = end == "converged"
            break
    return As, S, B, history, converged
