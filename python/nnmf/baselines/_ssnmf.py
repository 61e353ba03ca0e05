"""Semi-supervised NMF: a shared coefficient matrix S explains both the data and the labels."""

import numpy as np

from .._utils.estimator import BaseEstimator, check_random_state
from .._utils.params import Interval, check_ranks_fit
from .._utils.collective import Local
from ..layer import (as_operand, check_matrix, check_shape, fortran, gram, resolve_n_threads,
                     solve_gram)
from ..multilayer import LabelTermMixin, check_data, prepare_labels, reconstruction_error
from ._mu import ssnmf_mu
from ._nmf import (COMMON_CONSTRAINTS, FixedBasisTransformMixin, mu_init, positive_fill,
                   warn_not_converged)

__all__ = ["SSNMF"]


def classifier_init(S, Y, weights, n_threads, collective):
    """B >= 0 (c x k) minimising ||(Y - B S) diag(weights)||, by the core's NNLS on the Gram
    matrix S W S^T and right-hand side S W Y^T (sums over every process's columns), with
    zeros raised for the multiplicative updates."""
    cols = np.flatnonzero(weights > 0)
    Skt = fortran((S[:, cols] * weights[cols]).T, np.float64)
    Ykt = as_operand(np.ascontiguousarray((Y[:, cols] * weights[cols]).T))
    G, C = collective.sum(gram(Skt, n_threads), Ykt.tdot(Skt, n_threads))
    Bt = solve_gram(np.asfortranarray(G), fortran(C, np.float64), n_threads=n_threads)[0]
    B = Bt.T
    return positive_fill(B, max(float(np.mean(B)), 1e-12))


def label_scale(data_sqnorm, weights, collective=None):
    """The factor that turns the normalised ``lam`` into the raw weight of the label term:
    ½||Z - AS||^2/||Z||^2 + lam ½||.||^2/n_known  ∝  ½||Z - AS||^2 + lam * scale * ½||.||^2.
    ``data_sqnorm`` is over all processes' columns; ``weights`` this process's."""
    (known,) = (Local() if collective is None else collective).sum(float(np.sum(weights**2)))
    return data_sqnorm / max(known, 1.0)


def fit_ssnmf(Xop, k, *, Y, weights, lam, init, max_iter, tol, rng, n_threads, mask=None,
              A_init=None, S_init=None, verbose=0, collective=None):
    """One SSNMF fit with the normalised ``lam``. Returns (A, B, S, history (n_iter x 2: the
    normalised data and label terms), converged). With a ``collective``, X, Y, weights and S
    are this process's columns."""
    collective = Local() if collective is None else collective
    if mask is None:
        data_sq = Xop.sqnorm()
    else:
        WX = mask * Xop.matrix
        data_sq = float(np.vdot(WX, WX))
    (data_sq,) = collective.sum(data_sq)
    data_sq = max(data_sq, np.finfo(float).tiny)
    scale = label_scale(data_sq, weights, collective)
    if A_init is None:
        A_init, S_init = mu_init(Xop, k, init, rng, n_threads, collective)
    B_init = classifier_init(S_init, Y, weights, n_threads, collective)
    callback = None
    if verbose:
        def callback(it, A, B, S, obj):
            print(f"SSNMF iteration {it}: objective {obj / data_sq:.6g}")
    A, B, S, history, converged = ssnmf_mu(
        Xop, k, Y=Y, weights=weights, lam=lam * scale, A_init=A_init, S_init=S_init,
        B_init=B_init, max_iter=max_iter, tol=tol, n_threads=n_threads, mask=mask,
        callback=callback, collective=collective)
    history = np.asarray(history[1:]).reshape(-1, 2) / np.array([data_sq, data_sq / scale])
    return A, B, S, history, converged


