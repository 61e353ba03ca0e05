#!/usr/bin/env python
"""Data-parallel training over MPI, side by side in one run: a 50,000 x 50,000 sparse corpus
(5 · 10^6 nonzeros, ranks (50, 10)) fitted by 1 rank and by 2 ranks, and a performance model
built from what was measured.

Configurations, each in its own ``mpiexec -n P`` job (this script, ``--_child``):

* P = 1, 1 thread: one rank, one OpenMP thread of the core and one BLAS thread;
* P = 1, 2 threads: one rank using both cores through OpenMP and BLAS;
* P = 2, 1 thread per rank: two ranks, each with its half of the columns;
* 2 x P = 1 at once: two independent one-rank fits of the two halves (each alone in its
  communicator), running together: what two processes cost each other, without MPI.

The goals refer to per-core scaling: P = 2 (1 thread each) against P = 1 (1 thread), epoch
time >= 1.6x faster and per-rank peak memory <= 0.6x. All are shown, so that the
two-ranks-or-two-threads question on one 2-core machine is answered too. P = 1 runs through
mpiexec and the MPI code path as well (a communicator of size 1 takes it).

Each rank builds only its own columns of the same corpus: the columns come in blocks of 1024,
each drawn by a generator seeded by (seed, block), so a column is the same whichever rank
draws it. Every rank fits ``nnmf.NeuralNMF((50, 10), comm=..., init="random", tol=0)``: an
untimed warm-up fit, then a timed fit whose callback stamps every epoch. The communicator
given to the estimator is an mpi4py communicator subclass that counts the bytes and wall time
of its Reduce and Bcast calls: each sum of the fit is one Reduce to rank 0 plus one Bcast of a
packed float64 buffer, so this measures bytes per step and time in communication through the
public ``comm=`` parameter (no private API; the time includes waiting for the slower rank).
After the fit each rank times the pieces the model needs (A_0^T X on its block, the Gram
A_0^T A_0) and a Reduce+Bcast ping at sizes 8 B to 32 MB, for an alpha-beta fit of this
machine's shared-memory MPI; the one-rank, one-thread job also fits the first half, quarter and
eighth of the columns, for the split of an epoch into per-column and replicated work.

    python bench/bench_mpi.py            # full run (~5 min on 2 idle cores), writes
                                         #   bench/RESULTS_mpi.md and bench/results_mpi.json
    python bench/bench_mpi.py --quick    # small sizes, a smoke test (~15 s), /tmp/nnmf_bench_mpi_quick.*
    python bench/bench_mpi.py --render   # rebuild the markdown from the JSON

The model and its projection to 16, 64 and 256 nodes are described in the results file it
writes. On the shared 2-core machines run timings under ``flock /tmp/nnmf-bench.lock``.
"""

import argparse
import datetime
import json
import math
import os
import shutil
import statistics
import sys
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

# Nothing imported here loads nnmf's core or an OpenMP runtime: a child opts in to
# nnmf.tune_process() first.
import _common  # bench/ is on sys.path
from _common import LoadMeter, fmt_t, fmt_x, now, passfail, wait_for_idle

HERE = Path(__file__).resolve().parent

FULL = {"m": 50_000, "n": 50_000, "nnz": 5_000_000, "ranks": [50, 10], "topics": 20,
        "epochs": 10, "warmup": 3, "subsets": [0.5, 0.25, 0.125]}
QUICK = {"m": 6_000, "n": 6_000, "nnz": 120_000, "ranks": [20, 5], "topics": 10,
         "epochs": 3, "warmup": 1, "subsets": [0.5, 0.25, 0.125]}
# (label, processes P, threads per process, independent one-rank fits)
CONFIGS = [("P=1, 1 thread", 1, 1, False), ("P=1, 2 threads", 1, 2, False),
           ("P=2, 1 thread/rank", 2, 1, False),
           # two one-rank fits of the halves at once, no communication between them: what
           # two processes cost each other on the shared caches and memory
           ("2 × P=1 on the halves, at once", 2, 1, True)]
TARGET_SPEEDUP = 1.6   # P=2 (1 thread each) vs P=1 (1 thread): epoch time
TARGET_MEMORY = 0.6    # per-rank peak memory, P=2 vs P=1
SEED = 0
BLOCK = 1024           # columns per independently seeded block of the corpus
TOKENS_PER_NONZERO = 1.62  # calibrated: 162 tokens per document give ~100 distinct words

# The projection (see render_model): the 10^6 x 10^6 corpus of the issue
TARGET = {"m": 1_000_000, "n": 1_000_000, "nnz": 10 ** 9, "ranks": [100, 20]}
NODES = [16, 64, 256]
CORES_PER_NODE = 64
NODE_EFFICIENCY = 0.5  # assumed parallel efficiency of 64 OpenMP threads in one rank
NETWORKS = [  # name, alpha (s), bandwidth (bytes/s)
    ("InfiniBand HDR (25 GB/s, α = 1.5 µs)", 1.5e-6, 25e9),
    ("10 GbE (1.2 GB/s, α = 30 µs)", 30e-6, 1.2e9),
]
# As quoted in the issue (see the results file for the sources)
MPI_FAUN = [(96, 3.62), (1536, 0.29)]


# --------------------------------------------------------------------------- the corpus

def corpus_tables(m, n_topics, seed, zipf=1.07):
    """What every rank shares: the Zipf law's CDF over word ranks and, per topic (and the
    background, the last row), a permutation of the vocabulary."""
    rng = np.random.default_rng([seed, 0x7091C])
    z = 1.0 / np.arange(1, m + 1) ** zipf
    cdf = np.cumsum(z)
    cdf /= cdf[-1]
    perms = np.empty((n_topics + 1, m), dtype=np.int32)
    for t in range(n_topics + 1):
        perms[t] = rng.permutation(m)
    return cdf, perms


