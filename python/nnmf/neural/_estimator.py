"""The Neural NMF estimator: hierarchical NMF whose factors are trained end to end by
backpropagation through the NNLS layers."""

import contextlib
from dataclasses import dataclass
import signal
import threading
from typing import Optional
import warnings

import numpy as np

from .._utils.collective import abort_on_error, agreed
from .._utils.estimator import BaseEstimator, check_random_state
from .._utils.linalg import relative_error
from .._utils.params import RANKS, Interval, Options
from ..exceptions import ConvergenceWarning, Terminated
from ..layer import (Operand, blas_threads_for, check_matrix, check_shape, fortran, gram,
                     resolve_n_threads)
from ..multilayer import (LabelTermMixin, MultilayerMixin, class_scores_to_proba, fit_data, forward,
                          layerwise_nmf, prepare_optional_labels, reconstruction_error)
from ..multilayer._anls import random_factor
from . import _losses
from ._checkpoint import read_checkpoint, read_stored_S, write_checkpoint
from ._network import Batch, Network
from ._optim import OPTIMIZERS, make_optimizer

__all__ = ["NeuralNMF"]

_HISTORY_KEYS = ("loss", "data", "supervision", "reconstruction_err", "accuracy")


def _progress_bar(total):
    try:
        from tqdm import tqdm
    except ImportError:
        raise ImportError(
            "verbose=True shows a progress bar with tqdm, which is not installed: "
            "pip install tqdm (or pip install 'nnmf[progress]')") from None
    return tqdm(total=total, desc="NeuralNMF", unit="it", leave=True)


@dataclass
class _Problem:
    """The training data and the fixed parts of the objective: normalisations, labels,
    missing-entry mask. ``batch(idx)`` cuts a mini-batch of columns (None: all)."""
    Xop: Operand                        # this process's columns
    Xsq: float                          # ||X||^2 on the observed entries: data term's scale
    lam: float
    collective: object
    start: int = 0                      # where this process's columns sit among all n
    n: int = 0                          # the columns of all processes
    labels: Optional[tuple] = None      # (classes, codes, Y one-hot, weights), local columns
    n_known: float = 0.0                # labelled columns of all processes
    mask: Optional[np.ndarray] = None   # 0/1 observed entries (dense)
    Xd: Optional[np.ndarray] = None     # X densified, only with a mask

    def batch(self, idx):
        """The mini-batch of the global columns ``idx`` (sorted; None: all), as the part this
        process holds, scaled to estimate the whole objective."""
        sub = idx is not None
        frac = self.n / (len(idx) if sub else self.n)
        if sub:
            mine = idx[(idx >= self.start) & (idx < self.start + self.Xop.shape[1])]
            idx = mine - self.start
        cut = (lambda M: M[:, idx]) if sub else (lambda M: M)
        bop = self.Xop.columns(idx) if sub else self.Xop
        b = Batch(bop, idx, bop.sqnorm(), frac / self.Xsq, 0.0)
        if self.mask is not None:
            b.mask, b.X = cut(self.mask), cut(self.Xd)
        if self.labels is not None:
            _, _, Y, weights = self.labels
            b.sup_scale = frac * self.lam / self.n_known
            b.Y = cut(Y)
            b.weights = weights[idx] if sub else weights
        return b


