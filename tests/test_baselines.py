"""The baselines: NMF (ANLS and MU), HierarchicalNMF, DeepNMF, SSNMF."""

import numpy as np
import pytest
import scipy.sparse as sp

import nnmf
from nnmf import (ConvergenceWarning, DeepNMF, HierarchicalNMF, NMF, NotFittedError, SSNMF)
from nnmf._utils.linalg import chain
from nnmf.baselines._mu import deep_mu, nmf_mu, ssnmf_mu
from nnmf.layer import as_operand

RTOL_MONO = 1e-11  # rounding slack on "never increases", relative to the starting objective


def planted(m=40, n=60, k=4, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((m, k)) @ rng.random((k, n)) + noise * rng.random((m, n))


def planted_hierarchy(m=50, n=80, ranks=(6, 3), noise=0.01, seed=0):
    rng = np.random.default_rng(seed)
    dims = (m,) + tuple(ranks)
    X = rng.random((ranks[-1], n))
    for rows, cols in reversed(list(zip(dims[:-1], dims[1:]))):
        X = rng.random((rows, cols)) @ X
    return X + noise * rng.random((m, n))


def separable_classes(n_per_class=15, n_classes=3, words_per_topic=8, noise=0.05, seed=0):
    """Each class uses its own block of words: linearly separable, planted."""
    rng = np.random.default_rng(seed)
    m = n_classes * words_per_topic
    A = np.kron(np.eye(n_classes), np.ones((words_per_topic, 1)))
    y = np.repeat(np.arange(n_classes), n_per_class)
    S = np.eye(n_classes)[:, y] * (0.5 + rng.random(y.size))
    X = A @ S + noise * rng.random((m, y.size))
    return X, y


def assert_non_increasing(values, scale=None):
    values = np.asarray(values, dtype=np.float64)
    scale = abs(values[0]) if scale is None else scale
    assert np.all(np.diff(values) <= RTOL_MONO * scale), np.diff(values).max()


# -- multiplicative updates never increase their objective -----------------------------------

@pytest.mark.parametrize("sparse", [False, True])
def test_nmf_mu_monotone(sparse):
    X = planted(noise=0.2)
    if sparse:
        X = sp.csc_matrix(X * (np.random.default_rng(1).random(X.shape) < 0.3))
    model = NMF(5, solver="mu", init="random", max_iter=300, tol=0, random_state=0).fit(X)
    assert model.n_iter_ == 300
    assert_non_increasing(model.history_)
    Xd = X.toarray() if sparse else X
    assert model.reconstruction_err_ == pytest.approx(
        np.linalg.norm(Xd - model.A_ @ model.S_) / np.linalg.norm(Xd), rel=1e-9)
    assert model.history_[-1] == pytest.approx(model.reconstruction_err_, rel=1e-9)


@pytest.mark.parametrize("sparse", [False, True])
def test_ssnmf_mu_monotone(sparse):
    X, y = separable_classes(noise=0.3)
    y = y.copy()
    y[::3] = -1
    if sparse:
        X = sp.csr_matrix(X)
    model = SSNMF(4, lam=3.0, init="random", max_iter=200, tol=0, random_state=0).fit(X, y)
    objective = model.history_[:, 0] + 3.0 * model.history_[:, 1]
    assert_non_increasing(objective)


def test_ssnmf_mu_monotone_with_missing_entry_mask():
    rng = np.random.default_rng(2)
    X, y = separable_classes(noise=0.3)
    W = (rng.random(X.shape) < 0.8).astype(float)
    Xop = as_operand(X)
    k, n = 3, X.shape[1]
    _, _, _, history, _ = ssnmf_mu(
        Xop, k, Y=np.eye(3)[:, y], weights=(rng.random(n) < 0.5).astype(float), lam=5.0,
        A_init=rng.random((X.shape[0], k)), S_init=rng.random((k, n)),
        B_init=rng.random((3, k)), max_iter=200, tol=0, n_threads=1, mask=W)
    assert_non_increasing([a + 5.0 * b for a, b in history])


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("labels", [False, True])
def test_deep_mu_monotone(sparse, labels):
    rng = np.random.default_rng(3)
    X = planted_hierarchy(ranks=(6, 3, 2), noise=0.1)
    if sparse:
        X = sp.csc_matrix(X * (rng.random(X.shape) < 0.4))
    m, n = X.shape
    As = [rng.random((m, 6)), rng.random((6, 3)), rng.random((3, 2))]
    extra = {}
    if labels:
        extra = dict(Y=np.eye(2)[:, rng.integers(0, 2, n)],
                     weights=(rng.random(n) < 0.5).astype(float), lam=10.0,
                     B_init=rng.random((2, 2)))
    As_, S, _, history, _ = deep_mu(as_operand(X), As, rng.random((2, n)), max_iter=200,
                                    tol=0, n_threads=1, **extra)
    assert_non_increasing([a + extra.get("lam", 0.0) * b for a, b in history])
    Xd = X.toarray() if sparse else X
    assert history[-1][0] == pytest.approx(0.5 * np.linalg.norm(Xd - chain(As_) @ S) ** 2,
                                           rel=1e-9)


def test_nmf_mu_function_monotone_and_exact_objective():
    rng = np.random.default_rng(4)
    X = planted(noise=0.3)
    A, S, history, converged = nmf_mu(as_operand(X), 3, A_init=rng.random((40, 3)),
                                      S_init=rng.random((3, 60)), max_iter=100, tol=0,
                                      n_threads=1)
    assert not converged and len(history) == 101
    assert_non_increasing(history)
    assert history[-1] == pytest.approx(0.5 * np.linalg.norm(X - A @ S) ** 2, rel=1e-9)


def test_deep_nmf_fine_tuning_monotone_and_improves_on_pretraining():
    X = planted_hierarchy(noise=0.05)
    hier = HierarchicalNMF((6, 3), init="random", random_state=0).fit(X)
    deep = DeepNMF((6, 3), init="random", max_iter=200, tol=0, random_state=0).fit(X)
    objective = deep.history_[:, 0]
    assert_non_increasing(objective)
    assert deep.reconstruction_err_ <= hier.reconstruction_err_ + 1e-3
    # the history is half the squared relative error
    assert np.sqrt(2 * objective[-1]) == pytest.approx(deep.reconstruction_err_, rel=1e-8)


# -- ANLS and MU agree ------------------------------------------------------------------------

@pytest.mark.parametrize("sparse", [False, True])
def test_anls_and_mu_reach_comparable_objectives(sparse):
    X = planted(m=50, n=70, k=4, noise=0.3, seed=5)
    if sparse:
        X = sp.csc_matrix(X)
    anls = NMF(4, solver="anls", random_state=0, max_iter=500, tol=1e-8).fit(X)
    mu = NMF(4, solver="mu", init="random", random_state=0, max_iter=1000, tol=0).fit(X)
    assert anls.reconstruction_err_ < 0.08
    assert mu.reconstruction_err_ == pytest.approx(anls.reconstruction_err_, rel=0.01)


def test_nmf_dense_and_sparse_agree():
    X = planted(noise=0.1)
    for solver in ("anls", "mu"):
        kw = dict(solver=solver, init="random", random_state=3, max_iter=50, tol=0)
        dense = NMF(4, **kw).fit(X)
        sparse = NMF(4, **kw).fit(sp.csc_matrix(X))
        np.testing.assert_allclose(sparse.A_, dense.A_, rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(sparse.S_, dense.S_, rtol=1e-7, atol=1e-10)


def test_nmf_transform_and_attributes():
    X = planted(noise=0.02)
    model = NMF(4, random_state=0)
    S = model.fit_transform(X)
    assert S is model.S_
    np.testing.assert_allclose(model.transform(X), model.S_, rtol=1e-6, atol=1e-9)
    assert model.components_.shape == (4, 40)
    np.testing.assert_array_equal(model.components_, model.A_.T)
    np.testing.assert_allclose(model.inverse_transform(S), model.A_ @ S)
    assert model.n_iter_ == len(model.history_)
    assert model.n_features_in_ == 40


def test_nmf_float32_input():
    X = planted(noise=0.05).astype(np.float32)
    model = NMF(4, solver="mu", random_state=0, max_iter=200, tol=0).fit(X)
    ref = NMF(4, solver="mu", random_state=0, max_iter=200, tol=0).fit(X.astype(np.float64))
    assert model.reconstruction_err_ == pytest.approx(ref.reconstruction_err_, rel=1e-3)


def test_nmf_convergence_warning():
    X = planted(noise=0.2)
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        NMF(4, solver="mu", max_iter=2, tol=1e-12, random_state=0).fit(X)


# -- SSNMF ------------------------------------------------------------------------------------

def test_ssnmf_separates_planted_classes():
    X, y = separable_classes()
    y_semi = y.copy()
    hidden = np.zeros(y.size, dtype=bool)
    hidden[1::2] = True
    y_semi[hidden] = -1
    model = SSNMF(3, random_state=0).fit(X, y_semi)
    assert np.array_equal(model.transduction_[hidden], y[hidden])
    # new documents from the same classes
    X_new, y_new = separable_classes(seed=7)
    assert np.array_equal(model.predict(X_new), y_new)
    assert model.score(X_new, y_new) == 1.0
    proba = model.predict_proba(X_new)
    assert proba.shape == (y_new.size, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])


def test_ssnmf_string_labels_and_label_mask():
    X, y = separable_classes()
    names = np.array(["ham", "eggs", "spam"])[y]
    known = np.arange(y.size) % 3 == 0
    model = SSNMF(3, random_state=0).fit(X, names, label_mask=known)
    assert list(model.classes_) == ["eggs", "ham", "spam"]
    assert np.array_equal(model.transduction_, names)
    assert np.array_equal(model.predict(X), names)


def test_ssnmf_missing_entries_mask():
    X, y = separable_classes(noise=0.02)
    W = np.ones_like(X)
    W[::5, ::3] = 0.0
    X_corrupt = X.copy()
    X_corrupt[W == 0] = 50.0  # garbage where masked: must be ignored
    masked = SSNMF(3, random_state=0).fit(X_corrupt, y, mask=W)
    clean = SSNMF(3, random_state=0).fit(X, y, mask=W)
    assert np.array_equal(masked.transduction_, y)
    assert masked.reconstruction_err_ == pytest.approx(clean.reconstruction_err_, rel=1e-3)
    unmasked = SSNMF(3, random_state=0).fit(X_corrupt, y)
    observed_err = (np.linalg.norm(W * (X - unmasked.A_ @ unmasked.S_))
                    / np.linalg.norm(W * X))
    assert masked.reconstruction_err_ < 0.2 < observed_err


# -- HierarchicalNMF --------------------------------------------------------------------------

@pytest.mark.parametrize("solver,init", [("anls", "nndsvd"), ("anls", "random"),
                                         ("mu", "random")])
def test_hierarchical_one_layer_equals_nmf(solver, init):
    X = planted(noise=0.1)
    kw = dict(solver=solver, init=init, random_state=11, max_iter=60, tol=0)
    flat = NMF(4, **kw).fit(X)
    hier = HierarchicalNMF([4], **kw).fit(X)
    np.testing.assert_array_equal(hier.A_[0], flat.A_)
    np.testing.assert_array_equal(hier.S_[0], flat.S_)
    assert hier.reconstruction_err_ == pytest.approx(flat.reconstruction_err_, rel=1e-12)
    np.testing.assert_array_equal(hier.history_[0], flat.history_)


def test_hierarchical_layers_and_transform():
    X = planted_hierarchy()
    model = HierarchicalNMF((6, 3), random_state=0).fit(X)
    assert [A.shape for A in model.A_] == [(50, 6), (6, 3)]
    assert [S.shape for S in model.S_] == [(6, 80), (3, 80)]
    assert model.B_ is None
    # ANLS leaves every S the exact NNLS solution: transform reproduces it
    Ss = model.transform(X, layer="all")
    for S, S_fit in zip(Ss, model.S_):
        np.testing.assert_allclose(S, S_fit, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(model.transform(X, layer=0), model.S_[0], rtol=1e-6,
                               atol=1e-8)
    P = model.A_[0] @ model.A_[1]
    err = np.linalg.norm(X - P @ model.S_[1]) / np.linalg.norm(X)
    assert model.reconstruction_err_ == pytest.approx(err, rel=1e-9)
    assert model.score(X) == pytest.approx(-err, rel=1e-6)
    assert len(model.layer_errors_) == 2
    np.testing.assert_allclose(model.topic_matrices()[1], P)


def test_hierarchical_supervised_last_layer():
    X, y = separable_classes(n_per_class=20, n_classes=2, words_per_topic=10)
    known = np.arange(y.size) % 2 == 0
    model = HierarchicalNMF((4, 2), random_state=0).fit(X, y, label_mask=known)
    assert model.B_.shape == (2, 2)
    assert np.array_equal(model.transduction_[~known], y[~known])
    assert model.score(X, y) == 1.0
    assert model.history_[1].shape[1] == 2   # the SSNMF layer records both terms


# -- DeepNMF ----------------------------------------------------------------------------------

def test_deep_nmf_supervised_and_transform():
    X, y = separable_classes(n_per_class=20, n_classes=2, words_per_topic=10, noise=0.1)
    model = DeepNMF((4, 2), max_iter=100, tol=0, random_state=0).fit(X, y)
    assert model.B_.shape == (2, 2)
    assert np.array_equal(model.transduction_, y)
    assert model.score(X, y) == 1.0
    Ss = model.transform(X, layer="all")
    np.testing.assert_allclose(Ss[0], model.A_[1] @ Ss[1])
    objective = model.history_[:, 0] + 1.0 * model.history_[:, 1]
    assert_non_increasing(objective)


def test_deep_nmf_dense_and_sparse_agree():
    X = planted_hierarchy(noise=0.05)
    kw = dict(max_iter=30, tol=0, init="random", random_state=2)
    dense = DeepNMF((6, 3), **kw).fit(X)
    sparse = DeepNMF((6, 3), **kw).fit(sp.csc_matrix(X))
    assert sparse.reconstruction_err_ == pytest.approx(dense.reconstruction_err_, rel=1e-6)


# -- reproducibility --------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: NMF(4, solver="mu", init="random", max_iter=30, tol=0, random_state=5),
    lambda: NMF(4, solver="anls", init="random", max_iter=30, tol=0, random_state=5),
    lambda: HierarchicalNMF((4, 2), init="random", max_iter=30, tol=0, random_state=5),
    lambda: DeepNMF((4, 2), init="random", max_iter=30, tol=0, random_state=5),
    lambda: SSNMF(3, init="random", max_iter=30, tol=0, random_state=5),
])
def test_reproducible_for_fixed_seed(make):
    X, y = separable_classes(noise=0.2)
    fit_y = (y,) if isinstance(make(), SSNMF) else ()
    a, b = make().fit(X, *fit_y), make().fit(X, *fit_y)
    for name in ("A_", "S_"):
        va, vb = getattr(a, name), getattr(b, name)
        for Ma, Mb in zip(va if isinstance(va, list) else [va],
                          vb if isinstance(vb, list) else [vb]):
            np.testing.assert_array_equal(Ma, Mb)


