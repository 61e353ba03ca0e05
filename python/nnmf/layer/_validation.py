"""Input checks and conversions shared by every public function.

Each array is converted once, visibly, here: to a float dtype and a layout the compiled core
binds without copying. Errors name the argument and say what was wrong.
"""

import os
import warnings

import numpy as np
import scipy.sparse as sp

from .._utils.params import check_param
from . import _core


# Far more threads than cores only adds the cost of starting them; past some tens of
# thousands OpenMP's runtime runs out of memory for their stacks and ends the process.
MAX_THREADS = max(64, 4 * (os.cpu_count() or 1))


def resolve_n_threads(n_threads):
    """Thread count with scikit-learn's meaning: None = OpenMP's maximum (honours
    OMP_NUM_THREADS), negative counts down from it (-1 = all), 0 is an error. Capped at
    MAX_THREADS (4 per core, at least 64), with a warning."""
    n_threads = check_param(n_threads, "n_threads", [None, "n_threads"])
    if n_threads is None:
        resolved, where = _core.max_threads(), "OMP_NUM_THREADS"
    elif n_threads < 0:
        resolved, where = max(1, _core.max_threads() + 1 + n_threads), "OMP_NUM_THREADS"
    else:
        resolved, where = n_threads, "n_threads"
    if resolved > MAX_THREADS:
        warnings.warn(f"{where} asks for {resolved} threads, more than nnmf uses ("
                      f"{MAX_THREADS}: 4 per core, at least 64); using {MAX_THREADS}",
                      UserWarning, stacklevel=3)
        resolved = MAX_THREADS
    return resolved


def float_dtype(*arrays):
    """float32 when every array is float32, otherwise float64."""
    if all(a is not None and a.dtype == np.float32 for a in arrays):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _check_dtype(dtype, name):
    if dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {dtype}")


def check_matrix(X, name, *, sparse_ok=False, nonnegative=False, finite=True):
    """A 2-D finite real matrix: a numpy array (any order, read-only is fine) or, where
    sparse_ok, a scipy sparse matrix/array. Returns it without converting the dtype, except
    that bool and integer inputs become float64. finite=False skips the scan for NaN and
    infinity (for a caller that checks a product with X instead, see Operand)."""
    if sp.issparse(X):
        if not sparse_ok:
            raise TypeError(f"{name} must be a dense array, got a scipy sparse matrix")
        _check_dtype(X.dtype, name)
        if X.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got {X.ndim}-D")
        X = checked_sparse(X, name)
        values = X.data
    else:
        try:
            X = np.asarray(X)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be a numeric array: {exc}") from None
        _check_dtype(X.dtype, name)
        if X.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got {X.ndim}-D array of shape {X.shape}")
        values = X
    if X.dtype.kind != "f":
        X = X.astype(np.float64)
        values = X.data if sp.issparse(X) else X
    # One reduction, no m x n temporary: a NaN or infinity makes the sum non-finite (a finite
    # sum that overflows is told apart by the exact check it triggers).
    with np.errstate(over="ignore", invalid="ignore"):
        total = values.sum() if values.size and finite else 0.0
    if not np.isfinite(total) and not np.isfinite(values).all():
        raise ValueError(f"{name} contains NaN or infinity")
    if nonnegative and values.size and values.min() < 0:
        raise ValueError(f"{name} must be nonnegative, found a negative entry")
    return X


def _integers(a, what, name):
    a = np.asarray(a)
    if a.ndim != 1 or a.dtype.kind not in "iu":
        raise ValueError(f"{name}: its {what} must be a 1-D integer array, got "
                         f"{a.ndim}-D {a.dtype}")
    return a


def checked_sparse(X, name):
    """A scipy sparse matrix of any format as a canonical CSC or CSR matrix (sorted indices,
    no duplicates) whose arrays the core may read: its structure checked here, before scipy's
    compiled code or the core reads it, never taken from scipy's cached flags. The caller's
    matrix is never changed. Index arrays are made int32 (int64 when a size needs it)."""
    if X.format == "bsr":
        # scipy's tocoo reads a BSR's arrays unchecked: checked as the CSR of its blocks first
        X = _checked_bsr(X, name)
    if X.format not in ("csr", "csc"):
        row, col, values = _coordinates(X, name)
        if values.ndim != 1:
            raise ValueError(f"{name}: its values must be a 1-D array, got {values.ndim}-D")
        if not row.size == col.size == values.size:
            raise ValueError(f"{name}: its coordinates and values differ in length")
        rows, cols = X.shape
        if row.size and (row.min() < 0 or row.max() >= rows or col.min() < 0
                         or col.max() >= cols):
            raise ValueError(f"{name}: an index is out of range for shape {X.shape}")
        return sp.csc_matrix((values, (row, col)), shape=X.shape)  # sums duplicates
    csc = X.format == "csc"
    major, minor = (X.shape[1], X.shape[0]) if csc else X.shape
    indptr, indices, data = _compressed(X, name, major, minor, data_ndim=1)
    nnz = indices.size
    index = np.int32 if max(nnz, major, minor) < 2**31 - 1 else np.int64
    increasing = indices[1:] > indices[:-1]
    starts = indptr[1:-1]
    increasing[starts[(starts > 0) & (starts < nnz)] - 1] = True  # a new column or row
    canonical = bool(increasing.all())
    cls = sp.csc_matrix if csc else sp.csr_matrix
    indices = indices.astype(index, copy=False) if canonical else np.array(indices, dtype=index)
    M = cls((np.ascontiguousarray(data), np.ascontiguousarray(indices), indptr.astype(index)),
            shape=X.shape, copy=False)
    if canonical:
        M.has_canonical_format = True
    else:
        M.data = M.data.copy()   # sum_duplicates works in place: never on the caller's arrays
        M.sum_duplicates()
    return M


