"""Deep NMF: the multilayer model X ≈ A_0 A_1 ... A_L S_L, pretrained layer by layer and then
fine-tuned jointly by multiplicative updates on the full reconstruction error."""

import numpy as np

from .._utils.estimator import BaseEstimator
from .._utils.linalg import chain
from .._utils.params import RANKS, Interval, Options
from ..layer import fortran, solve_layer
from ..multilayer import LabelTermMixin
from ._hierarchical import MultilayerBaselineMixin, warn_layers_not_converged
from ._mu import deep_mu
from ._nmf import COMMON_CONSTRAINTS, SOLVERS, data_error, positive_fill, warn_not_converged
from ._ssnmf import label_scale

__all__ = ["DeepNMF"]


def _fill(M):
    return positive_fill(M, max(float(np.mean(M)), np.finfo(float).tiny))


class DeepNMF(MultilayerBaselineMixin, LabelTermMixin, BaseEstimator):
    """Deep NMF: X ≈ A_0 A_1 ... A_L S_L with every factor nonnegative, all factors fitted
    together (the Neural NMF paper's "Deep NMF").

    Training has two stages:

    1. Pretraining: :class:`HierarchicalNMF` (layer-wise NMF; with labels, its last layer is
       SSNMF) gives A_0, ..., A_L, S_L (and B).
    2. Fine-tuning: multiplicative updates of A_0, ..., A_L, S_L (and B), one factor at a
       time, on

           ½||X - A_0 ... A_L S_L||^2 / ||X||^2  +  lam · ½||(Y - B S_L) diag(l)||^2 / n_known

       (the label term only with labels; l is the known-label indicator). The step for A_i
       is A_i ⊙ (Pᵀ X Qᵀ) ⊘ (Pᵀ P A_i Q Qᵀ) with P = A_0 ... A_{i-1}, Q = A_{i+1} ... A_L S_L,
       so the objective never increases. Exact zeros of the pretrained factors are first
       raised to 1% of their factor's mean, since a multiplicative update never moves a zero.

    Unlike :class:`NeuralNMF`, the S's are free variables of the fit, not functions of the
    A's; the intermediate representations reported are S_l = A_{l+1} ... A_L S_L.

    Parameters
    ----------
    ranks : sequence of int
        (k_0, ..., k_L).
    lam : float, default=1.0
        Weight of the label term, normalised as above (as in :class:`NeuralNMF`), in both
        stages. Ignored without labels.
    max_iter : int, default=500
        Fine-tuning iterations (each updates every factor once).
    tol : float, default=1e-5
        Stop fine-tuning when the objective decreases by at most ``tol`` times its value in
        one iteration; 0 runs all ``max_iter``.
    pretrain_solver : {"anls", "mu"}, default="anls"
        Solver of the unsupervised pretraining layers (see :class:`NMF`).
    pretrain_max_iter : int, default=200
    pretrain_tol : float, default=1e-4
    init : {"nndsvd", "random"}, default="nndsvd"
        Initialisation of the pretraining layers.
    random_state : None, int or numpy.random.Generator, default=None
    verbose : int, default=0
    n_threads : int, default=None

    Attributes
    ----------
    A_ : list of ndarray
        A_[l] of shape (k_{l-1}, k_l), with k_{-1} = m.
    S_ : list of ndarray
        S_[L] is the fitted S_L; S_[l] = A_{l+1} ... A_L S_L for l < L.
    B_ : ndarray of shape (n_classes, k_L) or None
    classes_, transduction_ :
        As in :class:`HierarchicalNMF` (only after a fit with labels).
    history_ : ndarray of shape (``n_iter_``, 2)
        Fine-tuning: the normalised (reconstruction, label) terms after every iteration.
    pretrain_history_ : list of ndarray
        :class:`HierarchicalNMF`'s ``history_`` of the pretraining.
    n_iter_ : int
        Fine-tuning iterations run.
    reconstruction_err_ : float
        ||X - A_0 ... A_L S_L||_F / ||X||_F.
    n_features_in_ : int

    References
    ----------
    G. Trigeorgis, K. Bousmalis, S. Zafeiriou and B. W. Schuller, "A deep semi-NMF model for
    learning hidden representations", Proceedings of the 31st International Conference on
    Machine Learning (ICML), 2014.

    J. Flenner and B. Hunter, "A deep non-negative matrix factorization neural network",
    2017.

    D. D. Lee and H. S. Seung, "Algorithms for non-negative matrix factorization", Advances in
    Neural Information Processing Systems 13, 2001.

    Examples
    --------
    >>> import numpy as np, nnmf
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((40, 6)) @ rng.random((6, 3)) @ rng.random((3, 60))
    >>> model = nnmf.DeepNMF([6, 3], max_iter=100, tol=0, random_state=0).fit(X)
    >>> bool(model.history_[-1, 0] <= model.history_[0, 0])
    True
    """

    _parameter_constraints = {"ranks": [RANKS], "lam": [Interval("real", 0, None)],
                              "pretrain_solver": [Options(*SOLVERS)],
                              "pretrain_max_iter": [Interval("int", 1, None)],
                              "pretrain_tol": [Interval("real", 0, None)], **COMMON_CONSTRAINTS}

    def __init__(self, ranks, *, lam=1.0, max_iter=500, tol=1e-5, pretrain_solver="anls",
                 pretrain_max_iter=200, pretrain_tol=1e-4, init="nndsvd", random_state=None,
                 verbose=0, n_threads=None):
        self.ranks = ranks
        self.lam = lam
        self.max_iter = max_iter
        self.tol = tol
        self.pretrain_solver = pretrain_solver
        self.pretrain_max_iter = pretrain_max_iter
        self.pretrain_tol = pretrain_tol
        self.init = init
        self.random_state = random_state
        self.verbose = verbose
        self.n_threads = n_threads

    def fit_transform(self, X, y=None, *, label_mask=None):
        """Fit (see :meth:`fit`) and return S_L."""
        Xop, e, p, labels, n_threads, fit = self._layerwise(
            X, y, label_mask, "pretrain_solver", "pretrain_max_iter", "pretrain_tol")
        As, Ss, B, pre_hist, pre_conv = fit
        lam, max_iter, tol = p["lam"], p["max_iter"], p["tol"]
        pre_iter, pre_tol = p["pretrain_max_iter"], p["pretrain_tol"]
        warn_layers_not_converged("DeepNMF pretraining layer(s)", pre_conv, pre_iter, pre_tol)

        xsq = max(Xop.sqnorm(), np.finfo(float).tiny)
        fine = dict(max_iter=max_iter, tol=tol, n_threads=n_threads)
        if labels is not None:
            _, _, Y, weights = labels
            scale = label_scale(xsq, weights)
            fine.update(Y=Y, weights=weights, lam=lam * scale, B_init=_fill(B))
        else:
            scale = 1.0
        if p["verbose"]:
            def callback(it, As, S, B, obj):
                print(f"DeepNMF fine-tuning iteration {it}: objective {obj / xsq:.6g}")
            fine["callback"] = callback
        As, S, B, history, converged = deep_mu(
            Xop, [_fill(A) for A in As], _fill(Ss[-1]), **fine)
        if tol > 0 and not converged:
            warn_not_converged("DeepNMF fine-tuning", max_iter, tol)

        self.A_ = [np.asarray(A, dtype=np.float64) for A in As]
        S = np.asarray(S, dtype=np.float64)
        self.S_ = self._implied(np.ldexp(S, e))
        self.B_ = None if B is None else np.ldexp(np.asarray(B, dtype=np.float64), -e)
        if labels is not None:
            self.classes_ = labels[0]
            self._set_transduction(self.S_[-1])
        self.history_ = np.asarray(history[1:]).reshape(-1, 2) / np.array([xsq, xsq / scale])
        self.pretrain_history_ = pre_hist
        self.n_iter_ = len(self.history_)
        self.reconstruction_err_ = data_error(Xop, self.A_, S, n_threads)
        self.n_features_in_ = Xop.shape[0]
        return self.S_[-1]

    def _implied(self, S):
        Ss = [S]
        for A in reversed(self.A_[1:]):
            Ss.insert(0, A @ Ss[0])
        return Ss

    def _coefficients(self, Xop, top, n_threads):
        """S_L = nnls(A_0 ... A_L, X) and the S_l it implies below it (all layers)."""
        S = solve_layer(fortran(chain(self.A_), Xop.dtype), Xop, n_threads=n_threads)[0]
        return self._implied(S)
