"""The NNLS layer: S = argmin_{S >= 0} ||X - A S||_F^2 for all columns at once, its exact
derivatives, and the products with the data matrix that they need.

Everything heavy runs in the compiled core (``_core``: the build that suits the CPU), in
parallel over columns with the GIL released.

Layouts. The public functions (:func:`nnls`, :func:`nnls_vjp`, :func:`nnls_jvp`) take any
input, check it and lay it out once; everything below them (``solve_layer``, ``vjp_layer``,
``solve_gram``, ``support_solve``, :class:`Operand`'s products) takes arrays already laid out,
so that a training step converts nothing:

- a factor A (m x k, or k_{l-1} x k_l) is contiguous in either memory order, in the data's
  dtype (``tall``); the estimators create theirs row-major;
- k x n arrays (S, C = A^T X, upstream gradients G, the solves' W) are column-ordered in the
  data's dtype (``fortran``): the core creates them so, and numpy products on them keep that
  order (``nnmf._utils.linalg.times``);
- Gram matrices A^T A are float64, formed by the core;
- X is an :class:`Operand`: dense in the order given, or sparse as canonical CSC (plus its
  CSR arrays, built once, for X W^T).
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
