"""The core builds with NNMF_SANITIZE=address,undefined (CMakeLists.txt) and runs under the
sanitizers: the instrumented module computes what scipy and the explicit derivative formulas
compute, and an overflow in that process is caught. The whole suite under the sanitizers is
.ci/sanitize (docs/development.md).

The build takes minutes, so the test is marked ``slow`` and runs only when selected:

    python -m pytest -m slow tests/test_sanitizer_build.py
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp

import nnmf

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SANITIZERS = "address,undefined"

# Runs under the sanitizers: the layer and its VJP on the inputs of _inputs() (dense and sparse
# X, float32, a Gram matrix summed over several row blocks, k = 0), saved for the parent to
# check against its oracles.
_CHILD = """
import ctypes, sys
import numpy as np
import nnmf
from nnmf.layer import _core_generic

assert nnmf.__file__.startswith(sys.argv[1]), nnmf.__file__
assert hasattr(ctypes.CDLL(None), "__asan_init"), "the ASan runtime is not loaded"
inputs = np.load(sys.argv[2], allow_pickle=True).item()
out = {"core_file": _core_generic.__file__}
for name, (A, X, G) in inputs.items():
    S = nnmf.nnls(A, X)
    dA, dX = nnmf.nnls_vjp(A, X, S, G)
    out[name] = (S, dA, dX)
np.save(sys.argv[3], out, allow_pickle=True)
"""

# Writes 16 bytes past an 8-byte malloc block: the sanitized environment must stop it.
_OVERFLOW = """
import ctypes
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
block = libc.malloc(8)
ctypes.memset(block, 0, 24)
print("not caught")
"""


def _library(compiler, name):
    """The path of one of the compiler's libraries, or None."""
    done = subprocess.run([compiler, f"-print-file-name={name}"], capture_output=True,
                          text=True)
    path = done.stdout.strip()
    return path if done.returncode == 0 and os.path.isabs(path) and os.path.exists(path) \
        else None


def _inputs():
    rng = np.random.default_rng(18)
    A = rng.random((60, 7))
    # planted nonnegative coefficients, 40 % of them zero, plus noise: S has a proper support
    X = A @ (rng.random((7, 25)) * (rng.random((7, 25)) < 0.6)) + 0.1 * rng.random((60, 25))
    X_sparse = sp.random(60, 40, density=0.08, random_state=3).toarray()
    X_sparse[:, 5] = 0                                   # an empty column
    X_sparse = sp.csc_matrix(X_sparse)
    tall = rng.random((2500, 4))                         # Gram rows in several blocks
    return {
        "dense": (A, X, rng.standard_normal((7, 25))),
        "sparse": (A, X_sparse, rng.standard_normal((7, 40))),
        "float32": (A.astype(np.float32), X.astype(np.float32),
                    rng.standard_normal((7, 25)).astype(np.float32)),
        "tall": (tall, tall @ rng.random((4, 9)), rng.standard_normal((4, 9))),
        "k0": (np.zeros((6, 0)), rng.random((6, 5)), np.zeros((0, 5))),
    }


def _vjp_oracle(A, X, S, G):
    """The derivative formulas of nnls_vjp's docstring, column by column with lstsq."""
    A, X = np.asarray(A, np.float64), (X.toarray() if sp.issparse(X) else np.asarray(X))
    W = np.zeros(S.shape)
    for j in range(S.shape[1]):
        P = S[:, j] > 0
        if P.any():
            W[P, j] = np.linalg.lstsq(A[:, P].T @ A[:, P], G[P, j], rcond=None)[0]
    return X @ W.T - A @ (S @ W.T + W @ S.T), A @ W


@pytest.fixture(autouse=True)
def _only_when_selected(request):
    if "slow" not in request.config.getoption("markexpr"):
        pytest.skip("builds the core with sanitizers for minutes; run it with -m slow")


