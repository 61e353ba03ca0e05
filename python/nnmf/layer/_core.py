"""The compiled core, in the build that suits this CPU.

On x86-64 the package carries the core twice: ``_core_generic`` for any CPU, and
``_core_avx2`` compiled for CPUs with AVX2 and FMA, whose Eigen kernels (the Gram matrix, the
passive-set solves, the sparse products) run faster (bench/RESULTS_nnls.md). The second is
used when the CPU has both. Set ``NNMF_CORE=generic`` before the core loads to use the first
everywhere, e.g. for results bitwise equal across machines (FMA rounds differently).
"""

import os
from importlib import import_module

from .._version import __version__

# By name, not "from . import": the compiled modules are not Python files, and an import of
# the package itself would make this module depend on nnmf.layer's __init__, which imports it.
_core_generic = import_module("._core_generic", __package__)

_CHOICES = ("auto", "generic", "avx2")
_choice = os.environ.get("NNMF_CORE", "auto").strip().lower() or "auto"
if _choice not in _CHOICES:
    raise ImportError(f"NNMF_CORE must be one of {', '.join(_CHOICES)}, got {_choice!r}")

_module = _core_generic
if _choice != "generic" and _core_generic.cpu_has_avx2_fma():
    try:
        _module = import_module("._core_avx2", __package__)
    except ImportError:  # not built (non-x86 platform, or NNMF_AVX2=OFF / NNMF_NATIVE=ON)
        if _choice == "avx2":
            raise
elif _choice == "avx2":
    raise ImportError("NNMF_CORE=avx2 but this CPU lacks AVX2 or FMA")

globals().update({name: getattr(_module, name) for name in dir(_module)
                  if not name.startswith("_")})


def build_info():
    """How the compiled core was built and how many threads it will use.

    Returns
    -------
    dict
        ``version`` (str); ``openmp`` (bool): built with OpenMP; ``max_threads`` (int): the
        threads used when ``n_threads=None`` (OpenMP's maximum, honouring OMP_NUM_THREADS; 1
        without OpenMP); ``core`` (str): the build of the core in use, ``"avx2"`` (x86-64
        CPUs with AVX2 and FMA), ``"generic"`` (any CPU; forced by ``NNMF_CORE=generic``) or
        ``"native"`` (built with ``NNMF_NATIVE=ON``).
    """
    return {"version": __version__, "openmp": _module.openmp_enabled(),
            "max_threads": _module.max_threads(), "core": _module.target}
