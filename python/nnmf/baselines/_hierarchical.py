"""Hierarchical NMF: NMF applied layer after layer, each layer fitted once and frozen."""

import numpy as np

from .._utils.collective import abort_on_error, agreed
from .._utils.estimator import BaseEstimator, check_random_state
from .._utils.params import RANKS, Interval, Options, check_ranks_fit
from ..layer import Operand, resolve_n_threads
from ..multilayer import (LabelTermMixin, MultilayerMixin, fit_data, prepare_optional_labels,
                          reconstruction_error)
from ._nmf import (COMMON_CONSTRAINTS, SOLVERS, data_error, fit_nmf, unit_scaled,
                   warn_not_converged)
from ._ssnmf import fit_ssnmf

__all__ = ["HierarchicalNMF"]


def fit_layerwise(Xop, ranks, *, solver, init, max_iter, tol, rng, n_threads, labels=None,
                  lam=0.0, verbose=0, collective=None):
    """Layer-wise NMF of X with the given ranks. With ``labels`` (from
    :func:`~nnmf._supervised.prepare_labels`) the last layer is SSNMF with the normalised
    weight ``lam``.

    Returns (As, Ss, B or None, histories, converged) with one history and one flag per
    layer."""
    As, Ss, histories, converged = [], [], [], []
    B = None
    Z = Xop
    L = len(ranks) - 1
    for l, k in enumerate(ranks):
        if labels is not None and l == L:
            _, _, Y, weights = labels
            A, B, S, history, conv = fit_ssnmf(Z, k, Y=Y, weights=weights, lam=lam, init=init,
                                               max_iter=max_iter, tol=tol, rng=rng,
                                               n_threads=n_threads, verbose=verbose,
                                               collective=collective)
        else:
            A, S, history, conv = fit_nmf(Z, k, solver=solver, init=init, max_iter=max_iter,
                                          tol=tol, rng=rng, n_threads=n_threads,
                                          verbose=verbose, collective=collective)
        As.append(np.asarray(A, dtype=np.float64))
        Ss.append(np.asarray(S, dtype=np.float64))
        histories.append(history)
        converged.append(conv)
        Z = Operand.trusted(np.asfortranarray(Ss[-1]))
    return As, Ss, B, histories, converged


def warn_layers_not_converged(what, converged, max_iter, tol):
    """The ConvergenceWarning of a layer-wise fit, naming the layers (``converged`` holds one
    flag per layer) that did not meet ``tol``; none when ``tol`` is 0."""
    if tol > 0 and not all(converged):
        bad = [l for l, c in enumerate(converged) if not c]
        warn_not_converged(f"{what} {bad}", max_iter, tol, stacklevel=4)


class MultilayerBaselineMixin(MultilayerMixin):
    """``fit`` of the multilayer baselines, :class:`HierarchicalNMF` and
    :class:`~nnmf.DeepNMF`, by their ``fit_transform``; ``transform`` comes from
    :class:`~nnmf.multilayer.MultilayerMixin`."""

    def fit(self, X, y=None, *, label_mask=None):
        """Fit to X, unsupervised or with labels (see the class docstring for the training).

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (m, n)
            Nonnegative data, columns are samples. Sparse X is never densified.
        y : array-like of shape (n,), default=None
            Class labels (integers or strings) for the label term on the last layer's S_L;
            None, NaN, -1, "-1" or "" mark an unknown label. None fits without labels.
        label_mask : array-like of bool of shape (n,), default=None
            True where a label is known (semi-supervised); None uses every known label.

        Returns
        -------
        self
        """
        self.fit_transform(X, y, label_mask=label_mask)
        return self

    def _layerwise(self, X, y, label_mask, solver, max_iter, tol):
        """Check the data and parameters, then fit the layers one after another (the last as
        SSNMF when there are labels). Returns (Xop, e, p, labels, n_threads, fit), with Xop
        the data as fitted, X * 2^-e (:func:`unit_scaled`), p the validated parameters and fit
        the (As, Ss, B, histories, converged) of :func:`fit_layerwise`, for the scaled data.
        With ``comm`` (HierarchicalNMF), X and y are this rank's columns."""
        collective, Xop, n = fit_data(X, getattr(self, "comm", None))
        p = agreed(collective, self._validate_params)
        ranks = check_ranks_fit(p["ranks"], (Xop.shape[0], n))
        n_threads = resolve_n_threads(p["n_threads"])
        labels = prepare_optional_labels(y, Xop.shape[1], label_mask, collective)
        Xop, e = unit_scaled(Xop, collective)
        with abort_on_error(collective):
            fit = fit_layerwise(Xop, ranks, solver=p[solver], init=p["init"],
                                max_iter=p[max_iter], tol=p[tol],
                                rng=check_random_state(p["random_state"]), n_threads=n_threads,
                                labels=labels, lam=p["lam"], verbose=p["verbose"],
                                collective=collective)
        self._collective = collective
        return Xop, e, p, labels, n_threads, fit