def test_sanitized_core_builds_and_computes_what_the_oracles_do(tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("the preloaded sanitizer runtime is set up for Linux")
    pybind11 = pytest.importorskip("pybind11")
    cmake = shutil.which("cmake")
    compiler = os.environ.get("CXX") or shutil.which("c++")
    if cmake is None or compiler is None:
        pytest.skip("needs cmake and a C++ compiler")
    # The preloads of .ci/sanitize, which says why each is needed
    preload = [_library(compiler, "libasan.so"), _library(compiler, "libstdc++.so")]
    if None in preload:
        pytest.skip(f"{compiler} has no libasan.so and libstdc++.so (GCC's)")

    build, pkg = tmp_path / "build", tmp_path / "pkg"
    # One module (NNMF_AVX2=OFF): the option sets the same flags on every target.
    configure = [cmake, "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                 f"-DCMAKE_CXX_COMPILER={compiler}", f"-DNNMF_SANITIZE={SANITIZERS}",
                 "-DNNMF_AVX2=OFF", "-DSKBUILD_PROJECT_NAME=nnmf",
                 f"-DSKBUILD_PROJECT_VERSION={nnmf.__version__.split('+')[0]}",
                 f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
                 f"-DPython_EXECUTABLE={sys.executable}"]
    for step in (configure, [cmake, "--build", str(build), "--parallel", str(os.cpu_count())]):
        done = subprocess.run(step, capture_output=True, text=True, timeout=1800)
        assert done.returncode == 0, f"{step[:2]} failed:\n{done.stdout[-3000:]}{done.stderr}"
    shutil.copytree(ROOT / "python" / "nnmf", pkg / "nnmf",
                    ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    subprocess.run([cmake, "--install", str(build), "--prefix", str(pkg)], check=True,
                   capture_output=True)
    module = next((pkg / "nnmf" / "layer").glob("_core_generic*"))
    binary = module.read_bytes()
    assert b"__asan_report_" in binary and b"__ubsan_handle_" in binary

    env = {**os.environ, "LD_PRELOAD": ":".join(preload), "PYTHONPATH": str(pkg),
           "NNMF_CORE": "generic", "ASAN_OPTIONS": "detect_leaks=0",
           "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}
    inputs = _inputs()
    np.save(tmp_path / "in.npy", inputs, allow_pickle=True)
    done = subprocess.run([sys.executable, "-c", _CHILD, str(pkg), str(tmp_path / "in.npy"),
                           str(tmp_path / "out.npy")], capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-6000:]
    out = np.load(tmp_path / "out.npy", allow_pickle=True).item()
    assert Path(out["core_file"]) == module

    for name, (A, X, G) in inputs.items():
        S, dA, dX = out[name]
        assert S.dtype == dA.dtype == dX.dtype == A.dtype
        tol = 1e-4 if A.dtype == np.float32 else 1e-9
        Xd = np.asarray(X.toarray() if sp.issparse(X) else X, np.float64)
        A64 = np.asarray(A, np.float64)
        expected = np.stack([scipy.optimize.nnls(A64, x)[0] for x in Xd.T], axis=1) \
            if A.shape[1] else np.zeros(S.shape)
        scale = max(1.0, np.abs(expected).max(initial=0))
        np.testing.assert_allclose(S, expected, atol=tol * scale, err_msg=name)
        dA_oracle, dX_oracle = _vjp_oracle(A64, X, S.astype(np.float64), G)
        scale = max(1.0, np.abs(dA_oracle).max(initial=0),
                    np.abs(dX_oracle).max(initial=0))
        np.testing.assert_allclose(dA, dA_oracle, atol=tol * scale, err_msg=name)
        np.testing.assert_allclose(dX, dX_oracle, atol=tol * scale, err_msg=name)

    caught = subprocess.run([sys.executable, "-c", _OVERFLOW], capture_output=True, text=True,
                            env=env, timeout=120)
    assert caught.returncode != 0 and "heap-buffer-overflow" in caught.stderr, caught.stderr
