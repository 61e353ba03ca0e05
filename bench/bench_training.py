#!/usr/bin/env python
"""End-to-end training benchmarks (issue 6): every row times nnmf and its competitor side by
side, in one run, on the same data, and writes a results table.

Rows (``--rows``):

1. A Neural NMF training epoch (forward + backward + projected step) against the reference
   implementation, PyPI ``NeuralNMF`` 1.0.0 (PyTorch + a scipy.optimize.nnls column loop + a
   per-column pseudo-inverse backward), on synthetic_noise.mat (9, 4, 2), 20News_subsampled.mat
   (10, 6) and a dense 2000 x 2000 (40, 10). Both start from the same A's (a short layer-wise
   NMF) and take the same projected gradient steps A <- max(0, A - eta * grad) for the same
   number of epochs, so their errors must agree; the gradients at the starting A's are compared
   (reference scaled to nnmf's normalisation, see below). nnmf's default optimiser (Armijo) is
   timed too.
2. One-layer NMF by ANLS (``nnmf.nmf_anls``, what ``nnmf.NMF(solver="anls")`` runs) against
   scikit-learn's NMF (cd and mu): the time nnmf needs to reach each scikit-learn solver's final
   relative error, on a dense 5000 x 5000 rank 50 and a sparse corpus-like matrix.
3. Thread scaling, 1 vs 2 threads (core and BLAS both limited): the NNLS layer and an epoch.
4. Scale: a synthetic sparse 100,000 x 100,000 corpus with 10^7 nonzeros, ranks (100, 20):
   time per epoch and peak resident memory, measured inside a subprocess.
5. float32 vs float64: epoch time and the error difference after the same epochs.

Where the issue defines one, each row also reports the floor: the products with X one
training step cannot avoid (A_0^T X forward, X W^T backward with W k_0 x n), timed in the same
run (the faster of nnmf's kernel and numpy/scipy).

The reference's reconstruction loss is mean((X - A_0...A_L S_L)^2) = ||X - P S_L||^2 / (m n);
nnmf's is 1/2 ||X - P S_L||^2 / ||X||^2. So grad_nnmf = grad_ref * m n / (2 ||X||^2), and the
reference's learning rate is eta * m n / (2 ||X||^2) for nnmf's eta.

    python bench/bench_training.py                 # all rows, writes bench/RESULTS.md and
                                                   #   bench/results_training.json (~15 min)
    python bench/bench_training.py --quick         # small sizes, a smoke test (~1 min),
                                                   #   writes /tmp/nnmf_bench_quick.{md,json}
    python bench/bench_training.py --rows 1,3      # only some rows (merged into the JSON;
                                                   #   the table is rebuilt from all rows)

On the shared 2-core machines run timings under ``flock /tmp/nnmf-bench.lock``.
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy
import scipy.io
import scipy.sparse as sp

import nnmf
from nnmf._anls import layerwise_nmf, nmf_anls
from nnmf._network import Batch, Network
from nnmf._operand import as_operand
from _common import (LoadMeter, corpus, dense_planted,  # bench/ is on sys.path
                     dense_uniform)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT.parent / "shared" / "data"

TARGET_REF_DENSE = 200.0    # epoch >= 200x faster than the reference on dense 2000 x 2000
TARGET_GRAD = 1e-8          # gradients agree to 1e-8 relative
TARGET_FLOOR = 4.0          # epoch within 4x of the floor
TARGET_LAYER_SCALING = 1.7  # 1 -> 2 threads on the NNLS layer
TARGET_EPOCH_SCALING = 1.5  # 1 -> 2 threads on an epoch
TARGET_RSS_GB = 2.0         # 10^5 x 10^5 peak RSS

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_info = None

    @contextlib.contextmanager
    def threadpool_limits(limits=None, user_api=None):
        yield


# --------------------------------------------------------------------------- helpers

def now():
    return time.perf_counter()


def timeit(fn, repeats=5, warmup=1):
    """Median wall time of fn() over `repeats` calls after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = now()
        fn()
        ts.append(now() - t0)
    return statistics.median(ts)


def fmt_t(t):
    if t is None or not np.isfinite(t):
        return "–"
    if t >= 1:
        return f"{t:.2f} s"
    if t >= 1e-3:
        return f"{t * 1e3:.1f} ms"
    return f"{t * 1e6:.0f} µs"


def fmt_x(r):
    return "–" if r is None or not np.isfinite(r) else f"{r:.3g}x"


def fmt_e(e):
    return "–" if e is None or not np.isfinite(e) else f"{e:.6g}"


def passfail(ok):
    return "–" if ok is None else ("PASS" if ok else "FAIL")


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


def _proc_status_mb(field):
    """A memory field of /proc/self/status (kB there) in MB, or None where unavailable."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def rss_now_mb():
    return _proc_status_mb("VmRSS")


def peak_rss_mb():
    peak = _proc_status_mb("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss():
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def wait_for_idle(max_wait, threshold=0.15):
    """Wait up to max_wait seconds until other processes use under `threshold` of the CPUs."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < max_wait:
        meter = LoadMeter().start()
        time.sleep(1.0)
        busy = meter.stop()
        if busy is None or busy < threshold:
            break
        print(f"  (machine {100 * busy:.0f} % busy with other work; waiting)", flush=True)
    return time.monotonic() - t0


# --------------------------------------------------------------------------- data

def load_synthetic():
    d = scipy.io.loadmat(DATA / "synthetic_noise.mat")
    return np.asfortranarray(d["X"], dtype=np.float64)


