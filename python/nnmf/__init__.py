"""nnmf: Neural NMF — hierarchical nonnegative matrix factorization trained end to end by
backpropagation, with a fast C++ core.
"""

import os

# The core's OpenMP threads and numpy's BLAS threads take turns on the same cores; idle OpenMP
# threads that spin (libgomp's default) starve the BLAS call that follows. Wait passively
# unless the user chose a policy; libgomp reads this when it loads, with _core below.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from . import _core  # noqa: E402

# glibc malloc: keep up to 64 MiB of freed memory for the next training step instead of
# returning it to the OS and page-faulting it back in (cpp/nnmf/memory.hpp), unless the user
# tuned malloc through glibc's own variables or opted out with NNMF_MALLOC=system.
_MALLOC_TUNED = (
    os.environ.get("NNMF_MALLOC", "").strip().lower() != "system"
    and not any(v in os.environ for v in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_",
                                          "GLIBC_TUNABLES"))
    and _core.keep_freed_memory(mmap=32 << 20, trim=64 << 20))
from ._deep import DeepNMF
from ._hierarchical import HierarchicalNMF
from ._neural import NeuralNMF
from ._nmf import NMF
from ._ssnmf import SSNMF
from ._nnls import NNLSInfo, nnls, nnls_jvp, nnls_vjp
from ._version import __version__
from .exceptions import ConvergenceWarning, NotFittedError
from ._corpus import Corpus, load_corpus
from ._persist import load_model, save_model
from ._plots import plot_factors, plot_mixtures, plot_topic_tree, save_figures
from ._synthetic import make_topic_corpus, match_hierarchy
from ._topics import Topic, TopicHierarchy, topic_hierarchy

__all__ = [
    "__version__",
    "build_info",
    "ConvergenceWarning",
    "NotFittedError",
    "NeuralNMF",
    # baselines (issue 4)
    "NMF",
    "HierarchicalNMF",
    "DeepNMF",
    "SSNMF",
    "NNLSInfo",
    "nnls",
    "nnls_jvp",
    "nnls_vjp",
    # topic modeling: corpora, topic trees, figures, model files (issue 5)
    "Corpus",
    "load_corpus",
    "make_topic_corpus",
    "match_hierarchy",
    "Topic",
    "TopicHierarchy",
    "topic_hierarchy",
    "plot_factors",
    "plot_mixtures",
    "plot_topic_tree",
    "save_figures",
    "save_model",
    "load_model",
]


def build_info():
    """How the compiled core was built and how many threads it will use.

    Returns
    -------
    dict
        ``openmp`` (bool): built with OpenMP; ``max_threads`` (int): the threads used when
        ``n_threads=None`` (OpenMP's maximum, honouring OMP_NUM_THREADS; 1 without OpenMP);
        ``version`` (str); ``core`` (str): the build of the core in use, ``"avx2"`` (x86-64
        CPUs with AVX2 and FMA), ``"generic"`` (any CPU; forced by ``NNMF_CORE=generic``) or
        ``"native"`` (built with ``NNMF_NATIVE=ON``); ``malloc_tuned`` (bool): whether
        importing nnmf set glibc's malloc to keep freed memory for reuse (see the README).
    """
    return {"version": __version__, "openmp": _core.openmp_enabled(),
            "max_threads": _core.max_threads(), "core": _core.target,
            "malloc_tuned": _MALLOC_TUNED}
