"""The NNLS layer and the Neural NMF network as ``torch.nn`` modules, and the estimator's
losses as functions of tensors, so that a torch training loop minimises the objective that
:class:`nnmf.NeuralNMF` minimises (``nnmf.neural``'s normalisation: every squared norm
halved, the data term divided by ||X||_F^2, the supervision term averaged over the labelled
columns and weighted by ``lam``).

The layer-0 terms use ||X - P Z||^2 = ||X||^2 - 2 <P^T X, Z> + <P^T P, Z Z^T> (as
``nnmf.neural._losses`` does), so no m x n matrix is formed and a sparse X stays sparse; a
dense float32 X forms the residual instead (the expansion's rounding error grows as the fit
becomes exact).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .._utils.params import RANKS, Options, check_param
from ..neural import CLASSIFIER_LOSSES, LOSSES
from ._function import _SPARSE_LAYOUTS, _sparse_to_scipy, nnls

__all__ = ["NNLSLayer", "NeuralNMF", "energy_loss", "reconstruction_loss",
           "classification_loss", "objective"]


def _initial_factor(m, k, init, dtype, name="init"):
    """The starting A of a layer: uniform [0, 1) entries (the reference implementation's
    start), or a copy of ``init`` (a tensor or an array)."""
    if init is None:
        return torch.rand(m, k, dtype=dtype or torch.get_default_dtype())
    # torch.tensor copies, and takes a read-only numpy array without a warning
    A = init.detach() if isinstance(init, torch.Tensor) else torch.tensor(np.asarray(init))
    if dtype is None:
        dtype = A.dtype if A.dtype in (torch.float32, torch.float64) else torch.float64
    A = A.detach().to(device="cpu", dtype=dtype).clone()
    if tuple(A.shape) != (m, k):
        raise ValueError(f"{name} has shape {tuple(A.shape)}, expected {(m, k)}")
    return A


class NNLSLayer(nn.Module):
    """The layer S = argmin_{S >= 0} ||X - A S||_F^2 with A (m x k) as its parameter.

    Parameters
    ----------
    m, k : int
        A has shape (m, k): X has m rows, S has k rows.
    init : tensor or array of shape (m, k), default=None
        The starting A (copied); None draws uniform [0, 1) entries (with ``torch.rand``, as
        the reference implementation does).
    warm_start : bool, default=False
        Start each call from the S of the previous call for the same ``batch`` key (see
        :meth:`forward`). The result does not depend on it, only the work: after a small
        change of A most columns finish in one or two active-set steps.
    n_threads : int, default=None
        Threads of nnmf's core, as in :func:`nnmf.torch.nnls`.
    dtype : torch.dtype, default=None
        Of A: ``init``'s float dtype, else ``torch.get_default_dtype()``.

    Attributes
    ----------
    A : torch.nn.Parameter of shape (m, k)
    """

    def __init__(self, m, k, init=None, *, warm_start=False, n_threads=None, dtype=None):
        super().__init__()
        self.m, self.k = int(m), int(k)
        self.A = nn.Parameter(_initial_factor(self.m, self.k, init, dtype))
        self.warm_start = warm_start
        self.n_threads = n_threads
        self._previous = {}

    def forward(self, X, *, batch=None, init=None):
        """S (k x n) for X (m x n, dense or sparse).

        Parameters
        ----------
        X : torch.Tensor of shape (m, n)
        batch : hashable, default=None
            With ``warm_start``, the key of this batch of columns (e.g. its index within an
            epoch): the call starts from the S of the last call with the same key (when its
            shape fits), and stores its own. Starting from another batch's S is still exact,
            only slower.
        init : torch.Tensor of shape (k, n), default=None
            An explicit warm start (overrides the stored one).
        """
        start = init
        if start is None and self.warm_start:
            previous = self._previous.get(batch)
            if previous is not None and tuple(previous.shape) == (self.k, X.shape[1]):
                start = previous
        S = nnls(self.A, X, init=start, n_threads=self.n_threads)
        if self.warm_start:
            self._previous[batch] = S.detach()
        return S

    @torch.no_grad()
    def project_(self):
        """Clamp A at 0 in place (after an optimiser step: projected gradient descent).
        Returns the module."""
        self.A.clamp_(min=0)
        return self

    def reset_warm_start(self):
        """Forget the stored S's."""
        self._previous.clear()

    def extra_repr(self):
        return f"m={self.m}, k={self.k}, warm_start={self.warm_start}"


