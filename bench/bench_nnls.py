#!/usr/bin/env python
"""Time the NNLS layer and its VJP side by side, in one run, on the same inputs.

Columns of the results:

* ``nnmf.nnls(A, X)`` cold;
* a loop of ``scipy.optimize.nnls(A, X[:, j])`` over columns (what the reference Neural NMF
  implementation does); slow, so it may be timed on a random subset of columns and
  extrapolated linearly to all n columns (the table says how many columns were timed);
* the floor: numpy's ``A.T @ X`` plus ``A.T @ A`` (sparse X: ``X.T @ A`` via scipy plus
  ``A.T @ A``), the products any layer must do;
* the VJP ``nnmf.nnls_vjp(A, X, S, G, need_dX=False)`` against the paper's per-column
  pseudo-inverse formula (numpy.linalg.pinv per column; subset + extrapolation) and the floor;
* warm start: after A moves by 1 %, ``nnmf.nnls(A2, X, init=S)`` against a cold
  ``nnmf.nnls(A2, X)``, their calls interleaved (one of each in turn), so that on a shared
  machine both see the same load;
* the first calls in a fresh process: calls 1, 2 and 10 of ``nnmf.nnls`` at (2000, 40, 2000)
  in new Python processes (after ``import nnmf.layer``), against the steady state.

Also checked in the same run: ours and scipy reach the same objective on the timed columns, and
our VJP equals the pinv formula on its timed columns. A breakdown of where our time goes
(validation, A^T X, Gram, the C++ solves) is written as a second table.

Every timing is one warm-up call and then the median of repeats. The script opts in to
``nnmf.tune_process()`` before nnmf's core loads (``--no-tune``: not) and records the
settings in effect.

    python bench/bench_nnls.py            # full run, writes bench/RESULTS_nnls.md + results_nnls.json
    python bench/bench_nnls.py --quick    # small sizes, a smoke test of the script
    python bench/bench_nnls.py --part warm   # only the warm-start and first-call sections,
                                             # updated in place in the existing results
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.optimize
import scipy.sparse as sp

# nnmf's subpackages are reached as attributes (nnmf.layer.gram, ...) when first used, so
# that nothing loads nnmf's core before main() has opted in to nnmf.tune_process().
import nnmf
from _common import (LoadMeter, corpus, cpu_busy, dense_planted,  # bench/ is on sys.path
                     pct, threadpools, time_calls, tune, wait_for_idle)
import _common

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

FULL_CASES = [
    ("dense", 2000, 40, 2000),
    ("dense", 10000, 50, 10000),
    ("dense", 1000, 10, 20000),
    ("20news", None, 10, None),
]
# Warm start where the active-set solve is most of a cold call (name, loader, k, ANLS iters).
WARM_CASES = [
    ("sparse corpus 20000x5000 (500k nonzeros)", lambda: corpus(20000, 5000, 500_000, 20, 0),
     50, 10),
    ("dense planted 2000x2000 (rank 50 + 10 % noise)", lambda: dense_planted(2000, 2000, 50, 0),
     100, 5),
]
QUICK_WARM_CASES = [
    ("sparse corpus 4000x1000", lambda: corpus(4000, 1000, 20000, 10, 0), 20, 5),
]
QUICK_CASES = [
    ("dense", 500, 20, 500),
    ("dense", 1000, 10, 2000),
    ("20news", None, 10, None),
]

TARGET_FLOOR = 2.0     # NNLS within 2x of the floor (m >= 1000)
TARGET_SCIPY = 100.0   # at least 100x faster than the scipy column loop
TARGET_VJP = 3.0       # VJP within 3x of the floor
TARGET_WARM = 2.0      # warm start at least 2x faster than cold (NMF-like problems)
TARGET_WARM_COST = 1.1 # and never more than 1.1x the cold time
TARGET_FIRST = 1.2     # a fresh process's first call at most 1.2x the steady state
FIRST_CALL_CASE = (2000, 40, 2000)


# --------------------------------------------------------------------------- timing helpers

STAT = "median"   # which statistic the tables use (--stat); both go to the JSON
LAST = {}
RETRY = {"n": 0, "wait": 0.0}


def timeit(fn, repeats, warmup=1):
    """Wall time (s) of fn() over `repeats` calls after `warmup` untimed calls: the median
    (or the minimum, with --stat min). Both are left in LAST, with the other processes' share
    of the CPUs meanwhile. With --retry-loaded N, a timing during which other processes used
    over 15 % of the CPUs is redone (after waiting for quiet) up to N times."""
    for attempt in range(RETRY["n"] + 1):
        for _ in range(warmup):
            fn()
        meter = LoadMeter().start()
        times = time_calls(fn, repeats, warmup=0)
        load = meter.stop() if sum(times) >= 0.25 else None  # /proc/stat ticks are 10 ms
        if load is None or load <= 0.15 or attempt == RETRY["n"]:
            break
        wait_for_idle(RETRY["wait"], quiet=True, probe=0.3)
    LAST.update(median=statistics.median(times), min=min(times), repeats=repeats, load=load,
                attempts=attempt + 1)
    return LAST[STAT]


def interleaved(fns, repeats):
    """Wall times (s) of each of fns (a dict) over `repeats` rounds, each round calling every
    fn once in turn, after one untimed round: on a shared machine each fn sees the same load,
    where timing one fn's repeats and then the other's would compare two different loads.
    Returns {name: (median, min)}."""
    times = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: (statistics.median(t), min(t)) for name, t in times.items()}


def record(res, key):
    """Store the median and min of the last timing beside res[key]."""
    res[key + "_median"], res[key + "_min"] = LAST["median"], LAST["min"]
    res[key + "_repeats"] = LAST["repeats"]
    res[key + "_other_load"] = LAST["load"]
    res[key + "_attempts"] = LAST["attempts"]


def repeats_for(seconds_per_call, budget, lo=3, hi=51):
    """How many repeats fit in `budget` seconds (odd, between lo and hi)."""
    r = int(budget / max(seconds_per_call, 1e-9))
    r = max(lo, min(hi, r))
    return r if r % 2 else max(lo, r - 1)


def timed_column_subset(per_column, n, budget, rng, min_cols):
    """Choose how many columns of a slow per-column loop to time so that it takes about
    `budget` seconds; returns sorted column indices (all n when they fit)."""
    n_cols = int(budget / max(per_column, 1e-9))
    n_cols = max(min(min_cols, n), min(n, n_cols))
    if n_cols >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, size=n_cols, replace=False))


# --------------------------------------------------------------------------- machine info

def machine_info(args, settings):
    info = _common.machine_info()
    info.update({
        "dtype": "float64",
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "(unset)"),
        "GOMP_SPINCOUNT": os.environ.get("GOMP_SPINCOUNT", "(unset)"),
        "process_settings": settings,
    })
    info["blas"] = threadpools()
    if not info["blas"]:  # no threadpoolctl
        cfg = np.show_config(mode="dicts")
        info["blas"] = cfg.get("Build Dependencies", {}).get("blas", {})
    info["quick"] = bool(args.quick)
    return info


def make_inputs(kind, m, k, n, rng, news_A):
    """(name, A, X, note) for one case; nonnegative uniform random A and X."""
    if kind == "dense":
        A = rng.random((m, k))
        X = rng.random((m, n))
        return "random dense", A, X, "A, X uniform [0,1)"
    X = sp.csc_matrix(nnmf.datasets.load_20news_subsampled().X, dtype=np.float64)
    m, n = X.shape
    if news_A == "nmf":
        A = quick_nmf_A(X, k, rng)
        note = "A from 200 multiplicative-update steps of a rank-%d NMF of X" % k
    else:
        A = rng.random((m, k))
        note = "A uniform [0,1)"
    return "20News (sparse CSC)", A, X, note


def quick_nmf_A(X, k, rng, iters=200):
    """The A of a quick rank-k NMF X ~ A S (Lee-Seung multiplicative updates, sparse-friendly)."""
    m, n = X.shape
    scale = np.sqrt(X.data.mean() / k) if X.nnz else 1.0
    A = rng.random((m, k)) * scale
    S = rng.random((k, n)) * scale
    eps = 1e-12
    Xt = X.T.tocsr()
    for _ in range(iters):
        S *= (Xt @ A).T / (A.T @ A @ S + eps)
        A *= (X @ S.T) / (A @ (S @ S.T) + eps)
    return np.ascontiguousarray(A)


def dense_columns(X, cols):
    """The chosen columns of X as a contiguous (len(cols), m) array (row i = column cols[i])."""
    if sp.issparse(X):
        return np.ascontiguousarray(X[:, cols].toarray().T)
    return np.ascontiguousarray(X[:, cols].T)


# --------------------------------------------------------------------------- competitors

def floor_fn(A, X):
    if sp.issparse(X):
        Xt = X.T  # CSC -> CSR view, no copy
        return lambda: (Xt @ A, A.T @ A)
    return lambda: (A.T @ X, A.T @ A)


def scipy_loop(A, cols_dense):
    out = np.empty((A.shape[1], cols_dense.shape[0]))
    for i, x in enumerate(cols_dense):
        out[:, i] = scipy.optimize.nnls(A, x)[0]
    return out


def pinv_vjp(A, cols_dense, S_cols, G_cols):
    """The paper's per-column pseudo-inverse formula for dL/dA, summed over the given columns:
    dA[:, P] += -(A_P^+T g_P)(A_P^+ z)^T + (z - A_P A_P^+ z)(g_P^T A_P^+ A_P^+T)."""
    dA = np.zeros_like(A)
    for z, s, g in zip(cols_dense, S_cols.T, G_cols.T):
        P = np.flatnonzero(s > 0)
        if P.size == 0:
            continue
        AP = A[:, P]
        Ap = np.linalg.pinv(AP)            # k_P x m
        gP = g[P]
        Apz = Ap @ z                        # k_P
        u = Ap.T @ gP                       # m
        r = z - AP @ Apz                    # m
        v = u @ Ap.T                        # k_P  (= g_P^T A_P^+ A_P^+T)
        dA[:, P] += -np.outer(u, Apz) + np.outer(r, v)
    return dA


def objectives(A, S_cols, cols_dense):
    R = cols_dense.T - A @ S_cols
    return np.einsum("ij,ij->j", R, R)


# --------------------------------------------------------------------------- one case

def run_case(spec, args, rng):
    kind, m, k, n = spec
    t_start = time.perf_counter()
    name, A, X, note = make_inputs(kind, m, k, n, rng, args.news_A)
    m, n = X.shape
    nnz = X.nnz if sp.issparse(X) else m * n
    print(f"\n== {name}: m={m} k={k} n={n} nnz={nnz} ({note})", flush=True)
    budget = args.budget
    res = {"name": name, "m": m, "k": k, "n": n, "nnz": int(nnz), "sparse": sp.issparse(X),
           "inputs": note, "other_load_before": cpu_busy()}
    nt = nnmf.layer.resolve_n_threads(None)
    meter = LoadMeter().start()
    idle = lambda: wait_for_idle(args.wait_idle_step, quiet=True, probe=0.3)

    # ---- floor
    ffn = floor_fn(A, X)
    idle()
    t1 = timeit(ffn, 1, warmup=1)
    res["floor_s"] = timeit(ffn, repeats_for(t1, budget))
    record(res, "floor_s")
    print(f"  floor            {res['floor_s']*1e3:10.2f} ms", flush=True)

    # ---- ours, cold
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        S, info = nnmf.nnls(A, X, return_info=True)
    res["ours_convergence_warnings"] = len(w)
    res["ours_mean_iter_cold"] = float(info.n_iter.mean())
    res["S_zero_fraction"] = float(np.mean(S == 0))
    idle()
    t1 = timeit(lambda: nnmf.nnls(A, X), 1, warmup=0)
    res["ours_s"] = timeit(lambda: nnmf.nnls(A, X), repeats_for(t1, budget), warmup=0)
    record(res, "ours_s")
    print(f"  nnmf.nnls        {res['ours_s']*1e3:10.2f} ms  "
          f"(mean {res['ours_mean_iter_cold']:.1f} iterations/column)", flush=True)

    # ---- scipy loop on a subset of columns, plus objective agreement
    one = dense_columns(X, [0])
    scipy_loop(A, one)                                   # warm-up
    t0 = time.perf_counter()
    scipy_loop(A, dense_columns(X, np.arange(min(n, 3))))
    per_col = (time.perf_counter() - t0) / min(n, 3)
    cols = timed_column_subset(per_col, n, args.scipy_budget, rng, args.min_cols)
    Xc = dense_columns(X, cols)
    reps = 3 if per_col * len(cols) < 1.0 else 1
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        S_sc = scipy_loop(A, Xc)
        times.append(time.perf_counter() - t0)
    res["scipy_cols_timed"] = int(len(cols))
    res["scipy_s"] = (min(times) if STAT == "min" else statistics.median(times)) * n / len(cols)
    res["scipy_extrapolated"] = bool(len(cols) < n)
    f_ours = objectives(A, S[:, cols], Xc)
    f_sc = objectives(A, S_sc, Xc)
    denom = np.maximum(f_sc, np.finfo(float).eps * np.einsum("ij,ij->i", Xc, Xc))
    res["max_rel_obj_diff"] = float(np.max(np.abs(f_ours - f_sc) / np.maximum(denom, 1e-300)))
    res["ours_obj_le_scipy"] = bool(np.all(f_ours <= f_sc * (1 + 1e-9) + 1e-300))
    print(f"  scipy loop       {res['scipy_s']*1e3:10.2f} ms  ({len(cols)}/{n} columns timed"
          f"{', extrapolated' if res['scipy_extrapolated'] else ''}); "
          f"max rel objective diff {res['max_rel_obj_diff']:.2e}", flush=True)

    # ---- VJP
    G = rng.standard_normal((k, n))
    vfn = lambda: nnmf.nnls_vjp(A, X, S, G, need_dX=False)
    idle()
    t1 = timeit(vfn, 1)
    res["vjp_s"] = timeit(vfn, repeats_for(t1, budget), warmup=0)
    record(res, "vjp_s")
    # pinv formula on a subset
    c1 = np.arange(min(n, 3))
    pinv_vjp(A, dense_columns(X, [0]), S[:, :1], G[:, :1])   # warm-up
    t0 = time.perf_counter()
    pinv_vjp(A, dense_columns(X, c1), S[:, c1], G[:, c1])
    per_col = (time.perf_counter() - t0) / len(c1)
    pcols = timed_column_subset(per_col, n, args.pinv_budget, rng, args.min_cols)
    Xp = dense_columns(X, pcols)
    Sp, Gp = S[:, pcols], G[:, pcols]
    reps = 3 if per_col * len(pcols) < 1.0 else 1
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        dA_pinv = pinv_vjp(A, Xp, Sp, Gp)
        times.append(time.perf_counter() - t0)
    res["pinv_cols_timed"] = int(len(pcols))
    res["pinv_s"] = (min(times) if STAT == "min" else statistics.median(times)) * n / len(pcols)
    res["pinv_extrapolated"] = bool(len(pcols) < n)
    Xsub = X[:, pcols]
    dA_ours_sub, _ = nnmf.nnls_vjp(A, Xsub, Sp, Gp, need_dX=False)
    res["vjp_rel_diff_vs_pinv"] = float(np.linalg.norm(dA_ours_sub - dA_pinv)
                                        / max(np.linalg.norm(dA_pinv), 1e-300))
    print(f"  nnls_vjp         {res['vjp_s']*1e3:10.2f} ms;  pinv formula "
          f"{res['pinv_s']*1e3:.2f} ms ({len(pcols)}/{n} columns timed); "
          f"rel diff {res['vjp_rel_diff_vs_pinv']:.2e}", flush=True)

    # ---- warm start after a 1% move of A
    A2 = np.maximum(A * (1 + 0.01 * rng.uniform(-1, 1, A.shape)), 0)
    measure_warm(res, A2, X, S, cols, budget, idle)

    # ---- breakdown of our time (nnmf.layer's pieces of a call)
    idle()
    res["breakdown"] = breakdown(A, A2, X, S, G, nt, budget)
    print("  breakdown (ms): " + ", ".join(f"{k_}={v*1e3:.2f}"
                                          for k_, v in res["breakdown"].items()), flush=True)

    # ---- ratios and targets
    res["ours_over_floor"] = res["ours_s"] / res["floor_s"]
    res["scipy_over_ours"] = res["scipy_s"] / res["ours_s"]
    res["vjp_over_floor"] = res["vjp_s"] / res["floor_s"]
    res["pinv_over_vjp"] = res["pinv_s"] / res["vjp_s"]
    # the same ratios from the fastest repeat (less sensitive to other load on the machine)
    res["ours_over_floor_min"] = res["ours_s_min"] / res["floor_s_min"]
    res["vjp_over_floor_min"] = res["vjp_s_min"] / res["floor_s_min"]
    res["pass_floor"] = None if m < 1000 else bool(res["ours_over_floor"] <= TARGET_FLOOR)
    res["pass_scipy"] = bool(res["scipy_over_ours"] >= TARGET_SCIPY)
    res["pass_vjp"] = bool(res["vjp_over_floor"] <= TARGET_VJP)
    res["case_wall_s"] = time.perf_counter() - t_start
    res["other_load_during"] = meter.stop()
    res["other_load_after"] = cpu_busy()
    return res


def measure_warm(res, A2, X, S, check_cols, budget, idle):
    """Cold vs warm-started (init=S) nnls(A2, X): times, iterations and objective agreement
    (on up to 500 of check_cols), into res."""
    S2c, info_c = nnmf.nnls(A2, X, return_info=True)
    S2w, info_w = nnmf.nnls(A2, X, init=S, return_info=True)
    res["cold_mean_iter"] = float(info_c.n_iter.mean())
    res["warm_mean_iter"] = float(info_w.n_iter.mean())
    cc = check_cols[: min(len(check_cols), 500)]
    Xcc = dense_columns(X, cc)
    fc, fw = objectives(A2, S2c[:, cc], Xcc), objectives(A2, S2w[:, cc], Xcc)
    res["warm_vs_cold_max_rel_obj_diff"] = float(np.max(np.abs(fw - fc) / np.maximum(fc, 1e-300)))
    cold = lambda: nnmf.nnls(A2, X)
    warm = lambda: nnmf.nnls(A2, X, init=S)
    idle()
    t1 = timeit(cold, 1, warmup=0)
    r = max(repeats_for(t1, 2 * budget, lo=21, hi=101), 21)
    t = interleaved({"cold_s": cold, "warm_s": warm}, r)
    for key, (median, fastest) in t.items():
        res[key], res[key + "_median"], res[key + "_min"] = t[key][STAT == "min"], median, fastest
        res[key + "_repeats"] = r
    res["cold_over_warm"] = res["cold_s"] / res["warm_s"]
    res["cold_over_warm_min"] = res["cold_s_min"] / res["warm_s_min"]
    res["warm_over_cold"] = res["warm_s"] / res["cold_s"]
    res["pass_warm"] = bool(res["cold_over_warm"] >= TARGET_WARM)
    res["pass_warm_cost"] = bool(res["warm_over_cold"] <= TARGET_WARM_COST)
    print(f"  cold {res['cold_s']*1e3:.2f} ms ({res['cold_mean_iter']:.1f} it/col), "
          f"warm {res['warm_s']*1e3:.2f} ms ({res['warm_mean_iter']:.1f} it/col); "
          f"obj diff {res['warm_vs_cold_max_rel_obj_diff']:.1e}", flush=True)


def run_case_warm_only(spec, args, rng):
    """The warm-start measurement of run_case alone (for --part warm), on the same inputs."""
    kind, m, k, n = spec
    name, A, X, note = make_inputs(kind, m, k, n, rng, args.news_A)
    m, n = X.shape
    nnz = X.nnz if sp.issparse(X) else m * n
    print(f"\n== warm start, {name}: m={m} k={k} n={n}", flush=True)
    res = {"name": name, "m": m, "k": k, "n": n, "nnz": int(nnz), "sparse": sp.issparse(X),
           "inputs": note}
    S = nnmf.nnls(A, X)
    A2 = np.maximum(A * (1 + 0.01 * rng.uniform(-1, 1, A.shape)), 0)
    cols = np.sort(rng.choice(n, size=min(n, 500), replace=False))
    measure_warm(res, A2, X, S, cols, args.budget, lambda: None)
    return res


FIRST_CALL_SCRIPT = """
import json, sys, time
import numpy as np
import nnmf
if sys.argv[1] == "tune":
    nnmf.tune_process()
