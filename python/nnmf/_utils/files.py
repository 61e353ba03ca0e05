"""Writing files atomically: to a temporary file beside the target, renamed over it, so that
an interrupted write (a crash, a killed job) never leaves a damaged file behind."""

import os
import secrets
from pathlib import Path

import numpy as np

__all__ = ["atomic_savez"]


def _create_temporary(path):
    """(descriptor, path) of a new empty file beside ``path``, created like open(..., "w")
    creates a file (mode 0666 less the umask), not 0600 as tempfile.mkstemp does."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file beside {path}")


def atomic_savez(path, arrays, *, compressed=False):
    """``np.savez`` (or ``np.savez_compressed``) of the dict ``arrays`` to ``path``,
    atomically. Returns the path."""
    path = Path(path)
    fd, tmp = _create_temporary(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            (np.savez_compressed if compressed else np.savez)(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