def corpus_block(m, n, lo, hi, tables, seed, tokens_per_doc):
    """Columns [lo, hi) of the corpus, all in one 1024-column block (CSC). The block's
    generator, seeded by (seed, block), draws the whole block, so that a column is the same
    whichever rank asks for it. Each document draws Pareto-many tokens (capped at 50x the
    mean), 80 % from its topic's Zipf law and 20 % from the background's; entries are
    1 + log(count)."""
    cdf, perms = tables
    first = (lo // BLOCK) * BLOCK
    count = min(n, first + BLOCK) - first
    rng = np.random.default_rng([seed, lo // BLOCK])
    n_topics = perms.shape[0] - 1
    topic = rng.integers(0, n_topics, count)
    lengths = np.round(tokens_per_doc / 3.0 * (rng.pareto(1.5, count) + 1.0))
    lengths = np.clip(lengths, 1, 50 * tokens_per_doc).astype(np.int64)
    doc = np.repeat(np.arange(count), lengths)
    ranks = np.minimum(np.searchsorted(cdf, rng.random(doc.size), side="right"), m - 1)
    own = rng.random(doc.size) < 0.8
    word = perms[np.where(own, topic[doc], n_topics), ranks]
    keep = (doc >= lo - first) & (doc < hi - first)
    M = sp.csc_matrix((np.ones(int(keep.sum())), (word[keep], doc[keep] - (lo - first))),
                      shape=(m, hi - lo))
    M.sum_duplicates()
    M.data = 1.0 + np.log(M.data)
    return M


def corpus_columns(m, n, nnz, n_topics, seed, start, stop):
    """Columns [start, stop) of the corpus, built from its blocks (the same for any split)."""
    tables = corpus_tables(m, n_topics, seed)
    tokens = TOKENS_PER_NONZERO * nnz / n
    parts, lo = [], start
    while lo < stop:
        hi = min(stop, (lo // BLOCK + 1) * BLOCK)
        parts.append(corpus_block(m, n, lo, hi, tables, seed, tokens))
        lo = hi
    return sp.hstack(parts, format="csc") if parts else sp.csc_matrix((m, 0))


# --------------------------------------------------------------------------- the child

def counting_comm_class(MPI):
    """An mpi4py communicator that records its collectives: for Reduce and Bcast (a sum of
    the fit is one of each) the message bytes and the wall time; other collectives (object
    ones, outside the training loop) the count and time."""

    class CountingComm(MPI.Intracomm):
        def __init__(self, comm):
            super().__init__()
            self.reset()

        def reset(self):
            self.sums = []              # (bytes of the packed buffer, seconds Reduce+Bcast)
            self.pending = None
            self.other = [0, 0.0]

        def Reduce(self, sendbuf, recvbuf, op=MPI.SUM, root=0):
            t = now()
            super().Reduce(sendbuf, recvbuf, op=op, root=root)
            self.pending = (np.asarray(sendbuf).nbytes, now() - t)

        def Bcast(self, buf, root=0):
            t = now()
            super().Bcast(buf, root=root)
            dt = now() - t
            if self.pending is not None:
                nbytes, t_reduce = self.pending
                self.sums.append((nbytes, t_reduce + dt))
                self.pending = None
            else:
                self.sums.append((np.asarray(buf).nbytes, dt))

        def _timed(self, name, *args, **kwargs):
            t = now()
            out = getattr(super(), name)(*args, **kwargs)
            self.other[0] += 1
            self.other[1] += now() - t
            return out

        def allgather(self, obj):
            return self._timed("allgather", obj)

        def bcast(self, obj, root=0):
            return self._timed("bcast", obj, root=root)

        def gather(self, obj, root=0):
            return self._timed("gather", obj, root=root)

        def allreduce(self, obj, op=MPI.SUM):
            return self._timed("allreduce", obj, op=op)

    return CountingComm


def ping(MPI, world, sizes, budget=0.25):
    """Median wall time (rank 0's clock, after a barrier) of a Reduce to rank 0 plus a Bcast
    of a float64 buffer of each size in bytes: the fit's sum, without the packing."""
    out = []
    for nbytes in sizes:
        buf = np.ones(max(1, nbytes // 8))
        total = np.empty_like(buf)
        times, t_end = [], now() + budget
        for rep in range(200):
            world.Barrier()
            t = now()
            world.Reduce(buf, total, op=MPI.SUM, root=0)
            world.Bcast(total, root=0)
            times.append(now() - t)
            # every rank decides the same: rank 0's clock and count
            done = world.bcast(rep >= 4 and now() > t_end, root=0)
            if done:
                break
        out.append((buf.nbytes, statistics.median(times)))
    return out


def add_cost_per_byte(nbytes=32 * 2 ** 20, repeats=5):
    """gamma: seconds per byte of the reduction's arithmetic (y += x, float64), one core."""
    x, y = np.ones(nbytes // 8), np.ones(nbytes // 8)
    np.add(y, x, out=y)
    t = min(_common.time_calls(lambda: np.add(y, x, out=y), repeats, 0))
    return t / nbytes


def child(params):
    record_tune = _common.tune(not params["no_tune"])  # before anything loads OpenMP
    from mpi4py import MPI

    import nnmf
    from nnmf.distributed import column_range
    from nnmf.layer import as_operand, gram

    world = MPI.COMM_WORLD
    rank, size = world.Get_rank(), world.Get_size()
    independent = bool(params.get("independent"))
    # independent: each process fits its half alone (a communicator of one rank)
    comm = counting_comm_class(MPI)(MPI.COMM_SELF if independent else world)
    threads = params["threads"]
    m, n, nnz, ranks = params["m"], params["n"], params["nnz"], params["ranks"]
    rss_start = _common.rss_now_mb()
    start, stop = column_range(n, world)
    t0 = now()
    X = corpus_columns(m, n, nnz, params["topics"], SEED, start, stop)
    t_generate = now() - t0
    x_mb = (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 2 ** 20
    rss_data = _common.rss_now_mb()
    peak_data = _common.peak_rss_mb()

    stamps = []

    def callback(it, state):
        stamps.append((now(), len(comm.sums), sum(b for b, _ in comm.sums),
                       sum(t for _, t in comm.sums)))

    def fit(data, n_iter, cb=None):
        model = nnmf.NeuralNMF(ranks, init="random", tol=0.0, max_iter=n_iter, random_state=0,
                               n_threads=threads, comm=comm, callback=cb)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = now()
            model.fit(data)
        return model, now() - t

    def epochs():
        """Per epoch of the fit whose callback filled ``stamps``: its time, its time in
        sums, and its evaluations (32-byte sums: the loss terms of each evaluation)."""
        counts = [s[1] for s in stamps]
        evals = [sum(1 for nbytes, _ in comm.sums[a:b] if nbytes == 32)
                 for a, b in zip(counts[:-1], counts[1:])]
        return (np.diff([s[0] for s in stamps]), np.diff([s[3] for s in stamps]),
                np.asarray(evals))

    with _common.threadpool_limits(limits=threads, user_api="blas"):
        _, t_warmup = fit(X, params["warmup"])
        comm.reset()
        model, t_fit = fit(X, params["epochs"] + 1, callback)
        sums = list(comm.sums)
        peak_fit = _common.peak_rss_mb()
        # the pieces of the model, with the fitted A_0 laid out as a fit has it
        A0 = np.ascontiguousarray(model.A_[0])
        Xop = as_operand(X)
        Xop.tdot(A0, threads)
        t_tdot = min(_common.time_calls(lambda: Xop.tdot(A0, threads), 3, 1))
        t_gram = min(_common.time_calls(lambda: gram(A0, threads), 3, 1))
        main_stamps = list(stamps)
        # One rank, one thread: the same fit on the first half and quarter of the columns,
        # in this process, for the split of an epoch into work per column and work that
        # does not depend on the columns (a regression over the three sizes)
        subsets = []
        if size == 1 and threads == 1:
            for frac in params.get("subsets", ()):
                part = X[:, :max(1, int(round(X.shape[1] * frac)))].tocsc()
                fit(part, 1)
                comm.reset()
                stamps.clear()
                fit(part, params["epochs"] + 1, callback)
                times, in_sums, evals = epochs()
                subsets.append({"columns": part.shape[1], "nnz": int(part.nnz),
                                "epoch": float(np.median(times)),
                                "comm": float(np.median(in_sums)),
                                "evaluations": float(np.median(evals)),
                                "epoch_compute": (times - in_sums).tolist(),
                                "epoch_evaluations": evals.tolist()})
                del part
        stamps[:] = main_stamps
    gamma = add_cost_per_byte()
    world.Barrier()
    pings = (ping(MPI, world, [8 * 4 ** i for i in range(12)])
             if size > 1 and not independent else None)

    epoch_t = np.diff([s[0] for s in stamps])
    calls = np.diff([s[1] for s in stamps])
    bytes_ = np.diff([s[2] for s in stamps])
    comm_t = np.diff([s[3] for s in stamps])
    # the sums of each epoch: between two callbacks (the second-to-first of them: epoch 2)
    per_epoch_sizes = []
    for a, b in zip([s[1] for s in stamps][:-1], [s[1] for s in stamps][1:]):
        hist = {}
        for nbytes, _ in sums[a:b]:
            hist[nbytes] = hist.get(nbytes, 0) + 1
        per_epoch_sizes.append(hist)
    mine = {
        "rank": rank, "columns": [start, stop], "nnz": int(X.nnz), "x_mb": x_mb,
        "t_generate": t_generate, "rss_start_mb": rss_start, "rss_data_mb": rss_data,
        "peak_data_mb": peak_data, "peak_fit_mb": peak_fit,
        "peak_mb": peak_fit, "peak_end_mb": _common.peak_rss_mb(), "t_warmup_fit": t_warmup, "t_fit": t_fit,
        "epoch_times": epoch_t.tolist(), "epoch_sums": calls.tolist(),
        "epoch_bytes": bytes_.tolist(), "epoch_comm": comm_t.tolist(),
        "epoch_sum_sizes": [{str(k): v for k, v in sorted(h.items())} for h in per_epoch_sizes],
        "other_collectives": comm.other, "subsets": subsets, "t_tdot": t_tdot, "t_gram": t_gram, "gamma": gamma,
        "errors": model.history_["reconstruction_err"].tolist(),
        "final_error": float(model.reconstruction_err_),
    }
    everyone = world.gather(mine, root=0)
    if rank != 0:
        return None
    import mpi4py

    return {"P": size, "threads": threads, "independent": independent,
            "ranks_data": everyone, "ping": pings,
            "mpi_library": MPI.Get_library_version().splitlines()[0].strip(),
            "mpi_standard": ".".join(map(str, MPI.Get_version())), "mpi4py": mpi4py.__version__,
            "tune": record_tune, "threadpools": _common.threadpools(),
            "env": {k: os.environ.get(k, "(unset)") for k in
                    ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "OMP_WAIT_POLICY")}}


# --------------------------------------------------------------------------- the parent

def run_config(label, P, threads, independent, params, args):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    child_params = dict(params, threads=threads, no_tune=args.no_tune, independent=independent)
    cmd = [args.mpiexec, "-n", str(P), sys.executable, str(Path(__file__).resolve()),
           "--_child", json.dumps(child_params)]
    if args.wait_idle:
        wait_for_idle(args.wait_idle)
    meter = LoadMeter().start()
    t0 = now()
    res = _common.run_child(cmd, env=env)
    res["wall"] = now() - t0
    res["other_load"] = meter.stop()
    res["label"] = label
    return summarize(res)


def summarize(res):
    """Per configuration: the slowest rank's median epoch, comm per epoch, peak memory."""
    ranks = res["ranks_data"]
    med = [float(np.median(r["epoch_times"])) for r in ranks]
    res["epoch"] = max(med)
    res["comm_per_epoch"] = [float(np.median(r["epoch_comm"])) for r in ranks]
    res["comm_share"] = [float(np.median(np.asarray(r["epoch_comm"]) / np.asarray(r["epoch_times"])))
                         for r in ranks]
    res["compute_per_epoch"] = max(m - c for m, c in zip(med, res["comm_per_epoch"]))
    res["bytes_per_epoch"] = float(np.median(ranks[0]["epoch_bytes"]))
    res["sums_per_epoch"] = float(np.median(ranks[0]["epoch_sums"]))
    sizes = ranks[0]["epoch_sum_sizes"]
    res["evaluations_per_epoch"] = float(np.median([h.get("32", 0) for h in sizes]))
    res["peak_mb"] = max(r["peak_mb"] for r in ranks)
    res["nnz"] = sum(r["nnz"] for r in ranks)
    return res


def fit_alpha_beta(pings):
    """T(B) = a + b B by least squares on relative errors (every size weighs alike)."""
    B = np.array([p[0] for p in pings], dtype=float)
    T = np.array([p[1] for p in pings], dtype=float)
    M = np.stack([1.0 / T, B / T], axis=1)
    (a, b), *_ = np.linalg.lstsq(M, np.ones_like(T), rcond=None)
    return float(a), float(b)


def t_sum(P, nbytes, alpha, beta, gamma):
    """A Reduce + Bcast of nbytes over P ranks: the cheaper of binomial trees (small
    messages) and Rabenseifner's reduce (reduce-scatter + gather) with van de Geijn's bcast
    (scatter + allgather) for large ones, as MPI libraries switch by size."""
    if P <= 1:
        return 0.0
    lg = math.ceil(math.log2(P))
    binomial = 2 * lg * (alpha + nbytes * beta) + lg * nbytes * gamma
    f = (P - 1) / P
    large = (3 * lg + P - 1) * alpha + f * nbytes * (4 * beta + gamma)
    return min(binomial, large)


def least_disturbed_compute(run, evaluations, comm=False):
    """The compute of the least disturbed epoch of a run among those with the given number
    of evaluations (an epoch's cost follows its line search and how far the NNLS warm starts
    move): per epoch, the slowest rank's epoch less its time in sums (``comm``: with it; the
    ranks step together), then the minimum. On a machine shared with other work the median is
    disturbed; the minimum much less."""
    per_rank = [np.asarray(d["epoch_times"]) - (0.0 if comm else np.asarray(d["epoch_comm"]))
                for d in run["ranks_data"]]
    evals = np.asarray([h.get("32", 0) for h in run["ranks_data"][0]["epoch_sum_sizes"]])
    compute = np.max(np.stack(per_rank), axis=0)
    same = compute[evals == evaluations]
    return float(same.min()) if same.size else float(compute.min())


def _subset_compute(q, evaluations):
    compute = np.asarray(q["epoch_compute"])
    same = compute[np.asarray(q["epoch_evaluations"]) == evaluations]
    return float(same.min()) if same.size else float(compute.min())


def model(results, runs=None):
    """The compute model from P=1 and P=2 (1 thread per rank), and the projection. ``runs``:
    every round of every configuration (the least disturbed epochs over all rounds)."""
    one = next(r for r in results if r["P"] == 1 and r["threads"] == 1)
    two = next(r for r in results if r["P"] == 2 and not r.get("independent"))
    runs = runs or {r["label"]: [r] for r in results}
    one_runs, two_runs = runs[one["label"]], runs[two["label"]]
    r1 = one["ranks_data"][0]
    bench = {"m": one["params"]["m"], "n": one["params"]["n"], "nnz": one["nnz"],
             "ranks": one["params"]["ranks"]}
    e = one["evaluations_per_epoch"]
    # compute per epoch against the rank's columns, one rank and one thread: the whole
    # matrix, then its first half and quarter (the same process), each size's least
    # disturbed epoch over the rounds; a line T = R + c n_local through them
    ev = int(round(e))
    best = {}
    for run in one_runs:
        best[bench["n"]] = min(best.get(bench["n"], np.inf), least_disturbed_compute(run, ev))
        for q in run["ranks_data"][0].get("subsets", []):
            if "epoch_compute" in q:
                best[q["columns"]] = min(best.get(q["columns"], np.inf), _subset_compute(q, ev))
    points = sorted(best.items(), reverse=True)
    T1 = best[bench["n"]]
    T2 = min(least_disturbed_compute(run, ev) for run in two_runs)
    if len(points) > 1:
        c, R = np.polyfit([x for x, _ in points], [y for _, y in points], 1)
        c, R = max(0.0, float(c)), max(0.0, float(R))
    else:                                   # P = 1 and P = 2 only
        c, R = max(0.0, 2.0 * (T1 - T2)) / bench["n"], max(0.0, 2.0 * T2 - T1)
    C = c * bench["n"]                      # the part that splits with the columns
    R = min(R, T1)                          # the part every rank repeats
    N = min(C, (e + 1) * r1["t_tdot"])      # sparse products: nnz k_0 each
    K = C - N                               # per-column dense work: ~ k_0^2 per column
    G = min(R, (e + 1) * r1["t_gram"])      # m k_0^2 work: Grams, A_0 M
    Rm = R - G                              # m k_0 passes: steps, norms, copies
    M1, M2 = one["peak_mb"], two["peak_mb"]
    Mcol = max(0.0, 2.0 * (M1 - M2))
    Mrep = M1 - Mcol
    base = r1["rss_start_mb"]
    Xmb = r1["x_mb"]
    a, b = fit_alpha_beta(two["ping"])
    gamma = float(np.median([r["gamma"] for r in two["ranks_data"]]))
    k0b = bench["ranks"][0]
    mk = {"N": N, "K": K, "G": G, "Rm": Rm, "C": C, "R": R, "T1": T1, "T2": T2,
          "points": points, "T2_predicted": R + C / 2,
          "evaluations": e, "per_column_s": C / bench["n"], "per_row_s": R / bench["m"],
          "memory": {"M1": M1, "M2": M2, "columns_mb": Mcol, "replicated_mb": Mrep,
                     "baseline_mb": base, "x_mb": Xmb},
          "shm_fit": {"a": a, "b": b}, "gamma": gamma, "bench": bench}
    # projection
    T = TARGET
    k0, k1 = T["ranks"]
    grad_bytes = 8 * (T["m"] * k0 + k0 * k1)
    rows = []
    for nodes in NODES:
        P = nodes
        speed = CORES_PER_NODE * NODE_EFFICIENCY
        comp = (N * (T["nnz"] / P) / bench["nnz"] * (k0 / k0b)
                + K * (T["n"] / P) / bench["n"] * (k0 / k0b) ** 2
                + G * T["m"] / bench["m"] * (k0 / k0b) ** 2
                + Rm * T["m"] / bench["m"] * (k0 / k0b)) / speed
        # memory per node: baseline, replicated m x k_0 arrays, X (CSC + CSR copy) and the
        # other per-column arrays (~ k_0 per column)
        x_node = Xmb * (T["nnz"] / P) / bench["nnz"]
        mem = (base + (Mrep - base) * T["m"] * k0 / (bench["m"] * k0b)
               + 2 * x_node + max(0.0, Mcol - 2 * Xmb) * (T["n"] / P) / bench["n"] * k0 / k0b)
        for name, alpha, bw in NETWORKS:
            beta = 1.0 / bw
            comm_t = (t_sum(P, grad_bytes, alpha, beta, gamma)
                      + (e + 2) * t_sum(P, 32, alpha, beta, gamma))
            rows.append({"nodes": nodes, "cores": nodes * CORES_PER_NODE, "network": name,
                         "compute": comp, "comm": comm_t, "epoch": comp + comm_t,
                         "comm_share": comm_t / (comp + comm_t), "memory_gb": mem / 1024,
                         "n_per_rank": T["n"] / P})
    mk["projection"] = rows
    mk["grad_bytes"] = grad_bytes
    return mk


# --------------------------------------------------------------------------- rendering

def mb(x):
    return f"{x:.0f} MB" if x >= 10 else f"{x:.1f} MB"


def nbytes_str(b):
    for unit, f in (("GB", 2 ** 30), ("MB", 2 ** 20), ("kB", 2 ** 10)):
        if b >= f:
            return f"{b / f:.3g} {unit}"
    return f"{b:.0f} B"


def render(doc):
    res, info, p = doc["results"], doc["machine"], doc["params"]
    lines = ["# Data-parallel training over MPI: P = 1 vs P = 2 ranks", "",
             f"Generated by `bench/bench_mpi.py{' --quick' if doc['quick'] else ''}` on "
             f"{doc['date']}. Machine: {info['cpu']}, {info['logical_cores']} logical cores "
             f"(shared with other work: see the load column), Python {info['python']}, numpy "
             f"{info['numpy']}, scipy {info['scipy']}, nnmf {info['nnmf']}; "
             f"{' '.join(res[0]['mpi_library'].split())} (MPI {res[0]['mpi_standard']}), mpi4py "
             f"{res[0]['mpi4py']}, PyPI mpich {doc.get('mpich_wheel', '?')}.", "",
             f"Data: a synthetic corpus of {p['m']:,} words × {p['n']:,} documents, "
             f"{res[0]['nnz']:,} nonzeros (Zipf word frequencies, Pareto document lengths, "
             f"{p['topics']} topics), each rank building only its own columns; "
             f"`NeuralNMF({tuple(p['ranks'])}, init=\"random\", tol=0)` with the default "
             f"optimiser (full-batch Armijo), an untimed {p['warmup']}-epoch warm-up fit, then "
             f"{p['epochs'] + 1} epochs whose callback stamps the clock: the table gives the "
             f"median of the {p['epochs']} epochs between stamps (of the slowest rank). "
             "Every configuration runs under `mpiexec` with its thread counts set for the core "
             "(`n_threads`), BLAS (threadpoolctl) and the environment (`OMP_NUM_THREADS`, "
             "`OPENBLAS_NUM_THREADS`); the process opts in to `nnmf.tune_process()` "
             f"({'on' if not doc.get('no_tune') else 'off'}).", "",
             "Communication is measured through the public `comm=` parameter: the fit gets "
             "an mpi4py communicator subclass that times its `Reduce` and `Bcast` (each sum is "
             "one of each, of one packed float64 buffer). Its time includes waiting for the "
             "other rank (load imbalance). Peak memory is each rank's VmHWM (whole process: "
             "interpreter, libraries, MPI, its columns, training; measured before the ping "
             "below allocates its buffers). With several rounds (alternating the order of the "
             "configurations) each configuration shows its fastest round; the other load is "
             "the share of the CPUs other processes used during each round.", "",
             "## Measured", "",
             "| configuration | epoch (median) | every round | speedup vs P=1, 1 thread | "
             "nonzeros per rank "
             "| sums per epoch | bytes summed per epoch | comm per epoch (per rank) | "
             "comm share of epoch | peak memory per rank | vs P=1, 1 thread | rel. error "
             "after the fit | other load |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    base = next(r for r in res if r["P"] == 1 and r["threads"] == 1)
    for r in res:
        rd = r["ranks_data"]
        lines.append(
            f"| {r['label']} | {fmt_t(r['epoch'])} | "
            f"{', '.join(fmt_t(x['epoch']) for x in r.get('rounds', [r]))} | "
            f"{'– (half the data each)' if r.get('independent') else fmt_x(base['epoch'] / r['epoch'])} | "
            f"{' / '.join(format(d['nnz'], ',') for d in rd)} | {r['sums_per_epoch']:.0f} | "
            f"{nbytes_str(r['bytes_per_epoch'])} | "
            f"{' / '.join(fmt_t(c) for c in r['comm_per_epoch'])} | "
            f"{' / '.join(f'{100 * s:.1f} %' for s in r['comm_share'])} | "
            f"{' / '.join(mb(d['peak_mb']) for d in rd)} | "
            f"{fmt_x(r['peak_mb'] / base['peak_mb'])} | {rd[0]['final_error']:.6f} | "
            f"{', '.join(_common.pct(x.get('other_load')) for x in r.get('rounds', [r]))} |")
    two = next(r for r in res if r["P"] == 2 and not r.get("independent"))
    thr = next((r for r in res if r["P"] == 1 and r["threads"] == 2), None)
    speed = base["epoch"] / two["epoch"]
    memr = two["peak_mb"] / base["peak_mb"]
    runs = doc.get("runs") or {r["label"]: [r] for r in res}
    ev = int(round(base["evaluations_per_epoch"]))
    calm1 = min(least_disturbed_compute(r, ev, comm=True) for r in runs[base["label"]])
    calm2 = min(least_disturbed_compute(r, ev, comm=True) for r in runs[two["label"]])
    rd2 = two["ranks_data"]
    sizes = rd2[0]["epoch_sum_sizes"][len(rd2[0]["epoch_sum_sizes"]) // 2]
    lines += ["",
              "Per epoch (P = 2, rank 0, a middle epoch) the sums were, by packed size: "
              + ", ".join(f"{v} × {nbytes_str(int(k))}" for k, v in sizes.items())
              + f". The large one is the gradient (m k_0 + k_0 k_1 = "
              f"{p['m'] * p['ranks'][0] + p['ranks'][0] * p['ranks'][1]:,} values); the "
              "32-byte ones are the loss terms of each evaluation (the first and every "
              "Armijo trial); the 8-byte ones the callback's and SIGTERM's agreement. Each "
              "sum is a Reduce to rank 0 plus a Bcast, so on 2 ranks each link carries the "
              "packed bytes twice per sum.", "",
              "## Goals (per-core scaling: P = 2 with 1 thread per rank against P = 1 with 1 "
              "thread)", "",
              "| goal | measured | |", "|---|---|---|",
              f"| epoch ≥ {TARGET_SPEEDUP}x faster | {fmt_x(speed)} (medians, fastest "
              f"rounds; fastest epochs: {fmt_t(calm1)} vs {fmt_t(calm2)}, "
              f"{fmt_x(calm1 / calm2)}) | {passfail(speed >= TARGET_SPEEDUP)} |",
              f"| per-rank peak memory ≤ {TARGET_MEMORY}x | {fmt_x(memr)} "
              f"({mb(two['peak_mb'])} vs {mb(base['peak_mb'])}) | "
              f"{passfail(memr <= TARGET_MEMORY)} |", ""]
    if thr is not None:
        lines += [f"Two threads in one rank against two ranks of one thread, on the same two "
                  f"cores: {fmt_t(thr['epoch'])} vs {fmt_t(two['epoch'])} per epoch "
                  f"(P = 1 with 2 threads is {fmt_x(base['epoch'] / thr['epoch'])} the 1-thread "
                  "rank).", ""]
    lines += render_model(doc)
    lines += render_analysis(doc)
    return "\n".join(lines) + "\n"


def render_model(doc):
    mk, res = doc["model"], doc["results"]
    T = TARGET
    b = mk["bench"]
    mem = mk["memory"]
    sh = mk["shm_fit"]
    two = next(r for r in res if r["P"] == 2 and not r.get("independent"))
    lines = [
        "## Where the time and memory go", "",
        "Compute per epoch is the epoch less the rank's time in Reduce/Bcast. One rank with "
        "one thread fitted the whole matrix and, in the same process, its first half, "
        "quarter and eighth of the columns; a line T(n_local) = R + c · n_local through those points "
        "splits an epoch into the part that splits with the columns (C = c · n) and the "
        "part every rank repeats whatever its columns (R: work on the replicated m × k_0 "
        "factor A_0 and the small ones, which does not shrink with P). The machine is "
        "shared with other work, which can disturb whole fits, and an epoch's cost follows "
        "its line search (its evaluations) and how far the NNLS warm starts move, which "
        "differ between the sizes' trajectories; the line goes through each size's fastest "
        "epoch among those with the usual number of evaluations, over all rounds (the "
        "medians are beside them):", "",
        "| columns | nonzeros | compute per epoch, median (fastest round) | fastest epoch, "
        "all rounds | evaluations per epoch |",
        "|---|---|---|---|---|"]
    one = next(r for r in res if r["P"] == 1 and r["threads"] == 1)
    r1 = one["ranks_data"][0]
    pts = {int(x): y for x, y in mk["points"]}
    lines.append(f"| {b['n']:,} | {r1['nnz']:,} | {fmt_t(one['compute_per_epoch'])} | "
                 f"{fmt_t(pts.get(b['n']))} | {mk['evaluations']:.0f} |")
    for q in r1.get("subsets", []):
        lines.append(f"| {q['columns']:,} | {q['nnz']:,} | {fmt_t(q['epoch'] - q['comm'])} | "
                     f"{fmt_t(pts.get(q['columns']))} | {q['evaluations']:.0f} |")
    lines += [
        "", f"The line: R = {fmt_t(mk['R'])}, C = {fmt_t(mk['C'])} (at all {b['n']:,} "
        f"columns). It predicts {fmt_t(mk['T2_predicted'])} of compute per rank at P = 2; "
        f"the two ranks' fastest such epoch computed for {fmt_t(mk['T2'])} (slowest "
        "rank). Time above the prediction is what two processes running at once cost each "
        "other (shared caches, memory bandwidth), or other load. The parts:", "",
        "| part | per epoch at P = 1 | how it was found | scales with |", "|---|---|---|---|",
        f"| sparse products with X | {fmt_t(mk['N'])} | (evaluations + 1) × the timed "
        f"A_0^T X on the rank's block ({mk['evaluations']:.0f} evaluation(s) per epoch) | "
        "nnz / P · k_0 |",
        f"| other per-column work (NNLS solves, k × n arrays) | {fmt_t(mk['K'])} | C less "
        "the above | n / P · k_0² |",
        f"| replicated m k_0² work (Grams A_0^T A_0, A_0 M) | {fmt_t(mk['G'])} | "
        "(evaluations + 1) × the timed Gram | m k_0² |",
        f"| replicated m k_0 passes (steps, norms, copies of A_0) | {fmt_t(mk['Rm'])} | R "
        "less the above | m k_0 |", "",
        f"Per column of the local block: {mk['per_column_s'] * 1e6:.2f} µs per epoch at "
        f"this density ({b['nnz'] / b['n']:.0f} nonzeros per column) and k_0 = "
        f"{b['ranks'][0]}; per row of the replicated factor: {mk['per_row_s'] * 1e6:.2f} µs "
        "per epoch.", "",
        f"Memory the same way: peak per rank {mb(mem['M1'])} at P = 1 and {mb(mem['M2'])} at "
        f"P = 2, so {mb(mem['columns_mb'])} is per-column (X itself is {mb(mem['x_mb'])} as "
        f"CSC, plus the CSR copy the backward products build) and {mb(mem['replicated_mb'])} "
        f"is held by every rank, of which {mb(mem['baseline_mb'])} is the interpreter, "
        f"numpy/scipy, MPI and nnmf before any data (A_0, {b['m']:,} × {b['ranks'][0]} in "
        f"float64, is {mb(b['m'] * b['ranks'][0] * 8 / 2 ** 20)}: the rest of the replicated "
        f"part is {(mem['replicated_mb'] - mem['baseline_mb']) / (b['m'] * b['ranks'][0] * 8 / 2 ** 20):.1f} "
        "times its size).", "",
        "Communication: a Reduce+Bcast ping on this machine (shared memory, 2 ranks) fits "
        f"T(B) = {sh['a'] * 1e6:.1f} µs + B × {sh['b'] * 1e9:.3f} ns/B; its time inside the "
        f"fit was {' / '.join(fmt_t(c) for c in two['comm_per_epoch'])} per epoch (ranks 0 / "
        "1), the rest of the difference to the ping being the wait for the slower rank. The "
        f"reduction's arithmetic costs γ = {mk['gamma'] * 1e9:.3f} ns/B on one core here.", "",
        f"## Projection: the {T['m']:,} × {T['n']:,} corpus, {T['nnz']:.0e} nonzeros, ranks "
        f"{tuple(T['ranks'])}", "",
        "Model, per epoch (one full-batch Armijo step, with as many evaluations as measured "
        f"here: {mk['evaluations']:.0f}):", "",
        "- compute = [N · (nnz/P)/nnz_b · k_0/k_0b + K · (n/P)/n_b · (k_0/k_0b)² + G · m/m_b · "
        "(k_0/k_0b)² + R_m · m/m_b · k_0/k_0b] / (cores per node × efficiency), with N, K, "
        "G, R_m the one-core parts above (subscript b: this benchmark);",
        f"- one rank per node, {CORES_PER_NODE} cores per node running the core's OpenMP "
        f"threads at an assumed {NODE_EFFICIENCY:.0%} parallel efficiency (one rank per core "
        "would replicate A_0 64 times per node: see the memory column); P = nodes;",
        f"- communication = T_sum(P, 8 (m k_0 + k_0 k_1) bytes = "
        f"{nbytes_str(mk['grad_bytes'])}) + (evaluations + 2) × T_sum(P, 32 bytes), with "
        "T_sum(P, B) = min[2 ⌈log2 P⌉ (α + B β) + ⌈log2 P⌉ B γ (binomial trees), "
        "(3 ⌈log2 P⌉ + P − 1) α + (P−1)/P · B (4β + γ) (Rabenseifner's reduce-scatter + "
        "gather, then van de Geijn's scatter + allgather broadcast)]; β = 1 / bandwidth, γ "
        "as measured here;",
        "- memory per node = baseline + the replicated part × (m k_0)/(m_b k_0b) + X's share "
        "(CSC + CSR) + the other per-column part × (n/P)/n_b · k_0/k_0b.", "",
        "| nodes (cores) | network | columns per rank | compute / epoch | communication / "
        "epoch | epoch | comm share | memory per node |",
        "|---|---|---|---|---|---|---|---|"]
    for r in mk["projection"]:
        lines.append(f"| {r['nodes']} ({r['cores']:,}) | {r['network']} | "
                     f"{r['n_per_rank']:,.0f} | {fmt_t(r['compute'])} | {fmt_t(r['comm'])} | "
                     f"{fmt_t(r['epoch'])} | {100 * r['comm_share']:.0f} % | "
                     f"{r['memory_gb']:.1f} GB |")
    lines += [
        "", "Beside it, MPI-FAUN's published strong scaling (as quoted in the issue: dense "
        "≈ 2·10^5 × 1.4·10^5, k = 50, ANLS; its 2-D grid communicates O(k (m/p_r + n/p_c)) "
        "words per rank per iteration):", "",
        "| cores | s / iteration |", "|---|---|"]
    lines += [f"| {c:,} | {t} s |" for c, t in MPI_FAUN]
    lines += [
        "", "Sources: R. Kannan, G. Ballard, H. Park, \"MPI-FAUN: An MPI-Based Framework for "
        "Alternating-Updating Nonnegative Matrix Factorization\", IEEE TKDE 30(3), 2018, "
        "doi:10.1109/TKDE.2017.2767592; S. Eswar, K. Hayashi, G. Ballard, R. Kannan, M. A. "
        "Matheson, H. Park, \"PLANC: Parallel Low-rank Approximation with Nonnegativity "
        "Constraints\", ACM TOMS 47(3), article 20, 2021, doi:10.1145/3432185. We could not "
        "check which of the two tabulates the two figures above; they are as quoted in the "
        "issue. The problems differ (dense, one layer, ANLS; here sparse, two layers, "
        "gradient steps through NNLS layers): the comparison is of orders of magnitude and "
        "of where each design's communication goes, not a race.", ""]
    return lines


def interference(doc):
    """Rank 0 of the independent configuration fits the first half of the columns, alone in
    its communicator, while the other process fits the second half: the same fit, epoch
    for epoch, as the one-rank fit of the first half that the P=1, 1 thread configuration
    ran alone. Returns (median over epochs of at-once / alone compute, the two medians), or
    None."""
    res = doc["results"]
    ind = next((r for r in res if r.get("independent")), None)
    one = next(r for r in res if r["P"] == 1 and r["threads"] == 1)
    if ind is None:
        return None
    d0 = ind["ranks_data"][0]
    cols = d0["columns"][1] - d0["columns"][0]
    alone = next((q for q in one["ranks_data"][0].get("subsets", [])
                  if q["columns"] == cols and d0["columns"][0] == 0), None)
    if alone is None:
        return None
    at_once = np.asarray(d0["epoch_times"]) - np.asarray(d0["epoch_comm"])
    by_itself = np.asarray(alone["epoch_compute"])
    k = min(len(at_once), len(by_itself))
    ratio = float(np.median(at_once[:k] / by_itself[:k]))
    return ratio, float(np.median(at_once)), float(np.median(by_itself)), cols


def interference_lines(doc):
    found = interference(doc)
    if found is None:
        return []
    ratio, at_once, alone, cols = found
    return [f"- **Two processes at once.** The first {cols:,} columns fitted by one process "
            f"while another fits the rest (no communication between them): "
            f"{fmt_t(at_once)} of compute per epoch (median), against {fmt_t(alone)} for the "
            f"same fit, epoch for epoch, alone on the machine: {fmt_x(ratio)} (median of the "
            "per-epoch ratios): what two processes cost each other on this machine's shared "
            "caches and memory bandwidth (each with its own copy of the replicated factors), "
            "with no MPI involved."]


def render_analysis(doc):
    """Why the goals were met or missed, from the measured quantities alone."""
    mk, res = doc["model"], doc["results"]
    one = next(r for r in res if r["P"] == 1 and r["threads"] == 1)
    two = next(r for r in res if r["P"] == 2 and not r.get("independent"))
    mem = mk["memory"]
    T1, C, R = mk["T1"], mk["C"], mk["R"]
    bound = (R + C) / (R + C / 2) if R + C / 2 > 0 else float("nan")
    comm2 = max(two["comm_per_epoch"])
    nnz = [d["nnz"] for d in two["ranks_data"]]
    imbalance = max(nnz) / (sum(nnz) / len(nnz)) - 1
    speed = one["epoch"] / two["epoch"]
    M1 = mem["M1"]
    share = mem["columns_mb"] / M1 if M1 else float("nan")
    lines = ["## Analysis (generated from the numbers above)", "",
             f"- **Epoch time, {fmt_x(speed)} at P = 2.** Of the one-rank compute "
             f"({fmt_t(T1)}), {100 * C / (C + R):.0f} % splits with the columns and "
             f"{100 * R / (C + R):.0f} % is work that every rank repeats (by the line "
             f"above); with no communication and no interference between the ranks, P = 2 "
             f"could reach (R + C) / (R + C/2) = {fmt_x(bound)}. The ranks' compute measured "
             f"{fmt_t(mk['T2'])} against {fmt_t(mk['T2_predicted'])} predicted; "
             f"communication, with the wait for the slower rank, took {fmt_t(comm2)} of the "
             f"P = 2 epoch ({100 * comm2 / two['epoch']:.0f} %), of which the transfer "
             f"itself (the ping at the gradient's size) is about "
             f"{fmt_t(mk['shm_fit']['a'] + mk['shm_fit']['b'] * two['bytes_per_epoch'])}; "
             f"the ranks' nonzeros differ by {100 * imbalance:.1f} % from their mean "
             "(balanced columns, Pareto document lengths).",
             f"- **Memory, {fmt_x(two['peak_mb'] / M1)} per rank at P = 2.** A ratio of at "
             f"most {TARGET_MEMORY} needs the part that splits with the columns to be at least "
             f"{2 * (1 - TARGET_MEMORY):.0%} of the one-rank peak (M2/M1 = 1 − "
             f"(per-column part)/(2 M1)); here it is {share:.0%} "
             f"({mb(mem['columns_mb'])} of {mb(M1)}): the interpreter and libraries "
             f"({mb(mem['baseline_mb'])}) and the replicated factors with their optimiser "
             "state and step copies stay whole on every rank.",
             ] + interference_lines(doc) + [
             "- **Two ranks or two threads** on two cores: "
             + ", ".join(f"{r['label']} {fmt_t(r['epoch'])}" for r in res) + ".", ""]
    return lines


# --------------------------------------------------------------------------- main

def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, a smoke test")
    ap.add_argument("--out", help="write OUT.md and OUT.json (default: bench/RESULTS_mpi.md "
                                  "and bench/results_mpi.json; --quick: /tmp/nnmf_bench_mpi_quick)")
    ap.add_argument("--epochs", type=int, help="timed epochs per fit (default: 10; quick 3)")
    ap.add_argument("--warmup", type=int, help="epochs of the untimed warm-up fit (default: 3)")
    ap.add_argument("--rounds", type=int,
                    help="rounds over the configurations, alternating their order; each "
                         "configuration keeps its fastest round (default: 2; quick 1)")
    ap.add_argument("--threads", type=int, default=2,
                    help="threads of the multi-threaded P=1 configuration (default: 2)")
    ap.add_argument("--mpiexec", default=shutil.which("mpiexec") or "mpiexec",
                    help="the MPI launcher (default: mpiexec on PATH)")
    ap.add_argument("--wait-idle", type=float, default=0.0, metavar="S",
                    help="before each configuration wait up to S seconds for other load to end")
    ap.add_argument("--no-tune", action="store_true", help="children skip nnmf.tune_process()")
    ap.add_argument("--render", action="store_true", help="rebuild the markdown from the JSON")
    ap.add_argument("--_child", help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def out_paths(args):
    if args.out:
        return Path(args.out + ".md"), Path(args.out + ".json")
    if args.quick:
        return Path("/tmp/nnmf_bench_mpi_quick.md"), Path("/tmp/nnmf_bench_mpi_quick.json")
    return HERE / "RESULTS_mpi.md", HERE / "results_mpi.json"


def main(argv=None):
    args = parse(argv)
    if args._child:
        result = child(json.loads(args._child))
        if result is not None:
            print(json.dumps(result), flush=True)
        return 0
    md_path, json_path = out_paths(args)
    if args.render:
        doc = json.loads(json_path.read_text())
        doc["model"] = model(doc["results"], doc.get("runs"))  # as this script computes it
        md_path.write_text(render(doc))
        print(f"wrote {md_path}")
        return 0
    from importlib import metadata

    params = dict(QUICK if args.quick else FULL)
    if args.epochs:
        params["epochs"] = args.epochs
    if args.warmup is not None:
        params["warmup"] = args.warmup
    configs = [(f"P=1, {args.threads} threads", 1, args.threads, False) if c[2] == 2
               else c for c in CONFIGS]
    rounds = args.rounds or (1 if args.quick else 2)
    runs = {c[0]: [] for c in configs}
    for i in range(rounds):
        for label, P, threads, independent in (configs if i % 2 == 0 else configs[::-1]):
            print(f"[round {i + 1}/{rounds}: {label}] {params['m']}x{params['n']}, "
                  f"{params['nnz']} nonzeros, ranks {params['ranks']}: mpiexec -n {P}, "
                  f"{threads} thread(s) per rank", flush=True)
            r = run_config(label, P, threads, independent, params, args)
            r["params"], r["round"] = params, i + 1
            print(f"   epoch {fmt_t(r['epoch'])}, comm {[fmt_t(c) for c in r['comm_per_epoch']]}, "
                  f"peak {[mb(d['peak_mb']) for d in r['ranks_data']]}, other load "
                  f"{_common.pct(r['other_load'])}", flush=True)
            runs[label].append(r)
    results = []
    for label, *_ in configs:  # each configuration's fastest round, with the others' times
        best = min(runs[label], key=lambda r: r["epoch"])
        best["rounds"] = [{"round": r["round"], "epoch": r["epoch"], "peak_mb": r["peak_mb"],
                           "other_load": r["other_load"]} for r in runs[label]]
        results.append(best)
    try:
        mpich = metadata.version("mpich")
    except metadata.PackageNotFoundError:
        mpich = None
    doc = {"date": datetime.date.today().isoformat(), "quick": args.quick, "params": params,
           "no_tune": args.no_tune, "machine": _common.machine_info(), "mpich_wheel": mpich,
           "mpiexec": args.mpiexec, "results": results, "runs": runs}
    doc["model"] = model(results, runs)
    json_path.write_text(json.dumps(doc, indent=1))
    md_path.write_text(render(doc))
    print(f"wrote {md_path} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