def test_params_and_repr():
    model = DeepNMF((4, 2), lam=2.0)
    assert model.get_params()["lam"] == 2.0
    assert "lam=2.0" in repr(model)
    model.set_params(max_iter=7)
    assert model.max_iter == 7
    with pytest.raises(ValueError, match="invalid parameter"):
        model.set_params(bogus=1)


def test_public_names():
    for name in ("NMF", "HierarchicalNMF", "DeepNMF", "SSNMF"):
        assert name in nnmf.__all__ and hasattr(nnmf, name)


# -- bad input --------------------------------------------------------------------------------

def test_not_fitted():
    X = planted()
    for model in (NMF(2), SSNMF(2), HierarchicalNMF((2,)), DeepNMF((2,))):
        with pytest.raises(NotFittedError, match="not fitted"):
            model.transform(X)


@pytest.mark.parametrize("make,X,match", [
    (lambda: NMF(2), -planted(), "nonnegative"),
    (lambda: NMF(2), np.full((4, 4), np.nan), "NaN"),
    (lambda: NMF(50), planted(), "exceeds"),
    (lambda: NMF(0), planted(), "n_components"),
    (lambda: NMF(2, solver="cd"), planted(), "solver"),
    (lambda: NMF(2, init="nndsvda"), planted(), "init"),
    (lambda: NMF(2, max_iter=0), planted(), "max_iter"),
    (lambda: NMF(2, tol=-1.0), planted(), "tol"),
    (lambda: HierarchicalNMF(()), planted(), "non-empty sequence"),
    (lambda: HierarchicalNMF((4, 8)), planted(), r"ranks\[1\]=8 exceeds"),
    (lambda: HierarchicalNMF((4, 2), lam=-1.0), planted(), "lam"),
    (lambda: DeepNMF((4, 2), pretrain_solver="x"), planted(), "pretrain_solver"),
    (lambda: DeepNMF("abc"), planted(), "ranks"),
])
def test_baselines_refuse_bad_parameters(make, X, match):
    with pytest.raises(ValueError, match=match):
        make().fit(X)


