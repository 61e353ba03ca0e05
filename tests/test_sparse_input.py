"""Sparse input is checked before any compiled code reads it: malformed matrices give a
ValueError naming the argument, every scipy format and index dtype is read, and the caller's
matrix is never changed. Thread counts far beyond the cores are capped with a warning."""

import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

import nnmf


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    A = rng.random((40, 4))
    X = sp.random(40, 30, density=0.2, random_state=seed, format="csc")
    return A, X, nnmf.nnls(A, X.toarray())


def test_a_corrupted_interior_indptr_is_refused():
    A, X, _ = _problem()
    bad = X.copy()
    bad.indptr[16] = bad.nnz + 10**6
    with pytest.raises(ValueError, match="X: indptr decreases"):
        nnmf.nnls(A, bad)
    cached = X.copy()
    cached.indptr[16] = cached.nnz + 10**6
    cached.has_canonical_format = True            # scipy's cached flag is not trusted
    with pytest.raises(ValueError, match="X: indptr decreases"):
        nnmf.NMF(3).fit(cached)


def test_an_index_out_of_range_is_refused():
    A, X, _ = _problem()
    csr = X.tocsr()
    csr.indices[3] = 10**6
    with pytest.raises(ValueError, match="X: an index is out of range for shape"):
        nnmf.nnls(A, csr)
    coo = X.tocoo()
    coo.row[0] = 40
    with pytest.raises(ValueError, match="X: an index is out of range"):
        nnmf.nnls(A, coo)


def test_an_indptr_past_the_stored_entries_is_refused():
    A, X, _ = _problem()
    bad = X.copy()
    bad.indptr[-1] = bad.nnz + 5
    with pytest.raises(ValueError, match="past its"):
        nnmf.nnls(A, bad)


@pytest.mark.parametrize("fmt", ["lil", "dok", "bsr", "dia", "coo", "csr", "csc"])
def test_every_scipy_format_is_read(fmt):
    A, X, S = _problem()
    np.testing.assert_allclose(nnmf.nnls(A, X.asformat(fmt)), S, atol=1e-12)
    model = nnmf.NMF(3, random_state=0, max_iter=5, tol=0).fit(X.asformat(fmt))
    assert model.S_.shape == (3, 30)


@pytest.mark.parametrize("index", [np.int16, np.uint32, np.uint64, np.int64])
def test_any_index_dtype_and_strided_data_are_read(index):
    A, X, S = _problem()
    odd = sp.csc_matrix(X)
    odd.indices = odd.indices.astype(index)
    odd.indptr = odd.indptr.astype(index)
    strided = np.zeros(2 * odd.nnz)
    strided[::2] = odd.data
    odd.data = strided[::2]                        # a valid, non-contiguous data array
    before = odd.data.copy()
    np.testing.assert_allclose(nnmf.nnls(A, odd), S, atol=1e-12)
    np.testing.assert_array_equal(odd.data, before)


def test_unsorted_duplicates_are_summed_without_touching_the_callers_arrays():
    A = np.random.default_rng(1).random((5, 2))
    X = sp.csc_matrix((np.array([1.0, 2.0, 3.0]), np.array([3, 1, 3]), np.array([0, 3])),
                      shape=(5, 1))
    X.has_canonical_format = True                 # wrongly cached: checked, not trusted
    data, indices = X.data.copy(), X.indices.copy()
    expected = nnmf.nnls(A, np.array([[0.0], [2.0], [0.0], [4.0], [0.0]]))
    np.testing.assert_allclose(nnmf.nnls(A, X), expected, atol=1e-12)
    np.testing.assert_array_equal(X.data, data)
    np.testing.assert_array_equal(X.indices, indices)


def test_a_huge_thread_count_is_capped_with_a_warning():
    A, X, S = _problem()
    with pytest.warns(UserWarning, match="n_threads asks for 1000000 threads, more than nnmf"):
        np.testing.assert_allclose(nnmf.nnls(A, X, n_threads=10**6), S, atol=1e-12)


def test_a_huge_omp_num_threads_does_not_crash():
    code = ("import warnings, numpy as np, nnmf; warnings.simplefilter('error');\n"
            "try:\n    nnmf.nnls(np.eye(3), np.ones((3, 2)))\n"
            "except UserWarning as w:\n    print('warned:', w)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "OMP_NUM_THREADS": "100000"})
    assert done.returncode == 0, done.stderr
    assert "warned: OMP_NUM_THREADS asks for 100000 threads" in done.stdout


def test_the_core_itself_refuses_a_decreasing_indptr():
    """Defence in depth: the binding checks the whole indptr before any thread reads a block
    (a later block's decrease once let an earlier block read past the arrays)."""
    from nnmf.layer import _core

    B = np.asfortranarray(np.ones((2, 4)))
    indptr = np.array([0, 2, 10**6, 3], dtype=np.int32)   # rises past the end, then falls
    indices = np.array([0, 1, 2], dtype=np.int32)
    with pytest.raises(ValueError, match="nondecreasing"):
        _core.dense_times_csc(B, indptr, indices, np.ones(3), 4, 3, 1)


def test_a_factor_without_columns_is_harmless():
    S = nnmf.nnls(np.zeros((5, 0)), np.ones((5, 3)))
    assert S.shape == (0, 3)
