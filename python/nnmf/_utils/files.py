"""Writing files atomically: to a temporary file beside the target, renamed over it, so that
an interrupted write (a crash, a killed job) never leaves a damaged file behind."""

import contextlib
import os
import secrets
from pathlib import Path

import numpy as np

__all__ = ["atomic_open", "atomic_savez", "read_npy_header", "UnsupportedNpyVersion"]


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


@contextlib.contextmanager
def atomic_open(path, mode="w", **kwargs):
    """``open(path, mode, **kwargs)`` for writing, atomically: the file appears at ``path``,
    complete, only when the ``with`` block ends without an exception (a Ctrl-C included);
    otherwise any earlier file at ``path`` is left as it was."""
    path = Path(path)
    fd, tmp = _create_temporary(path)
    try:
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_savez(path, arrays, *, compressed=False):
    """``np.savez`` (or ``np.savez_compressed``) of the dict ``arrays`` to ``path``,
    atomically. Returns the path."""
    with atomic_open(path, "wb") as fh:
        (np.savez_compressed if compressed else np.savez)(fh, **arrays)
    return Path(path)


class UnsupportedNpyVersion(ValueError):
    """A .npy format version whose header read_npy_header does not parse."""


def read_npy_header(fh):
    """(shape, fortran_order, dtype) from the header of the .npy stream ``fh`` (at its start),
    leaving ``fh`` at the first byte of the data. UnsupportedNpyVersion for a format version
    other than 1.0 and 2.0, the two whose header numpy reads without the data."""
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fh)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(fh)
    raise UnsupportedNpyVersion(f"unsupported .npy format version {version}")
