"""Helpers shared by the benchmark scripts: timing, the machine's load, its environment and
the process-wide settings in effect, subprocess children, table formatting, and the synthetic
data sets.

Importing this module loads numpy and scipy but no OpenMP runtime and no part of nnmf's
compiled core: a script can still opt in to :func:`nnmf.tune_process` after importing it.
"""

import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import scipy
import scipy.sparse as sp

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_info = None

    @contextlib.contextmanager
    def threadpool_limits(limits=None, user_api=None):
        yield


# --------------------------------------------------------------------------- timing

def now():
    return time.perf_counter()


def time_calls(fn, repeats, warmup=1):
    """Wall times (s) of `repeats` calls of fn() after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = now()
        fn()
        times.append(now() - t0)
    return times


def timeit(fn, repeats=5, warmup=1):
    """Median wall time of fn() over `repeats` calls after `warmup` untimed ones."""
    return statistics.median(time_calls(fn, repeats, warmup))


# --------------------------------------------------------------------------- load

class LoadMeter:
    """Fraction of all CPUs used by *other* processes between start() and stop(): the busy
    jiffies of /proc/stat minus this process's (and its finished children's) CPU time. On 2
    cores any other load skews every timing; the tables record it."""

    def start(self):
        self._t = self._snap()
        return self

    @staticmethod
    def _snap():
        try:
            with open("/proc/stat") as f:
                v = [int(x) for x in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        hz = os.sysconf("SC_CLK_TCK")
        t = os.times()
        idle = v[3] + (v[4] if len(v) > 4 else 0)
        own = t.user + t.system + t.children_user + t.children_system
        return sum(v), sum(v) - idle, own * hz

    def stop(self):
        end = self._snap()
        if self._t is None or end is None:
            return None
        total = end[0] - self._t[0]
        other = (end[1] - self._t[1]) - (end[2] - self._t[2])
        return max(0.0, other / max(total, 1))


def cpu_busy(seconds=0.5):
    """Fraction of all CPUs busy over `seconds` (from /proc/stat), measured while this process
    sleeps: other load on the machine. None if unknown."""
    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + (v[4] if len(v) > 4 else 0)
        return sum(v), idle
    try:
        t0, i0 = snap()
        time.sleep(seconds)
        t1, i1 = snap()
        return 1.0 - (i1 - i0) / max(t1 - t0, 1)
    except (OSError, ValueError, IndexError):
        return None


def wait_for_idle(max_wait, threshold=0.15, probe=1.0, quiet=False):
    """Wait (up to max_wait seconds) until other processes use under `threshold` of the CPUs.
    Returns the seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < max_wait:
        busy = cpu_busy(probe)
        if busy is None or busy < threshold:
            break
        if not quiet:
            print(f"  (machine {100 * busy:.0f} % busy with other work; waiting)", flush=True)
    return time.monotonic() - t0


# --------------------------------------------------------------------------- memory

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