def load_20news():
    d = scipy.io.loadmat(DATA / "20News_subsampled.mat")
    return sp.csc_matrix(d["X_subsampled"], dtype=np.float64)


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
    per row (20News: 0.2) this, not the products with X, bounds an epoch from below."""
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


def run_ours(X, ranks, As, epochs, threads, optimizer="pgd", eta=None, blas=None, warmup=5):
    """Fit NeuralNMF from As for epochs + 1 iterations; the time between the first and the
    last callback is `epochs` full epochs (gradient + step + forward of the new point).
    A fit of `warmup` epochs runs first, untimed: a process's first fits on new data grow
    malloc's heap to the step's working set (page faults) and fill Python's young garbage
    collector generations, which made the first fit's epochs up to 4x slower in bursts (20News:
    median 1.8 ms, then 1.2 ms). Returns (median epoch time, mean epoch time, history errors,
    model)."""
    stamps = []

    def cb(it, state):
        stamps.append(now())

    def fit(n_iter, callback):
        model = nnmf.NeuralNMF(ranks, optimizer=optimizer, learning_rate=eta,
                               init=[A.copy() for A in As], max_iter=n_iter, tol=0.0,
                               n_threads=threads, callback=callback, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with threadpool_limits(limits=blas or threads, user_api="blas"):
                model.fit(X)
        return model

    if warmup:
        fit(warmup, None)
    model = fit(epochs + 1, cb)
    d = np.diff(stamps)
    return (float(np.median(d)), float(np.mean(d)),
            model.history_["reconstruction_err"], model)


# --------------------------------------------------------------------------- reference

def run_reference(X, ranks, As, epochs, lr):
    """The reference's training loop, run in a subprocess (so that torch's thread pool does
    not share this process with nnmf's): see reference_child."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if sp.issparse(X):
            sp.save_npz(tmp / "X.npz", sp.csc_matrix(X))
        else:
            np.save(tmp / "X.npy", np.asarray(X))
        np.savez(tmp / "A.npz", *As)
        params = {"dir": str(tmp), "ranks": list(ranks), "epochs": epochs, "lr": lr,
                  "n_layers": len(As)}
        cmd = [sys.executable, str(Path(__file__).resolve()), "--_reference-child",
               json.dumps(params)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stderr[-4000:], file=sys.stderr)
            raise RuntimeError("reference child failed")
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        g = np.load(tmp / "grads.npz")
        grads = [g[f"arr_{i}"] for i in range(len(As))]
    return res["times"], grads, res["err"], res["threads"]


def reference_child(params):
    """The reference's training loop (NeuralNMF.train_unsupervised's body) for `epochs`
    epochs: zero_grad, forward (scipy nnls per column), Recon_Loss_Func, backward (pinv per
    column), A <- A - lr * grad, plus the projection clamp(min=0) of its supervised loop (its
    unsupervised loop omits it). Saves the gradients at the starting A's; reports per-epoch
    times and the relative error at the final A's (one more, untimed, forward)."""
    import torch
    import NeuralNMF as ref
    tmp = Path(params["dir"])
    if (tmp / "X.npz").exists():
        Xd = sp.load_npz(tmp / "X.npz").toarray()   # the reference takes a dense tensor
    else:
        Xd = np.load(tmp / "X.npy")
    a = np.load(tmp / "A.npz")
    As = [a[f"arr_{i}"] for i in range(params["n_layers"])]
    ranks, epochs, lr = params["ranks"], params["epochs"], params["lr"]
    m, n = Xd.shape
    Xt = torch.from_numpy(np.ascontiguousarray(Xd, dtype=np.float64))
    net = ref.Neural_NMF([m, *ranks])
    for l, A in enumerate(As):
        net.lsqnonneglst[l].A.data = torch.from_numpy(np.array(A, dtype=np.float64))
    loss_fn = ref.Recon_Loss_Func()
    times = []
    for i in range(epochs):
        t0 = now()
        net.zero_grad()
        S_lst = net(Xt)
        loss = loss_fn(net, Xt, S_lst)
        loss.backward()
        if i == 0:
            np.savez(tmp / "grads.npz", *[net.lsqnonneglst[l].A.grad.numpy().copy()
                                          for l in range(len(ranks))])
        for l in range(len(ranks)):
            A = net.lsqnonneglst[l].A
            A.data = A.data.sub_(lr * A.grad.data)
            A.data = A.data.clamp(min=0)
        times.append(now() - t0)
    with torch.no_grad():
        S_lst = net(Xt)
        loss = float(loss_fn(net, Xt, S_lst))
    Xsq = float(np.vdot(Xd, Xd))
    err = float(np.sqrt(max(loss, 0.0) * m * n / Xsq))
    return {"times": times, "err": err, "threads": torch.get_num_threads()}


# --------------------------------------------------------------------------- row 1

