"""Input checks and conversions shared by every public function.

Each array is converted once, visibly, here: to a float dtype and a layout the compiled core
binds without copying. Errors name the argument and say what was wrong.
"""


import numpy as np
import scipy.sparse as sp

from .._utils.params import check_param
from . import _core


def resolve_n_threads(n_threads):
    """Thread count with scikit-learn's meaning: None = OpenMP's maximum (honours
    OMP_NUM_THREADS), negative counts down from it (-1 = all), 0 is an error."""
    n_threads = check_param(n_threads, "n_threads", [None, "n_threads"])
    if n_threads is None:
        return _core.max_threads()
    if n_threads < 0:
        return max(1, _core.max_threads() + 1 + n_threads)
    return n_threads


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


def check_shape(actual, expected, name, what):
    if tuple(actual) != tuple(expected):
        raise ValueError(f"{name} has shape {tuple(actual)}, expected {tuple(expected)} ({what})")


def fortran(M, dtype):
    """M as a Fortran-ordered array of dtype: the column-major layout the core binds. No copy
    when it already is one."""
    return np.asfortranarray(M, dtype=dtype)


def tall(M, dtype):
    """A tall factor (m x k) as an array of dtype that the core binds without copying: either
    memory order is kept as it is (a copy only for other strides)."""
    M = M.astype(dtype, copy=False)
    return M if M.flags.c_contiguous or M.flags.f_contiguous else np.ascontiguousarray(M)
