"""Ctrl-C during one long call into the compiled core: the core's loops hand control to Python's
signal handlers between column blocks, so KeyboardInterrupt arrives within a fraction of a
second instead of when the call returns, nothing crashes, and the process computes correctly
afterwards."""

import os
import signal
import subprocess
import sys
import time

import pytest

CHILD = r"""
import sys, time
import numpy as np
import nnmf

rng = np.random.default_rng(0)
A, X = rng.random((300, 150)), rng.random((300, 20000))  # several seconds on one thread
small_A, small_X = rng.random((40, 6)), rng.random((40, 30))
before = nnmf.nnls(small_A, small_X)
print("ready", flush=True)
try:
    nnmf.nnls(A, X, n_threads=int(sys.argv[1]))
    print("finished", flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
# the process is still usable: the same answer as before, bit for bit
after = nnmf.nnls(small_A, small_X, n_threads=int(sys.argv[1]))
print("same" if np.array_equal(before, after) else "different", flush=True)
"""


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
@pytest.mark.parametrize("n_threads", [1, 2])
def test_sigint_interrupts_a_long_nnls_call(n_threads):
    # the child imports nnmf as this process does (installed, or through PYTHONPATH)
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(n_threads)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(1.0)  # well into the call (a few seconds long on one thread)
        sent = time.perf_counter()
        child.send_signal(signal.SIGINT)
        line = child.stdout.readline().strip()
        waited = time.perf_counter() - sent
        child.wait(timeout=60)
        # read through the same buffered pipe as readline (communicate() would miss what
        # readline has already buffered)
        rest, err = child.stdout.read(), child.stderr.read()
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
        child.stderr.close()
    assert line == "interrupted", err
    assert waited < 1.0
    assert rest.split() == ["same"], err
    assert child.returncode == 0, err
