"""Guards for the performance properties that the benchmarks rely on, without any
timing assertion:

* a sparse fit never allocates an m x n dense array: the data below is 20000 x 20000, so its
  dense form would be 3.2 GB (float64), while the fits must stay within tens of MB of traced
  (numpy/Python) allocations, and a child process whose address space is capped at 1 GB above
  what it already uses (so an m x n buffer in the compiled core would fail too) completes them;
* a float32 fit stays float32 end to end: every product with X runs in float32, and the fitted
  factors and every output are float32.
"""

import json
import subprocess
import sys
import textwrap
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import nnmf
from nnmf.layer import _operand
from nnmf.layer import Operand

M = N = 20_000                 # dense form: 20000 * 20000 * 8 bytes = 3.2 GB
DENSE_BYTES = M * N * 8
TRACED_LIMIT = 64 * 2 ** 20    # 64 MB: 2 % of the dense form


def sparse_corpus(m=M, n=N, nnz=60_000, k=3, seed=0):
    """A sparse nonnegative m x n matrix with a planted rank-k block structure (CSC): column j
    belongs to group j % k and draws its rows from that group's third of the rows."""
    rng = np.random.default_rng(seed)
    cols = rng.integers(0, n, nnz)
    group = cols % k
    rows = (group * (m // k) + rng.integers(0, m // k, nnz)).astype(np.int64)
    vals = 1.0 + rng.random(nnz)
    return sp.csc_matrix((vals, (rows, cols)), shape=(m, n))


def traced_peak(fn):
    """Peak bytes traced by tracemalloc (numpy's buffers included) while fn() runs."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, out


@pytest.fixture(scope="module")
def big_sparse():
    return sparse_corpus()


def _quiet(fn):
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", nnmf.ConvergenceWarning)
            return fn()
    return run


def test_sparse_neural_nmf_never_densifies(big_sparse):
    X = big_sparse

    def fit():
        model = nnmf.NeuralNMF((3, 2), max_iter=3, random_state=0).fit(X)
        S = model.transform(X)
        score = model.score(X)
        return model, S, score

    peak, (model, S, score) = traced_peak(_quiet(fit))
    assert peak < TRACED_LIMIT, (
        f"a sparse NeuralNMF fit traced {peak / 2 ** 20:.0f} MB: an m x n array "
        f"({DENSE_BYTES / 2 ** 30:.1f} GB dense) or a large part of one was allocated")
    assert model.A_[0].shape == (M, 3) and S.shape == (2, N)
    assert np.isfinite(score) and 0 <= -score < 1


def test_sparse_neural_nmf_minibatch_never_densifies(big_sparse):
    X = big_sparse
    fit = _quiet(lambda: nnmf.NeuralNMF((3, 2), max_iter=2, batch_size=5000, init="random",
                                        random_state=0).fit(X))
    peak, model = traced_peak(fit)
    assert peak < TRACED_LIMIT, f"mini-batch fit traced {peak / 2 ** 20:.0f} MB"
    assert np.isfinite(model.reconstruction_err_)


def test_sparse_nmf_anls_never_densifies(big_sparse):
    X = big_sparse

    def fit():
        model = nnmf.NMF(3, solver="anls", max_iter=10, random_state=0).fit(X)
        return model, model.transform(X)

    peak, (model, S) = traced_peak(_quiet(fit))
    assert peak < TRACED_LIMIT, f"sparse NMF(anls) traced {peak / 2 ** 20:.0f} MB"
    assert 0 < model.reconstruction_err_ < 1 and S.shape == (3, N)


CHILD = textwrap.dedent("""
    import json, resource, sys, warnings
    import numpy as np, scipy.sparse as sp
    sys.path.insert(0, sys.argv[1])
    import nnmf
    from test_performance_guards import sparse_corpus

    warnings.simplefilter("ignore")
    X = sparse_corpus()
    # Warm up every thread pool and malloc arena on a small problem first.
    nnmf.NeuralNMF((3, 2), max_iter=2, random_state=0).fit(X[:2000, :2000].tocsc())
    with open("/proc/self/status") as f:
        vm = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize"))
    cap = vm + 2 ** 30
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    model = nnmf.NeuralNMF((3, 2), max_iter=3, random_state=0).fit(X)
    nmf = nnmf.NMF(3, solver="anls", max_iter=5, random_state=0).fit(X)
    print(json.dumps({"err": model.reconstruction_err_, "nmf_err": nmf.reconstruction_err_,
                      "cap_gb": cap / 2 ** 30}))
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc and RLIMIT_AS")
def test_sparse_fit_fits_in_capped_address_space():
    """The compiled core's own buffers are invisible to tracemalloc: run the fits in a child
    whose address space may grow by at most 1 GB, a third of the dense form."""
    here = str(__import__("pathlib").Path(__file__).resolve().parent)
    proc = subprocess.run([sys.executable, "-c", CHILD, here], capture_output=True, text=True,
                          timeout=120, env={**__import__("os").environ,
                                            "OMP_NUM_THREADS": "2",
                                            "OPENBLAS_NUM_THREADS": "2"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert np.isfinite(out["err"]) and np.isfinite(out["nmf_err"])


# --------------------------------------------------------------------------- float32

@pytest.fixture
def product_dtypes(monkeypatch):
    """Record the dtype of every product with X (Operand.tdot / dot_t) and of every input
    the core's NNLS receives."""
    seen = []
    tdot, dot_t = Operand.tdot, Operand.dot_t
    nnls_gram = _operand._core.nnls_gram

    def rec_tdot(self, A, n_threads):
        out = tdot(self, A, n_threads)
        seen.append(("A^T X", self.dtype, out.dtype))
        return out

    def rec_dot_t(self, W, n_threads):
        out = dot_t(self, W, n_threads)
        seen.append(("X W^T", self.dtype, out.dtype))
        return out

    def rec_nnls_gram(G, C, init, *args):
        seen.append(("nnls C", C.dtype, C.dtype if init is None else init.dtype))
        return nnls_gram(G, C, init, *args)

    monkeypatch.setattr(Operand, "tdot", rec_tdot)
    monkeypatch.setattr(Operand, "dot_t", rec_dot_t)
    monkeypatch.setattr(_operand._core, "nnls_gram", rec_nnls_gram)
    return seen


def _planted(seed=0, m=60, n=80, k=5):
    rng = np.random.default_rng(seed)
    X = rng.random((m, k)) @ rng.random((k, n)) + 0.01 * rng.random((m, n))
    return X


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("optimizer,batch_size", [("armijo", None), ("adam", 40)])
def test_float32_neural_nmf_stays_float32(product_dtypes, sparse, optimizer, batch_size):
    X64 = _planted()
    X32 = X64.astype(np.float32)
    if sparse:
        X32 = sp.csc_matrix(X32)
    kw = dict(max_iter=8, optimizer=optimizer, batch_size=batch_size, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnmf.ConvergenceWarning)
        ref = nnmf.NeuralNMF((5, 3), **kw).fit(X64)
        product_dtypes.clear()
        model = nnmf.NeuralNMF((5, 3), **kw)
        S_top = model.fit_transform(X32)
    assert product_dtypes, "no product with X was recorded"
    assert all(s[1] == np.float32 and s[2] == np.float32 for s in product_dtypes), \
        sorted(set(product_dtypes), key=str)
    assert S_top.dtype == np.float32
    assert all(A.dtype == np.float32 for A in model.A_)
    assert all(S.dtype == np.float32 for S in model.S_)
    assert model.transform(X32).dtype == np.float32
    assert all(S.dtype == np.float32 for S in model.transform(X32, layer="all"))
    for key in ("loss", "data", "reconstruction_err"):
        h = model.history_[key]
        assert h.size and np.all(np.isfinite(h)), key
    # float32 changes the answer only at float32 precision
    assert abs(model.reconstruction_err_ - ref.reconstruction_err_) < 1e-3
    assert np.all(np.isfinite(model.topic_matrices()[-1]))


@pytest.mark.parametrize("sparse", [False, True])
def test_float32_nmf_anls_stays_float32(product_dtypes, sparse):
    X32 = _planted(1).astype(np.float32)
    if sparse:
        X32 = sp.csc_matrix(X32)
    model = nnmf.NMF(5, solver="anls", max_iter=20, tol=0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnmf.ConvergenceWarning)
        S = model.fit_transform(X32)
    assert product_dtypes
    assert all(s[1] == np.float32 and s[2] == np.float32 for s in product_dtypes), \
        product_dtypes
    assert S.dtype == np.float32 and model.A_.dtype == np.float32
    assert model.transform(X32).dtype == np.float32
    assert np.all(np.isfinite(model.history_)) and model.reconstruction_err_ < 0.05