def test_baselines_refuse_bad_labels():
    X, y = separable_classes()
    with pytest.raises(ValueError, match="needs labels"):
        SSNMF(2).fit(X, None)
    with pytest.raises(ValueError, match="labels but X has"):
        SSNMF(2).fit(X, y[:-1])
    with pytest.raises(ValueError, match="only one class"):
        SSNMF(2).fit(X, np.zeros_like(y))
    with pytest.raises(ValueError, match="no known labels"):
        SSNMF(2).fit(X, -np.ones_like(y))
    with pytest.raises(ValueError, match="label_mask has shape"):
        HierarchicalNMF((2,)).fit(X, y, label_mask=np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="boolean"):
        DeepNMF((2,)).fit(X, y, label_mask=np.ones(y.size))
    with pytest.raises(ValueError, match="without labels"):
        DeepNMF((2,)).fit(X, label_mask=np.ones(y.size, dtype=bool))
    with pytest.raises(ValueError, match="dense X"):
        SSNMF(2).fit(sp.csc_matrix(X), y, mask=np.ones(X.shape))
    with pytest.raises(ValueError, match="mask has shape"):
        SSNMF(2).fit(X, y, mask=np.ones((2, 2)))


def test_bad_use_after_fit():
    X, y = separable_classes()
    unsupervised = HierarchicalNMF((3,), random_state=0).fit(X)
    with pytest.raises(ValueError, match="without labels"):
        unsupervised.predict(X)
    with pytest.raises(ValueError, match="rows"):
        unsupervised.transform(X[:-1])
    with pytest.raises(ValueError, match="layer"):
        unsupervised.transform(X, layer=3)
    model = SSNMF(3, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="rows"):
        model.predict(X[:-2])
    with pytest.raises(ValueError, match="y has shape"):
        model.score(X, y[:-1])
    with pytest.raises(ValueError, match="n_components"):
        NMF(3, random_state=0).fit(X).inverse_transform(np.ones((2, 4)))
