"""The data matrix, prepared once for the products with it that a layer needs.

A dense X stays as given (any memory order: the core's dense kernel, and BLAS beyond its rank
limit, read either). A sparse X is kept as canonical CSC, plus its CSR arrays when first
needed, and is never densified: both products go through the core's column-parallel
dense-times-sparse kernel.
"""

import numpy as np
import scipy.sparse as sp

from . import _core
from ._validation import check_matrix, float_dtype, fortran


class Operand:
    """X (m x n) with the products A^T X and X W^T.

    defer_check=True skips the scan of a dense X for NaN and infinity, one whole pass over X
    (up to half the cost of a layer when k is small): the caller passes the first product
    with X to ensure_finite instead, since a NaN or infinity in X makes it non-finite (IEEE:
    NaN * 0 = inf * 0 = NaN, and numpy's OpenBLAS kernels do not skip zero factors).
    """

    def __init__(self, X, name="X", *, nonnegative=False, dtype=None, defer_check=False):
        X = check_matrix(X, name, sparse_ok=True, nonnegative=nonnegative,
                         finite=not defer_check or sp.issparse(X))
        self.name = name
        self._unchecked = defer_check and not sp.issparse(X)
        # float16 or long double data is computed in float64, as bool and integers are
        self.dtype = np.dtype(dtype if dtype is not None else float_dtype(X))
        self.shape = X.shape
        self.is_sparse = sp.issparse(X)
        if self.is_sparse:
            csc = sp.csc_matrix(X, dtype=self.dtype)  # no copy when already CSC of this dtype
            if not csc.has_canonical_format:
                csc = csc.copy()
                csc.sum_duplicates()  # also sorts indices; never mutates the caller's matrix
            self._csc = csc
            self._xt = None  # X^T as CSC (X's CSR arrays), built when first needed
        else:
            self._dense = X.astype(self.dtype, copy=False)

    @classmethod
    def _prepared(cls, name, shape, *, dense=None, csc=None, xt=None):
        """An Operand from arrays already checked and laid out (no validation, no copy)."""
        op = object.__new__(cls)
        op.name, op.shape, op._unchecked = name, tuple(shape), False
        op.is_sparse = dense is None
        op.dtype = (csc if op.is_sparse else dense).dtype
        if op.is_sparse:
            op._csc, op._xt = csc, xt
        else:
            op._dense = dense
        return op

    @classmethod
    def trusted(cls, S, name="S"):
        """A dense matrix the core produced (finite, of a float dtype) as an Operand."""
        return cls._prepared(name, S.shape, dense=S)

    def astype(self, dtype):
        """This operand in dtype: itself when it already is, otherwise X converted once (so
        that every product with it is computed in dtype)."""
        if np.dtype(dtype) == self.dtype:
            return self
        if self.is_sparse:
            return Operand._prepared(self.name, self.shape, csc=self._csc.astype(dtype))
        op = Operand._prepared(self.name, self.shape, dense=self._dense.astype(dtype))
        op._unchecked = self._unchecked
        return op

    def ensure_finite(self, product, factor_name, finite=None):
        """Raise a ValueError naming the culprit if a product of X with a factor is not
        finite: X holds NaN or infinity, or the product overflowed. ``finite``: whether the
        product is finite, when the kernel that formed it already knows."""
        if finite is None:
            finite = bool(np.isfinite(product).all())
        if product.size and finite:
            return
        if self._unchecked:  # an empty product (k = 0) says nothing about X: scan it
            check_matrix(self._dense, self.name)
        if product.size:
            raise ValueError(f"the product of {self.name} with {factor_name} overflows "
                             f"{self.dtype}: rescale them (their entries are too large)")

    @property
    def matrix(self):
        return self._csc if self.is_sparse else self._dense

    def tdot(self, A, n_threads):
        """A^T X (k x n, Fortran-ordered) for A (m x k)."""
        if self.is_sparse:
            return _sparse_product(fortran(A.T, self.dtype), self._csc, n_threads)
        return _dense_tdot(A.astype(self.dtype, copy=False), self._dense, n_threads)

    def dot_t(self, W, n_threads):
        """X W^T (m x k) for W (k x n)."""
        if self.is_sparse:
            # X W^T = (W X^T)^T, and the CSR arrays of X are the CSC arrays of X^T.
            return _sparse_product(fortran(W, self.dtype), self._csr_arrays(), n_threads).T
        # X W^T = ((W^T)^T X^T)^T: C-ordered, as the k x m product comes out column-ordered
        return _dense_tdot(W.T.astype(self.dtype, copy=False), self._dense.T, n_threads).T

    def dot_t_minus(self, W, A, M, n_threads):
        """X W^T - A M (m x k', a new C-ordered array) for W (k x n), A (m x k'') in either
        memory order and M (k'' x k'), and whether it is finite. For a sparse X in one pass
        over X and A (the core's fused kernel); for a dense X, X W^T as in dot_t, then A M
        subtracted by the core."""
        M = fortran(M, self.dtype)
        if self.is_sparse:
            out, finite = _sparse_product(fortran(W, self.dtype), self._csr_arrays(), n_threads,
                                          minus=(M, A.T))
            return out.T, finite
        out = self.dot_t(W, n_threads)
        return out, _core.subtract_product(out, A, M, n_threads)

    def products_in_core(self, k):
        """Whether every product of X with rank-k factors runs in the core (none in BLAS)."""
        return self.is_sparse or _core_tdot_applies(self._dense, k)

    def _csr_arrays(self):
        """X's CSR arrays as the CSC of X^T (built once and cached, with the CSC object
        itself: making one runs scipy's format checks, a cost every training step would pay
        again)."""
        if self._xt is None:
            self._xt = self._csc.tocsr().T
        return self._xt

    def transpose(self):
        """X^T as an Operand, without copying the data: a dense X^T is a view; a sparse X^T
        reuses X's CSR arrays as its CSC (built once and cached) and X's CSC as its CSR."""
        name = f"{self.name}^T"
        if not self.is_sparse:
            return Operand._prepared(name, self.shape[::-1], dense=self._dense.T)
        # .T of CSR is CSC and vice versa
        return Operand._prepared(name, self.shape[::-1], csc=self._csr_arrays(), xt=self._csc)

    def columns(self, idx):
        """The columns idx (an integer array) of X as a new Operand (a copy of those
        columns; a mini-batch)."""
        idx = np.asarray(idx)
        if self.is_sparse:
            return Operand(self._csc[:, idx], dtype=self.dtype)
        return Operand(self._dense[:, idx], dtype=self.dtype)

    def sqnorm(self):
        """||X||_F^2 in float64."""
        values = (self._csc.data if self.is_sparse else self._dense).astype(np.float64, copy=False)
        return float(np.vdot(values, values))


