"""Ctrl-C: a fit interrupted from the keyboard keeps a usable model (tests/test_neural.py) and
the command line stops within a second with exit code 130, leaving no partial output file.
The signals here are real SIGINTs sent to a child process."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _start(args, tmp_path):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "nnmf", *map(str, args)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _interrupt_when(proc, ready):
    """Wait until ``ready()``, send SIGINT; return (seconds from the signal to the command's
    report of it, exit code, stderr)."""
    begin = time.monotonic()
    while not ready():
        assert proc.poll() is None, f"the command ended first: {proc.stderr.read()}"
        assert time.monotonic() - begin < 120, "the command never got ready"
        time.sleep(0.02)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    lines = []
    for line in proc.stderr:  # until the command reports the interrupt (then the interpreter
        lines.append(line)    # exits, which takes what its teardown takes)
        if line.startswith("nnmf: interrupted"):
            break
    seconds = time.monotonic() - sent
    code = proc.wait(timeout=30)
    return seconds, code, "".join(lines) + proc.stderr.read()


def test_ctrl_c_during_a_cli_fit_stops_at_once_and_writes_nothing(tmp_path):
    from nnmf.neural._checkpoint import read_checkpoint

    rng = np.random.default_rng(0)
    np.save(tmp_path / "X.npy", rng.random((400, 600)))
    out, checkpoint = tmp_path / "out", tmp_path / "state.npz"
    # the first checkpoint marks a fit in training, with iterations to go (it converges in
    # about twenty)
    with _start(["fit", "X.npy", "--ranks", "30,10", "--out", out, "--checkpoint", checkpoint,
                 "--checkpoint-every", "1"], tmp_path) as proc:
        seconds, code, err = _interrupt_when(proc, checkpoint.exists)
    assert code == 130, err
    assert "nnmf: interrupted" in err
    assert seconds < 1.0, f"{seconds:.2f} s from SIGINT to the command's report"
    # no output file, complete or partial, and no temporary file beside one; the checkpoint,
    # written atomically, is whole
    assert not out.exists() or list(out.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X.npy", "state.npz"] + (
        ["out"] if out.exists() else [])
    read_checkpoint(checkpoint)


def test_an_interrupted_write_leaves_no_file(tmp_path):
    """Every output of the command line and of TopicHierarchy goes through atomic_open: a
    KeyboardInterrupt while writing leaves neither a partial file nor a temporary one, and an
    earlier file at the path stays as it was."""
    from nnmf._utils.files import atomic_open

    path = tmp_path / "topics.json"
    with pytest.raises(KeyboardInterrupt):
        with atomic_open(path, "w", encoding="utf-8") as fh:
            fh.write("{")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    path.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_open(path, "wb") as fh:
            np.save(fh, np.ones(3))
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == [path] and path.read_text() == "old"
    with atomic_open(path, "w", encoding="utf-8") as fh:
        fh.write("new")
    assert path.read_text() == "new" and len(list(tmp_path.iterdir())) == 1
