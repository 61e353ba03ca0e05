"""The Neural NMF estimator: hierarchical NMF whose factors are trained end to end by
backpropagation through the NNLS layers."""

import numbers
import warnings

import numpy as np

from . import _losses
from ._anls import layerwise_nmf
from ._base import BaseEstimator, check_is_fitted, check_random_state
from ._hierarchical import MultilayerMixin
from ._network import Batch, Network, reconstruction_error
from ._nmf import check_choice, check_nonneg_float
from ._nnls import solve_layer
from ._operand import Operand, as_operand
from ._optim import OPTIMIZERS, make_optimizer
from ._supervised import LabelTermMixin, class_scores_to_proba, prepare_optional_labels
from ._threads import blas_threads_for
from ._validation import check_matrix, check_shape, fortran, resolve_n_threads
from .exceptions import ConvergenceWarning

__all__ = ["NeuralNMF"]

_INITS = ("hierarchical", "random")
_HISTORY_KEYS = ("loss", "data", "supervision", "reconstruction_err", "accuracy")


def _progress_bar(total):
    try:
        from tqdm import tqdm
    except ImportError:
        raise ImportError(
            "verbose=True shows a progress bar with tqdm, which is not installed: "
            "pip install tqdm (or pip install 'nnmf[progress]')") from None
    return tqdm(total=total, desc="NeuralNMF", unit="it", leave=True)


