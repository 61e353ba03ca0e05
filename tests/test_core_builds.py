"""The core's builds (python/nnmf/layer/_core.py): the generic one for any CPU and, on x86-64,
the AVX2+FMA one, chosen when the core loads. Both must compute the same thing; NNMF_CORE picks
one. Importing nnmf changes nothing process-wide; tune_process opts in."""

import os
import subprocess
import sys

import numpy as np
import pytest

import nnmf
from nnmf.layer import _core, _core_generic

try:
    from nnmf.layer import _core_avx2
except ImportError:
    _core_avx2 = None

BUILDS = [_core_generic] + ([_core_avx2] if _core_avx2 is not None else [])


def _run(code, **env):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, **env}, timeout=120)
    return out.returncode, out.stdout.strip(), out.stderr


def test_auto_choice_follows_the_cpu():
    if os.environ.get("NNMF_CORE", "auto") != "auto":
        pytest.skip("NNMF_CORE is set for this test run")
    expected = _core_avx2 if (_core_avx2 is not None and _core_generic.cpu_has_avx2_fma()) \
        else _core_generic
    assert _core.target == expected.target == nnmf.build_info()["core"]
    assert _core.nnls_gram is expected.nnls_gram


def test_nnmf_core_environment_variable():
    code, out, _ = _run("import nnmf; print(nnmf.build_info()['core'])", NNMF_CORE="generic")
    assert code == 0 and out == _core_generic.target
    code, _, err = _run("import nnmf.layer", NNMF_CORE="sse9")
    assert code != 0 and "NNMF_CORE must be one of auto, generic, avx2, got 'sse9'" in err
    code, out, err = _run("import nnmf; print(nnmf.build_info()['core'])", NNMF_CORE="avx2")
    if _core_avx2 is not None and _core_generic.cpu_has_avx2_fma():
        assert code == 0 and out == "avx2"
    else:
        assert code != 0 and "ImportError" in err


@pytest.mark.skipif(len(BUILDS) < 2, reason="only the generic core is built here")
@pytest.mark.skipif(not _core_generic.cpu_has_avx2_fma(), reason="this CPU lacks AVX2/FMA")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_builds_agree(dtype):
    rng = np.random.default_rng(5)
    A = rng.random((3000, 12)).astype(dtype)
    X = rng.random((3000, 400)).astype(dtype)
    C = np.asfortranarray(A.T @ X)
    init = np.zeros_like(C, order="F")
    grams = [b.gram(A, 2) for b in BUILDS]
    np.testing.assert_allclose(grams[1], grams[0], rtol=1e-13)
    S = [b.nnls_gram(grams[0], C, init, 0, 0.0, 2)[0] for b in BUILDS]
    tol = 1e-10 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(S[1], S[0], rtol=0, atol=tol * np.abs(S[0]).max())
    for b in BUILDS:  # each build is deterministic across thread counts
        np.testing.assert_array_equal(b.nnls_gram(grams[0], C, init, 0, 0.0, 1)[0],
                                      b.nnls_gram(grams[0], C, init, 0, 0.0, 2)[0])


def test_import_changes_nothing_process_wide():
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    code = ("import os, nnmf; nnmf.NeuralNMF; nnmf.nnls([[1.0]], [[2.0]]); "
            "print(os.environ.get('OMP_WAIT_POLICY'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "None"


def test_tune_process_is_an_explicit_opt_in():
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_WAIT_POLICY", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_",
                        "GLIBC_TUNABLES")}
    glibc = sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION") is not None
    first = ("import os, nnmf; r = nnmf.tune_process(); "
             "print(r['passive_wait'], r['keep_freed_memory'], os.environ['OMP_WAIT_POLICY'])")
    out = subprocess.run([sys.executable, "-c", first], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0 and out.stdout.split() == ["True", str(glibc), "PASSIVE"]
    # OpenMP reads its wait policy once, when it loads: too late after the first computation
    late = ("import nnmf; nnmf.nnls([[1.0]], [[2.0]]); "
            "print(nnmf.tune_process(keep_freed_memory=False)['passive_wait'])")
    out = subprocess.run([sys.executable, "-c", late], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "False"
    # glibc's own variables win over nnmf's malloc settings
    out = subprocess.run([sys.executable, "-c", first], capture_output=True, text=True,
                         env={**env, "OMP_WAIT_POLICY": "active",
                              "MALLOC_TRIM_THRESHOLD_": "131072"}, timeout=120)
    assert out.returncode == 0 and out.stdout.split() == ["False", "True", "active"]
