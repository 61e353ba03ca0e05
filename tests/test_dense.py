"""The core's dense A^T X (cpp/nnmf/dense.hpp) and the Operand products that use it.

The kernel reads X in any memory order (register tiles for a column-major X, rank updates
for a row-major X at small k), must agree with numpy's product, give bitwise the same result
for any thread count, and let NaN and infinity in X through (the layer's deferred check of X
relies on that).
"""

import numpy as np
import pytest

from nnmf.layer import _core
from nnmf.layer import Operand

# k crosses the tiles' vector edges and the row-major path's rank limit (16); m is not a
# multiple of the 4-row groups and spans several depth blocks; n leaves partial vectors
SHAPES = [(1, 1, 1), (5, 3, 7), (7, 13, 33), (1001, 16, 45), (998, 17, 130), (3000, 10, 9),
          (300, 40, 70), (50, 64, 3)]


def _views(X):
    """X in every layout the kernel may meet: C, F, negative strides, a strided slice."""
    wide = np.repeat(X, 2, axis=1)
    return {"C": np.ascontiguousarray(X), "F": np.asfortranarray(X),
            "reversed": np.ascontiguousarray(X[:, ::-1])[:, ::-1],
            "F slice": np.asfortranarray(wide)[:, ::2], "C slice": wide[:, ::2]}


@pytest.mark.parametrize("m, k, n", SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tdot_matches_numpy_in_every_layout(m, k, n, dtype):
    rng = np.random.default_rng(m + 7 * k + n)
    A = rng.standard_normal((m, k)).astype(dtype)
    X = rng.standard_normal((m, n)).astype(dtype)
    ref = A.astype(np.float64).T @ X.astype(np.float64)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for name, Xv in _views(X).items():
        for Av in (A, np.asfortranarray(A)):
            out = _core.tdot(Av, Xv, 2)
            assert out.shape == (k, n) and out.dtype == dtype and out.flags.f_contiguous
            np.testing.assert_allclose(out, ref, rtol=tol, atol=tol * np.abs(ref).max(),
                                       err_msg=name)
            np.testing.assert_array_equal(out, _core.tdot(Av, Xv, 1), err_msg=name)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("k", [3, 12])
def test_tdot_lets_nan_and_infinity_through(order, k):
    A = np.random.default_rng(0).random((203, k))
    for bad, (i, j) in [(np.nan, (202, 5)), (np.inf, (0, 69)), (-np.inf, (101, 0))]:
        X = np.asarray(np.random.default_rng(1).random((203, 70)), order=order)
        X[i, j] = bad  # in the rows' remainder, the last column, the first column
        out = _core.tdot(A, X, 2)
        assert not np.isfinite(out[:, j]).any()
        assert np.isfinite(np.delete(out, j, axis=1)).all()


def test_tdot_empty_and_bad_shapes():
    assert _core.tdot(np.zeros((0, 3)), np.zeros((0, 4)), 2).tolist() == [[0.0] * 4] * 3
    assert _core.tdot(np.ones((5, 3)), np.ones((5, 0)), 2).shape == (3, 0)
    assert _core.tdot(np.ones((5, 0)), np.ones((5, 4)), 2).shape == (0, 4)
    with pytest.raises(ValueError, match="same number of rows"):
        _core.tdot(np.ones((5, 3)), np.ones((6, 4)), 1)
    with pytest.raises(ValueError, match="2-D"):
        _core.tdot(np.ones(5), np.ones((5, 4)), 1)
    with pytest.raises(TypeError):  # one dtype: the caller converts, never the binding
        _core.tdot(np.ones((5, 3), np.float32), np.ones((5, 4)), 1)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("k", [4, 10, 11, 16, 17, 64, 65])
def test_dense_operand_products_on_either_side_of_the_rank_limits(order, k):
    """Operand's products agree with numpy whether they go to the core or to BLAS."""
    rng = np.random.default_rng(k)
    X = np.asarray(rng.random((120, 90)), order=order)
    A, W, M = rng.random((120, k)), rng.random((k, 90)), np.asfortranarray(rng.random((k, k)))
    op = Operand(X)
    np.testing.assert_allclose(op.tdot(A, 2), A.T @ X, rtol=1e-12)
    assert op.tdot(A, 2).flags.f_contiguous
    np.testing.assert_allclose(op.dot_t(W, 2), X @ W.T, rtol=1e-12)
    out, finite = op.dot_t_minus(W, A, M, 2)
    assert finite and out.flags.c_contiguous
    np.testing.assert_allclose(out, X @ W.T - A @ M, rtol=1e-10, atol=1e-10)