class NeuralNMF(nn.Module):
    """Neural NMF as a torch module: a stack of :class:`NNLSLayer` modules, X ≈ A_0 S_0,
    S_{l-1} ≈ A_l S_l with S_l = argmin_{S >= 0} ||S_{l-1} - A_l S||, and an optional linear
    classifier B on the top layer's coefficients.

    Train it with any torch optimiser on :func:`objective` (or on
    :func:`reconstruction_loss` / :func:`energy_loss` and :func:`classification_loss`),
    followed by :meth:`project_`; :meth:`from_estimator` and :meth:`to_estimator` move the
    factors from and to :class:`nnmf.NeuralNMF`.

    Parameters
    ----------
    ranks : int or sequence of int
        (k_0, ..., k_L).
    in_features : int
        m, the number of rows (features) of X.
    n_classes : int, default=None
        Adds the classifier B of shape (n_classes, k_L); the forward pass then also returns
        the class scores B S_L.
    init : list of tensors or arrays, default=None
        The starting A's (copied); None: uniform [0, 1) entries.
    warm_start, n_threads, dtype :
        As in :class:`NNLSLayer`, for every layer.

    Attributes
    ----------
    layers : torch.nn.ModuleList of NNLSLayer
    B : torch.nn.Parameter of shape (n_classes, k_L), or None
    classes : array or None
        The class labels of the rows of B (set by :meth:`from_estimator`; used by
        :meth:`to_estimator`).
    """

    def __init__(self, ranks, in_features, n_classes=None, *, init=None, warm_start=False,
                 n_threads=None, dtype=None):
        super().__init__()
        self.ranks = check_param(ranks, "ranks", [RANKS])
        self.in_features = int(in_features)
        if init is not None and len(init) != len(self.ranks):
            raise ValueError(f"init has {len(init)} matrices, expected one per layer "
                             f"({len(self.ranks)})")
        sizes = (self.in_features, *self.ranks)
        self.layers = nn.ModuleList(
            NNLSLayer(sizes[l], sizes[l + 1], None if init is None else init[l],
                      warm_start=warm_start, n_threads=n_threads, dtype=dtype)
            for l in range(len(self.ranks)))
        self.n_classes = None if n_classes is None else int(n_classes)
        self.classes = None
        if self.n_classes is None:
            self.B = None
        else:
            # torch.nn.Linear's default initialisation
            bound = 1.0 / math.sqrt(self.ranks[-1])
            B = torch.empty(self.n_classes, self.ranks[-1], dtype=self.layers[-1].A.dtype)
            self.B = nn.Parameter(B.uniform_(-bound, bound))

    @property
    def factors(self):
        """[A_0, ..., A_L], the layers' parameters."""
        return [layer.A for layer in self.layers]

    def forward(self, X, *, batch=None):
        """The forward pass: [S_0, ..., S_L], and the class scores B S_L (n_classes x n) as
        a second value when the network has a classifier.

        Parameters
        ----------
        X : torch.Tensor of shape (in_features, n), dense or sparse
        batch : hashable, default=None
            The warm-start key (see :meth:`NNLSLayer.forward`).
        """
        Ss, Z = [], X
        for layer in self.layers:
            Z = layer(Z, batch=batch)
            Ss.append(Z)
        if self.B is None:
            return Ss
        return Ss, self.B @ Ss[-1]

    @torch.no_grad()
    def project_(self):
        """Clamp every A at 0 in place (not B). Returns the module."""
        for layer in self.layers:
            layer.project_()
        return self

    def reset_warm_start(self):
        """Forget every layer's stored S's."""
        for layer in self.layers:
            layer.reset_warm_start()

    @classmethod
    def from_estimator(cls, estimator, *, dtype=None, warm_start=False, n_threads=None):
        """A network holding a fitted :class:`nnmf.NeuralNMF`'s factors ``A_`` (and
        classifier ``B_`` and ``classes_``), copied.

        Parameters
        ----------
        estimator : fitted nnmf.NeuralNMF (or another estimator with a list ``A_``)
        dtype : torch.dtype, default=None
            None: the dtype of ``A_``.
        warm_start, n_threads : as in :class:`NNLSLayer`.
        """
        As = getattr(estimator, "A_", None)
        if As is None:
            raise ValueError(f"{type(estimator).__name__} is not fitted: from_estimator needs "
                             "its A_")
        As = list(As) if isinstance(As, (list, tuple)) else [As]
        B = getattr(estimator, "B_", None)
        net = cls([A.shape[1] for A in As], As[0].shape[0],
                  None if B is None else B.shape[0],
                  init=[np.asarray(A) for A in As], warm_start=warm_start,
                  n_threads=n_threads, dtype=dtype)
        if B is not None:
            with torch.no_grad():
                net.B.copy_(torch.tensor(np.asarray(B, dtype=np.float64)))
            net.classes = getattr(estimator, "classes_", None)
        return net

    def to_estimator(self, X=None, *, classes=None, **params):
        """An :class:`nnmf.NeuralNMF` holding this network's factors, ready to
        ``transform``, ``predict`` and be saved; its ``init`` is the same factors, so that
        ``fit`` continues training from them (a supervised ``fit`` starts its classifier
        afresh, by the estimator's least-squares initialisation).

        Parameters
        ----------
        X : array-like, scipy sparse matrix or torch.Tensor of shape (in_features, n),
            default=None
            Training data: sets ``S_`` and ``reconstruction_err_`` from it.
        classes : array-like of shape (n_classes,), default=None
            The labels of B's rows; None: ``self.classes`` or 0, ..., n_classes - 1.
        **params
            Further parameters of the estimator (``loss``, ``lam``, ``classification_loss``,
            ...).

        Returns
        -------
        nnmf.NeuralNMF
        """
        from ..neural import NeuralNMF as Estimator

        As = [layer.A.detach().cpu().numpy().copy() for layer in self.layers]
        est = Estimator(self.ranks, init=[A.copy() for A in As], **params)
        est.A_ = As
        est.n_features_in_ = self.in_features
        if self.B is None:
            est.B_, est.classes_ = None, None
        else:
            est.B_ = self.B.detach().cpu().numpy().astype(np.float64)
            if classes is None:
                classes = self.classes if self.classes is not None else np.arange(
                    self.n_classes)
            classes = np.asarray(classes)
            if classes.shape != (self.n_classes,):
                raise ValueError(f"classes has shape {classes.shape}, expected "
                                 f"({self.n_classes},)")
            est.classes_ = classes
        if X is not None:
            X = _to_scipy_or_numpy(X)
            est.S_ = est.transform(X, layer="all")
            est.reconstruction_err_ = -est.score(X)
        return est