class HierarchicalNMF(MultilayerBaselineMixin, LabelTermMixin, BaseEstimator):
    """Hierarchical NMF: X ≈ A_0 S_0, S_0 ≈ A_1 S_1, ..., each layer an NMF of the previous
    layer's coefficients, fitted once and frozen (the paper's "Hier. NMF").

    With labels, the last layer is a semi-supervised NMF (:class:`SSNMF`) of S_{L-1} (of X
    when there is one layer): it minimises

        ½||S_{L-1} - A_L S_L||^2 / ||S_{L-1}||^2  +  lam · ½||(Y - B S_L) diag(l)||^2 / n_known

    by multiplicative updates, with l the known-label indicator. The layers below it are
    unsupervised; the label term acts on the last layer's S only, as in the Neural NMF
    paper's comparison.

    Parameters
    ----------
    ranks : sequence of int
        (k_0, ..., k_L), the rank of every layer.
    solver : {"anls", "mu"}, default="anls"
        The NMF solver of the unsupervised layers (see :class:`NMF`). A supervised last
        layer always uses SSNMF's multiplicative updates.
    lam : float, default=1.0
        Weight of the label term in the last layer (normalised as above, as in
        :class:`NeuralNMF`). Ignored without labels.
    init : {"nndsvd", "random"}, default="nndsvd"
        Initialisation of every layer, as in :class:`NMF`.
    max_iter : int, default=200
        Iteration limit of every layer.
    tol : float, default=1e-4
        Tolerance of every layer (see :class:`NMF` and :class:`SSNMF`).
    random_state : None, int or numpy.random.Generator, default=None
        One generator seeded from it serves the layers in order, so a one-layer
        HierarchicalNMF equals :class:`NMF` with the same parameters.
    verbose : int, default=0
    n_threads : int, default=None
    comm : mpi4py communicator, default=None
        Data-parallel over MPI, as in :class:`NMF`: each rank fits its own block of columns
        (and of the labels); the factors, histories and errors are the same on every rank.

    Attributes
    ----------
    A_ : list of ndarray
        A_[l] of shape (k_{l-1}, k_l), with k_{-1} = m.
    S_ : list of ndarray
        S_[l] of shape (k_l, n): the fitted coefficients of each layer.
    B_ : ndarray of shape (n_classes, k_L) or None
        The classifier on S_L (None after an unsupervised fit).
    classes_ : ndarray of shape (n_classes,)
        Only after a fit with labels.
    transduction_ : ndarray of shape (n,)
        ``classes_[argmax B_ S_L]`` for the training columns; only after a fit with labels.
    history_ : list of ndarray
        Per layer: the relative error after each iteration (unsupervised layers), or the
        (data, label) terms after each iteration (a supervised last layer, as in
        :class:`SSNMF`).
    n_iter_ : list of int
        Iterations run per layer.
    layer_errors_ : list of float
        ||S_{l-1} - A_l S_l||_F / ||S_{l-1}||_F per layer (S_{-1} = X).
    reconstruction_err_ : float
        ||X - A_0 ... A_L S_L||_F / ||X||_F.
    n_features_in_ : int

    References
    ----------
    A. Cichocki and R. Zdunek, "Multilayer nonnegative matrix factorisation", Electronics
    Letters 42(16), 2006. https://doi.org/10.1049/el:20060983

    T. Will, R. Zhang, E. Sadovnik, M. Gao, J. Vendrow, J. Haddock, D. Molitor and
    D. Needell, "Neural nonnegative matrix factorization for hierarchical multilayer topic
    modeling", arXiv:2303.00058, 2023.

    Examples
    --------
    >>> import numpy as np, nnmf
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((40, 6)) @ rng.random((6, 3)) @ rng.random((3, 60))
    >>> model = nnmf.HierarchicalNMF([6, 3], random_state=0).fit(X)
    >>> [A.shape for A in model.A_], model.S_[-1].shape
    ([(40, 6), (6, 3)], (3, 60))
    """

    _parameter_constraints = {"ranks": [RANKS], "solver": [Options(*SOLVERS)],
                              "lam": [Interval("real", 0, None)], "comm": [None, "comm"],
                              **COMMON_CONSTRAINTS}

    def __init__(self, ranks, *, solver="anls", lam=1.0, init="nndsvd", max_iter=200,
                 tol=1e-4, random_state=None, verbose=0, n_threads=None, comm=None):
        self.ranks = ranks
        self.solver = solver
        self.lam = lam
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.n_threads = n_threads
        self.comm = comm

    def fit_transform(self, X, y=None, *, label_mask=None):
        """Fit (see :meth:`fit`) and return the last layer's ``S_[-1]``."""
        Xop, e, p, labels, n_threads, fit = self._layerwise(X, y, label_mask, "solver",
                                                            "max_iter", "tol")
        As, Ss, B, histories, converged = fit
        warn_layers_not_converged("HierarchicalNMF layer(s)", converged, p["max_iter"], p["tol"])
        self.A_ = As
        self.S_ = [np.ldexp(S, e) for S in Ss] if e else Ss
        self.B_ = np.ldexp(B, -e) if e and B is not None else B
        if labels is not None:
            self.classes_ = labels[0]
            self._set_transduction(self.S_[-1])
        self.history_ = histories
        self.n_iter_ = [len(h) for h in histories]
        errors, Z, collective = [], Xop, self._collective
        for A, S in zip(As, Ss):
            errors.append(data_error(Z, [A], S, n_threads, collective=collective))
            Z = Operand.trusted(np.asfortranarray(S))
        self.layer_errors_ = errors
        self.reconstruction_err_ = data_error(Xop, As, Ss[-1], n_threads,
                                              collective=collective)
        self.n_features_in_ = Xop.shape[0]
        return self.S_[-1]