class SSNMF(FixedBasisTransformMixin, LabelTermMixin, BaseEstimator):
    """Semi-supervised NMF: data and labels explained by one nonnegative representation.

    Minimises, over A >= 0 (m x k), B >= 0 (c x k) and S >= 0 (k x n),

        ½||W ⊙ (X - A S)||_F^2 / ||W ⊙ X||_F^2  +  lam · ½||(Y - B S) diag(l)||_F^2 / n_known

    where Y (c x n) holds the one-hot labels, l_j = 1 if the label of column j is known and 0
    otherwise (n_known of them), and W is an optional 0/1 (or nonnegative) weight on the
    entries of X (0 on missing entries). The normalisation is :class:`NeuralNMF`'s, so
    ``lam`` means the same in every nnmf estimator and on any data scale. All three factors
    are updated by multiplicative updates, so the objective never increases. New data are
    classified by S = nnls(A, X) and ``argmax B S``.

    Parameters
    ----------
    n_components : int
        The rank k.
    lam : float, default=1.0
        Weight >= 0 of the (normalised) label term against the (normalised) data term.
    init : {"nndsvd", "random"}, default="nndsvd"
        How A and S start, as in :class:`NMF` with ``solver="mu"``; B starts as the
        nonnegative least-squares classifier of the initial S (zeros raised to 1% of its
        mean).
    max_iter : int, default=500
        Maximum number of iterations (one update of S, A and B each).
    tol : float, default=1e-5
        Stop when the objective decreases by at most ``tol`` times its value in one iteration.
        0 runs all ``max_iter`` iterations.
    random_state : None, int or numpy.random.Generator, default=None
    verbose : int, default=0
        Print the objective after every iteration when positive.
    n_threads : int, default=None
        Threads of the compiled core (products with a sparse X, NNLS in transform).

    Attributes
    ----------
    A_ : ndarray of shape (m, k)
    B_ : ndarray of shape (n_classes, k)
        The linear classifier on S.
    S_ : ndarray of shape (k, n)
        The coefficients of the training columns (shaped by their labels where known).
    classes_ : ndarray of shape (n_classes,)
        The distinct known labels, sorted.
    transduction_ : ndarray of shape (n,)
        The label ``argmax B_ S_`` of every training column: for a semi-supervised fit, the
        predicted labels of the unlabelled columns.
    history_ : ndarray of shape (``n_iter_``, 2)
        The two normalised terms (data, label — without ``lam``) after every iteration; the
        objective is ``history_[:, 0] + lam * history_[:, 1]``.
    reconstruction_err_ : float
        ``||W ⊙ (X - A_ S_)||_F / ||W ⊙ X||_F`` (W = 1 when no mask was given).
    n_iter_ : int
    n_features_in_ : int

    References
    ----------
    H. Lee, J. Yoo and S. Choi, "Semi-supervised nonnegative matrix factorization", IEEE
    Signal Processing Letters 17(1), 2010. https://doi.org/10.1109/LSP.2009.2027163

    J. Haddock, L. Kassab, S. Li, A. Kryshchenko, R. Grotheer, E. Sizikova, C. Wang,
    T. Merkh, R. W. M. A. Madushani, M. Ahn, D. Needell and K. Leonard, "Semi-supervised
    nonnegative matrix factorization for document classification", 55th Asilomar Conference
    on Signals, Systems, and Computers, 2021.

    Examples
    --------
    >>> import numpy as np, nnmf
    >>> rng = np.random.default_rng(0)
    >>> A = np.kron(np.eye(2), np.ones((10, 1)))                # two disjoint topics
    >>> y = np.repeat([0, 1], 20)
    >>> X = A @ np.eye(2)[:, y] + 0.05 * rng.random((20, 40))
    >>> model = nnmf.SSNMF(2, lam=10.0, random_state=0).fit(X, y)
    >>> model.score(X, y)
    1.0
    """

    _parameter_constraints = {"n_components": [Interval("int", 1, None)],
                              "lam": [Interval("real", 0, None)], **COMMON_CONSTRAINTS}

    def __init__(self, n_components, *, lam=1.0, init="nndsvd", max_iter=500, tol=1e-5,
                 random_state=None, verbose=0, n_threads=None):
        self.n_components = n_components
        self.lam = lam
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.n_threads = n_threads

    def fit(self, X, y, *, label_mask=None, mask=None):
        """Fit A, B and S to X and the known labels.

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (m, n)
            Nonnegative data, columns are samples.
        y : array-like of shape (n,)
            Class labels (integers or strings); None, NaN, -1, "-1" or "" mark an unknown
            label.
        label_mask : array-like of bool of shape (n,), default=None
            True where the label of a column is known and used; None means every label that
            is not -1.
        mask : array-like of shape (m, n), default=None
            Nonnegative weights W on the entries of X (0 = missing). Dense X only.

        Returns
        -------
        self
        """
        self.fit_transform(X, y, label_mask=label_mask, mask=mask)
        return self

    def fit_transform(self, X, y, *, label_mask=None, mask=None):
        """Fit (see :meth:`fit`) and return ``S_``."""
        Xop = check_data(X)
        m, n = Xop.shape
        p = self._validate_params()
        k = check_ranks_fit((p["n_components"],), Xop.shape, "n_components")[0]
        max_iter, tol = p["max_iter"], p["tol"]
        n_threads = resolve_n_threads(p["n_threads"])
        if y is None:
            raise ValueError("SSNMF needs labels y (use NMF for an unsupervised fit)")
        classes, _, Y, weights = prepare_labels(y, n, label_mask)
        if mask is not None:
            if Xop.is_sparse:
                raise ValueError("mask (missing-entry weights) needs a dense X")
            mask = check_matrix(mask, "mask", nonnegative=True)
            check_shape(mask.shape, (m, n), "mask", "like X")
        A, B, S, history, converged = fit_ssnmf(
            Xop, k, Y=Y, weights=weights, lam=p["lam"], init=p["init"], max_iter=max_iter,
            tol=tol, rng=check_random_state(p["random_state"]), n_threads=n_threads, mask=mask,
            verbose=p["verbose"])
        if not converged and tol > 0:
            warn_not_converged("SSNMF", max_iter, tol)
        self.A_, self.B_, self.S_ = A, B, S
        self.classes_ = classes
        self.history_ = history
        self.n_iter_ = len(history)
        if mask is None:
            self.reconstruction_err_ = reconstruction_error(Xop, [A], S, n_threads)
        else:
            WX = mask * Xop.matrix
            den = np.linalg.norm(WX)
            self.reconstruction_err_ = float(np.linalg.norm(WX - mask * (A @ S)) / den) \
                if den > 0 else 0.0
        self.n_features_in_ = m
        self._set_transduction(S)
        return S