def row1(args):
    threads = args.threads
    if args.quick:
        cases = [("synthetic_noise", load_synthetic, (9, 4, 2), 5),
                 ("20News", load_20news, (10, 6), 1),
                 ("dense uniform", lambda: dense_uniform(300, 300, 0), (40, 10), 1)]
    else:
        cases = [("synthetic_noise", load_synthetic, (9, 4, 2), 20),
                 ("20News", load_20news, (10, 6), 3),
                 ("dense uniform", lambda: dense_uniform(2000, 2000, 0), (40, 10), 1)]
    out = []
    for name, loader, ranks, ref_epochs in cases:
        print(f"[row 1] {name} ranks {ranks}: reference {ref_epochs} epoch(s)", flush=True)
        X = loader()
        m, n = X.shape
        Xsq = float(X.multiply(X).sum()) if sp.issparse(X) else float(np.vdot(X, X))
        As = start_factors(X, ranks, threads)
        eta = step_size(X, As, threads)
        scale = m * n / (2 * Xsq)            # grad_nnmf = scale * grad_ref
        lr_ref = eta * scale
        t_ref, g_ref, err_ref, ref_threads = run_reference(X, ranks, As, ref_epochs, lr_ref)
        _, g_ours = our_gradient(X, As, threads)
        rel = [float(np.linalg.norm(scale * gr - go) / max(np.linalg.norm(scale * gr), 1e-300))
               for gr, go in zip(g_ref, g_ours)]
        our_epochs = max(ref_epochs, 10 if args.quick else 30)
        t_med, t_mean, hist, _ = run_ours(X, ranks, As, our_epochs, threads, "pgd", eta)
        err_ours = float(hist[ref_epochs - 1])
        t_arm, _, hist_arm, _ = run_ours(X, ranks, As, our_epochs, threads, "armijo")
        floor, fdet = floor_time(X, As[0], ranks[0], threads, repeats=21)
        a0_work = a0_work_time(As[0], threads, repeats=21)
        t_ref_epoch = float(np.median(t_ref))
        r = {"case": name, "shape": [m, n], "sparse": sp.issparse(X), "ranks": list(ranks),
             "ref_epochs": ref_epochs, "our_epochs": our_epochs, "eta": eta, "lr_ref": lr_ref,
             "grad_scale": scale, "t_ref_epoch": t_ref_epoch, "t_ref_all": t_ref,
             "ref_torch_threads": ref_threads,
             "t_ours_epoch": t_med, "t_ours_epoch_mean": t_mean, "t_armijo_epoch": t_arm,
             "speedup": t_ref_epoch / t_med, "floor": floor, "floor_detail": fdet,
             "floor_ratio": t_med / floor, "floor_ratio_armijo": t_arm / floor,
             "a0_work": a0_work, "floor_a0_ratio": t_med / (floor + a0_work),
             "err_ref": err_ref, "err_ours": err_ours,
             "err_armijo_same_epochs": float(hist_arm[ref_epochs - 1]),
             "err_armijo_final": float(hist_arm[-1]),
             "grad_rel_diff_per_layer": rel, "grad_rel_diff": max(rel),
             "err_start": rel_error(X, *_top(X, As))}
        r["pass_speed"] = bool(r["speedup"] > (TARGET_REF_DENSE if "dense" in name else 1.0))
        r["pass_grad"] = bool(r["grad_rel_diff"] <= TARGET_GRAD)
        r["pass_floor"] = bool(r["floor_ratio"] <= TARGET_FLOOR)
        print(f"   ref {fmt_t(t_ref_epoch)}/epoch, ours {fmt_t(t_med)}/epoch "
              f"({fmt_x(r['speedup'])}), armijo {fmt_t(t_arm)}, floor {fmt_t(floor)} "
              f"({fmt_x(r['floor_ratio'])}), with A_0 work {fmt_t(floor + a0_work)} "
              f"({fmt_x(r['floor_a0_ratio'])}), grad diff {r['grad_rel_diff']:.2e}, "
              f"err ref {err_ref:.6g} ours {err_ours:.6g}", flush=True)
        out.append(r)
    return out


def _top(X, As):
    """(P, S_L) with P = A_0...A_L and S_L the forward pass at As (for the start error)."""
    Z = X
    for A in As:
        Z = nnmf.nnls(A, Z)
    P = As[0]
    for A in As[1:]:
        P = P @ A
    return P, Z


# --------------------------------------------------------------------------- row 2