def _to_scipy_or_numpy(X):
    """A tensor as the numpy array or scipy sparse matrix of its memory; anything else as
    it is."""
    if not isinstance(X, torch.Tensor):
        return X
    X = X.detach().cpu()
    return _sparse_to_scipy(X) if X.layout in _SPARSE_LAYOUTS else X.numpy()


# ------------------------------------------------------------------------------- losses

def _factors(model):
    if isinstance(model, nn.Module):
        return model.factors if hasattr(model, "factors") else [
            layer.A for layer in model.lsqnonneglst]
    return list(model)


def _sqnorm(X):
    """||X||_F^2 (a tensor; of the values for a sparse X)."""
    if X.layout in _SPARSE_LAYOUTS:
        values = X.coalesce().values() if X.layout == torch.sparse_coo else X.values()
        return (values * values).sum()
    return (X * X).sum()


def _fit_sq(X, A0, Q, Z):
    """||X - A0 Q Z||_F^2 for X (m x n, dense or sparse), A0 (m x k0), Q (k0 x k, None for
    the identity) and Z (k x n).

    As nnmf.NeuralNMF computes it: ||X||^2 - 2 <Q^T C, Z> + <Q^T G Q, Z Z^T> with
    C = A0^T X and G = A0^T A0, so that no m x n matrix is formed and the only products with
    m rows are those with A0 (A0^T X and A0^T A0, and X W^T and A0 M in the backward pass).
    Its rounding error, about eps ||X||^2 / ||X - A0 Q Z||^2 relative, is what float64
    affords; a dense float32 X forms the residual instead."""
    sparse = X.layout in _SPARSE_LAYOUTS
    if not sparse and (X.dtype != torch.float64 or Z.dtype != torch.float64):
        R = X - (A0 if Q is None else A0 @ Q) @ Z
        return (R * R).sum()
    if sparse and X.layout != torch.sparse_coo:
        X = X.to_sparse_coo()
    C = torch.mm(A0.T.to(X.dtype), X).to(Z.dtype)     # A0^T X, dense k0 x n
    G = A0.T @ A0
    Y, H = (C, G) if Q is None else (Q.T @ C, Q.T @ G @ Q)
    return _sqnorm(X).to(Z.dtype) - 2 * (Y * Z).sum() + (H * (Z @ Z.T)).sum()


def _chain(As):
    """A_1 ... A_L (None for one layer)."""
    Q = None
    for A in As[1:]:
        Q = A if Q is None else Q @ A
    return Q


def _normaliser(X, Xsq):
    return _sqnorm(X).detach() if Xsq is None else Xsq


