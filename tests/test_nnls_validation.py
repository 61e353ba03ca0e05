"""Input handling of nnmf.nnls, nnls_vjp and nnls_jvp: bad input raises ValueError or
TypeError whose message names the offending argument; odd but valid input (empty, read-only,
strided, C or Fortran order, integer, list) works and gives the same answer as the plain one."""

import numpy as np
import pytest
import scipy.sparse as sp

import nnmf

RNG = np.random.default_rng(0)
A0 = RNG.random((12, 4))
X0 = RNG.random((12, 7))
S0 = nnmf.nnls(A0, X0)
G0 = RNG.standard_normal(S0.shape)


def _call(func, **overrides):
    """Calls one public function with valid arguments, some replaced by overrides."""
    args = {"A": A0, "X": X0, "S": S0, "G": G0, "dA": A0, "dX": X0}
    args.update(overrides)
    if func == "nnls":
        kwargs = {key: args[key] for key in ("init", "max_iter", "tol", "n_threads")
                  if key in args}
        return nnmf.nnls(args["A"], args["X"], **kwargs)
    if func == "vjp":
        kwargs = {"n_threads": args["n_threads"]} if "n_threads" in args else {}
        return nnmf.nnls_vjp(args["A"], args["X"], args["S"], args["G"], **kwargs)
    kwargs = {"n_threads": args["n_threads"]} if "n_threads" in args else {}
    return nnmf.nnls_jvp(args["A"], args["X"], args["S"], args["dA"], args["dX"], **kwargs)


FUNCS = ["nnls", "vjp", "jvp"]


# ---------------------------------------------------------------- shapes


@pytest.mark.parametrize("func", FUNCS)
def test_row_mismatch_shows_both_shapes(func):
    with pytest.raises(ValueError, match=r"A has shape \(12, 4\).*X has shape \(13, 7\)"):
        _call(func, X=RNG.random((13, 7)), dX=RNG.random((13, 7)))
    with pytest.raises(ValueError, match=r"A has shape \(11, 4\).*X has shape \(12, 7\)"):
        _call(func, A=RNG.random((11, 4)), dA=RNG.random((11, 4)))


def test_row_mismatch_sparse_X():
    with pytest.raises(ValueError, match=r"A has shape \(12, 4\).*X has shape \(13, 7\)"):
        nnmf.nnls(A0, sp.csc_matrix(RNG.random((13, 7))))


@pytest.mark.parametrize("func", ["vjp", "jvp"])
def test_S_shape(func):
    with pytest.raises(ValueError, match=r"S has shape \(7, 4\), expected \(4, 7\)"):
        _call(func, S=S0.T)


def test_G_shape():
    with pytest.raises(ValueError, match=r"G has shape \(4, 6\), expected \(4, 7\)"):
        _call("vjp", G=G0[:, :6])


def test_dA_dX_shapes():
    with pytest.raises(ValueError, match=r"dA has shape \(4, 12\), expected \(12, 4\)"):
        _call("jvp", dA=A0.T)
    with pytest.raises(ValueError, match=r"dX has shape \(12, 6\), expected \(12, 7\)"):
        _call("jvp", dX=X0[:, :6])
    with pytest.raises(ValueError, match=r"dX has shape \(12, 6\), expected \(12, 7\)"):
        _call("jvp", dX=sp.csc_matrix(X0[:, :6]))


def test_init_shape():
    with pytest.raises(ValueError, match=r"init has shape \(7, 4\), expected \(4, 7\)"):
        nnmf.nnls(A0, X0, init=S0.T)
    with pytest.raises(ValueError, match=r"init must be 2-D"):
        nnmf.nnls(A0, X0, init=S0.ravel())


ARRAY_ARGS = {"nnls": ["A", "X", "init"], "vjp": ["A", "X", "S", "G"],
              "jvp": ["A", "X", "S", "dA", "dX"]}
CASES = [(func, name) for func, names in ARRAY_ARGS.items() for name in names]


def _valid(name):
    return {"A": A0, "X": X0, "init": S0, "S": S0, "G": G0, "dA": A0, "dX": X0}[name]


@pytest.mark.parametrize("func,name", CASES)
@pytest.mark.parametrize("ndim", [0, 1, 3])
def test_wrong_ndim(func, name, ndim):
    M = _valid(name)
    bad = {0: M[0, 0], 1: M[:, 0], 3: M[None]}[ndim]
    with pytest.raises(ValueError, match=rf"^{name} must be 2-D, got {ndim}-D"):
        _call(func, **{name: bad})


# ---------------------------------------------------------------- values and dtypes


@pytest.mark.parametrize("func,name", CASES)
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nonfinite(func, name, value):
    bad = _valid(name).copy()
    bad[1, 2] = value
    with pytest.raises(ValueError, match=rf"^{name} contains NaN or infinity"):
        _call(func, **{name: bad})