def sk_fit(X, k, solver, init, max_iter, tol):
    """scikit-learn NMF on X^T (samples x features). Returns (time, relative error, n_iter)."""
    from sklearn.decomposition import NMF as SKNMF
    Xs = X.T.tocsr() if sp.issparse(X) else np.ascontiguousarray(X.T)
    model = SKNMF(n_components=k, solver=solver, init=init, max_iter=max_iter, tol=tol,
                  random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = now()
        W = model.fit_transform(Xs)
        t = now() - t0
    H = model.components_
    # sklearn: X^T ~= W H  <=>  X ~= H^T W^T (A = H^T, S = W^T)
    return t, rel_error(X, H.T, W.T), int(model.n_iter_)


def ours_trajectory(X, k, threads, max_iter, stop_err, time_cap):
    """nmf_anls (nnmf.NMF(solver="anls")'s engine, NNDSVD init) with a timestamp and the
    relative error after every iteration; stops once the error reaches stop_err or after
    time_cap seconds. Times count from the call (the init's SVD included)."""
    traj = []
    t0 = now()

    def cb(it, state):
        traj.append((now() - t0, float(state["error"])))
        if state["error"] <= stop_err or traj[-1][0] > time_cap:
            return False
        return None

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nmf_anls(X, k, init="nndsvd", max_iter=max_iter, tol=0.0, random_state=0,
                 n_threads=threads, callback=cb, warn=False)
    return traj


def time_to_reach(traj, err):
    for t, e in traj:
        if e <= err * (1 + 1e-9):
            return t
    return None


def row2(args):
    threads = args.threads
    if args.quick:
        cases = [("dense planted 800x800", lambda: dense_planted(800, 800, 20, 0), 20),
                 ("sparse corpus 4000x1000", lambda: corpus(4000, 1000, 20000, 10, 0), 10)]
        max_iter = 100
    else:
        cases = [("dense planted 5000x5000", lambda: dense_planted(5000, 5000, 50, 0), 50),
                 ("sparse corpus 20000x5000", lambda: corpus(20000, 5000, 500_000, 20, 0), 20)]
        max_iter = 200
    out = []
    for name, loader, k in cases:
        X = loader()
        dens = X.nnz / (X.shape[0] * X.shape[1]) if sp.issparse(X) else 1.0
        print(f"[row 2] {name} rank {k} (density {dens:.4g})", flush=True)
        sk = {}
        with threadpool_limits(limits=threads, user_api="blas"):
            for solver, init in (("cd", "nndsvd"), ("mu", "nndsvda")):
                t, e, it = sk_fit(X, k, solver, init, max_iter, 1e-4)
                sk[solver] = {"time": t, "err": e, "n_iter": it, "init": init}
                print(f"   sklearn {solver}: {fmt_t(t)}, err {e:.6g}, {it} iterations",
                      flush=True)
            fastest = min(sk.values(), key=lambda d: d["time"])
            target = min(d["err"] for d in sk.values())
            traj = ours_trajectory(X, k, threads, 500, target,
                                   time_cap=max(d["time"] for d in sk.values()) * 2 + 5)
        r = {"case": name, "shape": list(X.shape), "k": k, "density": dens, "sklearn": sk,
             "ours_final_err": traj[-1][1], "ours_time": traj[-1][0], "ours_iters": len(traj),
             "trajectory": traj}
        for solver, d in sk.items():
            t = time_to_reach(traj, d["err"])
            d["ours_time_to_reach"] = t
            d["ratio"] = None if t is None else d["time"] / t
            d["pass"] = t is not None and t < fastest["time"]
            print(f"   nnmf reaches sklearn-{solver}'s error {d['err']:.6g} in "
                  f"{fmt_t(t) if t is not None else 'never'}", flush=True)
        r["pass"] = all(d["pass"] for d in sk.values())
        out.append(r)
    return out


# --------------------------------------------------------------------------- row 3

ROW3_CONFIGS = [(1, 1), (2, 2), (2, 1), (1, 2)]   # (nnmf core threads, BLAS threads)
ROW3_ROUNDS = 3   # interleaved rounds per config (medians)


def row3_cases(quick):
    if quick:
        layer = [("dense (500, 20, 500)", lambda: dense_uniform(500, 500, 0), 20),
                 ("sparse corpus 4000x1000, k=10", lambda: corpus(4000, 1000, 20000, 10, 0), 10)]
        epoch = [("dense 300x300 (40, 10)", lambda: dense_uniform(300, 300, 0), (40, 10)),
                 ("sparse corpus 4000x1000 (10, 5)", lambda: corpus(4000, 1000, 20000, 10, 0),
                  (10, 5))]
        return layer, epoch, 5
    layer = [("dense (2000, 40, 2000)", lambda: dense_uniform(2000, 2000, 0), 40),
             ("sparse corpus 20000x5000, k=20", lambda: corpus(20000, 5000, 500_000, 20, 0),
              20)]
    epoch = [("dense 2000x2000 (40, 10)", lambda: dense_uniform(2000, 2000, 0), (40, 10)),
             ("sparse corpus 20000x5000 (20, 10)",
              lambda: corpus(20000, 5000, 500_000, 20, 0), (20, 10))]
    return layer, epoch, 10


def row3_measure(quick, configs):
    """Times of every row-3 case under each (core threads, BLAS threads) config."""
    layer_cases, epoch_cases, epochs = row3_cases(quick)
    out = []
    rng = np.random.default_rng(0)
    for name, loader, k in layer_cases:
        X = loader()
        A = rng.random((X.shape[0], k))
        res = {"kind": "nnls layer (cold)", "case": name, "t": {}, "floor": {}}

        def layer(t, b):
            with threadpool_limits(limits=b, user_api="blas"):
                return timeit(lambda: nnmf.nnls(A, X, n_threads=t), 5)
        res["t"], res["t_rounds"] = _interleaved(configs, layer)
        for t, b in configs:
            res["floor"][f"{t},{b}"] = floor_parts(X, A, k, t, blas=b)["fw"]
        out.append(res)
    for name, loader, ranks in epoch_cases:
        X = loader()
        As = start_factors(X, ranks, 2)
        eta = step_size(X, As, 2)
        res = {"kind": "training epoch (pgd)", "case": name, "t": {}, "floor": {}, "err": {}}

        def epoch(t, b):
            t_med, _, hist, _ = run_ours(X, ranks, As, epochs, t, "pgd", eta, blas=b)
            res["err"][f"{t},{b}"] = float(hist[-1])
            return t_med
        res["t"], res["t_rounds"] = _interleaved(configs, epoch)
        for t, b in configs:
            res["floor"][f"{t},{b}"] = floor_time(X, As[0], ranks[0], t, blas=b)[0]
        out.append(res)
    return out


def _interleaved(configs, measure, rounds=ROW3_ROUNDS):
    """measure(t, b) for every (core threads, BLAS threads) config, in `rounds` interleaved
    rounds, so that a slow spell of the shared machine hits every config alike. Returns
    ({config: median over rounds}, {config: all rounds})."""
    samples = {f"{t},{b}": [] for t, b in configs}
    for _ in range(rounds):
        for t, b in configs:
            samples[f"{t},{b}"].append(measure(t, b))
    return {c: float(np.median(v)) for c, v in samples.items()}, samples


def row3(args):
    out = row3_measure(args.quick, ROW3_CONFIGS)
    # the same 2 + 2 threads with OMP_WAIT_POLICY=active (libgomp reads it at load: a child;
    # importing nnmf chooses passive unless the user set a policy, as here)
    env = dict(os.environ, OMP_WAIT_POLICY="active")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_row3-child",
           json.dumps({"quick": args.quick, "configs": [[2, 2]]})]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    active = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else None
    for i, res in enumerate(out):
        res["t1"], res["t2"] = res["t"]["1,1"], res["t"]["2,2"]
        res["floor1"], res["floor2"] = res["floor"]["1,1"], res["floor"]["2,2"]
        res["t2_active"] = active[i]["t"]["2,2"] if active else None
        res["speedup"] = res["t1"] / res["t2"]
        res["floor_speedup"] = res["floor1"] / res["floor2"]
        tgt = TARGET_LAYER_SCALING if res["kind"].startswith("nnls") else TARGET_EPOCH_SCALING
        res["pass"] = bool(res["speedup"] >= tgt)
        if "err" in res:
            res["err_spread"] = max(res["err"].values()) - min(res["err"].values())
        print(f"[row 3] {res['kind']} {res['case']}: " + ", ".join(
            f"core {c.split(',')[0]}/BLAS {c.split(',')[1]} {fmt_t(v)}"
            for c, v in res["t"].items()) + f", 2/2 active {fmt_t(res['t2_active'])} "
            f"(1 -> 2: {fmt_x(res['speedup'])})", flush=True)
    return out