def reconstruction_loss(model, X, Ss, *, Xsq=None):
    """1/2 ||X - A_0 A_1 ... A_L S_L||_F^2 / ||X||_F^2: :class:`nnmf.NeuralNMF`'s
    ``loss="reconstruction"`` data term (half the squared relative error).

    Parameters
    ----------
    model : NeuralNMF, or a sequence of the factors [A_0, ..., A_L]
    X : torch.Tensor of shape (m, n), dense or sparse
    Ss : list of torch.Tensor
        The forward pass's [S_0, ..., S_L] (only S_L is used).
    Xsq : float or tensor, default=None
        The normaliser; None: ||X||_F^2 of this X. For mini-batches the estimator uses
        ``||X_full||^2 * batch_size / n``.

    Returns
    -------
    torch.Tensor (a scalar)
    """
    As = _factors(model)
    return 0.5 * _fit_sq(X, As[0], _chain(As), Ss[-1]) / _normaliser(X, Xsq)


def energy_loss(model, X, Ss, *, Xsq=None):
    """1/2 sum_l ||S_{l-1} - A_l S_l||_F^2 / ||X||_F^2 (S_{-1} = X): :class:`nnmf.NeuralNMF`'s
    ``loss="energy"`` data term. Arguments as in :func:`reconstruction_loss`."""
    As = _factors(model)
    total = _fit_sq(X, As[0], None, Ss[0])
    for l in range(1, len(As)):
        R = Ss[l - 1] - As[l] @ Ss[l]
        total = total + (R * R).sum()
    return 0.5 * total / _normaliser(X, Xsq)


def _known(y, label_mask):
    y = torch.as_tensor(y)
    if label_mask is None:
        known = y >= 0
    else:
        known = torch.as_tensor(label_mask, dtype=torch.bool)
    return y, known


def classification_loss(scores, y, label_mask=None, *, kind="l2"):
    """The supervision term, averaged over the labelled columns.

    Parameters
    ----------
    scores : torch.Tensor of shape (n_classes, n)
        B S_L, the network's second output.
    y : tensor or array of int, shape (n,)
        Class indices in [0, n_classes); -1 marks an unknown label (unless ``label_mask``
        is given).
    label_mask : tensor or array of bool, shape (n,), default=None
        True where the label is known.
    kind : {"l2", "cross_entropy"}, default="l2"
        1/2 ||onehot(y_j) - B s_j||^2 (the paper's), or -log softmax(B s_j)[y_j], as in
        :class:`nnmf.NeuralNMF`'s ``classification_loss``.

    Returns
    -------
    torch.Tensor (a scalar)
    """
    kind = check_param(kind, "kind", [Options(*CLASSIFIER_LOSSES)])
    y, known = _known(y, label_mask)
    n_known = int(known.sum())
    if n_known == 0:
        raise ValueError("no known label: the classification loss needs at least one")
    Z = scores[:, known]
    labels = y[known].to(torch.int64)
    if kind == "cross_entropy":
        total = torch.nn.functional.cross_entropy(Z.T, labels, reduction="sum")
    else:
        Y = torch.nn.functional.one_hot(labels, scores.shape[0]).T.to(Z.dtype)
        total = 0.5 * ((Y - Z) ** 2).sum()
    return total / n_known


def objective(model, X, outputs, y=None, label_mask=None, *, loss="reconstruction", lam=1.0,
              classification_loss="l2", Xsq=None):
    """:class:`nnmf.NeuralNMF`'s training objective at the network's current factors:
    data / ||X||^2 + lam * supervision / n_known (the supervision term only with ``y``).

    Parameters
    ----------
    model : NeuralNMF
    X : torch.Tensor of shape (m, n)
    outputs : the network's output, ``model(X)``
    y, label_mask : as in :func:`classification_loss` (None: unsupervised)
    loss : {"reconstruction", "energy"}, default="reconstruction"
    lam : float, default=1.0
    classification_loss : {"l2", "cross_entropy"}, default="l2"
    Xsq : as in :func:`reconstruction_loss`

    Returns
    -------
    torch.Tensor (a scalar)
    """
    loss = check_param(loss, "loss", [Options(*LOSSES)])
    Ss, scores = outputs if isinstance(outputs, tuple) else (outputs, None)
    if y is not None and scores is None:
        raise ValueError("labels y were given but the network has no classifier "
                         "(n_classes=None)")
    fn = reconstruction_loss if loss == "reconstruction" else energy_loss
    value = fn(model, X, Ss, Xsq=Xsq)
    if y is not None:
        value = value + lam * _classification_loss(scores, y, label_mask,
                                                   kind=classification_loss)
    return value


_classification_loss = classification_loss