@pytest.mark.parametrize("func", FUNCS)
def test_A_whose_gram_overflows(func):
    # finite A, but A^T A is not: its columns are scaled first (tests/test_nnls_numerics.py
    # checks the values against scipy)
    out = _call(func, A=A0 * 1e300)
    assert all(np.isfinite(o).all() for o in (out if isinstance(out, tuple) else (out,)))


@pytest.mark.parametrize("func", FUNCS)
def test_nonfinite_sparse_X(func):
    bad = X0.copy()
    bad[3, 3] = np.nan
    with pytest.raises(ValueError, match=r"^X contains NaN or infinity"):
        _call(func, X=sp.csc_matrix(bad))


@pytest.mark.parametrize("func,name", CASES)
@pytest.mark.parametrize("dtype", ["str", "object", "complex", "datetime"])
def test_non_numeric_dtype(func, name, dtype):
    M = _valid(name)
    bad = {"str": M.astype(str), "object": M.astype(object),
           "complex": M.astype(np.complex128),
           "datetime": np.zeros(M.shape, dtype="datetime64[s]")}[dtype]
    with pytest.raises(TypeError, match=rf"^{name} must hold real numbers"):
        _call(func, **{name: bad})


@pytest.mark.parametrize("name", ["A", "X"])
def test_ragged_and_garbage(name):
    with pytest.raises(TypeError, match=rf"^{name} must be a numeric array"):
        _call("nnls", **{name: [[1.0, 2.0], [3.0]]})
    with pytest.raises(TypeError, match=rf"^{name} must hold real numbers"):
        _call("nnls", **{name: [["a", "b"], ["c", "d"]]})


def test_complex_sparse_X():
    with pytest.raises(TypeError, match=r"^X must hold real numbers"):
        nnmf.nnls(A0, sp.csc_matrix(X0.astype(np.complex128)))


def test_sparse_A_rejected():
    with pytest.raises(TypeError, match=r"^A must be a dense array"):
        nnmf.nnls(sp.csc_matrix(A0), X0)


# ---------------------------------------------------------------- options


@pytest.mark.parametrize("func", FUNCS)
def test_n_threads(func):
    with pytest.raises(ValueError, match=r"^n_threads must be a nonzero int or None, got 0"):
        _call(func, n_threads=0)
    for bad in (1.5, "2", True, object()):
        with pytest.raises(TypeError, match=r"^n_threads must be a nonzero int or None"):
            _call(func, n_threads=bad)
    ref = _call(func, n_threads=1)
    for ok in (2, np.int64(2), -1, -2, -1000, 64):  # negative counts down, clipped to >= 1
        got = _call(func, n_threads=ok)
        for r, g in zip(ref if isinstance(ref, tuple) else (ref,),
                        got if isinstance(got, tuple) else (got,)):
            assert np.array_equal(r, g)


@pytest.mark.parametrize("bad", [0, -1, 1.0, 2.5, "10", True, object(), [3]])
def test_max_iter_invalid(bad):
    with pytest.raises((ValueError, TypeError), match=r"^max_iter must be a positive int"):
        nnmf.nnls(A0, X0, max_iter=bad)


def test_max_iter_valid():
    ref = nnmf.nnls(A0, X0)
    assert np.array_equal(nnmf.nnls(A0, X0, max_iter=np.int32(1000)), ref)
    assert np.array_equal(nnmf.nnls(A0, X0, max_iter=1000), ref)


@pytest.mark.parametrize("bad", [0, 0.0, -1e-3, np.nan, np.inf, "1e-3", [1e-3], True,
                                 np.array([1e-3, 1e-3])])
def test_tol_invalid(bad):
    with pytest.raises((ValueError, TypeError), match=r"^tol must be a positive finite number"):
        nnmf.nnls(A0, X0, tol=bad)


def test_tol_valid():
    ref = nnmf.nnls(A0, X0, tol=1e-12)
    np.testing.assert_allclose(nnmf.nnls(A0, X0, tol=np.float32(1e-12)), ref, rtol=0, atol=1e-12)
    assert np.array_equal(nnmf.nnls(A0, X0, tol=np.float64(1e-12)), ref)
    assert (nnmf.nnls(A0, X0, tol=1) >= 0).all()


# ---------------------------------------------------------------- empty inputs


@pytest.mark.parametrize("sparse", [False, True])
def test_empty_X_gives_empty_S(sparse):
    X = sp.csc_matrix((12, 0)) if sparse else np.zeros((12, 0))
    S, info = nnmf.nnls(A0, X, return_info=True)
    assert S.shape == (4, 0) and S.dtype == np.float64
    assert info.n_iter.shape == (0,) and info.converged.shape == (0,)
    S32 = nnmf.nnls(A0.astype(np.float32), np.zeros((12, 0), np.float32))
    assert S32.shape == (4, 0) and S32.dtype == np.float32
    assert nnmf.nnls(A0, X, init=np.zeros((4, 0))).shape == (4, 0)


