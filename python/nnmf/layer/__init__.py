"""The NNLS layer: S = argmin_{S >= 0} ||X - A S||_F^2 for all columns at once, its exact
derivatives, and the products with the data matrix that they need.

Everything heavy runs in the compiled core (``_core``: the build that suits the CPU), in
parallel over columns with the GIL released. The functions here validate and lay out their
inputs once and call it.
"""

from ._core import build_info
from ._nnls import (NNLSInfo, gram, nnls, nnls_jvp, nnls_vjp, solve_gram, solve_layer,
                    support_solve, vjp_layer)
from ._operand import Operand, as_operand
from ._threads import blas_threads_for
from ._validation import check_matrix, check_shape, float_dtype, fortran, resolve_n_threads, tall

__all__ = ["nnls", "nnls_vjp", "nnls_jvp", "NNLSInfo", "build_info", "gram", "solve_layer",
           "solve_gram", "support_solve",
           "vjp_layer", "Operand", "as_operand", "blas_threads_for", "check_matrix",
           "check_shape", "float_dtype", "fortran", "resolve_n_threads", "tall"]