# --------------------------------------------------------------------------- row 4

def scale_child(params):
    """Runs in a subprocess: build the matrix, reset the peak RSS, train, report."""
    m, n, nnz, ranks, epochs, threads = (params[k] for k in
                                         ("m", "n", "nnz", "ranks", "epochs", "threads"))
    t0 = now()
    X = corpus(m, n, nnz, params["topics"], 0)
    t_gen = now() - t0
    rss_after_data = rss_now_mb()
    peak_during_gen = peak_rss_mb()
    reset_ok = reset_peak_rss()
    rng = np.random.default_rng(0)
    col_mean = np.asarray(X.mean(axis=1)).ravel()
    # A_0: random nonnegative with the data's row profile; A_1: random.
    As = [np.asfortranarray(rng.random((m, ranks[0])) * col_mean[:, None] + 1e-3 * col_mean.mean())]
    prev = ranks[0]
    for k in ranks[1:]:
        As.append(np.asfortranarray(rng.random((prev, k))))
        prev = k
    stamps = []
    t_fit0 = now()

    def cb(it, state):
        stamps.append(now())

    init_time = []
    orig_init = nnmf.NeuralNMF._initial_factors

    def timed_init(self, *a, **kw):  # the cold forward pass from the given A's
        t = now()
        out = orig_init(self, *a, **kw)
        init_time.append(now() - t)
        return out

    nnmf.NeuralNMF._initial_factors = timed_init
    model = nnmf.NeuralNMF(ranks, init=As, max_iter=epochs, tol=0.0, n_threads=threads,
                           callback=cb, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    t_fit = now() - t_fit0
    nnmf.NeuralNMF._initial_factors = orig_init
    peak_train = peak_rss_mb()
    floor, fdet = floor_time(X, model.A_[0], ranks[0], threads, repeats=3)
    epochs_t = np.diff([t_fit0] + stamps).tolist()
    return {"m": m, "n": n, "nnz": int(X.nnz), "ranks": ranks, "epochs": epochs,
            "t_init_forward": init_time[0] if init_time else None,
            "t_generate": t_gen, "rss_after_data_mb": rss_after_data,
            "peak_rss_generation_mb": peak_during_gen, "peak_reset": reset_ok,
            "peak_rss_training_mb": peak_train, "t_fit": t_fit, "epoch_times": epochs_t,
            "errors": model.history_["reconstruction_err"].tolist(), "floor": floor,
            "floor_detail": fdet, "x_bytes_mb": (X.data.nbytes + X.indices.nbytes
                                                 + X.indptr.nbytes) / 2 ** 20}


def row4(args):
    if args.quick:
        params = {"m": 20000, "n": 20000, "nnz": 400_000, "ranks": [30, 10], "epochs": 3,
                  "topics": 30}
    else:
        params = {"m": 100_000, "n": 100_000, "nnz": 10_000_000, "ranks": [100, 20],
                  "epochs": args.scale_epochs, "topics": 100}
    params["threads"] = args.threads
    print(f"[row 4] sparse {params['m']}x{params['n']}, {params['nnz']} nonzeros, ranks "
          f"{params['ranks']}, {params['epochs']} epochs (subprocess)", flush=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_scale-child", json.dumps(params)]
    t0 = now()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = now() - t0
    if proc.returncode != 0:
        print(proc.stderr[-4000:], file=sys.stderr)
        raise RuntimeError("row 4 child failed")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["ru_maxrss_children_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    res["wall"] = wall
    et = res["epoch_times"]
    # the time to the first callback holds the setup and the cold forward pass from the
    # given A's (t_init_forward) before epoch 1
    res["t_epoch_first"] = et[0] - (res.get("t_init_forward") or 0.0)
    res["t_epoch_later"] = float(np.median(et[1:])) if len(et) > 1 else et[0]
    res["floor_ratio"] = res["t_epoch_later"] / res["floor"]
    res["pass_rss"] = bool(res["peak_rss_training_mb"] < TARGET_RSS_GB * 1024
                           and res["ru_maxrss_children_mb"] < TARGET_RSS_GB * 1024)
    res["pass_floor"] = bool(res["floor_ratio"] <= TARGET_FLOOR)
    print(f"   epochs {[fmt_t(t) for t in et]}, floor {fmt_t(res['floor'])}, peak RSS "
          f"training {res['peak_rss_training_mb']:.0f} MB, whole child "
          f"{res['ru_maxrss_children_mb']:.0f} MB", flush=True)
    return [res]


# --------------------------------------------------------------------------- row 5

def row5(args):
    threads = args.threads
    if args.quick:
        cases = [("dense 300x300 (40, 10)", lambda: dense_uniform(300, 300, 0), (40, 10)),
                 ("sparse corpus 4000x1000 (10, 5)", lambda: corpus(4000, 1000, 20000, 10, 0),
                  (10, 5))]
        epochs = 5
    else:
        cases = [("dense 2000x2000 (40, 10)", lambda: dense_uniform(2000, 2000, 0), (40, 10)),
                 ("sparse corpus 20000x5000 (20, 10)",
                  lambda: corpus(20000, 5000, 500_000, 20, 0), (20, 10))]
        epochs = 20
    out = []
    for name, loader, ranks in cases:
        X64 = loader()
        X32 = X64.astype(np.float32)
        As = start_factors(X64, ranks, threads)
        eta = step_size(X64, As, threads)
        res = {"case": name, "ranks": list(ranks), "epochs": epochs}
        for tag, X in (("f64", X64), ("f32", X32)):
            t, _, hist, model = run_ours(X, ranks, As, epochs, threads, "pgd", eta)
            res[f"t_{tag}"] = t
            res[f"err_{tag}"] = float(hist[-1])
            res[f"dtype_{tag}"] = str(model.A_[0].dtype)
            res[f"floor_{tag}"] = floor_time(X, As[0], ranks[0], threads)[0]
        res["speedup"] = res["t_f64"] / res["t_f32"]
        res["floor_speedup"] = res["floor_f64"] / res["floor_f32"]
        res["err_diff"] = abs(res["err_f32"] - res["err_f64"])
        print(f"[row 5] {name}: f64 {fmt_t(res['t_f64'])}, f32 {fmt_t(res['t_f32'])} "
              f"({fmt_x(res['speedup'])}), err f64 {res['err_f64']:.8g} f32 "
              f"{res['err_f32']:.8g}", flush=True)
        out.append(res)
    return out


# --------------------------------------------------------------------------- report

def machine_info(args):
    info = {"cpu": "unknown", "logical_cores": os.cpu_count(),
            "python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__, "nnmf": nnmf.__version__,
            "nnmf_build": nnmf.build_info(), "threads": args.threads,
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "(unset)"),
            "platform": platform.platform()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    from importlib import metadata
    for mod, dist in (("torch", "torch"), ("sklearn", "scikit-learn"),
                      ("NeuralNMF", "NeuralNMF")):
        try:  # versions without importing (torch would load its own OpenMP runtime here)
            info[mod] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            info[mod] = "not installed"
    if threadpool_info is not None:
        info["threadpools"] = [{k: d.get(k) for k in ("internal_api", "version",
                                                      "num_threads", "architecture")}
                               for d in threadpool_info()]
        info["threadpool_files"] = [d.get("filepath") for d in threadpool_info()]
    return info


def blas_line(info):
    pools = info.get("threadpools", [])
    return ", ".join(f"{p['internal_api']} {p.get('version') or ''} "
                     f"({p.get('architecture') or '?'}, {p['num_threads']} threads)"
                     for p in pools) or "unknown"


def render(results):
    lines = ["# Training benchmarks (issue 6)", ""]
    runs = results.get("runs", {})
    torch_threads = "?"
    if results.get("rows", {}).get("1"):
        torch_threads = results["rows"]["1"][0].get("ref_torch_threads", "?")
    for key in sorted(runs):
        run = runs[key]
        info = run["machine"]
        lines += [f"Rows {', '.join(run['rows'])} — `{run['command']}` ({run['date']})", "",
                  f"- Machine: {info['cpu']}, {info['logical_cores']} logical cores; "
                  f"{info['platform']}",
                  f"- Versions: Python {info['python']}, numpy {info['numpy']}, scipy "
                  f"{info['scipy']}, torch {info.get('torch')} (in a subprocess, "
                  f"{torch_threads} threads), scikit-learn {info.get('sklearn')}, reference NeuralNMF "
                  f"{info.get('NeuralNMF')}, nnmf {info['nnmf']} ({info['nnmf_build']})",
                  f"- Thread pools: {blas_line(info)}; nnmf/BLAS threads used: "
                  f"{info['threads']} (except row 3); OMP_NUM_THREADS "
                  f"{info['OMP_NUM_THREADS']}",
                  "- dtype float64 (except row 5). Times are medians; an epoch is a backward "
                  "pass, a projected step and the forward pass at the new point.", ""]
    rows = results.get("rows", {})
    load = results.get("load", {})
    secs = results.get("row_seconds", {})
    if load:
        lines += ["CPU used by other processes while each row ran (skews 2-core timings): "
                  + ", ".join(f"row {r}: {100 * (load[r] or 0):.0f} % ({secs.get(r, 0):.0f} s)"
                              for r in sorted(load)), ""]
    if "1" in rows:
        lines += ["## 1. Neural NMF epoch vs the reference (PyPI NeuralNMF 1.0.0)", "",
                  "Same start (20 ANLS iterations of layer-wise NMF), same projected steps "
                  "A ← max(0, A − η∇) (η: no layer moves > 1 %; reference lr = η·mn/(2‖X‖²)), "
                  "same epochs. Gradient check: reconstruction loss, reference gradient × "
                  "mn/(2‖X‖²) (its loss is mean((X−PS)²), ours ½‖X−PS‖²/‖X‖²), "
                  "max over layers of ‖g_ref − g_ours‖_F/‖g_ref‖_F at the starting A's. "
                  "*floor*: the products with X a step cannot avoid (A₀ᵀX, X·Wᵀ; the faster "
                  "of nnmf's and scipy's kernels). *A₀ work*: numpy's time for the work on A₀ "
                  "alone a step cannot avoid either (A₀ᵀA₀, A₀M, one pass for the step).", "",
                  "| data | ranks | reference / epoch | nnmf / epoch (pgd) | speedup | target | "
                  "floor | epoch / floor | ≤ 4x | A₀ work | epoch / (floor + A₀ work) | "
                  "nnmf armijo / epoch | grad rel. diff | "
                  "≤ 1e-8 | epochs compared | rel. error ref | rel. error nnmf | "
                  "nnmf armijo error (same epochs / after more) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows["1"]:
            tgt = f">{TARGET_REF_DENSE:.0f}x" if "dense" in r["case"] else ">1x"
            lines.append(
                f"| {r['case']} {r['shape'][0]}x{r['shape'][1]}{' sparse' if r['sparse'] else ''}"
                f" | {tuple(r['ranks'])} | {fmt_t(r['t_ref_epoch'])} | {fmt_t(r['t_ours_epoch'])}"
                f" | {fmt_x(r['speedup'])} | {tgt} {passfail(r['pass_speed'])} | "
                f"{fmt_t(r['floor'])} | {fmt_x(r['floor_ratio'])} | {passfail(r['pass_floor'])}"
                f" | {fmt_t(r['a0_work'])} | {fmt_x(r['floor_a0_ratio'])}"
                f" | {fmt_t(r['t_armijo_epoch'])} | {r['grad_rel_diff']:.1e} | "
                f"{passfail(r['pass_grad'])} | {r['ref_epochs']} | {fmt_e(r['err_ref'])} | "
                f"{fmt_e(r['err_ours'])} | {fmt_e(r['err_armijo_same_epochs'])} / "
                f"{fmt_e(r['err_armijo_final'])} ({r['our_epochs'] + 1}) |")
        lines.append("")
    if "2" in rows:
        lines += ["## 2. One-layer NMF: nnmf ANLS vs scikit-learn", "",
                  "scikit-learn fits Xᵀ (samples × features) with max_iter=200, tol=1e-4 "
                  "(cd: init nndsvd, mu: init nndsvda); nnmf fits X (features × samples) by "
                  "ANLS from NNDSVD and is timed from the call (its SVD included) until its "
                  "relative error ‖X − AS‖_F/‖X‖_F reaches each scikit-learn solver's final "
                  "error. Pass: nnmf reaches it sooner than the fastest scikit-learn solver "
                  "finishes.", "",
                  "| data | k | solver | sklearn time | sklearn iters | sklearn rel. error | "
                  "nnmf time to that error | speedup | pass | nnmf final error (iters, time) |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows["2"]:
            dens = "" if r["density"] == 1.0 else f", density {r['density']:.3%}"
            for solver, d in r["sklearn"].items():
                lines.append(
                    f"| {r['case']}{dens} | {r['k']} | {solver} | {fmt_t(d['time'])} | "
                    f"{d['n_iter']} | {fmt_e(d['err'])} | "
                    f"{fmt_t(d['ours_time_to_reach']) if d['ours_time_to_reach'] else 'never'}"
                    f" | {fmt_x(d['ratio'])} | {passfail(d['pass'])} | "
                    f"{fmt_e(r['ours_final_err'])} ({r['ours_iters']}, {fmt_t(r['ours_time'])}) |")
        lines.append("")
    if "3" in rows:
        lines += ["## 3. Thread scaling, 1 vs 2 threads", "",
                  "\"1 thread\": nnmf core 1 thread and BLAS 1 thread; \"2 threads\": both 2 "
                  "(the target's comparison). Each time is the median of 3 rounds that "
                  "alternate the configurations (the JSON keeps every round). Fits on sparse "
                  "data hold BLAS to 1 thread themselves (threadpoolctl), so there the BLAS "
                  "setting only reaches the floor. Also shown: core 2 / BLAS 1, core 1 / BLAS 2, and "
                  "2 / 2 with OMP_WAIT_POLICY=active (a subprocess; importing nnmf sets passive "
                  "unless the user chose a policy): the cost of idle OpenMP threads that spin "
                  "on the 2 cores BLAS needs.", "",
                  "| what | data | 1 thread | 2 threads | speedup | target | core 2 / BLAS 1 | "
                  "core 1 / BLAS 2 | 2 / 2 active | floor 1 → 2 threads |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows["3"]:
            tgt = TARGET_LAYER_SCALING if r["kind"].startswith("nnls") else TARGET_EPOCH_SCALING
            lines.append(f"| {r['kind']} | {r['case']} | {fmt_t(r['t1'])} | {fmt_t(r['t2'])} | "
                         f"{fmt_x(r['speedup'])} | ≥{tgt}x {passfail(r['pass'])} | "
                         f"{fmt_t(r['t'].get('2,1'))} | {fmt_t(r['t'].get('1,2'))} | "
                         f"{fmt_t(r.get('t2_active'))} | {fmt_t(r['floor1'])} → "
                         f"{fmt_t(r['floor2'])} ({fmt_x(r['floor_speedup'])}) |")
        lines.append("")
    if "4" in rows:
        r = rows["4"][0]
        lines += ["## 4. Scale: sparse corpus 10^5 × 10^5 (subprocess)", "",
                  f"{r['m']} × {r['n']}, {r['nnz']:,} nonzeros (X itself {r['x_bytes_mb']:.0f} MB "
                  f"as CSC), ranks {tuple(r['ranks'])}, default optimiser (Armijo), start: "
                  f"random A's, {r['epochs']} epochs timed (fewer than a real fit: each takes seconds). "
                  "The initial forward pass (cold NNLS from those A's) is timed apart. Peak RSS is VmHWM inside the child "
                  "after building X (reset via /proc/self/clear_refs), and the child's whole "
                  "ru_maxrss (data generation included).", "",
                  "| initial forward (cold NNLS) | first epoch | later epochs (median) | floor | "
                  "later / floor | ≤ 4x | peak RSS training | peak RSS whole child | < 2 GB | "
                  "rel. error after epochs |",
                  "|---|---|---|---|---|---|---|---|---|---|",
                  f"| {fmt_t(r.get('t_init_forward'))} | {fmt_t(r['t_epoch_first'])} | "
                  f"{fmt_t(r['t_epoch_later'])} | "
                  f"{fmt_t(r['floor'])} | {fmt_x(r['floor_ratio'])} | "
                  f"{passfail(r['pass_floor'])} | {r['peak_rss_training_mb']:.0f} MB | "
                  f"{r['ru_maxrss_children_mb']:.0f} MB | {passfail(r['pass_rss'])} | "
                  f"{' → '.join(f'{e:.4f}' for e in r['errors'])} |", ""]
    if "5" in rows:
        lines += ["## 5. float32 vs float64 (same start, same pgd steps)", "",
                  "| data | epochs | f64 / epoch | f32 / epoch | speedup | floor speedup | "
                  "rel. error f64 | rel. error f32 | |difference| | fitted dtype |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows["5"]:
            lines.append(f"| {r['case']} | {r['epochs']} | {fmt_t(r['t_f64'])} | "
                         f"{fmt_t(r['t_f32'])} | {fmt_x(r['speedup'])} | "
                         f"{fmt_x(r['floor_speedup'])} | {fmt_e(r['err_f64'])} | "
                         f"{fmt_e(r['err_f32'])} | {r['err_diff']:.2e} | {r['dtype_f32']} |")
        lines.append("")
    notes = HERE / "RESULTS_notes.md"
    if notes.exists():
        lines += [notes.read_text().strip(), ""]
    return "\n".join(lines)


ROWS = {"1": row1, "2": row2, "3": row3, "4": row4, "5": row5}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    p.add_argument("--rows", default="1,2,3,4,5", help="comma-separated rows to run")
    p.add_argument("--threads", type=int, default=2, help="threads for nnmf and BLAS")
    p.add_argument("--scale-epochs", type=int, default=4,
                   help="epochs timed in row 4 (the 10^5 x 10^5 run)")
    p.add_argument("--out", default=None,
                   help="output prefix: writes PREFIX.md and PREFIX.json (default: "
                        "bench/RESULTS.md + bench/results_training.json; with --quick "
                        "/tmp/nnmf_bench_quick)")
    p.add_argument("--wait-idle", type=float, default=0.0,
                   help="before each row wait up to this many seconds for other load to end")
    p.add_argument("--render", action="store_true",
                   help="only rebuild the markdown table from the JSON (runs nothing)")
    p.add_argument("--fresh", action="store_true",
                   help="do not merge into the existing JSON (start a new table)")
    p.add_argument("--_scale-child", dest="scale_child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--_row3-child", dest="row3_child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--_reference-child", dest="reference_child", default=None,
                   help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.reference_child is not None:
        print(json.dumps(reference_child(json.loads(args.reference_child))))
        return 0
    if args.row3_child is not None:
        params = json.loads(args.row3_child)
        print(json.dumps(row3_measure(params["quick"], [tuple(c) for c in params["configs"]])))
        return 0
    if args.scale_child is not None:
        print(json.dumps(scale_child(json.loads(args.scale_child))))
        return 0

    if args.out:
        md, js = Path(args.out + ".md"), Path(args.out + ".json")
    elif args.quick:
        md, js = Path("/tmp/nnmf_bench_quick.md"), Path("/tmp/nnmf_bench_quick.json")
    else:
        md, js = HERE / "RESULTS.md", HERE / "results_training.json"
    if args.render:
        md.write_text(render(json.loads(js.read_text())))
        print(f"wrote {md}")
        return 0
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    for r in rows:
        if r not in ROWS:
            p.error(f"unknown row {r!r}: choose from {sorted(ROWS)}")

    results = {"rows": {}, "runs": {}}
    if js.exists() and not args.fresh:
        results = json.loads(js.read_text())
    command = "python bench/bench_training.py " + " ".join(shlex.quote(a) for a in
                                                           (argv or sys.argv[1:]))
    run_key = datetime.datetime.now().strftime("%Y-%m-%dT%H:%M:%S")
    info = machine_info(args)
    for r in rows:
        if args.wait_idle:
            wait_for_idle(args.wait_idle)
        t0 = now()
        meter = LoadMeter().start()
        results["rows"][r] = ROWS[r](args)
        load = meter.stop()
        results.setdefault("load", {})[r] = load
        results.setdefault("row_seconds", {})[r] = now() - t0
        print(f"  row {r}: {now() - t0:.1f} s, other load {100 * (load or 0):.0f} %",
              flush=True)
        # drop older runs whose rows were all re-run
        for key in list(results["runs"]):
            results["runs"][key]["rows"] = [x for x in results["runs"][key]["rows"] if x != r]
            if not results["runs"][key]["rows"]:
                del results["runs"][key]
        results["runs"].setdefault(run_key, {"command": command, "date": run_key,
                                             "machine": info, "rows": []})["rows"].append(r)
        js.write_text(json.dumps(results, indent=1, default=float))
        md.write_text(render(results))
    print(f"wrote {md} and {js}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
