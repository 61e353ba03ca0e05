"""numpy's BLAS threads during fits whose products with X all run in the core.

With a sparse X, or a dense one of rank up to 64 with a unit stride (_operand.py), every
product with X and with the tall factor A_0 runs in the core's OpenMP threads; what is left
for numpy's BLAS are k x n and k x k products, too small to gain from a second thread. A
multi-threaded BLAS call on them wakes OpenBLAS's threads, which then spin and take cores
from the core's next OpenMP region (bench/bench_training.py's threads case times the mixed
configurations side by side). Such fits therefore hold BLAS to one thread. This needs
threadpoolctl (the ``threads`` extra; scikit-learn also installs it); without it BLAS keeps
its own setting.
"""

import contextlib

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # optional
    threadpool_limits = None

__all__ = ["blas_threads_for"]


def blas_threads_for(Xop, k):
    """A context manager for a fit of rank-k factors to the Operand Xop: BLAS on one thread
    when the core does every product with X."""
    if threadpool_limits is None or not Xop.products_in_core(k):
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