def page_faults():
    """(minor, major) page faults of this process so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_minflt, r.ru_majflt


# --------------------------------------------------------------------------- environment

# What decides how idle OpenMP threads wait and how glibc's malloc returns freed memory: read
# once, when the OpenMP runtime or glibc starts, so they apply to a whole process.
PROCESS_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME", "GLIBC_TUNABLES")
PROCESS_PREFIXES = ("MALLOC_",)


def _is_process_variable(name):
    return name in PROCESS_VARIABLES or name.startswith(PROCESS_PREFIXES)


def process_variables(env=None):
    """The process-wide OpenMP and malloc variables set in env (default os.environ)."""
    env = os.environ if env is None else env
    return {k: v for k, v in sorted(env.items()) if _is_process_variable(k)}


def clean_environment():
    """os.environ without any process-wide OpenMP or malloc variable (a child started with it
    runs with the libraries' defaults unless it opts in itself)."""
    return {k: v for k, v in os.environ.items() if not _is_process_variable(k)}


def openmp_loaded():
    """The OpenMP runtimes mapped into this process (from /proc/self/maps), or None where
    that cannot be read."""
    try:
        with open("/proc/self/maps") as f:
            names = {os.path.basename(line.split()[-1]) for line in f if "/" in line}
    except OSError:
        return None
    return sorted(n for n in names if n.startswith(("libgomp", "libomp", "libiomp")))


def tune(enabled):
    """nnmf.tune_process() when enabled, before any OpenMP runtime loads; returns a record of
    what is in effect: the settings it reports, the variables set, and the OpenMP runtimes
    already loaded when it ran (they read OMP_WAIT_POLICY at load, so it must be none)."""
    import nnmf  # loads nothing compiled

    record = {"called": bool(enabled), "openmp_loaded_before": openmp_loaded()}
    record["applied"] = nnmf.tune_process() if enabled else None
    record["variables"] = process_variables()
    return record


def cpu_model():
    """(model name, SIMD flags of interest) from /proc/cpuinfo."""
    model, flags = "unknown", []
    try:
        with open("/proc/cpuinfo") as f:
            cpuinfo = f.read()
    except OSError:
        return model, flags
    for line in cpuinfo.splitlines():
        if line.startswith("model name") and model == "unknown":
            model = line.split(":", 1)[1].strip()
        elif line.startswith("flags") and not flags:
            have = line.split(":", 1)[1].split()
            flags = [f for f in ("sse4_2", "avx", "avx2", "fma", "avx512f") if f in have]
    return model, flags


def threadpools(keys=("internal_api", "version", "architecture", "num_threads",
                      "threading_layer", "filepath")):
    """threadpoolctl's view of the loaded BLAS and OpenMP pools ([] without threadpoolctl)."""
    if threadpool_info is None:
        return []
    return [{k: d.get(k) for k in keys} for d in threadpool_info()]


def machine_info():
    """What every results file records about the machine and the libraries. Loads nnmf's
    core (build_info): call it after tune()."""
    import nnmf

    cpu, simd = cpu_model()
    return {"cpu": cpu, "logical_cores": os.cpu_count(), "simd": simd,
            "python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__, "nnmf": nnmf.__version__,
            "nnmf_build": nnmf.build_info(),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "(unset)"),
            "platform": platform.platform()}


# --------------------------------------------------------------------------- children

def run_child(cmd, env=None):
    """Run a benchmark child process; it prints its result as JSON on its last stdout line.
    Returns that result; raises RuntimeError (after printing the child's stderr) on failure."""
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        print(proc.stderr[-4000:], file=sys.stderr)
        raise RuntimeError(f"benchmark child failed (exit {proc.returncode}): {cmd[1:3]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- tables

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


def pct(x):
    return "?" if x is None else f"{100 * x:.0f} %"


# --------------------------------------------------------------------------- data

def dense_uniform(m, n, seed):
    return np.random.default_rng(seed).random((m, n))


def dense_planted(m, n, k, seed, noise=0.1):
    """W H (rank k, uniform factors) plus `noise` times its mean in uniform noise."""
    rng = np.random.default_rng(seed)
    X = rng.random((m, k)) @ rng.random((k, n))
    X += noise * X.mean() * rng.random((m, n))
    return X


def corpus(m, n, nnz, n_topics, seed, zipf=1.07):
    """A corpus-like sparse term-document matrix (m words x n documents, CSC): each document
    draws power-law many tokens (Pareto lengths), 80 % from its own topic and 20 % from the
    background; every topic (and the background) is a Zipf law over its own permutation of
    the vocabulary. Entries are 1 + log(count). About `nnz` nonzeros."""
    rng = np.random.default_rng(seed)
    z = 1.0 / np.arange(1, m + 1) ** zipf
    z /= z.sum()
    perms = np.empty((n_topics + 1, m), dtype=np.int32)
    for t in range(n_topics + 1):
        perms[t] = rng.permutation(m)
    topic = rng.integers(0, n_topics, n)
    lengths = rng.pareto(1.5, n) + 1.0

    def draw(n_tokens):
        per_doc = np.maximum(1, np.round(lengths / lengths.sum() * n_tokens)).astype(np.int64)
        doc = np.repeat(np.arange(n, dtype=np.int64), per_doc)
        ranks = rng.choice(m, size=doc.size, p=z)
        own = rng.random(doc.size) < 0.8
        t = np.where(own, topic[doc], n_topics)
        word = perms[t, ranks]
        del ranks, own, t
        M = sp.csc_matrix((np.ones(doc.size), (word, doc)), shape=(m, n))
        M.sum_duplicates()
        return M

    tokens = int(nnz * 1.3)
    M = draw(tokens)
    for _ in range(2):  # rescale the token count towards the wanted nonzeros
        if abs(M.nnz - nnz) < 0.03 * nnz:
            break
        tokens = int(tokens * (nnz / max(M.nnz, 1)) ** 1.3)
        del M
        M = draw(tokens)
    M.data = 1.0 + np.log(M.data)
    return M
