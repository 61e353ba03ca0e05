"""The core's kernels on a tall m x k factor: A^T A and Y -= A M (cpp/nnmf/tall.hpp), and the
VJP's fused dA = X W^T - A M for a sparse X (cpp/nnmf/sparse.hpp, via Operand.dot_t_minus).

Both take A in either memory order without copying, must agree with numpy, and must give
bitwise the same result for any thread count (fixed row blocks, summed in block order).
"""

import numpy as np
import pytest
import scipy.sparse as sp

from nnmf.layer import _core
from nnmf.layer import Operand

# m spans several 1024-row blocks plus a partial one; k crosses the edges of the register
# tiles (cpp/nnmf/tiles.hpp)
SHAPES = [(1, 1), (5, 3), (7, 13), (3000, 10), (1100, 25), (2500, 40)]


@pytest.mark.parametrize("m, k", SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gram_matches_numpy_in_either_order(m, k, dtype):
    A = np.random.default_rng(m + k).standard_normal((m, k)).astype(dtype)
    ref = A.astype(np.float64).T @ A.astype(np.float64)
    G_c = _core.gram(np.ascontiguousarray(A), 2)
    G_f = _core.gram(np.asfortranarray(A), 2)
    assert G_c.dtype == G_f.dtype == np.float64  # accumulated in double, also for float32
    np.testing.assert_allclose(G_c, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())
    np.testing.assert_array_equal(G_c, G_c.T)
    np.testing.assert_array_equal(G_c, _core.gram(np.ascontiguousarray(A), 1))
    np.testing.assert_array_equal(G_f, _core.gram(np.asfortranarray(A), 1))


@pytest.mark.parametrize("m, k", SHAPES)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_subtract_product_matches_numpy(m, k, order, dtype):
    rng = np.random.default_rng(m * k)
    A = np.asarray(rng.standard_normal((m, k)), dtype=dtype, order=order)
    M = np.asfortranarray(rng.standard_normal((k, k + 2)), dtype=dtype)
    Y0 = rng.standard_normal((m, k + 2)).astype(dtype)
    Y1, Y2 = Y0.copy(), Y0.copy()
    assert _core.subtract_product(Y1, A, M, 1) is True
    assert _core.subtract_product(Y2, A, M, 2) is True
    np.testing.assert_array_equal(Y1, Y2)
    ref = Y0.astype(np.float64) - A.astype(np.float64) @ M.astype(np.float64)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(Y1, ref, rtol=tol, atol=tol * np.abs(ref).max())


def test_subtract_product_reports_non_finite():
    A = np.ones((2100, 3))
    M = np.asfortranarray(np.ones((3, 3)))
    Y = np.zeros((2100, 3))
    Y[2050, 1] = np.nan  # in the last block
    assert _core.subtract_product(Y, A, M, 2) is False
    Y = np.zeros((2100, 3))
    assert _core.subtract_product(Y, A, np.asfortranarray(M * 1e308), 2) is False  # overflow


def test_subtract_product_rejects_bad_shapes_and_layouts():
    A, M = np.ones((10, 3)), np.asfortranarray(np.ones((3, 4)))
    with pytest.raises(ValueError, match="inconsistent shapes"):
        _core.subtract_product(np.zeros((9, 4)), A, M, 1)
    with pytest.raises(TypeError):  # Y must be a writable C-ordered array: never copied
        _core.subtract_product(np.zeros((10, 4), order="F"), A, M, 1)
    Y = np.zeros((10, 4))
    Y.setflags(write=False)
    with pytest.raises(TypeError):
        _core.subtract_product(Y, A, M, 1)


@pytest.mark.parametrize("fmt", ["csc", "csr", "dense"])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_vjp_product_matches_scipy(fmt, order, dtype):
    rng = np.random.default_rng(3)
    m, n, k = 1300, 700, 7  # several column blocks of the kernel, a partial last one
    Xs = sp.random(m, n, density=0.02, random_state=4, format="csc", dtype=dtype)
    X = Xs.toarray() if fmt == "dense" else Xs.asformat(fmt)
    W = rng.standard_normal((k, n)).astype(dtype)
    A = np.asarray(rng.random((m, k)), dtype=dtype, order=order)
    M = rng.standard_normal((k, k)).astype(dtype)
    ref = (Xs.astype(np.float64) @ W.T.astype(np.float64)
           - A.astype(np.float64) @ M.astype(np.float64))
    outs = [Operand(X).dot_t_minus(W, A, M, nt) for nt in (1, 2)]
    for out, finite in outs:
        assert finite is True and out.dtype == dtype and out.flags.c_contiguous
        tol = 1e-12 if dtype == np.float64 else 1e-5
        np.testing.assert_allclose(out, ref, rtol=tol, atol=tol * np.abs(ref).max())
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    if fmt != "dense":  # int64 indices take the same path
        X64 = X.copy()
        X64.indices, X64.indptr = X64.indices.astype(np.int64), X64.indptr.astype(np.int64)
        np.testing.assert_array_equal(Operand(X64).dot_t_minus(W, A, M, 2)[0], outs[0][0])


def test_fused_vjp_product_reports_overflow():
    X = sp.random(50, 40, density=0.1, random_state=0, format="csc")
    A, M = np.ones((50, 3)), np.ones((3, 3))
    W = np.ones((3, 40))
    assert Operand(X).dot_t_minus(W, A, M, 1)[1] is True
    assert Operand(X).dot_t_minus(W, 10 * A, np.full((3, 3), 1e308), 1)[1] is False


def test_sparse_kernel_rejects_malformed_arrays():
    """Malformed CSC arrays (bypassing scipy's checks) raise instead of writing out of bounds."""
    B = np.asfortranarray(np.ones((3, 4)))
    data = np.ones(3)
    good = np.array([0, 1, 3], dtype=np.int32), np.array([0, 1, 3], dtype=np.int32)
    out = _core.dense_times_csc(B, *good, data, 4, 2, 1)
    np.testing.assert_array_equal(out, [[1, 2]] * 3)
    for indptr, indices, what in [
            ([0, 2, 1], [0, 1, 3], "nondecreasing"),   # decreasing indptr
            ([0, 5, 3], [0, 1, 3], "nondecreasing"),   # a column past the end
            ([0, 1, 3], [0, 4, 3], "out of range"),    # a row index >= rows
            ([0, 1, 3], [0, -1, 3], "out of range")]:
        with pytest.raises(ValueError, match=what):
            _core.dense_times_csc(B, np.array(indptr, dtype=np.int32),
                                  np.array(indices, dtype=np.int32), data, 4, 2, 2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sparse_kernel_in_cache_chunks(dtype):
    """A B of more than the kernel's 6 MiB chunk (cpp/nnmf/sparse.hpp; here 64 x 20000 float64,
    10 MB, or float32 with an extra chunk boundary) is taken in chunks of its columns: the
    products agree with scipy's, bitwise across thread counts, and with both the plain and the
    fused kernel."""
    rng = np.random.default_rng(7)
    k, rows, cols = 64, 20000 if dtype == np.float64 else 40000, 150
    B = np.asfortranarray(rng.standard_normal((k, rows)), dtype=dtype)
    Y = sp.random(rows, cols, density=0.004, random_state=1, format="csc", dtype=dtype)
    Y.data += 1.0
    ref = (Y.T.astype(np.float64) @ B.T.astype(np.float64)).T
    args = (Y.indptr, Y.indices, Y.data, rows, cols)
    outs = [_core.dense_times_csc(B, *args, nt) for nt in (1, 2)]
    tol = 1e-12 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(outs[0], ref, rtol=tol, atol=tol * np.abs(ref).max())
    np.testing.assert_array_equal(outs[0], outs[1])
    # the fused kernel: B Y - M^T A^T with A (cols x k')
    A, M = rng.random((cols, 5)).astype(dtype), np.asfortranarray(rng.random((5, k)), dtype=dtype)
    fused, finite = _core.dense_times_csc_minus(B, *args, M, np.asfortranarray(A.T), 2)
    assert finite
    np.testing.assert_allclose(fused, ref - M.T.astype(np.float64) @ A.T, rtol=tol,
                               atol=tol * np.abs(ref).max())
    # malformed arrays are caught in chunked mode too: a row index past the end, a negative one
    for bad in (rows, -1):
        indices = Y.indices.copy()
        indices[len(indices) // 2] = bad
        with pytest.raises(ValueError, match="out of range"):
            _core.dense_times_csc(B, Y.indptr, indices, Y.data, rows, cols, 2)


def test_sparse_kernel_rejects_indptr_outside_the_arrays():
    B = np.asfortranarray(np.ones((3, 4)))
    for indptr in ([1, 1, 3], [0, 1, 4]):
        with pytest.raises(ValueError, match="indptr must start at 0"):
            _core.dense_times_csc(B, np.array(indptr, dtype=np.int32),
                                  np.array([0, 1, 3], dtype=np.int32), np.ones(3), 4, 2, 1)
