"""nnmf: Neural NMF — hierarchical nonnegative matrix factorization trained end to end by
backpropagation, with a fast C++ core.
"""

from . import _core
from ._nnls import NNLSInfo, nnls, nnls_jvp, nnls_vjp
from ._version import __version__
from .exceptions import ConvergenceWarning

__all__ = [
    "__version__",
    "build_info",
    "ConvergenceWarning",
    "NNLSInfo",
    "nnls",
    "nnls_jvp",
    "nnls_vjp",
]


def build_info():
    """How the compiled core was built and how many threads it will use.

    Returns
    -------
    dict
        ``openmp`` (bool): built with OpenMP; ``max_threads`` (int): the threads used when
        ``n_threads=None`` (OpenMP's maximum, honouring OMP_NUM_THREADS; 1 without OpenMP);
        ``version`` (str).
    """
    return {"version": __version__, "openmp": _core.openmp_enabled(),
            "max_threads": _core.max_threads()}
