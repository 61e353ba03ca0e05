"""Training checkpoints: a fit resumed from a checkpoint is the same computation as one that
was never interrupted; a SIGTERM ends a fit cleanly with a last checkpoint."""

import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import nnmf
from nnmf.datasets import load_synthetic_noise


def _fit(path=None, resume=None, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnmf.ConvergenceWarning)
        d = load_synthetic_noise()
        model = nnmf.NeuralNMF((9, 4), random_state=0, tol=0, checkpoint=path,
                               checkpoint_every=4, **params)
        return model.fit(d.X, d.labels["middle"], label_mask=d.known[40], resume=resume)


@pytest.mark.parametrize("params", [
    {},                                                   # full batch, Armijo with BB steps
    {"optimizer": "adam", "batch_size": 25, "init": "random"},   # mini-batches: rng, moments
    {"loss": "energy", "optimizer": "pgd"},
], ids=["armijo", "adam-minibatch", "energy-pgd"])
def test_a_resumed_fit_equals_an_uninterrupted_one(tmp_path, params):
    whole = _fit(max_iter=14, **params)
    _fit(tmp_path / "ck.npz", max_iter=8, **params)      # stops at 8: checkpoint of iteration 8
    resumed = _fit(resume=tmp_path / "ck.npz", max_iter=14, **params)
    assert resumed.n_iter_ == whole.n_iter_ == 14
    for a, b in zip(resumed.A_ + [resumed.B_], whole.A_ + [whole.B_]):
        np.testing.assert_array_equal(a, b)
    for key in whole.history_:
        np.testing.assert_array_equal(resumed.history_[key], whole.history_[key])
    assert resumed.reconstruction_err_ == whole.reconstruction_err_


def test_resume_refuses_another_fits_checkpoint(tmp_path):
    _fit(tmp_path / "ck.npz", max_iter=4)
    d = load_synthetic_noise()
    with pytest.raises(ValueError, match="is of another fit: its ranks"):
        nnmf.NeuralNMF((9, 3), checkpoint_every=4).fit(d.X, d.labels["middle"],
                                                       resume=tmp_path / "ck.npz")
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        _fit(resume=tmp_path / "none.npz", max_iter=4)


_SIGTERM_SCRIPT = """
import os, signal, sys, numpy as np, nnmf
from nnmf.datasets import load_synthetic_noise
d = load_synthetic_noise()
def callback(it, state):
    if it == 5:
        os.kill(os.getpid(), signal.SIGTERM)
model = nnmf.NeuralNMF((9, 4), random_state=0, tol=0, max_iter=50, checkpoint=sys.argv[1],
                       checkpoint_every=100, callback=callback)
try:
    model.fit(d.X)
except nnmf.Terminated as exc:
    print("terminated:", exc, "| iterations", model.n_iter_)
"""


def test_sigterm_writes_a_last_checkpoint_and_keeps_the_model(tmp_path):
    done = subprocess.run([sys.executable, "-c", _SIGTERM_SCRIPT, str(tmp_path / "ck.npz")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "terminated: NeuralNMF stopped by SIGTERM after iteration 5" in done.stdout
    assert "| iterations 5" in done.stdout
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnmf.ConvergenceWarning)
        resumed = nnmf.NeuralNMF((9, 4), random_state=0, tol=0, max_iter=12).fit(
            load_synthetic_noise().X, resume=tmp_path / "ck.npz")
        whole = nnmf.NeuralNMF((9, 4), random_state=0, tol=0, max_iter=12).fit(
            load_synthetic_noise().X)
    np.testing.assert_array_equal(resumed.A_[0], whole.A_[0])


def test_sigterm_stops_the_command_with_a_checkpoint_to_resume(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.random((300, 8)) @ rng.random((8, 400)))
    checkpoint = tmp_path / "ck.npz"
    command = [sys.executable, "-m", "nnmf", "fit", str(tmp_path / "x.npy"), "--ranks", "8,4",
               "--max-iter", "100000", "--checkpoint", str(checkpoint),
               "--checkpoint-every", "1", "--quiet", "--threads", "1"]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not checkpoint.exists() and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.05)
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 143, err
    assert f"the checkpoint {checkpoint} is written: continue with --resume" in err
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnmf.ConvergenceWarning)
        model = nnmf.NeuralNMF((8, 4), max_iter=3, random_state=0)
        model.fit(np.load(tmp_path / "x.npy"), resume=checkpoint)   # loads and continues
    assert model.n_iter_ >= 1 and np.isfinite(model.reconstruction_err_)