# The rank up to which dense products with X go to the core's A^T X (cpp/nnmf/kernels/dense.hpp)
# rather than to BLAS (docs/design.md, the kernel dispatch rules). At small k the core's
# register tiles stream X at memory speed where BLAS's packing costs more than the arithmetic,
# and its threads do not spin after the call as BLAS's do, so the whole fit can hold BLAS to
# one thread (_threads.py); at larger k BLAS's blocking wins. The limits follow the CPU, never
# a timing at run time, so that results do not depend on the machine's load:
# - AVX2 (the avx2 core): up to rank 64, where the tiles keep up with OpenBLAS's AVX2 kernels;
# - AVX-512: up to rank 10; above it OpenBLAS runs AVX-512 kernels twice as wide as the core's;
# - the generic (SSE2) core runs half as wide as OpenBLAS's AVX2 kernels: BLAS always.
# bench/bench_nnls.py's dense cases show each side of these limits.
if _core.target == "generic":
    _CORE_TDOT_MAX_RANK = 0
elif _core.cpu_has_avx512f():
    _CORE_TDOT_MAX_RANK = 10
else:
    _CORE_TDOT_MAX_RANK = 64


def _core_tdot_applies(X, k):
    """Whether A^T X for a dense X and a rank-k A goes to the core: X needs a unit stride."""
    return k <= _CORE_TDOT_MAX_RANK and X.itemsize in X.strides


def _dense_tdot(A, X, n_threads):
    """A^T X (k x n, Fortran-ordered) for dense A (m x k) and X (m x n) of one dtype."""
    if _core_tdot_applies(X, A.shape[1]):
        return _core.tdot(A, X, n_threads)
    # A^T X then one copy of the small k x n result into column order: faster than
    # (X^T A)^T, whose output is column-ordered already, for the shapes NMF has.
    return np.asfortranarray(A.T @ X)


def _sparse_product(B, Y, n_threads, minus=None):
    """B Y for a dense B and a CSC matrix Y, by the core's kernel; with minus = (M, At),
    (B Y - M^T At, whether it is finite)."""
    rows, cols = Y.shape
    indptr, indices = Y.indptr, Y.indices
    if indices.dtype != indptr.dtype:
        index_dtype = np.promote_types(indices.dtype, indptr.dtype)
        indptr, indices = indptr.astype(index_dtype), indices.astype(index_dtype)
    if minus is None:
        return _core.dense_times_csc(B, indptr, indices, Y.data, rows, cols, n_threads)
    M, At = minus
    return _core.dense_times_csc_minus(B, indptr, indices, Y.data, rows, cols, M, At, n_threads)


def as_operand(X, name="X", **kwargs):
    return X if isinstance(X, Operand) else Operand(X, name, **kwargs)
