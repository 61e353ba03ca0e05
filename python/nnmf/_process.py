"""Opt-in, process-wide settings that speed up training on few cores.

Importing nnmf changes nothing outside nnmf: a program that embeds it (a web service, a
PyTorch job) keeps its own OpenMP and malloc behaviour. A process that mostly trains nnmf
models (the ``nnmf`` command does this for itself) can call :func:`tune_process` first.
"""

import os
import sys

__all__ = ["tune_process"]

_CORE_MODULES = ("nnmf.layer._core_generic", "nnmf.layer._core_avx2", "nnmf.layer._core")
_MALLOC_VARIABLES = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES")


def tune_process(*, passive_wait=True, keep_freed_memory=True):
    """Set the process-wide options that make training faster on machines with few cores.

    Parameters
    ----------
    passive_wait : bool, default=True
        Let idle OpenMP threads sleep instead of spinning (``OMP_WAIT_POLICY=PASSIVE``),
        unless the environment already sets ``OMP_WAIT_POLICY``. Between two calls of the
        core, numpy's BLAS runs the small products of a training step; threads that spin
        take its cores. OpenMP reads the variable once, when it loads: this applies only if
        no OpenMP library (nnmf's core, scikit-learn's, PyTorch's) has loaded yet, so call
        this first thing in the program.
    keep_freed_memory : bool, default=True
        On glibc, keep up to 64 MiB of freed memory for reuse and serve blocks under 32 MiB
        from the heap, rather than return each training step's arrays to the operating
        system and page-fault them in again at the next step; skipped when glibc's own
        ``MALLOC_*_THRESHOLD_`` or ``GLIBC_TUNABLES`` variables are set.

    Returns
    -------
    dict
        ``passive_wait`` and ``keep_freed_memory``: whether each setting is in effect
        (already set by the environment counts).

    Notes
    -----
    bench/bench_training.py (its ``process`` case) times training epochs with and without
    these settings, side by side.
    """
    applied = {"passive_wait": False, "keep_freed_memory": False}
    if passive_wait:
        policy = os.environ.get("OMP_WAIT_POLICY")
        loaded = any(name in sys.modules for name in _CORE_MODULES)
        if policy is None and not loaded:
            os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
            policy = "PASSIVE"
        applied["passive_wait"] = (policy or "").strip().upper() == "PASSIVE"
    if keep_freed_memory:
        if any(v in os.environ for v in _MALLOC_VARIABLES):
            applied["keep_freed_memory"] = True
        else:
            from .layer import _core  # loads OpenMP: after the wait policy is set

            applied["keep_freed_memory"] = bool(
                _core.keep_freed_memory(mmap=32 << 20, trim=64 << 20))
    return applied