def test_degenerate_sizes():
    # no rows: the objective is identically 0 and the minimum-norm answer S = 0 is returned
    S = nnmf.nnls(np.zeros((0, 3)), np.zeros((0, 5)))
    assert S.shape == (3, 5) and (S == 0).all()
    # no columns in A
    assert nnmf.nnls(np.zeros((6, 0)), RNG.random((6, 5))).shape == (0, 5)
    dA, dX = nnmf.nnls_vjp(np.zeros((6, 0)), X0[:6], np.zeros((0, 7)), np.zeros((0, 7)))
    assert dA.shape == (6, 0) and dX.shape == (6, 7) and (dX == 0).all()


# ---------------------------------------------------------------- layouts and types


def _layouts(M):
    """Equal-valued variants of M: C order, Fortran order, read-only, strided views."""
    big = np.zeros((2 * M.shape[0], 3 * M.shape[1]))
    big[::2, ::3] = M
    ro = M.copy()
    ro.flags.writeable = False
    bigT = np.zeros((3 * M.shape[1], 2 * M.shape[0]))
    bigT[::3, ::2] = M.T
    return {"C": np.ascontiguousarray(M), "F": np.asfortranarray(M), "readonly": ro,
            "strided": big[::2, ::3], "strided_T": bigT[::3, ::2].T,
            "reversed": M[::-1, ::-1].copy()[::-1, ::-1], "list": M.tolist()}


LAYOUTS = ["C", "F", "readonly", "strided", "strided_T", "reversed", "list"]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", ["A", "X", "init"])
def test_layouts_nnls(layout, name):
    S_ref = nnmf.nnls(A0, X0)
    args = {"A": A0, "X": X0, "init": None}
    base = {"A": A0, "X": X0, "init": S_ref}[name]
    args[name] = _layouts(base)[layout]
    S = nnmf.nnls(args["A"], args["X"], init=args["init"])
    assert S.shape == S_ref.shape
    if name == "init":
        np.testing.assert_allclose(S, S_ref, rtol=0, atol=1e-12)
        assert np.array_equal(S, nnmf.nnls(A0, X0, init=S_ref))
    else:
        np.testing.assert_allclose(S, S_ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_layouts_derivatives(layout):
    E = RNG.standard_normal(A0.shape)
    ref_v = nnmf.nnls_vjp(A0, X0, S0, G0)
    ref_j = nnmf.nnls_jvp(A0, X0, S0, E, X0)
    Ls = {name: _layouts(M)[layout] for name, M in
          (("A", A0), ("X", X0), ("S", S0), ("G", G0), ("E", E))}
    got_v = nnmf.nnls_vjp(Ls["A"], Ls["X"], Ls["S"], Ls["G"])
    got_j = nnmf.nnls_jvp(Ls["A"], Ls["X"], Ls["S"], Ls["E"], Ls["X"])
    for got, ref in zip((*got_v, got_j), (*ref_v, ref_j)):
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-13 * np.abs(ref).max())


def test_inputs_not_modified():
    A, X, init = A0.copy(), X0.copy(), S0 + 1.0
    Xs = sp.csr_matrix(X0)
    copies = [M.copy() for M in (A, X, init)]
    nnmf.nnls(A, X, init=init)
    nnmf.nnls(A, Xs, init=init)
    nnmf.nnls_vjp(A, Xs, init, G0)
    nnmf.nnls_jvp(A, X, init, A, X)
    for M, C in zip((A, X, init), copies):
        assert np.array_equal(M, C)
    assert np.array_equal(Xs.toarray(), X0) and Xs.format == "csr"


def test_integer_and_bool_inputs():
    Ai = (A0 * 10).astype(np.int64)
    Xi = (X0 * 10).astype(np.int32)
    S = nnmf.nnls(Ai, Xi)
    assert S.dtype == np.float64
    np.testing.assert_allclose(S, nnmf.nnls(Ai.astype(float), Xi.astype(float)), rtol=1e-13,
                               atol=1e-15)
    Sb = nnmf.nnls(A0 > 0.5, X0)
    np.testing.assert_allclose(Sb, nnmf.nnls((A0 > 0.5).astype(float), X0), rtol=1e-13,
                               atol=1e-15)
    Ss = nnmf.nnls(A0, sp.csc_matrix(Xi))
    assert Ss.dtype == np.float64
    np.testing.assert_allclose(Ss, nnmf.nnls(A0, Xi), rtol=1e-12, atol=1e-14)


def test_other_float_dtypes_compute_in_float64():
    for dtype in (np.float16, np.longdouble):
        S = nnmf.nnls(A0.astype(dtype), X0.astype(dtype))
        assert S.dtype == np.float64
        assert (S >= 0).all()


def test_readonly_sparse_X():
    Xs = sp.csc_matrix(X0)
    for arr in (Xs.data, Xs.indices, Xs.indptr):
        arr.flags.writeable = False
    np.testing.assert_allclose(nnmf.nnls(A0, Xs), S0, rtol=0, atol=1e-13)
    dA, _ = nnmf.nnls_vjp(A0, Xs, S0, G0)
    np.testing.assert_allclose(dA, nnmf.nnls_vjp(A0, X0, S0, G0)[0], rtol=1e-12, atol=1e-13)
