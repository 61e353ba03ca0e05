"""The core under concurrent and repeated use: Python threads calling it at once get exactly
what serial calls get, two fits in two threads are both right, and resident memory stays flat
over thousands of calls (no leak)."""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import scipy.sparse as sp

import nnmf


def _problems(count):
    rng = np.random.default_rng(0)
    out = []
    for i in range(count):
        A = rng.random((120, 8))
        X = sp.random(120, 90, density=0.1, random_state=i, format="csc") if i % 2 else \
            rng.random((120, 90))
        out.append((A, X))
    return out


def test_eight_python_threads_get_the_serial_results_bitwise():
    problems = _problems(8)
    serial = [(nnmf.nnls(A, X), nnmf.nnls_vjp(A, X, nnmf.nnls(A, X), np.ones((8, 90)),
                                               need_dX=False)[0]) for A, X in problems]
    results = [None] * 8

    def work(i):
        A, X = problems[i]
        for _ in range(5):
            S = nnmf.nnls(A, X)
            results[i] = (S, nnmf.nnls_vjp(A, X, S, np.ones((8, 90)), need_dX=False)[0])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (S0, dA0), (S1, dA1) in zip(serial, results):
        np.testing.assert_array_equal(S0, S1)
        np.testing.assert_array_equal(dA0, dA1)


def test_two_fits_in_two_threads_are_both_right():
    rng = np.random.default_rng(1)
    data = [rng.random((40, 6)) @ rng.random((6, 70)), rng.random((30, 5)) @ rng.random((5, 50))]

    def model():   # 30 iterations, ended by the callback (no warning: warnings are per process)
        return nnmf.NeuralNMF((4, 2), random_state=0, tol=0, callback=lambda it, s: it < 30)

    alone = [model().fit(X) for X in data]
    together = [None, None]

    def fit(i):
        together[i] = model().fit(data[i])

    threads = [threading.Thread(target=fit, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b in zip(alone, together):
        assert a.n_iter_ == b.n_iter_ == 30
        for x, y in zip(a.A_, b.A_):
            np.testing.assert_array_equal(x, y)


_LEAK_CHECK = """
import resource, warnings, numpy as np, scipy.sparse as sp, nnmf
warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
A = rng.random((300, 10)); X = sp.random(300, 400, density=0.05, random_state=0, format="csc")
G = np.ones((10, 400))
def rss():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) / 1024
def calls(n):
    for _ in range(n):
        S = nnmf.nnls(A, X); nnmf.nnls_vjp(A, X, S, G, need_dX=False)
def fits(n):
    for i in range(n):
        nnmf.NeuralNMF((6, 3), random_state=i, max_iter=5, tol=0).fit(X)
calls(200); fits(20)                       # warm up: the allocator's pools, thread stacks
before = rss()
calls(2000); fits(200)
print(rss() - before)
"""


def test_memory_stays_flat_over_thousands_of_calls_and_hundreds_of_fits():
    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc/self/status")
    done = subprocess.run([sys.executable, "-c", _LEAK_CHECK], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    grown = float(done.stdout.strip())
    assert grown < 20.0, f"resident memory grew by {grown:.1f} MB over 2000 calls and 200 fits"


_THREAD_KNOBS = """
import hashlib, sys, warnings, numpy as np, nnmf
warnings.simplefilter("ignore")
case = sys.argv[1]
rng = np.random.default_rng(0)
if case == "in_core":      # sparse X, and dense X with k_0 <= 64: every product with X in the core
    news = nnmf.datasets.load_20news_subsampled().X
    dense = rng.random((120, 90))
    models = [nnmf.NeuralNMF((10, 6), random_state=0, max_iter=40).fit(news),
              nnmf.NeuralNMF((9, 4), random_state=0, max_iter=40, init="random").fit(dense),
              nnmf.NeuralNMF((9, 4), random_state=0, max_iter=40).fit(dense),
              nnmf.NMF(5, solver="mu", random_state=0, max_iter=20).fit(news),
              nnmf.HierarchicalNMF((6, 3), random_state=0).fit(news)]
else:                      # dense X with k_0 = 70: products in numpy's BLAS
    models = [nnmf.NeuralNMF((70, 5), random_state=0, max_iter=10).fit(rng.random((300, 200)))]
print(hashlib.sha256(b"".join(np.asarray(a).tobytes() for m in models
                         for a in (m.A_ if isinstance(m.A_, list) else [m.A_]))).hexdigest())
"""


def _fit_digest(case, omp, openblas=None):
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    env["OMP_NUM_THREADS"] = str(omp)
    if openblas is not None:
        env["OPENBLAS_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(openblas)
    done = subprocess.run([sys.executable, "-c", _THREAD_KNOBS, case], capture_output=True,
                          text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_thread_knobs_that_keep_results_bitwise():
    """docs/guide/threads.md's table: OMP_NUM_THREADS changes nothing where the core does every
    product with X and threadpoolctl holds BLAS to one thread; with BLAS's own thread count
    fixed, nothing changes anywhere."""
    pytest.importorskip("threadpoolctl")
    assert _fit_digest("in_core", 1) == _fit_digest("in_core", 2)
    assert _fit_digest("blas", 1, openblas=1) == _fit_digest("blas", 2, openblas=1)
