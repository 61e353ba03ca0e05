"""Data-parallel fits over MPI equal the one-process fit: every configuration of
tests/mpi/cases.py is fitted by `mpiexec -n P` for P = 1..4 (ranks may outnumber the cores)
and compared with the same fit in this process. A failing rank ends the whole job with its
message."""

import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py", reason="mpi4py is not installed (the 'mpi' extra)")
MPIEXEC = shutil.which("mpiexec")
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec on PATH (the 'mpi' extra)")

HERE = Path(__file__).resolve().parent / "mpi"
sys.path.insert(0, str(HERE))
import cases  # noqa: E402


def mpiexec(n, script, *args, timeout=120):
    return subprocess.run([MPIEXEC, "-n", str(n), sys.executable, str(HERE / script), *args],
                          capture_output=True, text=True, timeout=timeout, env=os.environ.copy())


@pytest.fixture(scope="module")
def single_process():
    """Every case fitted here, without a communicator."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, case in cases.CASES.items():
            make, X, y, mask = case()
            kwargs = {} if y is None else {"y": y, "label_mask": mask}
            model = make(None).fit(X, **kwargs)
            S = model.S_[-1] if isinstance(model.S_, list) else model.S_
            out[name] = (cases.summary(model), np.asarray(S))
    return out


def _relative(a, b):
    """max |a - b| / max |a|, NaN where both are NaN counting as equal."""
    a, b = np.nan_to_num(a, nan=-1.0), np.nan_to_num(b, nan=-1.0)
    scale = np.max(np.abs(a)) if a.size else 0.0
    return np.max(np.abs(a - b)) / scale if scale > 0 else np.max(np.abs(a - b), initial=0.0)


@pytest.mark.parametrize("ranks", [1, 2, 3, 4])
def test_every_rank_count_gives_the_one_process_fit(tmp_path, single_process, ranks):
    done = mpiexec(ranks, "fit_estimators.py", str(tmp_path / "fit"), ",".join(cases.CASES))
    assert done.returncode == 0, done.stderr[-3000:]
    files = [np.load(tmp_path / f"fit.{r}.npz") for r in range(ranks)]
    for name, (expected, S) in single_process.items():
        for key, value in expected.items():
            for f in files:  # the replicated results: bitwise the same on every rank
                np.testing.assert_array_equal(f[f"{name}/{key}"], files[0][f"{name}/{key}"])
            got = files[0][f"{name}/{key}"]
            assert got.shape == value.shape, (name, key)
            tol = 0.0 if ranks == 1 else 1e-10   # one rank runs the same sums as no MPI
            assert _relative(value, got) <= tol, (name, key, _relative(value, got))
        # S_ is each rank's own columns, in order
        S_ranks = np.concatenate([f[f"{name}/S"] for f in files], axis=1)
        assert _relative(S, S_ranks) <= (0.0 if ranks == 1 else 1e-10), name


def test_bad_input_on_one_rank_fails_every_rank():
    done = mpiexec(2, "failing_rank.py", "bad-input", timeout=60)
    assert done.returncode != 0
    assert "rank 1: ValueError: X contains NaN or infinity" in done.stdout
    assert "rank 0: CollectiveError: rank 1 of 2 failed: ValueError: X contains NaN" \
        in done.stdout.replace("nnmf._utils.collective.", "")


def test_an_error_in_training_aborts_the_job():
    done = mpiexec(3, "failing_rank.py", "training", timeout=60)
    assert done.returncode != 0
    assert "rank 1 of 3 failed, aborting the MPI job: RuntimeError: rank 1 breaks at " \
           "iteration 3" in done.stderr
    assert "fitted" not in done.stdout


@pytest.mark.parametrize("writers,readers", [(2, 2), (2, 3)])
def test_a_resumed_fit_equals_the_uninterrupted_one(tmp_path, writers, readers):
    """Resumed by as many ranks as wrote the checkpoint, the fit continues exactly; by
    another number, the S's are recomputed and the fit agrees up to rounding."""
    path = str(tmp_path / "ck.npz")
    for n, step in ((writers, "write"), (readers, "resume")):
        done = mpiexec(n, "checkpoint_resume.py", path, step)
        assert done.returncode == 0, done.stderr[-3000:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from nnmf.datasets import load_synthetic_noise
        import nnmf

        d = load_synthetic_noise()
        whole = nnmf.NeuralNMF((9, 4), random_state=0, tol=0, max_iter=14).fit(
            d.X, d.labels["middle"], label_mask=d.known[40])
    got = np.load(path + ".result.npz")
    tol = 1e-10 if writers == readers else 1e-8
    for key, value in (("A0", whole.A_[0]), ("A1", whole.A_[1]), ("B", whole.B_),
                       ("loss", whole.history_["loss"])):
        assert _relative(value, got[key]) <= tol, (key, _relative(value, got[key]))


def test_the_command_on_several_ranks_writes_what_one_process_writes(tmp_path):
    """`mpiexec -n 3 nnmf fit`: rank 0 alone prints and writes, the same tree and model."""
    import nnmf
    from nnmf.cli import main

    docs = tmp_path / "docs"
    assert main(["demo", "--documents", "120", "--save-corpus", str(docs), "--quiet"]) == 0
    options = ["fit", str(docs), "--ranks", "6,3", "--labels", "folders", "--known-fraction",
               "0.5", "--max-iter", "15", "--figures", "none", "--quiet"]
    one = subprocess.run([sys.executable, "-m", "nnmf", *options, "--out", str(tmp_path / "one")],
                         capture_output=True, text=True, timeout=120)
    assert one.returncode == 0, one.stderr
    three = subprocess.run([MPIEXEC, "-n", "3", sys.executable, "-m", "nnmf", *options,
                            "--out", str(tmp_path / "three")],
                           capture_output=True, text=True, timeout=120)
    assert three.returncode == 0, three.stderr
    assert three.stdout == one.stdout                  # the topic tree, printed once
    a, b = nnmf.load_model(tmp_path / "one"), nnmf.load_model(tmp_path / "three")
    for x, y in zip(a.A_ + [a.B_] + a.S_, b.A_ + [b.B_] + b.S_):
        assert x.shape == y.shape and _relative(x, y) <= 1e-10
    np.testing.assert_array_equal(a.transduction_, b.transduction_)


def test_sigterm_to_mpiexec_stops_every_rank_with_a_checkpoint(tmp_path):
    """What a batch scheduler does before the wall-time limit: every rank stops after its
    iteration, the checkpoint (and each rank's S's) is written, the job exits with 143."""
    import signal
    import time

    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.random((800, 20)) @ rng.random((20, 1200))
            + rng.random((800, 1200)))
    checkpoint = tmp_path / "ck.npz"
    job = subprocess.Popen([MPIEXEC, "-n", "2", sys.executable, "-m", "nnmf", "fit",
                            str(tmp_path / "x.npy"), "--ranks", "20,8", "--max-iter", "100000",
                            "--checkpoint", str(checkpoint), "--checkpoint-every", "1",
                            "--quiet", "--threads", "1"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not checkpoint.exists() and time.monotonic() < deadline and job.poll() is None:
        time.sleep(0.05)
    job.send_signal(signal.SIGTERM)
    _, err = job.communicate(timeout=60)
    assert job.returncode == 143, err
    assert "stopped by SIGTERM; the checkpoint" in err
    assert (tmp_path / "ck.npz.rank1of2.npz").exists()