import nnmf.layer  # the import (loading the core) is not part of a call
m, k, n = (int(v) for v in sys.argv[2:5])
rng = np.random.default_rng(0)
A, X = rng.random((m, k)), rng.random((m, n))
times = []
for _ in range(10):
    t0 = time.perf_counter()
    nnmf.nnls(A, X)
    times.append(time.perf_counter() - t0)
print(json.dumps(times))
"""


def measure_first_calls(args, processes):
    """Calls 1 to 10 of nnmf.nnls at FIRST_CALL_CASE in `processes` fresh Python processes
    (with the bench's tune_process setting): the median over processes of each call, and the
    first and second calls against the steady state (the median of calls 5 to 10)."""
    m, k, n = FIRST_CALL_CASE
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT / "python"), os.environ.get("PYTHONPATH", "")]))
    runs = []
    for _ in range(processes):
        out = subprocess.run([sys.executable, "-c", FIRST_CALL_SCRIPT,
                              "none" if args.no_tune else "tune", str(m), str(k), str(n)],
                             env=env, capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    calls = np.median(np.array(runs), axis=0)
    steady = float(np.median(calls[4:]))
    res = {"case": [m, k, n], "processes": processes, "median_call_s": calls.tolist(),
           "steady_s": steady, "first_over_steady": float(calls[0] / steady),
           "second_over_steady": float(calls[1] / steady),
           "tenth_over_steady": float(calls[9] / steady)}
    res["pass_first"] = bool(res["first_over_steady"] <= TARGET_FIRST)
    print(f"\n== first calls at {FIRST_CALL_CASE}: " + ", ".join(
        f"{c * 1e3:.1f}" for c in calls) + f" ms; first/steady {res['first_over_steady']:.2f}",
        flush=True)
    return res


def run_warm_case(spec, args, rng):
    """Warm start on an NMF-like problem: A from a few ANLS iterations on structured data (a
    sparse S, many active constraints), the setting in which ANLS and training warm-start."""
    name, loader, k, anls_iters = spec
    X = loader()
    m, n = X.shape
    print(f"\n== warm start, {name}: m={m} k={k} n={n}", flush=True)
    A, _, _ = nnmf.multilayer.nmf_anls(X, k, max_iter=anls_iters, tol=0.0, random_state=0, warn=False)
    S = nnmf.nnls(A, X)
    res = {"name": name, "m": m, "k": k, "n": n, "anls_iters": anls_iters,
           "S_zero_fraction": float(np.mean(S == 0))}
    A2 = np.maximum(A * (1 + 0.01 * rng.uniform(-1, 1, A.shape)), 0)
    cols = np.sort(rng.choice(n, size=min(n, 500), replace=False))
    idle = lambda: wait_for_idle(args.wait_idle_step, quiet=True, probe=0.3)
    measure_warm(res, A2, X, S, cols, args.budget, idle)
    return res


def breakdown(A, A2, X, S, G, nt, budget):
    """Time the pieces of solve_layer / vjp_layer separately."""
    out = {}
    layer = nnmf.layer
    t = lambda fn: timeit(fn, repeats_for(timeit(fn, 1, 0), budget / 2), warmup=0)
    out["validate_operand"] = t(lambda: layer.as_operand(X))
    Xop = layer.as_operand(X)
    out["AtX"] = t(lambda: Xop.tdot(A, nt))
    out["gram"] = t(lambda: layer.gram(A, nt))
    Gm = layer.gram(A, nt)
    C = np.asfortranarray(Xop.tdot(A, nt))
    out["solve_cold"] = t(lambda: layer.solve_gram(Gm, C, None, n_threads=nt))
    Gm2 = layer.gram(A2, nt)
    C2 = np.asfortranarray(Xop.tdot(A2, nt))
    S_f = np.asfortranarray(S)
    out["solve_cold_A2"] = t(lambda: layer.solve_gram(Gm2, C2, None, n_threads=nt))
    out["solve_warm_A2"] = t(lambda: layer.solve_gram(Gm2, C2, S_f.copy(order="F"),
                                                      n_threads=nt))
    G_f = np.asfortranarray(G)
    out["vjp_support_solve"] = t(lambda: layer.support_solve(Gm, S_f, G_f, n_threads=nt))
    W = layer.support_solve(Gm, S_f, G_f, n_threads=nt)
    M = S @ W.T
    M = M + M.T
    out["vjp_dA"] = t(lambda: Xop.dot_t_minus(W, A, M, nt))
    return out


# --------------------------------------------------------------------------- report

def fmt_ms(s):
    ms = s * 1e3
    return f"{ms:.3g}" if ms < 10 else f"{ms:,.0f}" if ms >= 1000 else f"{ms:.1f}"


def mark(ok):
    return "n/a" if ok is None else ("**pass**" if ok else "FAIL")


def case_label(r):
    if r["sparse"]:
        return f"20News {r['m']}x{r['n']} (nnz {r['nnz']}), k={r['k']}"
    return f"({r['m']}, {r['k']}, {r['n']})"


def markdown(results, warm_results, info, cmd, first_call=None):
    L = []
    L.append("# NNLS layer benchmark")
    L.append("")
    L.append(f"Command: `{cmd}`  ")
    L.append(f"Date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    L.append("")
    L.append("## Machine")
    L.append("")
    L.append(f"- CPU: {info['cpu']}, {info['logical_cores']} logical cores, SIMD flags: "
             f"{', '.join(info.get('simd', []))}")
    L.append(f"- Python {info['python']}, numpy {info['numpy']}, scipy {info['scipy']}, "
             f"nnmf {info['nnmf']} (OpenMP: {info['nnmf_build']['openmp']}, "
             f"threads: {info['nnmf_build']['max_threads']})")
    blas = info.get("blas")
    if isinstance(blas, list):
        for b in blas:
            L.append(f"- threadpool: {b.get('internal_api')} {b.get('version') or ''} "
                     f"({b.get('architecture') or b.get('threading_layer') or ''}), "
                     f"{b.get('num_threads')} threads — `{os.path.basename(b.get('filepath') or '')}`")
    else:
        L.append(f"- BLAS: {blas}")
    L.append(f"- OPENBLAS_CORETYPE={info['OPENBLAS_CORETYPE']}, "
             f"OMP_NUM_THREADS={info['OMP_NUM_THREADS']}, "
             f"OMP_WAIT_POLICY={info['OMP_WAIT_POLICY']}, GOMP_SPINCOUNT={info['GOMP_SPINCOUNT']}; "
             f"dtype {info['dtype']}")
    ps = info["process_settings"]
    L.append("- Process settings: " + (f"nnmf.tune_process() → {ps['applied']}" if ps["called"]
                                       else "nnmf.tune_process() not called (--no-tune)"))
    L.append(f"- {info['platform']}")
    if RETRY["n"]:
        L.append(f"- Timings of 0.25 s or more during which other processes used over 15 % of the "
                 f"CPUs were redone, up to {RETRY['n']} times (per-timing load in the JSON)")
    loads = ", ".join(
        f"{case_label(r)}: {pct(r.get('other_load_before'))} / "
        f"{pct(r.get('other_load_during'))} / {pct(r.get('other_load_after'))}"
        for r in results)
    L.append(f"- Other processes' share of the CPUs before / during / after each case (anything "
             f"well above 0 % skews timings on 2 cores): {loads}")
    L.append("")
    L.append(f"Timings: one warm-up call, then the {STAT} of 3 to 51 repeats (as many as fit in the time budget) (1 or 3 for the scipy and pinv loops; "
             f"the JSON has both median and min; the *(by min)* columns give the ratio of the fastest repeats, and the pass/fail marks use the {STAT}). Times in ms. *floor* = numpy `A.T @ X` + `A.T @ A` "
             "(sparse X: scipy `X.T @ A` + `A.T @ A`). The scipy loop and the pinv formula are "
             "timed on a random subset of columns (shown as timed/n) and extrapolated linearly "
             "to all n columns where the subset is smaller than n. Inputs: A and X uniform "
             "[0, 1) from `numpy.random.default_rng` (seeded); for 20News, "
             + next((r["inputs"] for r in results if r["sparse"]), "n/a") + ".")
    L.append("")
    L.append("## Forward: `nnmf.nnls` (cold) vs floor vs scipy.optimize.nnls column loop")
    L.append("")
    L.append(f"Targets: ours/floor <= {TARGET_FLOOR:g} (m >= 1000); scipy/ours >= "
             f"{TARGET_SCIPY:g}. *scipy/floor*: the most any implementation that forms A^T X "
             "could reach against the scipy loop.")
    L.append("")
    L.append("| case (m, k, n) | floor | nnmf.nnls | ours/floor | (by min) | <=2x floor | scipy loop "
             "| cols timed | scipy/ours | >=100x | scipy/floor | max rel obj diff vs scipy "
             "| iters/col | zeros in S |")
    L.append("|---|---:|---:|---:|---:|:-:|---:|---:|---:|:-:|---:|---:|---:|---:|")
    for r in results:
        L.append(f"| {case_label(r)} | {fmt_ms(r['floor_s'])} | {fmt_ms(r['ours_s'])} "
                 f"| {r['ours_over_floor']:.2f} | {r['ours_over_floor_min']:.2f} "
                 f"| {mark(r['pass_floor'])} "
                 f"| {fmt_ms(r['scipy_s'])}{' (est.)' if r['scipy_extrapolated'] else ''} "
                 f"| {r['scipy_cols_timed']}/{r['n']} | {r['scipy_over_ours']:,.0f} "
                 f"| {mark(r['pass_scipy'])} | {r['scipy_s'] / r['floor_s']:,.0f} "
                 f"| {r['max_rel_obj_diff']:.1e} "
                 f"| {r['ours_mean_iter_cold']:.1f} | {pct(r['S_zero_fraction'])} |")
    L.append("")
    L.append("*iters/col* = mean passive-set changes per column reported by `nnls(..., "
             "return_info=True)`; *zeros in S* = fraction of active constraints at the optimum.")
    L.append("")
    L.append("## Backward: `nnmf.nnls_vjp(..., need_dX=False)` vs floor vs per-column pinv formula")
    L.append("")
    L.append(f"Target: vjp/floor <= {TARGET_VJP:g}. *rel diff* = ||dA_ours - dA_pinv||_F / "
             "||dA_pinv||_F on the pinv-timed columns (G standard normal).")
    L.append("")
    L.append("| case (m, k, n) | floor | nnls_vjp | vjp/floor | (by min) | <=3x floor "
             "| pinv formula | cols timed | pinv/vjp | rel diff vs pinv |")
    L.append("|---|---:|---:|---:|---:|:-:|---:|---:|---:|---:|")
    for r in results:
        L.append(f"| {case_label(r)} | {fmt_ms(r['floor_s'])} | {fmt_ms(r['vjp_s'])} "
                 f"| {r['vjp_over_floor']:.2f} | {r['vjp_over_floor_min']:.2f} "
                 f"| {mark(r['pass_vjp'])} "
                 f"| {fmt_ms(r['pinv_s'])}{' (est.)' if r['pinv_extrapolated'] else ''} "
                 f"| {r['pinv_cols_timed']}/{r['n']} | {r['pinv_over_vjp']:,.0f} "
                 f"| {r['vjp_rel_diff_vs_pinv']:.1e} |")
    L.append("")
    L.extend(warm_section(results, warm_results, first_call))
    return "\n".join(L) + "\n" + breakdown_section(results)


def warm_section(results, warm_results, first_call):
    """The warm-start tables and the first-call measurement, as lines of Markdown."""
    L = []
    L.append("## Warm start: A2 = A * (1 + 0.01 U[-1, 1]); `nnls(A2, X, init=S)` vs `nnls(A2, X)`")
    L.append("")
    L.append(f"Targets: warm/cold <= {TARGET_WARM_COST:g} on every case (a warm start never "
             f"costs much more than a cold one); cold/warm >= {TARGET_WARM:g} where the solve "
             "dominates (the second table). Cold and warm calls interleaved, one of each in "
             f"turn, {STAT} of 21 to 101 rounds (the JSON has median and min).")
    L.append("")
    L.append("| case (m, k, n) | cold | warm | warm/cold | <=1.1x | cold/warm | (by min) "
             "| iters/col cold | iters/col warm | max rel obj diff warm vs cold |")
    L.append("|---|---:|---:|---:|:-:|---:|---:|---:|---:|---:|")
    for r in results:
        L.append(f"| {case_label(r)} | {fmt_ms(r['cold_s'])} | {fmt_ms(r['warm_s'])} "
                 f"| {r['warm_over_cold']:.2f} | {mark(r.get('pass_warm_cost'))} "
                 f"| {r['cold_over_warm']:.2f} | {r['cold_over_warm_min']:.2f} "
                 f"| {r['cold_mean_iter']:.1f} | {r['warm_mean_iter']:.1f} "
                 f"| {r['warm_vs_cold_max_rel_obj_diff']:.1e} |")
    L.append("")
    if warm_results:
        L.append("Above, the cold start is already nearly exact (0–0.5 active-set changes per "
                 "column: the positive part of the unconstrained solution G⁻¹AᵀX is the "
                 "optimum's support) and the solve is a small part of a call that the products "
                 "with X dominate, so no warm start can halve it. On NMF-like problems (A from "
                 "a few ANLS iterations on structured data, S sparse) the cold seed misses and "
                 "the solve dominates:")
        L.append("")
        L.append("| problem (m, k, n) | zeros in S | cold | warm | warm/cold | <=1.1x "
                 "| cold/warm | (by min) | >=2x | iters/col cold | iters/col warm "
                 "| max rel obj diff warm vs cold |")
        L.append("|---|---:|---:|---:|---:|:-:|---:|---:|:-:|---:|---:|---:|")
        for r in warm_results:
            L.append(f"| {r['name']} ({r['m']}, {r['k']}, {r['n']}), A from {r['anls_iters']} "
                     f"ANLS iterations | {100 * r['S_zero_fraction']:.0f} % "
                     f"| {fmt_ms(r['cold_s'])} | {fmt_ms(r['warm_s'])} "
                     f"| {r['warm_over_cold']:.2f} | {mark(r.get('pass_warm_cost'))} "
                     f"| {r['cold_over_warm']:.2f} | {r['cold_over_warm_min']:.2f} "
                     f"| {mark(r['pass_warm'])} "
                     f"| {r['cold_mean_iter']:.1f} | {r['warm_mean_iter']:.1f} "
                     f"| {r['warm_vs_cold_max_rel_obj_diff']:.1e} |")
        L.append("")
    if first_call:
        f = first_call
        L.append("## First calls in a fresh process")
        L.append("")
        L.append(f"`nnmf.nnls(A, X)` at (m, k, n) = {tuple(f['case'])}, calls 1 to 10 in each "
                 f"of {f['processes']} new Python processes, after `import nnmf.layer` (which "
                 "loads the core); median over the processes of each call. Steady state = "
                 f"median of calls 5 to 10. Target: first/steady <= {TARGET_FIRST:g}.")
        L.append("")
        L.append("| call 1 | call 2 | call 10 | steady | first/steady | second/steady "
                 "| tenth/steady | <=1.2x |")
        L.append("|---:|---:|---:|---:|---:|---:|---:|:-:|")
        c = f["median_call_s"]
        L.append(f"| {fmt_ms(c[0])} | {fmt_ms(c[1])} | {fmt_ms(c[9])} | {fmt_ms(f['steady_s'])} "
                 f"| {f['first_over_steady']:.2f} | {f['second_over_steady']:.2f} "
                 f"| {f['tenth_over_steady']:.2f} | {mark(f['pass_first'])} |")
        L.append("")
    return L


def breakdown_section(results):
    L = []
    L.append("## Where our time goes (ms; pieces timed separately through `nnmf.layer`)")
    L.append("")
    L.append("*validate* = building the operand (finite/dtype checks); *A^T X* = `Xop.tdot` "
             "(the core's dense kernel up to its rank limit, else numpy BLAS, for dense X; the "
             "core's sparse kernel for sparse X); *gram* = `gram`; *solve* = `solve_gram` (the "
             "core's active-set solves) on the given Gram and C (cold: no start array); "
             "*support solve* (W, `support_solve`) and *dA* (X Wᵀ − A(S Wᵀ + W Sᵀ), fused in "
             "one pass over X and A for sparse X) are the two pieces of the VJP.")
    L.append("")
    L.append("| case (m, k, n) | validate | A^T X | gram | solve cold | solve cold (A2) "
             "| solve warm (A2) | VJP support solve | VJP dA |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        b = r.get("breakdown")
        if not b:
            L.append(f"| {case_label(r)} | " + " | ".join(["—"] * 8) + " |")
            continue
        L.append(f"| {case_label(r)} | {fmt_ms(b['validate_operand'])} | {fmt_ms(b['AtX'])} "
                 f"| {fmt_ms(b['gram'])} | {fmt_ms(b['solve_cold'])} "
                 f"| {fmt_ms(b['solve_cold_A2'])} | {fmt_ms(b['solve_warm_A2'])} "
                 f"| {fmt_ms(b['vjp_support_solve'])} | {fmt_ms(b['vjp_dA'])} |")
    L.append("")
    return "\n".join(L)


def update_warm_part(md_path, json_path, results, warm_results, first_call, info, cmd):
    """--part warm: replace the warm-start and first-call sections of the existing results
    (Markdown and JSON) with this run's, noting the command, date and load of this run."""
    old = md_path.read_text()
    start = old.index("## Warm start")
    end = old.index("## Where our time goes")
    load = info["other_load_before"]
    note = [f"*This section: `{cmd}`, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, on a shared "
            f"machine (other processes' share of the CPUs when it started: {pct(load)}); "
            "the other sections come from the full run above.*", ""]
    section = warm_section(results, warm_results, first_call)
    md_path.write_text(old[:start] + "\n".join(section[:2] + note + section[2:])
                       + "\n" + old[end:])
    data = json.loads(json_path.read_text())
    by_case = {(r["name"], r["m"], r["k"], r["n"]): r for r in results}
    for r in data["results"]:
        new = by_case.get((r["name"], r["m"], r["k"], r["n"]))
        if new is not None:
            r.update({key: value for key, value in new.items()
                      if key.startswith(("cold", "warm", "pass_warm"))})
    data["warm_results"] = warm_results
    data["first_call"] = first_call
    data["warm_part_machine"] = info
    json_path.write_text(json.dumps(data, indent=2))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes: a fast smoke run")
    p.add_argument("--out", default=None,
                   help="output prefix: writes OUT.md and OUT.json (default "
                        "bench/RESULTS_nnls.md and bench/results_nnls.json)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--budget", type=float, default=None,
                   help="seconds per timed quantity for repeats (default 2, quick 0.3)")
    p.add_argument("--scipy-budget", type=float, default=None,
                   help="seconds for the scipy column loop per case (default 4, quick 0.5)")
    p.add_argument("--pinv-budget", type=float, default=None,
                   help="seconds for the pinv-formula loop per case (default 3, quick 0.5)")
    p.add_argument("--min-cols", type=int, default=20,
                   help="fewest columns to time in the slow loops")
    p.add_argument("--news-A", choices=["nmf", "random"], default="nmf",
                   help="A for the 20News case: from a quick rank-k NMF (default) or random")
    p.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS",
                   help="before each case, wait up to SECONDS for other load to drop below 15 %%")
    p.add_argument("--wait-idle-step", type=float, default=0.0, metavar="SECONDS",
                   help="also wait up to SECONDS for quiet before each timed quantity")
    p.add_argument("--retry-loaded", type=int, default=0, metavar="N",
                   help="redo a timing up to N times when other processes used over 15 %% of "
                        "the CPUs during it (waiting up to --wait-idle-step seconds for quiet)")
    p.add_argument("--stat", choices=["median", "min"], default="median",
                   help="statistic of the repeats shown in the tables (JSON has both)")
    p.add_argument("--only", type=int, nargs="*", default=None,
                   help="indices of the cases to run (default all)")
    p.add_argument("--part", choices=["all", "warm"], default="all",
                   help="warm: only the warm-start tables and the first-call measurement, "
                        "replacing those sections of the existing results (the other sections "
                        "and their numbers are kept)")
    p.add_argument("--first-call-processes", type=int, default=None,
                   help="fresh processes for the first-call measurement (default 9, quick 3)")
    p.add_argument("--no-tune", action="store_true",
                   help="do not opt in to nnmf.tune_process() (the libraries' default OpenMP "
                        "wait policy and malloc behaviour)")
    args = p.parse_args(argv)
    q = args.quick
    global STAT
    STAT = args.stat
    RETRY.update(n=args.retry_loaded, wait=args.wait_idle_step)
    args.budget = args.budget if args.budget is not None else (0.3 if q else 2.0)
    args.scipy_budget = args.scipy_budget if args.scipy_budget is not None else (0.5 if q else 4.0)
    args.pinv_budget = args.pinv_budget if args.pinv_budget is not None else (0.5 if q else 3.0)

    cases = QUICK_CASES if q else FULL_CASES
    if args.only is not None:
        cases = [cases[i] for i in args.only]

    info = machine_info(args, tune(not args.no_tune))  # first: before nnmf's core loads
    print(f"{info['cpu']}, {info['logical_cores']} cores; numpy {info['numpy']}, "
          f"scipy {info['scipy']}, nnmf {info['nnmf']}; OPENBLAS_CORETYPE="
          f"{info['OPENBLAS_CORETYPE']}", flush=True)
    rng = np.random.default_rng(args.seed)
    info["other_load_before"] = cpu_busy()
    t0 = time.perf_counter()
    run = run_case if args.part == "all" else run_case_warm_only
    results = []
    for c in cases:
        wait_for_idle(args.wait_idle)
        results.append(run(c, args, rng))
    warm_results = []
    for c in ([] if args.only is not None else QUICK_WARM_CASES if q else WARM_CASES):
        wait_for_idle(args.wait_idle)
        warm_results.append(run_warm_case(c, args, rng))
    processes = args.first_call_processes or (3 if q else 9)
    first_call = None if args.only is not None else measure_first_calls(args, processes)
    info["total_wall_s"] = time.perf_counter() - t0

    if args.out is None:
        md_path, json_path = HERE / "RESULTS_nnls.md", HERE / "results_nnls.json"
    else:
        out = Path(args.out)
        stem = out.with_suffix("") if out.suffix in (".md", ".json") else out
        md_path, json_path = stem.with_suffix(".md"), stem.with_suffix(".json")
    cmd = "python " + " ".join([os.path.relpath(__file__, ROOT)] + (argv if argv is not None
                                                                     else sys.argv[1:]))
    md_path.parent.mkdir(parents=True, exist_ok=True)
    if args.part == "all":
        md_path.write_text(markdown(results, warm_results, info, cmd, first_call))
        json_path.write_text(json.dumps({"machine": info, "results": results,
                                          "warm_results": warm_results,
                                          "first_call": first_call}, indent=2))
    else:
        update_warm_part(md_path, json_path, results, warm_results, first_call, info, cmd)
    print(f"\ntotal {info['total_wall_s']:.1f} s; wrote {md_path} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