def _coordinates(X, name):
    """(row, col, values) of a COO, LIL, DIA or DOK matrix, unchecked against its shape, read
    so that no compiled code of scipy's sees an unchecked array: a COO's own arrays, a LIL's
    lists flattened here, a DIA's offsets checked before scipy converts it (a DOK keeps its
    entries in a dict, which scipy reads in Python)."""
    if X.format == "lil":
        n = X.shape[0]
        if len(X.rows) != n or len(X.data) != n:
            raise ValueError(f"{name}: it has {len(X.rows)} lists of indices and "
                             f"{len(X.data)} of values for {n} rows")
        lengths = [len(r) for r in X.rows]
        if lengths != [len(d) for d in X.data]:
            raise ValueError(f"{name}: a row's indices and values differ in length")
        try:
            col = np.array([c for r in X.rows for c in r]) if sum(lengths) else np.zeros(0, int)
            values = np.array([v for d in X.data for v in d], dtype=X.dtype)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: a malformed LIL matrix ({exc})") from None
        row = np.repeat(np.arange(n), lengths)
        return row, _integers(col, "column indices", name), values
    if X.format == "dia":
        offsets, data = _integers(X.offsets, "offsets", name), np.asarray(X.data)
        if data.ndim != 2 or offsets.size != data.shape[0]:
            raise ValueError(f"{name}: its data must be 2-D with a row per offset, got shape "
                             f"{data.shape} for {offsets.size} offsets")
    if X.format != "coo":
        X = X.tocoo()
    return (_integers(X.row, "row indices", name), _integers(X.col, "column indices", name),
            np.asarray(X.data))


def _compressed(X, name, major, minor, *, data_ndim):
    """The (indptr, indices, data) of a CSR, CSC or BSR matrix with major rows (columns,
    block rows) of minor entries, checked and cut to the entries indptr uses."""
    indptr = _integers(X.indptr, "indptr", name)
    indices = _integers(X.indices, "indices", name)
    data = np.asarray(X.data)
    if data.ndim != data_ndim:
        raise ValueError(f"{name}: its data must be a {data_ndim}-D array, got {data.ndim}-D")
    if indptr.size != major + 1:
        raise ValueError(f"{name}: indptr has {indptr.size} entries, expected {major + 1} for "
                         f"shape {X.shape}")
    if indptr[0] != 0:
        raise ValueError(f"{name}: indptr must start at 0, got {indptr[0]}")
    if np.any(indptr[1:] < indptr[:-1]):
        raise ValueError(f"{name}: indptr decreases somewhere (a malformed sparse matrix)")
    nnz = int(indptr[-1])
    if nnz > indices.size or nnz > len(data):
        raise ValueError(f"{name}: indptr ends at {nnz}, past its {min(indices.size, len(data))} "
                         "stored entries")
    indices, data = indices[:nnz], data[:nnz]
    if nnz and (indices.min() < 0 or indices.max() >= minor):
        raise ValueError(f"{name}: an index is out of range for shape {X.shape}")
    return indptr, indices, data


def _checked_bsr(X, name):
    """A BSR matrix whose arrays are checked, as a new BSR matrix of the entries it uses."""
    data = np.asarray(X.data)
    if data.ndim != 3:
        raise ValueError(f"{name}: its data must be a 3-D array of blocks, got {data.ndim}-D")
    R, C = data.shape[1:]
    if R == 0 or C == 0 or X.shape[0] % R or X.shape[1] % C:
        raise ValueError(f"{name}: its blocks of shape {(R, C)} do not tile shape {X.shape}")
    indptr, indices, data = _compressed(X, name, X.shape[0] // R, X.shape[1] // C, data_ndim=3)
    return sp.bsr_matrix((data, indices.astype(np.int64), indptr.astype(np.int64)),
                         shape=X.shape)


def check_shape(actual, expected, name, what):
    if tuple(actual) != tuple(expected):
        raise ValueError(f"{name} has shape {tuple(actual)}, expected {tuple(expected)} ({what})")


def _bindable(M):
    """Whether the core binds a contiguous M as it is: numpy calls an array contiguous
    whatever the stride of an axis of length 1, even a negative one (A[:, ::-1] of a single
    column), and the bindings refuse negative strides."""
    return min(M.strides, default=0) >= 0


def fortran(M, dtype):
    """M as a Fortran-ordered array of dtype: the column-major layout the core binds. No copy
    when it already is one."""
    M = np.asfortranarray(M, dtype=dtype)
    return M if _bindable(M) else np.array(M, order="F")


def tall(M, dtype):
    """A tall factor (m x k) as an array of dtype that the core binds without copying: either
    memory order is kept as it is (a copy only for other strides)."""
    M = M.astype(dtype, copy=False)
    contiguous = M.flags.c_contiguous or M.flags.f_contiguous
    return M if contiguous and _bindable(M) else np.array(M, order="C")