@dataclass
class _Progress:
    """The state of a training run between iterations."""
    params: list
    store: list                         # the latest S's: next iteration's warm starts
    history: dict
    best_loss: float = np.inf
    best_params: Optional[list] = None
    ctx: object = None                  # full batch: the evaluated current point
    value: float = np.nan
    iteration: int = 0                  # iterations (epochs) done
    ending: str = "max_iter"            # "tol", "callback", "stalled", "stalled at start",
    #                                     "terminated"


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
    classification_loss : {"l2", "cross_entropy"}, default="l2"
        "l2": 1/2 ||y_j - B s_j||^2 with one-hot y_j (the paper's); "cross_entropy":
        -log softmax(B s_j)[y_j]. Summed over the labelled columns only. "l2" is the default
        because its targets are met at a finite B: when the known labels can be separated,
        the cross-entropy keeps decreasing as B grows without bound, and training then
        sharpens the known columns' classes instead of fitting the corpus, which generalises
        worse to the unknown labels (bench/bench_topics.py measures both against a logistic
        regression). "cross_entropy" gives ``predict_proba`` as a softmax.
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
    T. Will, R. Zhang, E. Sadovnik, M. Gao, J. Vendrow, J. Haddock, D. Molitor and
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

    _parameter_constraints = {
        "ranks": [RANKS],
        "loss": [Options(*_losses.LOSSES)],
        "lam": [Interval("real", 0, None)],
        "classification_loss": [Options(*_losses.CLASSIFIER_LOSSES)],
        "optimizer": [Options(*OPTIMIZERS)],
        "learning_rate": [None, Interval("real", 0, None, closed="neither")],
        "max_iter": [Interval("int", 1, None)],
        "tol": [Interval("real", 0, None)],
        "batch_size": [None, Interval("int", 1, None)],
        "init": [Options("hierarchical", "random"), "list"],
        "random_state": [None, "random_state"],
        "verbose": ["verbose"],
        "n_threads": [None, "n_threads"],
        "callback": [None, "callable"],
        "comm": [None, "comm"],
        "checkpoint": [None, "path"],
        "checkpoint_every": [Interval("int", 1, None)],
    }

    def __init__(self, ranks, *, loss="reconstruction", lam=1.0,
                 classification_loss="l2", optimizer="armijo", learning_rate=None,
                 max_iter=500, tol=1e-5, batch_size=None, init="hierarchical",
                 random_state=None, verbose=False, n_threads=None, callback=None, comm=None,
                 checkpoint=None, checkpoint_every=10):
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
        self.comm = comm
        self.checkpoint = checkpoint
        self.checkpoint_every = checkpoint_every

    def _check_params(self, shape):
        """The validated parameters, with the checks that depend on X's shape."""
        p = self._validate_params()
        ranks = p["ranks"]
        limit = min(shape)
        if max(ranks) > limit:
            raise ValueError(
                f"ranks {ranks} exceed what X of shape {tuple(shape)} allows: every rank must "
                f"be at most min(n_features, n_samples) = {limit}")
        if p["init"] == "hierarchical":
            for l in range(1, len(ranks)):
                if ranks[l] > ranks[l - 1]:
                    raise ValueError(
                        f"init='hierarchical' needs non-increasing ranks (layer {l} has "
                        f"{ranks[l]} > {ranks[l - 1]}); use init='random' or give A's")
        return p

    def _fit(self, X, y, label_mask, X_mask, resume=None):
        collective, Xop, n = fit_data(X, self.comm)
        p = agreed(collective, lambda: self._check_params((Xop.shape[0], n)))
        # the problem's norms are BLAS sums too, whose rounding follows BLAS's thread count
        with blas_threads_for(Xop, p["ranks"][0]):
            problem = self._problem(Xop, p, y, label_mask, X_mask, collective)  # agreed errors
            with abort_on_error(collective):
                self._train(problem, p, resume)

    # ---------------------------------------------------------------------------------
    # training: the problem, the starting point, the loop, the fitted attributes
    def _train(self, problem, p, resume):
        Xop, collective = problem.Xop, problem.collective
        n_threads = resolve_n_threads(p["n_threads"])
        rng = check_random_state(p["random_state"])
        supervised = problem.labels is not None
        L = len(p["ranks"])
        net = Network(L, loss=p["loss"], classification_loss=p["classification_loss"],
                      n_threads=n_threads, dtype=Xop.dtype, collective=collective)
        full = p["batch_size"] is None or p["batch_size"] >= problem.n
        opt = make_optimizer(p["optimizer"], [True] * L + [False] * supervised,
                             p["learning_rate"],
                             batch_fraction=1.0 if full else p["batch_size"] / problem.n,
                             n_threads=n_threads)
        if resume is None:
            As, Ss = self._initial_factors(Xop, p["ranks"], rng, n_threads, collective)
            # In the data's dtype (a float32 fit steps in float32), row-major: the layout of
            # the gradients the core returns and of its sparse products
            params = [np.ascontiguousarray(A, dtype=Xop.dtype) for A in As]
            if supervised:
                _, _, Y, weights = problem.labels
                params.append(_initial_classifier(Ss[-1], Y, weights, collective))
            run = _Progress(params, [np.asfortranarray(S) for S in Ss],
                            {key: [] for key in _HISTORY_KEYS}, best_params=params)
        else:
            run = self._resume(resume, net, opt, rng, problem, p, full)
        self.n_features_in_ = Xop.shape[0]
        self.classes_ = problem.labels[0] if supervised else None
        interrupted = None
        try:
            with _sigterm_flag() as terminated:
                self._loop(net, opt, run, problem, rng, full, terminated)
        except (KeyboardInterrupt, Terminated) as exc:
            interrupted = exc
        self._finalize(net, run, problem, n_threads)
        if interrupted is not None:
            raise interrupted
        self._warn_ending(run.ending)

    def _problem(self, Xop, p, y, label_mask, X_mask, collective):
        m, n_local = Xop.shape
        labels = prepare_optional_labels(y, n_local, label_mask, collective)
        if labels is not None and not p["lam"] > 0:
            raise ValueError("lam must be positive for a supervised fit (y given)")
        start, _, n = collective.block(n_local)
        problem = _Problem(Xop, Xop.sqnorm(), p["lam"], collective, start, n, labels)

        def check_mask():
            mask = check_matrix(X_mask, "X_mask")
            check_shape(mask.shape, (m, n_local), "X_mask", "like X")
            if not np.isin(mask, (0, 1)).all():
                raise ValueError("X_mask must hold only 0 and 1 (or booleans)")
            return mask.astype(np.float64)

        if X_mask is not None:
            problem.mask = agreed(collective, check_mask)
            problem.Xd = Xop.matrix.toarray() if Xop.is_sparse else np.asarray(Xop.matrix)
            problem.Xsq = float(np.vdot(problem.mask * problem.Xd, problem.mask * problem.Xd))
        problem.Xsq, problem.n_known = collective.sum(
            problem.Xsq, 0.0 if labels is None else float(labels[3].sum()))
        if problem.Xsq <= 0:
            raise ValueError("X is all zeros (on its observed entries): nothing to factorise")
        return problem

    def _initial_factors(self, Xop, ranks, rng, n_threads, collective):
        """The starting A's, as ``init`` says, and the S's of the forward pass at them."""
        if isinstance(self.init, str) and self.init == "hierarchical":
            As, Ss = layerwise_nmf(Xop, ranks, init="nndsvd", random_state=rng,
                                   n_threads=n_threads, warn=False, comm=collective)
            return [fortran(A, Xop.dtype) for A in As], [fortran(S, Xop.dtype) for S in Ss]
        if isinstance(self.init, str):  # "random": each layer scaled to the one below
            As, Ss, Z = [], [], Xop
            for k in ranks:
                As.append(fortran(random_factor(Z, k, rng, collective), Xop.dtype))
                Ss.append(forward(As[-1:], Z, n_threads)[0][0])
                Z = Operand.trusted(Ss[-1])
            return As, Ss
        init = list(self.init)
        if len(init) != len(ranks):
            raise ValueError(f"init has {len(init)} matrices, expected one per layer "
                             f"({len(ranks)})")
        def check_init():
            As, prev = [], Xop.shape[0]
            for l, (A, k) in enumerate(zip(init, ranks)):
                A = check_matrix(A, f"init[{l}]", nonnegative=True)
                check_shape(A.shape, (prev, k), f"init[{l}]", "k_{l-1} x k_l")
                As.append(fortran(A, Xop.dtype))
                prev = k
            return As

        As = agreed(collective, check_init)
        return As, forward(As, Xop, n_threads)[0]

    def _loop(self, net, opt, run, problem, rng, full, terminated):
        """Iterate until max_iter, the tolerance, the callback, a stall or a SIGTERM ends the
        run; checkpoint as asked."""
        bar = _progress_bar(self.max_iter) if self.verbose else None
        if bar is not None:
            bar.update(run.iteration)
        try:
            for it in range(run.iteration + 1, self.max_iter + 1):
                record = (self._full_step(net, opt, run, problem) if full
                          else self._epoch(net, opt, run, problem, rng))
                if record is None:
                    return
                for key in _HISTORY_KEYS:
                    run.history[key].append(record[key])
                run.iteration = it
                if run.value < run.best_loss:
                    run.best_loss, run.best_params = run.value, run.params
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{run.value:.4g}",
                                    err=f"{record['reconstruction_err']:.4g}")
                if self.callback is not None and problem.collective.any(
                        self._notify(it, record, net, run) is False):
                    run.ending = "callback"
                    return
                stop = problem.collective.any(terminated())
                if self.checkpoint is not None and (stop or it % self.checkpoint_every == 0):
                    self._write_checkpoint(run, opt, rng, problem)
                if stop:
                    run.ending = "terminated"
                    raise Terminated(
                        f"NeuralNMF stopped by SIGTERM after iteration {it}" + (
                            "" if self.checkpoint is None
                            else f"; continue with fit(..., resume={str(self.checkpoint)!r})"))
                losses = run.history["loss"]
                if len(losses) > 1 and abs(losses[-2] - losses[-1]) <= self.tol * max(
                        abs(losses[-2]), np.finfo(float).tiny):
                    run.ending = "tol"
                    return
        finally:
            if bar is not None:
                bar.close()

    def _write_checkpoint(self, run, opt, rng, problem):
        state = {"iteration": run.iteration, "params": run.params,
                 "best_params": run.best_params, "best_loss": float(run.best_loss),
                 "history": {k: np.asarray(v, dtype=np.float64) for k, v in run.history.items()},
                 "optimizer": opt.state(), "rng": rng.bit_generator.state,
                 "shape": [problem.Xop.shape[0], problem.n],
                 "ranks": [A.shape[1] for A in run.params[:len(run.store)]],
                 "supervised": problem.labels is not None}
        write_checkpoint(self.checkpoint, state, run.store, problem.collective)

    def _resume(self, path, net, opt, rng, problem, p, full):
        """The training state saved in the checkpoint ``path``, checked against this fit."""
        def load():
            state, processes = read_checkpoint(path)
            expected = {"shape": [problem.Xop.shape[0], problem.n], "ranks": list(p["ranks"]),
                        "supervised": problem.labels is not None}
            for key, value in expected.items():
                if state[key] != value:
                    raise ValueError(f"the checkpoint {path} is of another fit: its {key} is "
                                     f"{state[key]}, this fit's {value}")
            return state, processes

        state, processes = agreed(problem.collective, load)
        params = [np.ascontiguousarray(a, dtype=problem.Xop.dtype) for a in state["params"]]
        if problem.labels is not None:
            params[-1] = np.asarray(state["params"][-1], dtype=np.float64)
        store = state["store"] or read_stored_S(path, len(p["ranks"]), problem.collective,
                                                processes)
        if store is None:  # written by another number of processes: recompute them
            store = forward(net.split(params)[0], problem.Xop, net.n_threads)[0]
        opt.restore(state["optimizer"])
        rng.bit_generator.state = state["rng"]
        run = _Progress(params, [np.asfortranarray(S) for S in store],
                        {k: list(v) for k, v in state["history"].items()},
                        best_loss=state["best_loss"], best_params=state["best_params"],
                        iteration=state["iteration"])
        if full:  # the evaluated point, from the saved S's: as the uninterrupted fit has it
            As, B = net.split(params)
            batch = problem.batch(None)
            Gs = [gram(A, net.n_threads) for A in As]
            C0 = fortran(problem.Xop.tdot(As[0], net.n_threads), problem.Xop.dtype)
            run.value, run.ctx = net.evaluate_at(As, B, run.store, C0, Gs, batch)
        return run

    def _full_step(self, net, opt, run, problem):
        """One projected step on the whole data; its record, or None when it stalled."""
        if run.ctx is None:
            run.value, run.ctx = net.evaluate(run.params, problem.batch(None), run.store)
        step = opt.step(run.params, run.value, net.gradient(run.ctx),
                        lambda q: net.evaluate(q, run.ctx.batch, run.store))
        if step.stalled:
            run.ending = "stalled" if run.history["loss"] else "stalled at start"
            return None
        run.params = step.params
        if step.context is None:
            run.value, run.ctx = net.evaluate(run.params, run.ctx.batch, run.store)
        else:
            run.value, run.ctx = step.value, step.context
        run.store = run.ctx.Ss
        ctx = run.ctx
        return {"loss": run.value, "data": ctx.data, "supervision": ctx.supervision,
                "reconstruction_err": ctx.rel_err,
                "accuracy": _accuracy(ctx.B, ctx.Ss[-1], problem.labels, problem.collective)}

    def _epoch(self, net, opt, run, problem, rng):
        """One pass over shuffled mini-batches, warm-starting each from (and updating) the
        stored S's of its columns. Returns the epoch's estimates: batch values weighted by
        batch size."""
        n = problem.n
        order = rng.permutation(n)  # one global order: every process draws the same
        totals = dict.fromkeys(("loss", "data", "supervision"), 0.0)
        err_sq = xsq = correct = labelled = 0.0
        for start in range(0, n, self.batch_size):
            idx = np.sort(order[start:start + self.batch_size])
            batch = problem.batch(idx)
            init = [S[:, batch.idx] for S in run.store]
            value, ctx = net.evaluate(run.params, batch, init)
            step = opt.step(run.params, value, net.gradient(ctx),
                            lambda q: net.evaluate(q, batch, init))
            run.params = step.params
            for S, Sb in zip(run.store, (step.context or ctx).Ss):
                S[:, batch.idx] = Sb
            frac = len(idx) / n
            totals["loss"] += frac * value
            totals["data"] += frac * ctx.data
            totals["supervision"] += frac * ctx.supervision
            err_sq += ctx.fit_sq
            xsq += ctx.Xsq
            if problem.labels is not None:
                codes = problem.labels[1][batch.idx]
                pred = np.argmax(ctx.B @ ctx.Ss[-1], axis=0)
                correct += float(np.sum((pred == codes) * batch.weights))
                labelled += float(batch.weights.sum())
        correct, labelled = problem.collective.sum(correct, labelled)
        totals["reconstruction_err"] = relative_error(err_sq, xsq)
        totals["accuracy"] = correct / labelled if labelled > 0 else np.nan
        run.value = totals["loss"]
        return totals

    def _notify(self, it, record, net, run):
        """Call the callback with read-only views of the training state."""
        As, B = net.split(run.params)
        state = dict(record, A=[_read_only(A.astype(net.dtype, copy=False)) for A in As],
                     B=None if B is None else _read_only(B),
                     S=[_read_only(S) for S in run.store],
                     history={key: list(v) for key, v in run.history.items()})
        return self.callback(it, state)

    def _finalize(self, net, run, problem, n_threads):
        """Set the fitted attributes from the best parameters: a full forward pass gives
        S_."""
        As, B = net.split(run.best_params)
        Xop = problem.Xop
        self.A_ = [np.asarray(A, dtype=Xop.dtype) for A in As]
        Ss, C0, Gs = forward(self.A_, Xop, n_threads, init=run.store)
        self.S_ = [np.asarray(S) for S in Ss]
        self.B_ = np.asarray(B, dtype=np.float64) if problem.labels is not None else None
        self.history_ = {key: np.asarray(values, dtype=np.float64)
                         for key, values in run.history.items()}
        self.n_iter_ = len(self.history_["loss"])
        self.reconstruction_err_ = reconstruction_error(Xop, self.A_, self.S_[-1], n_threads,
                                                        C0=C0, G0=Gs[0],
                                                        collective=problem.collective)
        if problem.labels is not None:
            self._set_transduction(self.S_[-1])

    def _warn_ending(self, ending):
        if ending == "stalled at start":
            warnings.warn(
                "NeuralNMF: no step from the initial factors decreases the loss, so they were "
                "kept unchanged. The layers are numerically ill-conditioned, typically "
                "because a rank exceeds the numerical rank of the data (or of the layer "
                "below); try smaller ranks", ConvergenceWarning, stacklevel=4)
        elif ending == "max_iter":
            warnings.warn(
                f"NeuralNMF reached max_iter={self.max_iter} before the loss changed by less "
                f"than tol={self.tol}; increase max_iter", ConvergenceWarning, stacklevel=4)

    # ---------------------------------------------------------------------------------
    # inference
    def fit(self, X, y=None, *, label_mask=None, X_mask=None, resume=None):
        """Train the network on X, unsupervised (y None), supervised or semi-supervised.

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (n_features, n_samples)
            Nonnegative data, one column per sample. float32 stays float32.
        y : array-like of shape (n_samples,), default=None
            Class labels (integers or strings); None, NaN, -1, "-1" or "" mark an
            unknown label.
        label_mask : array-like of bool, shape (n_samples,), default=None
            True where the label is known (semi-supervised); None: every known label.
        X_mask : array-like of shape (n_features, n_samples), default=None
            0/1 (or bool): 1 where X's entry is observed. Missing entries are left out of
            the layer-0 loss term (the NNLS layers still see X as given). With a mask, a
            sparse X is densified for that term.
        resume : str or path-like, default=None
            A checkpoint written by a fit of the same data and parameters (``checkpoint=``):
            training continues from it to ``max_iter``, the same computation as a fit that
            was never interrupted (over MPI: with the same number of ranks; with another,
            up to rounding, as the S's are then recomputed).

        Returns
        -------
        self

        Raises
        ------
        nnmf.Terminated
            A SIGTERM stopped the fit (after its checkpoint, if any, was written); the
            model holds the best parameters met so far.
        """
        self._fit(X, y, label_mask, X_mask, resume)
        return self

    def fit_transform(self, X, y=None, *, label_mask=None, X_mask=None, resume=None):
        """Fit, then return the top layer's S of the training data (``S_[-1]``).

        Parameters are as in :meth:`fit`.

        Returns
        -------
        S : ndarray of shape (k_L, n_samples)
        """
        self._fit(X, y, label_mask, X_mask, resume)
        return self.S_[-1]

    def predict_proba(self, X):
        """Class probabilities of new data, shape (n_new, n_classes): softmax of ``B_ S`` for
        the cross-entropy loss; for "l2" the scores ``B_ S`` clipped at zero and normalised.

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
        return -self._transform_error(X)


def _initial_classifier(SL, Y, weights, collective):
    """Least-squares B on the labelled columns: min ||(Y - B S_L) W||^2 (+ tiny ridge)."""
    S = SL.astype(np.float64) * weights
    G, SYt = collective.sum(S @ S.T, S @ Y.T)
    ridge = 1e-8 * max(np.trace(G), np.finfo(float).tiny) / max(G.shape[0], 1)
    return np.linalg.solve(G + ridge * np.eye(G.shape[0]), SYt).T


def _accuracy(B, SL, labels, collective):
    """Accuracy of argmax B S_L on the labelled columns of every process (NaN when
    unsupervised)."""
    if labels is None:
        return np.nan
    _, codes, _, weights = labels
    known = weights > 0
    correct, labelled = collective.sum(
        float(np.sum(np.argmax(B @ SL, axis=0)[known] == codes[known])), float(known.sum()))
    return correct / labelled


@contextlib.contextmanager
def _sigterm_flag():
    """While training: a SIGTERM (what a batch scheduler sends before it kills a job) sets a
    flag that the loop reads between iterations, instead of ending the process mid-step. Only
    from the main thread, where Python delivers signals; the previous handler comes back
    after."""
    received = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    try:
        yield lambda: bool(received)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _read_only(M):
    """A read-only view of M (the callback must not change the training state)."""
    view = M.view()
    view.flags.writeable = False
    return view
