"""What several training rows share: the data sets, the common starting point, nnmf's
gradient and timed fits, the floor of a training step, and starting the row's children."""

import sys
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

import nnmf
from nnmf.datasets import load_20news_subsampled, load_synthetic_noise
from nnmf.layer import as_operand
from nnmf.multilayer import layerwise_nmf
from nnmf.neural import Batch, Network
from _common import now, page_faults, run_child, threadpool_limits, timeit  # bench/ is on sys.path

SCRIPT = Path(__file__).resolve().parent.parent / "bench_training.py"

TARGET_FLOOR = 4.0          # epoch within 4x of the floor


def start_child(option, params, args, env=None):
    """Run bench_training.py's hidden child `option` with params (JSON) in a subprocess that
    opts in to nnmf.tune_process() as this one did (--no-tune otherwise); its result."""
    import json

    cmd = [sys.executable, str(SCRIPT), option, json.dumps(params)]
    if getattr(args, "no_tune", False):
        cmd.append("--no-tune")
    return run_child(cmd, env)


# --------------------------------------------------------------------------- data

def load_synthetic():
    """The paper's synthetic_noise data (87 x 90, dense), as a writable Fortran array."""
    return np.array(load_synthetic_noise().X, dtype=np.float64, order="F")


def load_20news():
    """The paper's 20 Newsgroups subsample (37693 x 200, sparse CSC)."""
    return sp.csc_matrix(load_20news_subsampled().X, dtype=np.float64)


def rel_error(X, A, S):
    """||X - A S||_F / ||X||_F without forming A S (X dense or sparse, features x samples)."""
    A = np.asarray(A, dtype=np.float64)
    S = np.asarray(S, dtype=np.float64)
    if sp.issparse(X):
        Xsq = float(X.multiply(X).sum())
        cross = float(np.vdot(np.asarray(X.T @ A).T, S))
    else:
        X = np.asarray(X, dtype=np.float64)
        Xsq = float(np.vdot(X, X))
        cross = float(np.vdot(A.T @ X, S))
    sq = Xsq - 2 * cross + float(np.vdot((A.T @ A) @ S, S))
    return float(np.sqrt(max(sq, 0.0) / Xsq))


def random_start(X, ranks, seed=0):
    """Random nonnegative A's: A_0 with the data's row profile, the others uniform (the
    start of the large sparse runs, where a layer-wise NMF would take longer than the fit)."""
    rng = np.random.default_rng(seed)
    m = X.shape[0]
    col_mean = np.asarray(X.mean(axis=1)).ravel()
    As = [np.asfortranarray(rng.random((m, ranks[0])) * col_mean[:, None]
                            + 1e-3 * col_mean.mean())]
    prev = ranks[0]
    for k in ranks[1:]:
        As.append(np.asfortranarray(rng.random((prev, k))))
        prev = k
    return As


# --------------------------------------------------------------------------- floor

def floor_parts(X, A0, k0, threads, repeats=5, blas=None):
    """Times of the products with X one training step needs: A_0^T X (forward) and X W^T
    (backward, W: k_0 x n), each the faster of nnmf's Operand product (the core's kernels,
    or numpy's BLAS for dense X beyond their rank limit) and the plain library product
    (scipy's sparse product, numpy's BLAS). Returns a dict."""
    Xop = as_operand(X)
    n = X.shape[1]
    W = np.asfortranarray(np.random.default_rng(1).random((k0, n)), dtype=Xop.dtype)
    # row-major, like the fit's parameters (a column-major A_0 would add a copy of A_0 to
    # the sparse products and inflate the floor)
    A0 = np.ascontiguousarray(A0, dtype=Xop.dtype)
    Xop.dot_t(W, threads)  # builds the CSR copy once (cached, as in training)
    with threadpool_limits(limits=blas or threads, user_api="blas"):
        d = {"fw_nnmf": timeit(lambda: Xop.tdot(A0, threads), repeats),
             "bw_nnmf": timeit(lambda: Xop.dot_t(W, threads), repeats)}
        if sp.issparse(X):
            XT = Xop.matrix.T                 # CSR of X^T (a view of the CSC arrays)
            Xr = Xop.matrix.tocsr()
            Wt = np.ascontiguousarray(W.T)
            d["fw_scipy"] = timeit(lambda: XT @ A0, repeats)
            d["bw_scipy"] = timeit(lambda: Xr @ Wt, repeats)
        else:
            d["fw_numpy"] = timeit(lambda: A0.T @ X, repeats)
            d["bw_numpy"] = timeit(lambda: X @ W.T, repeats)
    d["fw"] = min(d["fw_nnmf"], d.get("fw_scipy", np.inf), d.get("fw_numpy", np.inf))
    d["bw"] = min(d["bw_nnmf"], d.get("bw_scipy", np.inf), d.get("bw_numpy", np.inf))
    return d


