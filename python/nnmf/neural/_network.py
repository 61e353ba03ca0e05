"""The Neural NMF network: forward through the NNLS layers, the training objective, and its
gradient by reverse mode through every layer's vector-Jacobian product.

The objective that training minimises is normalised so that its weights mean the same on
any data set:

    loss = data / ||X||_F^2  +  lam * supervision / n_known

where ``data`` is the energy or reconstruction term of the losses module (so for the
reconstruction loss, loss = 1/2 relative error^2) and ``supervision`` the L2 or
cross-entropy term summed over the n_known labelled columns. A mini-batch of columns scales
its sums by n / batch size: an unbiased estimate of the full-data objective.
"""

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .._utils.collective import Local
from .._utils.linalg import chain, fit_sq, relative_error
from ..layer import Operand, fortran, vjp_layer
from ..multilayer import forward
from . import _losses

__all__ = ["Batch", "Network"]


@dataclass
class Batch:
    """The columns ``idx`` (None = all) of the training data and their scale factors."""
    Xop: Operand
    idx: Optional[np.ndarray]
    Xsq: float                       # ||X_b||^2 (unmasked), for the relative error
    data_scale: float                # multiplies the raw data term
    sup_scale: float                 # multiplies the raw supervision term
    X: Optional[np.ndarray] = None   # dense X_b (only with a mask)
    mask: Optional[np.ndarray] = None
    Y: Optional[np.ndarray] = None   # one-hot labels, c x n_b
    weights: Optional[np.ndarray] = None  # 0/1 known-label weights, n_b


@dataclass
class Context:
    """One evaluated point: the forward pass and the loss terms, kept for the gradient."""
    As: list
    B: Optional[np.ndarray]
    Ss: list
    C0: np.ndarray
    Gs: list                         # A_l^T A_l (float64), formed once per point
    batch: Batch
    value: float
    data: float
    supervision: float
    rel_err: float
    term: _losses.DataTerm
    sup_grads: Optional[tuple]
    fit_sq: float = 0.0              # ||X_b - A_0 ... A_L S_L||^2 over all ranks' columns
    Xsq: float = 0.0                 # ||X_b||^2 over all ranks' columns


class Network:
    """Forward pass, objective and gradient for fixed training options.

    The parameters are the layer's layout (see :mod:`nnmf.layer`): every A in ``dtype`` and
    contiguous (the estimator makes them row-major, the order of the gradients the core
    returns), the classifier B float64; the S's stay as the core returns them.

    With a ``collective`` over several processes, each holds some of the columns: the
    objective and every gradient are sums over columns, so each process evaluates its own
    and one sum across processes per evaluation (the loss terms) and per gradient (all
    blocks in one message) makes them global, identical on every process."""

    def __init__(self, n_layers, *, loss, classification_loss, n_threads, dtype,
                 collective=None):
        self.n_layers = n_layers
        self.loss = loss
        self.classification_loss = classification_loss
        self.n_threads = n_threads
        self.dtype = np.dtype(dtype)
        self.collective = Local() if collective is None else collective

    # -- objective -----------------------------------------------------------------------
    def split(self, params):
        """params = [A_0, ..., A_L] or [A_0, ..., A_L, B]."""
        As = params[:self.n_layers]
        B = params[self.n_layers] if len(params) > self.n_layers else None
        return As, B

    def evaluate(self, params, batch, S_init=None):
        """The objective at params on a batch. Returns (value, Context)."""
        As, B = self.split(params)
        Ss, C0, Gs = forward(As, batch.Xop, self.n_threads, init=S_init, dtype=self.dtype)
        return self.evaluate_at(As, B, Ss, C0, Gs, batch)

    def evaluate_at(self, As, B, Ss, C0, Gs, batch):
        # A_0 enters the unmasked losses only through G_0 and C_0, and a masked one through
        # products that numpy promotes: no float64 copy of the largest factor
        As64 = As[:1] + [A.astype(np.float64, copy=False) for A in As[1:]]
        Ss64 = [S.astype(np.float64, copy=False) for S in Ss]
        C064 = C0.astype(np.float64, copy=False)
        term = _losses.data_term(self.loss, batch.Xsq, As64, Ss64, C064, X=batch.X,
                                 mask=batch.mask, G0=Gs[0])
        data = batch.data_scale * term.value
        sup, sup_grads = 0.0, None
        if B is not None:
            fn = (_losses.supervision_l2 if self.classification_loss == "l2"
                  else _losses.supervision_cross_entropy)
            raw, gS, gB = fn(B, Ss64[-1], batch.Y, batch.weights)
            sup, sup_grads = batch.sup_scale * raw, (gS, gB)
        fit = term.fit_sq
        if fit is None:
            fit = fit_sq(batch.Xsq, C064, Gs[0], chain(As64[1:]), Ss64[-1])[0]
        data, sup, fit, xsq = self.collective.sum(data, sup, fit, batch.Xsq)
        return data + sup, Context(As, B, Ss, C0, Gs, batch, data + sup, data, sup,
                                   relative_error(fit, xsq), term, sup_grads, fit, xsq)

    # -- gradient ------------------------------------------------------------------------
    def gradient(self, ctx):
        """d(objective)/d(params) at an evaluated point, by reverse mode through the
        layers: direct loss gradients, then each layer's VJP from the top down."""
        As, Ss, batch, term = ctx.As, ctx.Ss, ctx.batch, ctx.term
        a = batch.data_scale
        L = self.n_layers - 1
        dt = self.dtype
        gS = [None if g is None else a * g for g in term.gS]
        grads = [None] * (L + 1)
        gB = None
        if ctx.sup_grads is not None:
            gSL, gB = ctx.sup_grads
            gSL = batch.sup_scale * gSL
            gS[L] = gSL if gS[L] is None else gS[L] + gSL
            gB = batch.sup_scale * gB
        G = gS[L]
        for l in range(L, 0, -1):
            # The loss terms are float64 (an energy term's in numpy's row order): the upstream
            # gradient takes the layer's layout here, once per layer
            G = np.zeros_like(Ss[l]) if G is None else fortran(G, dt)
            dA, dZ = vjp_layer(As[l], Operand.trusted(Ss[l - 1]), Ss[l], G,
                               n_threads=self.n_threads, need_dX=True, gram_A=ctx.Gs[l])
            grads[l] = dA if term.gA[l] is None else dA + a * term.gA[l]
            G = dZ if gS[l - 1] is None else dZ + gS[l - 1]
        # Layer 0: the loss's own A_0-gradient X U^T + A_0 K joins the VJP's passes over X
        # and A_0.
        S0 = Ss[0]
        g0, _ = vjp_layer(As[0], batch.Xop, S0,
                          np.zeros_like(S0) if G is None else fortran(G, dt),
                          n_threads=self.n_threads, need_dX=False,
                          extra=None if term.U is None else a * term.U,
                          extra_A=None if term.K is None else a * term.K, gram_A=ctx.Gs[0])
        if term.gA[0] is not None:
            g0 = g0 + a * term.gA[0]
        grads[0] = g0
        if gB is not None:
            grads.append(gB)
        return self.collective.sum(*grads)
