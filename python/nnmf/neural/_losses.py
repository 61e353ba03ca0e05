"""Neural NMF losses: their values and their direct gradients.

"Direct" means with the S's treated as free variables: the gradient of the loss through the
NNLS layers (the S's as functions of the A's) is assembled by the network, which
runs each layer's vector-Jacobian product from the top down.

Notation (docs/design.md, the model and the losses): S_{-1} = X (m x n), S_l = q(S_{l-1}, A_l) of shape
k_l x n, A_l of shape k_{l-1} x k_l, C_0 = A_0^T X (returned by the forward pass),
G_0 = A_0^T A_0, Q = A_1 ... A_L (identity when L = 0), P = A_0 Q. Every squared norm
carries a factor 1/2 and every term is a plain sum over columns.

For a sparse X no m x n dense matrix is ever formed: the layer-0 terms use
||X - A Z||^2 = ||X||^2 - 2 <A^T X, Z> + <A^T A Z, Z> with A^T X from C_0, and their
A_0-gradient is returned as two coefficients, ``U`` (k_0 x n) meaning "add X U^T" and ``K``
(k_0 x k_0) meaning "add A_0 K", so the network can fuse both with layer 0's own
X W_0^T - A_0 (S_0 W_0^T + W_0 S_0^T): one pass over X and one over A_0.
"""

from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

from .._utils.linalg import chain, fit_sq as gram_fit, inner, times

__all__ = ["DataTerm", "data_term", "energy", "reconstruction", "supervision_l2",
           "supervision_cross_entropy", "softmax"]

LOSSES = ("energy", "reconstruction")
CLASSIFIER_LOSSES = ("l2", "cross_entropy")


@dataclass
class DataTerm:
    """A data term's value and direct gradients.

    value : float
        The raw (unnormalised) loss.
    gS : list
        gS[l] = dL/dS_l with the S's free (None for no contribution), l = 0..L.
    gA : list
        gA[l] = the dense part of dL/dA_l (None for none).
    U : ndarray of shape (k_0, n) or None
        dL/dA_0 has the further part X U^T (left to the caller's pass over X).
    K : ndarray of shape (k_0, k_0) or None
        dL/dA_0 has the further part A_0 K (left to the caller's pass over A_0).
    fit_sq : float or None
        ||X - A_0 ... A_L S_L||^2 where the term computed it on the way (the unmasked
        reconstruction loss), so that the relative error needs no second evaluation.
    """
    value: float
    gS: List[Optional[np.ndarray]] = field(default_factory=list)
    gA: List[Optional[np.ndarray]] = field(default_factory=list)
    U: Optional[np.ndarray] = None
    K: Optional[np.ndarray] = None
    fit_sq: Optional[float] = None


def gram_residual(Xsq, C, G, Z):
    """(||X - A Z||^2, A^T (A Z - X)) from ||X||^2, C = A^T X and G = A^T A (float64), with
    one product by G; the second in Z's memory order."""
    E = times(G, Z)
    sq = Xsq - 2.0 * inner(C, Z) + inner(E, Z)
    E -= C
    return sq, E


def energy(Xsq, As, Ss, C0, *, X=None, mask=None, G0=None):
    """E = 1/2 sum_l ||S_{l-1} - A_l S_l||^2.

    Parameters
    ----------
    Xsq : float
        ||X||_F^2 of the columns in use.
    As, Ss : lists of ndarray
        The factors and the forward pass's S's.
    C0 : ndarray of shape (k_0, n)
        A_0^T X from the forward pass.
    X : ndarray of shape (m, n), default=None
        The dense data; needed only with ``mask``.
    mask : ndarray of shape (m, n), default=None
        0/1 weights of X's entries in the layer-0 term (1 = observed).
    G0 : ndarray of shape (k_0, k_0), default=None
        A_0^T A_0 when the caller has it (computed otherwise).

    Returns
    -------
    DataTerm
    """
    L = len(As) - 1
    A0, S0 = As[0], Ss[0]
    gS, gA = [None] * (L + 1), [None] * (L + 1)
    U = K = None
    if mask is None:
        G0 = A0.T @ A0 if G0 is None else G0
        sq, gS[0] = gram_residual(Xsq, C0, G0, S0)
        value = 0.5 * sq
        K = S0 @ S0.T
        U = -S0
    else:
        R = mask * (X - A0 @ S0)
        value = 0.5 * np.vdot(R, R)
        gS[0] = -(A0.T @ R)
        gA[0] = -(R @ S0.T)
    for l in range(1, L + 1):
        A, Z, S = As[l], Ss[l - 1], Ss[l]
        R = Z - A @ S
        value += 0.5 * np.vdot(R, R)
        gS[l - 1] = gS[l - 1] + R
        gS[l] = -(A.T @ R)
        gA[l] = -(R @ S.T)
    return DataTerm(float(value), gS, gA, U, K)