class NeuralNMF(MultilayerMixin, LabelTermMixin, BaseEstimator):
    """Neural NMF: hierarchical NMF X ≈ A_0 A_1 ... A_L S_L trained end to end by
    backpropagation through nonnegative least squares.

    Columns of X are the samples (documents), rows the features (words). Each layer is the
    NNLS map S_l = argmin_{S >= 0} ||S_{l-1} - A_l S||_F (S_{-1} = X), computed exactly by
    the compiled core; the A's are the only free parameters, trained together by projected
    gradient steps on a loss, optionally with a linear classifier B on the top layer's
    coefficients for (semi-)supervised training.

    Parameters
    ----------
    ranks : int or sequence of int
        (k_0, ..., k_L): layer l has k_l topics. Typically decreasing; an int is one layer.
    loss : {"reconstruction", "energy"}, default="reconstruction"
        The data term. "reconstruction": 1/2 ||X - A_0 ... A_L S_L||^2, the fit of the whole
        hierarchy through its top layer. "energy": 1/2 sum_l ||S_{l-1} - A_l S_l||^2, every
        layer's own fit (keeps the intermediate layers accurate, converges more slowly).
        Either is divided by ||X||_F^2 (so the reconstruction term is half the squared
        relative error).
    lam : float, default=1.0
        Weight of the supervision term (used only when ``y`` is given). The supervision term
        is averaged over the labelled columns, so ``lam`` is scale-free: 1 weighs the mean
        classification loss of a labelled column like the (halved, squared) relative
        reconstruction error.
    classification_loss : {"cross_entropy", "l2"}, default="cross_entropy"
        "cross_entropy": -log softmax(B s_j)[y_j]; "l2": 1/2 ||y_j - B s_j||^2 with one-hot
        y_j (the paper's). Summed over the labelled columns only.
    optimizer : {"armijo", "adam", "pgd"}, default="armijo"
        "armijo": projected gradient with Armijo backtracking along the projection arc, each
        parameter block (A_0, ..., A_L, B) scaled by its own Barzilai-Borwein step (by
        ||block|| / ||gradient|| with mini-batches). No step size to tune; with full
        batches the loss never increases. "adam": projected Adam. "pgd": projected gradient
        with a fixed step per block.
    learning_rate : float, default=None
        "armijo": the first iteration's step, relative to each block's size (None: 0.01).
        "adam": a relative step, times the root-mean-square of each parameter block at the
        start (None: 0.01). "pgd": the fixed (absolute) step of every block (None: per
        block, the step an Armijo search accepts at the first iteration).
    max_iter : int, default=500
        Iterations (epochs with mini-batches).
    tol : float, default=1e-5
        Stop when the loss changes by less than ``tol`` times its value in one iteration.
    batch_size : int, default=None
        Columns per mini-batch, reshuffled every epoch (None: full batch). The loss of a
        batch is scaled to estimate the full one. With "armijo" the line search runs on each
        batch's loss (a stochastic line search, Vaswani et al. 2019): fast when the model
        can fit every batch well; on noisy labels prefer "adam".
    init : {"hierarchical", "random"} or list of arrays, default="hierarchical"
        "hierarchical": layer-wise NMF by alternating NNLS (X ≈ A_0 S_0 with NNDSVD start,
        then S_0 ≈ A_1 S_1, ...). "random": uniform entries scaled to the data, from
        ``random_state``. A list: the starting A's, A_l of shape (k_{l-1}, k_l).
    random_state : None, int or numpy.random.Generator, default=None
        Seeds random init and the mini-batch order. Fits are deterministic for a fixed seed.
    verbose : bool or int, default=False
        Show a progress bar (needs tqdm).
    n_threads : int, default=None
        Threads of the compiled core (None: OpenMP's maximum, honouring OMP_NUM_THREADS;
        -1 all, -2 all but one). Results do not depend on it.
    callback : callable, default=None
        ``callback(iteration, model_state)`` after every iteration (epoch); ``model_state``
        is a dict with keys "loss", "data", "supervision", "reconstruction_err" (floats),
        "A" (list), "B" (array or None), "S" (list) and "history" (dict of lists so far).
        The arrays are read-only views of the training state (no copies: copy one to keep
        it). Returning False stops training (no warning).

    Attributes
    ----------
    A_ : list of ndarray
        A_l of shape (k_{l-1}, k_l), k_{-1} = n_features.
    S_ : list of ndarray
        S_l of shape (k_l, n_samples) of the training data at the fitted A's.
    B_ : ndarray of shape (n_classes, k_L) or None
        The classifier (None after an unsupervised fit).
    classes_ : ndarray or None
        The class labels (None after an unsupervised fit).
    transduction_ : ndarray of shape (n_samples,)
        The labels the fitted model gives the training columns (supervised fits only).
    history_ : dict of ndarray
        Per iteration: "loss" (the objective), "data" and "supervision" (its two terms),
        "reconstruction_err" (relative) and "accuracy" (on the labelled training columns;
        NaN when unsupervised). Mini-batch runs record per-epoch estimates.
    n_iter_ : int
        Iterations (epochs) run.
    reconstruction_err_ : float
        ||X - A_0 ... A_L S_L||_F / ||X||_F on the training data.
    n_features_in_ : int
        m, the number of rows of X.

    Notes
    -----
    The model works with columns as samples: X is (n_features, n_samples), S is
    (k, n_samples), unlike scikit-learn's row convention. Sparse X is never densified.

    Ctrl-C (KeyboardInterrupt) during the training loop leaves a fitted, usable model with
    the best parameters met so far, then re-raises the KeyboardInterrupt (so scripts still
    stop); in a notebook, the model object is ready to use. An interrupt during
    initialisation leaves the model unfitted. When training ends normally the parameters
    with the lowest recorded loss are kept (with the default full-batch "armijo", the last).

    References
    ----------
    J. Will, R. Zhang, E. Sadovnik, M. Gao, J. Vendrow, J. Haddock, D. Molitor and
    D. Needell, "Neural nonnegative matrix factorization for hierarchical multilayer topic
    modeling", 2023. https://arxiv.org/abs/2303.00058

    J. Haddock et al., "Neural nonnegative matrix factorization for hierarchical multilayer
    topic modeling", IEEE 8th International Workshop on Computational Advances in
    Multi-Sensor Adaptive Processing (CAMSAP), 2019 (the conference version).

    S. Vaswani et al., "Painless stochastic gradient: interpolation, line-search, and
    convergence rates", NeurIPS 2019 (the mini-batch line search).
    https://arxiv.org/abs/1905.09997

    N. Gillis, *Nonnegative Matrix Factorization*, SIAM, 2020 (ANLS, used by the
    hierarchical initialisation). https://doi.org/10.1137/1.9781611976410

    Examples
    --------
    >>> import numpy as np, nnmf
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((40, 6)) @ rng.random((6, 3)) @ rng.random((3, 60))
    >>> X += 0.1 * rng.random((40, 6)) @ rng.random((6, 60))
    >>> model = nnmf.NeuralNMF((6, 3), random_state=0).fit(X)
    >>> [A.shape for A in model.A_]
    [(40, 6), (6, 3)]
    >>> bool(model.reconstruction_err_ < 0.05)
    True
    """

    def __init__(self, ranks, *, loss="reconstruction", lam=1.0,
                 classification_loss="cross_entropy", optimizer="armijo", learning_rate=None,
                 max_iter=500, tol=1e-5, batch_size=None, init="hierarchical",
                 random_state=None, verbose=False, n_threads=None, callback=None):
        self.ranks = ranks
        self.loss = loss
        self.lam = lam
        self.classification_loss = classification_loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.batch_size = batch_size
        self.init = init
        self.random_state = random_state
        self.verbose = verbose
        self.n_threads = n_threads
        self.callback = callback

    # ---------------------------------------------------------------------------------
    # validation
    def _check_params(self, shape):
        m, n = shape
        ranks = self.ranks
        if isinstance(ranks, numbers.Integral) and not isinstance(ranks, bool):
            ranks = (ranks,)
        try:
            ranks = tuple(ranks)
        except TypeError:
            raise ValueError(f"ranks must be an int or a sequence of ints, got {self.ranks!r}") \
                from None
        if not ranks:
            raise ValueError("ranks is empty: give at least one layer's rank")
        for k in ranks:
            if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
                raise ValueError(f"ranks must hold positive ints, got {self.ranks!r}")
        ranks = tuple(int(k) for k in ranks)
        limit = min(m, n)
        if max(ranks) > limit:
            raise ValueError(
                f"ranks {ranks} exceed what X of shape {(m, n)} allows: every rank must be "
                f"at most min(n_features, n_samples) = {limit}")
        for name, value, choices in (("loss", self.loss, _losses.LOSSES),
                                     ("classification_loss", self.classification_loss,
                                      _losses.CLASSIFIER_LOSSES),
                                     ("optimizer", self.optimizer, OPTIMIZERS)):
            check_choice(value, name, choices)
        check_nonneg_float(self.lam, "lam")
        if self.learning_rate is not None and (
                isinstance(self.learning_rate, bool)
                or not isinstance(self.learning_rate, numbers.Real)
                or not np.isfinite(self.learning_rate) or self.learning_rate <= 0):
            raise ValueError(
                f"learning_rate must be a positive number or None, got {self.learning_rate!r}")
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, numbers.Integral) \
                or self.max_iter < 1:
            raise ValueError(f"max_iter must be a positive int, got {self.max_iter!r}")
        check_nonneg_float(self.tol, "tol")
        if self.batch_size is not None and (
                isinstance(self.batch_size, bool)
                or not isinstance(self.batch_size, numbers.Integral) or self.batch_size < 1):
            raise ValueError(f"batch_size must be a positive int or None, got "
                             f"{self.batch_size!r}")
        if isinstance(self.init, str):
            if self.init not in _INITS:
                raise ValueError(f"init must be one of {_INITS} or a list of arrays, got "
                                 f"{self.init!r}")
            if self.init == "hierarchical":
                for l in range(1, len(ranks)):
                    if ranks[l] > ranks[l - 1]:
                        raise ValueError(
                            f"init='hierarchical' needs non-increasing ranks (layer {l} has "
                            f"{ranks[l]} > {ranks[l - 1]}); use init='random' or give A's")
        if self.callback is not None and not callable(self.callback):
            raise ValueError("callback must be callable or None")
        return ranks

    def _check_X(self, X):
        if isinstance(X, Operand):
            return X
        return as_operand(X, nonnegative=True)

    # ---------------------------------------------------------------------------------
    # initialisation
    def _initial_factors(self, Xop, ranks, rng, n_threads):
        dtype = Xop.dtype
        if isinstance(self.init, str) and self.init == "hierarchical":
            As, Ss = layerwise_nmf(Xop, ranks, init="nndsvd", random_state=rng,
                                   n_threads=n_threads, warn=False)
            return [fortran(A, dtype) for A in As], [fortran(S, dtype) for S in Ss]
        As, Ss = [], []
        Z = Xop
        if isinstance(self.init, str):  # "random"
            for k in ranks:
                M = Z.matrix
                size = Z.shape[0] * Z.shape[1]
                mean = float(M.sum()) / size if size else 0.0
                scale = np.sqrt(max(mean, np.finfo(float).tiny) / k)
                A = fortran(rng.random((Z.shape[0], k)) * scale, dtype)
                S = solve_layer(A, Z, n_threads=n_threads)[0]
                As.append(A)
                Ss.append(S)
                Z = as_operand(S)
            return As, Ss
        init = list(self.init)
        if len(init) != len(ranks):
            raise ValueError(f"init has {len(init)} matrices, expected one per layer "
                             f"({len(ranks)})")
        prev = Xop.shape[0]
        for l, (A, k) in enumerate(zip(init, ranks)):
            A = check_matrix(A, f"init[{l}]", nonnegative=True)
            check_shape(A.shape, (prev, k), f"init[{l}]", "k_{l-1} x k_l")
            A = fortran(A, dtype)
            S = solve_layer(A, Z, n_threads=n_threads)[0]
            As.append(A)
            Ss.append(S)
            Z = as_operand(S)
            prev = k
        return As, Ss

    @staticmethod
    def _initial_classifier(SL, Y, weights):
        """Least-squares B on the labelled columns: min ||(Y - B S_L) W||^2 (+ tiny ridge)."""
        S = SL.astype(np.float64) * weights
        G = S @ S.T
        ridge = 1e-8 * max(np.trace(G), np.finfo(float).tiny) / max(G.shape[0], 1)
        return np.linalg.solve(G + ridge * np.eye(G.shape[0]), S @ Y.T).T

    # ---------------------------------------------------------------------------------
    # fit
    def fit(self, X, y=None, *, label_mask=None, X_mask=None):
        """Train the network on X, unsupervised (y None), supervised or semi-supervised.

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (n_features, n_samples)
            Nonnegative data, one column per sample. float32 stays float32.
        y : array-like of shape (n_samples,), default=None
            Class labels (integers or strings); -1 (numeric) or None (object) marks an
            unknown label.
        label_mask : array-like of bool, shape (n_samples,), default=None
            True where the label is known (semi-supervised); None: every label not -1.
        X_mask : array-like of shape (n_features, n_samples), default=None
            0/1 (or bool): 1 where X's entry is observed. Missing entries are left out of
            the layer-0 loss term (the NNLS layers still see X as given). With a mask, a
            sparse X is densified for that term.

        Returns
        -------
        self
        """
        self._fit(X, y, label_mask, X_mask)
        return self

    def fit_transform(self, X, y=None, *, label_mask=None, X_mask=None):
        """Fit, then return the top layer's S of the training data (``S_[-1]``).

        Parameters are as in :meth:`fit`.

        Returns
        -------
        S : ndarray of shape (k_L, n_samples)
        """
        self._fit(X, y, label_mask, X_mask)
        return self.S_[-1]

    def _fit(self, X, y, label_mask, X_mask):
        Xop = self._check_X(X)
        ranks = self._check_params(Xop.shape)
        with blas_threads_for(Xop, ranks[0]):
            self._train(Xop, ranks, y, label_mask, X_mask)

    def _train(self, Xop, ranks, y, label_mask, X_mask):
        m, n = Xop.shape
        n_threads = resolve_n_threads(self.n_threads)
        rng = check_random_state(self.random_state)
        dtype = Xop.dtype

        labels = prepare_optional_labels(y, n, label_mask)
        supervised = labels is not None
        if supervised:
            classes, codes, Y, weights = labels
            if not self.lam > 0:
                raise ValueError("lam must be positive for a supervised fit (y given)")

        mask = Xd = None
        Xsq_norm = Xop.sqnorm()
        if X_mask is not None:
            mask = check_matrix(X_mask, "X_mask")
            check_shape(mask.shape, (m, n), "X_mask", "like X")
            if not np.isin(mask, (0, 1)).all():
                raise ValueError("X_mask must hold only 0 and 1 (or booleans)")
            mask = mask.astype(np.float64)
            Xd = Xop.matrix.toarray() if Xop.is_sparse else np.asarray(Xop.matrix)
            Xsq_norm = float(np.vdot(mask * Xd, mask * Xd))
        if Xsq_norm <= 0:
            raise ValueError("X is all zeros (on its observed entries): nothing to factorise")
        n_known = float(weights.sum()) if supervised else 1.0

        def make_batch(idx):
            sub = idx is not None
            bop = Xop.columns(idx) if sub else Xop
            frac = n / (len(idx) if sub else n)
            b = Batch(bop, idx, bop.sqnorm(), frac / Xsq_norm,
                      frac * self.lam / n_known if supervised else 0.0)
            if mask is not None:
                b.mask = mask[:, idx] if sub else mask
                b.X = Xd[:, idx] if sub else Xd
            if supervised:
                b.Y = Y[:, idx] if sub else Y
                b.weights = weights[idx] if sub else weights
            return b

        As, Ss = self._initial_factors(Xop, ranks, rng, n_threads)
        # In the data's dtype (a float32 fit steps in float32), row-major: the layout of the
        # gradients the core returns and of its sparse products
        params = [np.ascontiguousarray(A, dtype=dtype) for A in As]
        if supervised:
            params.append(self._initial_classifier(Ss[-1], Y, weights))
        n_layers = len(ranks)
        net = Network(n_layers, loss=self.loss, classification_loss=self.classification_loss,
                      n_threads=n_threads, dtype=dtype)
        full = self.batch_size is None or self.batch_size >= n
        opt = make_optimizer(self.optimizer, [True] * n_layers + [False] * supervised,
                             self.learning_rate,
                             batch_fraction=1.0 if full else self.batch_size / n,
                             n_threads=n_threads)
        full_batch = make_batch(None) if full else None
        store = [np.asfortranarray(S) for S in Ss]
        history = {key: [] for key in _HISTORY_KEYS}
        best = {"loss": np.inf, "params": params}
        self.n_features_in_ = m
        self.classes_ = classes if supervised else None

        bar = _progress_bar(self.max_iter) if self.verbose else None
        converged, interrupted, stalled_at_start = False, None, False
        try:
            ctx = None
            for it in range(1, self.max_iter + 1):
                if full:
                    if ctx is None:
                        value, ctx = net.evaluate(params, full_batch, store)
                    grads = net.gradient(ctx)
                    params, v, c, status = opt.step(
                        params, value, grads, lambda p: net.evaluate(p, full_batch, store))
                    if status == "stalled":
                        converged = True
                        stalled_at_start = not history["loss"]
                        break
                    if c is None:
                        v, c = net.evaluate(params, full_batch, store)
                    value, ctx = v, c
                    store = ctx.Ss
                    record = {"loss": value, "data": ctx.data, "supervision": ctx.supervision,
                              "reconstruction_err": ctx.rel_err,
                              "accuracy": self._accuracy(params, ctx.Ss[-1], codes, weights)
                              if supervised else np.nan}
                else:
                    record = self._epoch(net, opt, params, store, make_batch, rng, n,
                                         supervised, codes if supervised else None)
                    params = record.pop("params")
                    value = record["loss"]
                for key in _HISTORY_KEYS:
                    history[key].append(record[key])
                if value < best["loss"]:
                    best = {"loss": value, "params": params}
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{value:.4g}",
                                    err=f"{record['reconstruction_err']:.4g}")
                if self.callback is not None:
                    As_now, B_now = net.split(params)
                    state = dict(record, A=[_read_only(A.astype(dtype, copy=False))
                                            for A in As_now],
                                 B=None if B_now is None else _read_only(B_now),
                                 S=[_read_only(S) for S in store],
                                 history={key: list(v) for key, v in history.items()})
                    if self.callback(it, state) is False:
                        converged = True
                        break
                losses = history["loss"]
                if len(losses) > 1 and abs(losses[-2] - losses[-1]) <= self.tol * max(
                        abs(losses[-2]), np.finfo(float).tiny):
                    converged = True
                    break
        except KeyboardInterrupt as exc:
            interrupted = exc
        finally:
            if bar is not None:
                bar.close()
        self._finalize(net, best["params"], store, Xop, supervised, history, dtype)
        if interrupted is not None:
            raise interrupted
        if stalled_at_start:
            warnings.warn(
                "NeuralNMF: no step from the initial factors decreases the loss, so they were "
                "kept unchanged. The layers are numerically ill-conditioned, typically "
                "because a rank exceeds the numerical rank of the data (or of the layer "
                "below); try smaller ranks", ConvergenceWarning, stacklevel=3)
        elif not converged:
            warnings.warn(
                f"NeuralNMF reached max_iter={self.max_iter} before the loss changed by less "
                f"than tol={self.tol}; increase max_iter", ConvergenceWarning, stacklevel=3)

    def _epoch(self, net, opt, params, store, make_batch, rng, n, supervised, codes):
        """One pass over shuffled mini-batches; updates ``store`` (warm starts) in place.
        Returns the epoch's estimates (batch values weighted by batch size) and params."""
        order = rng.permutation(n)
        totals = dict.fromkeys(("loss", "data", "supervision"), 0.0)
        err_sq = xsq = 0.0
        correct = labelled = 0.0
        for start in range(0, n, self.batch_size):
            idx = np.sort(order[start:start + self.batch_size])
            batch = make_batch(idx)
            init = [S[:, idx] for S in store]
            value, ctx = net.evaluate(params, batch, init)
            grads = net.gradient(ctx)
            params, _, c, _ = opt.step(params, value, grads,
                                       lambda p: net.evaluate(p, batch, init))
            for S, Sb in zip(store, (c or ctx).Ss):
                S[:, idx] = Sb
            frac = len(idx) / n
            totals["loss"] += frac * value
            totals["data"] += frac * ctx.data
            totals["supervision"] += frac * ctx.supervision
            err_sq += ctx.rel_err ** 2 * batch.Xsq
            xsq += batch.Xsq
            if supervised:
                pred = np.argmax(ctx.B @ ctx.Ss[-1], axis=0)
                correct += float(np.sum((pred == codes[idx]) * batch.weights))
                labelled += float(batch.weights.sum())
        totals["reconstruction_err"] = float(np.sqrt(err_sq / xsq)) if xsq > 0 else 0.0
        totals["accuracy"] = correct / labelled if labelled > 0 else np.nan
        totals["params"] = params
        return totals

    @staticmethod
    def _accuracy(params, SL, codes, weights):
        pred = np.argmax(params[-1] @ SL, axis=0)
        known = weights > 0
        return float(np.mean(pred[known] == codes[known]))

    def _finalize(self, net, params, store, Xop, supervised, history, dtype):
        """Set the fitted attributes from params: a full forward pass gives S_."""
        As, B = net.split(params)
        self.A_ = [np.asarray(A, dtype=dtype) for A in As]
        Ss, C0, Gs = net.forward(self.A_, Xop, store)
        self.S_ = [np.asarray(S) for S in Ss]
        self.B_ = np.asarray(B, dtype=np.float64) if supervised else None
        self.history_ = {key: np.asarray(values, dtype=np.float64)
                         for key, values in history.items()}
        self.n_iter_ = len(self.history_["loss"])
        self.reconstruction_err_ = reconstruction_error(
            Xop.sqnorm(), [A.astype(np.float64) for A in self.A_],
            self.S_[-1].astype(np.float64), C0.astype(np.float64), Gs[0])
        if supervised:
            self._set_transduction(self.S_[-1])

    # ---------------------------------------------------------------------------------
    # inference
    def transform(self, X, *, layer=-1):
        """The coefficients of new data: the forward pass with the fitted A's.

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (n_features, n_new)
        layer : int or "all", default=-1
            Which layer's S to return (negative counts from the top); "all" returns the
            list S_0, ..., S_L.

        Returns
        -------
        S : ndarray of shape (k_layer, n_new), or a list of them for ``layer="all"``
        """
        check_is_fitted(self, "A_")
        L = len(self.A_)
        if not (layer == "all" or (isinstance(layer, numbers.Integral)
                                   and not isinstance(layer, bool) and -L <= layer < L)):
            raise ValueError(f"layer must be an int in [{-L}, {L - 1}] or 'all', got {layer!r}")
        Xop = self._check_X(X)
        if Xop.shape[0] != self.n_features_in_:
            raise ValueError(
                f"X has {Xop.shape[0]} rows (features), but this NeuralNMF was fitted on "
                f"{self.n_features_in_}")
        stop = L if layer == "all" else (layer % L) + 1
        Ss, Z = [], Xop
        for A in self.A_[:stop]:
            S = solve_layer(fortran(A, Z.dtype), Z, n_threads=resolve_n_threads(
                self.n_threads))[0]
            Ss.append(S)
            Z = as_operand(S)
        return Ss if layer == "all" else Ss[-1]

    def predict_proba(self, X):
        """Class probabilities of new data, shape (n_new, n_classes): softmax of B_ S for
        the cross-entropy loss; for "l2" the scores B_ S clipped at zero and normalised.

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (n_features, n_new)

        Returns
        -------
        proba : ndarray of shape (n_new, n_classes)
        """
        self._check_supervised()
        Z = self.B_ @ self.transform(X)
        if self.classification_loss == "cross_entropy":
            return _losses.softmax(Z).T
        return class_scores_to_proba(Z)

    def score(self, X, y=None):
        """With y: the classification accuracy on the known labels. Without: minus the
        relative reconstruction error ||X - A_0...A_L S_L||_F / ||X||_F (higher is better).

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (n_features, n)
        y : array-like of shape (n,), default=None

        Returns
        -------
        float
        """
        if y is not None:
            return super().score(X, y)
        check_is_fitted(self, "A_")
        Xop = self._check_X(X)
        SL = self.transform(Xop)
        A0 = self.A_[0].astype(Xop.dtype)
        C0 = Xop.tdot(A0, resolve_n_threads(self.n_threads))
        return -reconstruction_error(Xop.sqnorm(), [A.astype(np.float64) for A in self.A_],
                                     SL.astype(np.float64), C0.astype(np.float64))


def _read_only(M):
    """A read-only view of M (the callback must not change the training state)."""
    view = M.view()
    view.flags.writeable = False
    return view