def a0_work_time(A0, threads, repeats=5):
    """numpy's time for the work on A_0 alone that a step cannot avoid either, whatever X:
    the Gram matrix A_0^T A_0 (forward), A_0 M with M k_0 x k_0 (backward) and one pass that
    reads A_0 and the gradient and writes the new A_0 (the step). Where X has few nonzeros
    per row (20News) this, not the products with X, bounds an epoch from below."""
    A0 = np.ascontiguousarray(A0, dtype=np.float64)
    k0 = A0.shape[1]
    M = np.random.default_rng(2).random((k0, k0))
    G, out = np.ones_like(A0), np.empty_like(A0)
    with threadpool_limits(limits=threads, user_api="blas"):
        return (timeit(lambda: A0.T @ A0, repeats) + timeit(lambda: A0 @ M, repeats)
                + timeit(lambda: np.subtract(A0, G, out=out), repeats))


def floor_time(X, A0, k0, threads, repeats=5, blas=None):
    """The floor of a training step: forward plus backward product. Returns (total, parts)."""
    d = floor_parts(X, A0, k0, threads, repeats, blas)
    return d["fw"] + d["bw"], d


# --------------------------------------------------------------------------- nnmf runs

def start_factors(X, ranks, threads, max_iter=20):
    """The common starting A's: a short layer-wise NMF (ANLS, NNDSVD start)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        As, _ = layerwise_nmf(X, ranks, max_iter=max_iter, random_state=0, n_threads=threads,
                              warn=False)
    return [np.asfortranarray(A) for A in As]


def our_gradient(X, As, threads, dtype=np.float64):
    """nnmf's reverse-mode gradient of the reconstruction loss 1/2||X - P S_L||^2/||X||^2."""
    Xop = as_operand(X, dtype=dtype)
    Xsq = Xop.sqnorm()
    net = Network(len(As), loss="reconstruction", classification_loss="l2",
                  n_threads=threads, dtype=dtype)
    batch = Batch(Xop, None, Xsq, 1.0 / Xsq, 0.0)
    value, ctx = net.evaluate([np.asfortranarray(A, dtype=np.float64) for A in As], batch)
    return value, net.gradient(ctx)


def step_size(X, As, threads):
    """eta with which no layer's A moves by more than 1 % of its norm in the first step."""
    _, g = our_gradient(X, As, threads)
    return 0.01 * min(np.linalg.norm(A) / max(np.linalg.norm(G), 1e-300)
                      for A, G in zip(As, g))


def fit_stamped(X, ranks, As, n_iter, threads, optimizer="pgd", eta=None, blas=None):
    """One NeuralNMF fit from As for n_iter iterations. Returns (start, stamps, faults,
    model): the clock before fit() and after every iteration's callback, and the process's
    minor page faults at each callback. The time to the first stamp holds the setup and the
    forward pass at the start; between two stamps lies one full epoch (gradient, step,
    forward pass at the new point)."""
    stamps, faults = [], []

    def cb(it, state):
        stamps.append(now())
        faults.append(page_faults()[0])

    model = nnmf.NeuralNMF(ranks, optimizer=optimizer, learning_rate=eta,
                           init=[A.copy() for A in As], max_iter=n_iter, tol=0.0,
                           n_threads=threads, callback=cb, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with threadpool_limits(limits=blas or threads, user_api="blas"):
            start = now()
            model.fit(X)
    return start, stamps, faults, model


def run_ours(X, ranks, As, epochs, threads, optimizer="pgd", eta=None, blas=None, warmup=5):
    """Fit NeuralNMF from As for epochs + 1 iterations; the time between the first and the
    last callback is `epochs` full epochs. A fit of `warmup` epochs runs first, untimed: a
    process's first fits on new data grow malloc's heap to the step's working set (page
    faults) and fill Python's young garbage collector generations, which slows the first
    fit's epochs in bursts (the `process` row measures it). Returns (median epoch time, mean
    epoch time, history errors, model)."""
    if warmup:
        fit_stamped(X, ranks, As, warmup, threads, optimizer, eta, blas)
    _, stamps, _, model = fit_stamped(X, ranks, As, epochs + 1, threads, optimizer, eta, blas)
    d = np.diff(stamps)
    return (float(np.median(d)), float(np.mean(d)),
            model.history_["reconstruction_err"], model)