def reconstruction(Xsq, As, Ss, C0, *, X=None, mask=None, G0=None):
    """R = 1/2 ||X - A_0 A_1 ... A_L S_L||^2 (arguments as in :func:`energy`).

    With P = A_0 Q: dR/dS_L = P^T (P S_L - X) and dR/dA_l = (A_0...A_{l-1})^T dR/dP
    (A_{l+1}...A_L)^T with dR/dP = -(X - P S_L) S_L^T. Unmasked, (A_0...A_{l-1})^T X is
    (A_1...A_{l-1})^T C_0 for l >= 1, so only dR/dA_0 needs X (returned as U = -Q S_L).
    """
    L = len(As) - 1
    A0, SL = As[0], Ss[L]
    k0 = A0.shape[1]
    Q = chain(As[1:], k0)
    T = times(Q, SL) if L else SL            # k_0 x n: the top layer mapped to layer 0
    gS, gA = [None] * (L + 1), [None] * (L + 1)
    U = K = fit_sq = None
    if mask is None:
        G0 = A0.T @ A0 if G0 is None else G0
        if L:
            # With E_0 = A_0^T (P S_L - X) = G_0 T - C_0: dR/dS_L = Q^T E_0 = H S_L - Y and
            # E_0 S_L^T = G_0 Q SS - C_0 S_L^T (gram_fit's terms); no k_0 x n product by G_0.
            fit_sq, Y, H, SS = gram_fit(Xsq, C0, G0, Q, SL)
            gS[L] = times(H, SL)
            gS[L] -= Y
            D0 = G0 @ Q @ SS - C0 @ SL.T     # A_0^T dR/dP = E_0 S_L^T, for l >= 1
            K = Q @ SS @ Q.T                 # Q S_L S_L^T Q^T
            U = T  # this function's own array: negated in place
            U *= -1.0
        else:
            fit_sq, gS[0] = gram_residual(Xsq, C0, G0, T)
            K = T @ T.T
            U = -T
        value = 0.5 * fit_sq
    else:
        R = mask * (X - A0 @ T)
        value = 0.5 * np.vdot(R, R)
        AR = A0.T @ R                        # k_0 x n
        gS[L] = -(Q.T @ AR)
        gA[0] = -(R @ (Q @ SL).T)
        D0 = -(AR @ SL.T)
    for l in range(1, L + 1):
        left = chain(As[1:l], k0)            # A_1 ... A_{l-1}
        right = chain(As[l + 1:], As[l].shape[1])
        gA[l] = left.T @ D0 @ right.T
    return DataTerm(float(value), gS, gA, U, K, fit_sq)


def data_term(loss, Xsq, As, Ss, C0, *, X=None, mask=None, G0=None):
    """Dispatch on ``loss`` in {"energy", "reconstruction"}."""
    fn = energy if loss == "energy" else reconstruction
    return fn(Xsq, As, Ss, C0, X=X, mask=mask, G0=G0)


def supervision_l2(B, SL, Y, weights):
    """1/2 ||M (Y - B S_L)||^2 with M the diagonal of 0/1 column ``weights``.

    Returns (value, dL/dS_L, dL/dB)."""
    R = (Y - B @ SL) * weights
    value = 0.5 * np.vdot(R, R)
    return float(value), -(B.T @ R), -(R @ SL.T)


def softmax(Z):
    """Column-wise softmax of Z (c x n)."""
    Z = Z - Z.max(axis=0, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=0, keepdims=True)


def supervision_cross_entropy(B, SL, Y, weights):
    """sum_j weights_j * (-log softmax(B s_j)[y_j]), Y one-hot (c x n).

    Returns (value, dL/dS_L, dL/dB)."""
    Z = B @ SL
    Zs = Z - Z.max(axis=0, keepdims=True)
    logp = Zs - np.log(np.exp(Zs).sum(axis=0, keepdims=True))
    value = -np.sum(weights * np.sum(Y * logp, axis=0))
    D = (np.exp(logp) - Y) * weights          # dL/dZ
    return float(value), B.T @ D, D @ SL.T
