"""The NeuralNMF estimator."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment

import nnmf
from nnmf import ConvergenceWarning, NeuralNMF, NotFittedError
from nnmf.datasets import load_synthetic_noise
from nnmf.layer import _operand
from nnmf._utils.estimator import BaseEstimator, check_is_fitted


def _data(m=30, n=40, k=5, seed=0, sparse=False):
    rng = np.random.default_rng(seed)
    X = rng.random((m, k)) @ rng.random((k, n)) + 0.01 * rng.random((m, n))
    if sparse:
        X[X < np.quantile(X, 0.5)] = 0
        return sp.csc_matrix(X)
    return X


def _labels(n, seed=0, c=3):
    return np.random.default_rng(seed).integers(0, c, n)


def _labelled_data(m=30, n=40, seed=0):
    """Sparse data whose labels follow its structure: the dominant of three components."""
    rng = np.random.default_rng(seed)
    H = rng.random((3, n)) ** 3
    X = rng.random((m, 3)) @ H + 0.02 * rng.random((m, n))
    X[X < np.quantile(X, 0.3)] = 0
    return sp.csc_matrix(X), H.argmax(axis=0)


# -- training ---------------------------------------------------------------------------

PROBLEMS = [
    dict(ranks=(5,), sparse=False, supervised=False, loss="reconstruction"),
    dict(ranks=(5, 3), sparse=True, supervised=False, loss="reconstruction"),
    dict(ranks=(6, 4, 2), sparse=False, supervised=True, loss="reconstruction"),
    dict(ranks=(5, 3), sparse=True, supervised=True, loss="energy"),
    dict(ranks=(6, 4, 2), sparse=False, supervised=False, loss="energy"),
]


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: "-".join(map(str, p.values())))
def test_default_optimiser_never_increases_the_loss(problem):
    X = _data(sparse=problem["sparse"], seed=len(problem["ranks"]))
    y = _labels(40) if problem["supervised"] else None
    model = NeuralNMF(problem["ranks"], loss=problem["loss"], random_state=0, n_threads=1,
                      max_iter=60, tol=0)
    with pytest.warns(ConvergenceWarning):
        model.fit(X, y)
    loss = model.history_["loss"]
    assert len(loss) >= 10 and model.n_iter_ == len(loss)
    assert np.all(np.diff(loss) <= 0)
    assert loss[-1] < loss[0]
    for key in ("data", "supervision", "reconstruction_err", "accuracy"):
        assert model.history_[key].shape == loss.shape
    np.testing.assert_allclose(model.history_["data"] + model.history_["supervision"], loss)


@pytest.mark.parametrize("sparse", [False, True])
def test_transform_of_training_data_reproduces_S(sparse):
    X = _data(sparse=sparse)
    model = NeuralNMF((5, 3, 2), random_state=0, n_threads=1)
    S_top = model.fit_transform(X)
    np.testing.assert_array_equal(S_top, model.S_[-1])
    for S_fit, S_new in zip(model.S_, model.transform(X, layer="all")):
        np.testing.assert_allclose(S_new, S_fit, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(model.transform(X, layer=0), model.S_[0], rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(model.transform(X, layer=-2), model.S_[1], rtol=1e-7,
                               atol=1e-10)
    assert model.reconstruction_err_ == pytest.approx(-model.score(X), rel=1e-6)
    P = model.topic_matrices()
    assert [T.shape for T in P] == [(30, 5), (30, 3), (30, 2)]
    np.testing.assert_allclose(P[2], model.A_[0] @ model.A_[1] @ model.A_[2])
    Xd = X.toarray() if sparse else X
    direct = np.linalg.norm(Xd - P[-1] @ model.S_[-1]) / np.linalg.norm(Xd)
    assert model.reconstruction_err_ == pytest.approx(direct, rel=1e-6)


@pytest.mark.parametrize("settings", [
    dict(supervised=True),
    dict(init="random", sparse=True),
    dict(batch_size=16, sparse=True),
    dict(optimizer="adam", supervised=True),
], ids=["default", "random-init-sparse", "minibatch", "adam-supervised"])
def test_fit_is_deterministic_and_thread_independent(settings):
    settings = dict(settings)
    X = _data(sparse=settings.pop("sparse", False))
    y = _labels(40) if settings.pop("supervised", False) else None
    fits = []
    for n_threads in (1, 2, 1):
        model = NeuralNMF((5, 3), random_state=3, n_threads=n_threads, max_iter=12, tol=0,
                          **settings)
        with pytest.warns(ConvergenceWarning):
            model.fit(X, y)
        fits.append(model)
    for other in fits[1:]:
        for a, b in zip(fits[0].A_ + fits[0].S_, other.A_ + other.S_):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(fits[0].history_["loss"], other.history_["loss"])


def _planted_hierarchy(seed=0, m=60, n=240, noise=0.01):
    """X = A_0 S_0 + noise with S_0 = (A_1 S_1) reweighted per document: 6 topics with
    disjoint words, 3 supertopics of two topics each, each document about one supertopic."""
    rng = np.random.default_rng(seed)
    A0 = np.zeros((m, 6))
    for j in range(6):
        A0[10 * j:10 * j + 10, j] = rng.uniform(0.5, 1.5, 10)
    A1 = np.zeros((6, 3))
    for j in range(3):
        A1[2 * j:2 * j + 2, j] = 1.0
    S1 = np.zeros((3, n))
    S1[rng.integers(0, 3, n), np.arange(n)] = rng.uniform(1, 2, n)
    S1 += 0.05 * rng.random((3, n))
    S0 = (A1 @ S1) * rng.uniform(0.1, 1.9, (6, n))
    return A0 @ S0 + noise * rng.random((m, n)), A0, A1


def _matched_cosines(truth, fitted):
    T = truth / np.linalg.norm(truth, axis=0)
    F = fitted / np.linalg.norm(fitted, axis=0)
    C = T.T @ F
    rows, cols = linear_sum_assignment(-C)
    return C[rows, cols]


@pytest.mark.parametrize("loss", ["reconstruction", "energy"])
def test_planted_hierarchy_is_recovered_at_both_layers(loss):
    X, A0, A1 = _planted_hierarchy()
    model = NeuralNMF((6, 3), loss=loss, random_state=0, n_threads=1).fit(X)
    topics, supertopics = model.topic_matrices()
    assert _matched_cosines(A0, topics).min() > 0.97
    assert _matched_cosines(A0 @ A1, supertopics).min() > 0.97


# -- the paper's synthetic data ------------------------------------------------------------

def test_synthetic_noise_unsupervised_beats_the_paper():
    X = load_synthetic_noise().X
    model = NeuralNMF((9, 4, 2), random_state=0, n_threads=1).fit(X)
    assert model.reconstruction_err_ <= 0.492  # the paper's Neural NMF: 0.492
    assert model.reconstruction_err_ >= 0.467  # no rank-2 product beats the SVD (0.468)


def test_synthetic_noise_supervised_training_accuracy():
    d = load_synthetic_noise()
    X, y = d.X, d.labels["coarse"]
    model = NeuralNMF((9, 4, 2), random_state=0, n_threads=1).fit(X, y)
    assert model.score(X, y) == 1.0
    np.testing.assert_array_equal(model.transduction_, y)
    assert model.reconstruction_err_ <= 0.498  # the paper's supervised Neural NMF: 0.498


def test_synthetic_noise_semi_supervised():
    d = load_synthetic_noise()
    X, y, known = d.X, d.labels["coarse"], d.known[40]
    y_partial = np.where(known, y.astype(int), -1)  # y is uint8: -1 would wrap to 255
    model = NeuralNMF((9, 4, 2), classification_loss="l2", random_state=0, n_threads=1)
    model.fit(X, y_partial)
    assert model.score(X, y) >= 0.99  # on every column, labelled or not (paper: 0.990)
    same = NeuralNMF((9, 4, 2), classification_loss="l2", random_state=0, n_threads=1)
    same.fit(X, y, label_mask=known)
    np.testing.assert_array_equal(model.A_[0], same.A_[0])


# -- options -----------------------------------------------------------------------------

@pytest.mark.parametrize("settings", [
    dict(optimizer="adam"), dict(optimizer="pgd"), dict(optimizer="pgd", learning_rate=1e-3),
    dict(batch_size=10), dict(batch_size=10, optimizer="adam", learning_rate=0.05),
    dict(init="random"), dict(loss="energy", classification_loss="cross_entropy"),
])
def test_every_option_trains(settings):
    X, y = _labelled_data()
    # 100 iterations: a fixed step ("pgd") need not decrease the loss at every iteration
    model = NeuralNMF((5, 3), random_state=0, n_threads=1, max_iter=100, tol=0, **settings)
    with pytest.warns(ConvergenceWarning, match="max_iter=100"):
        model.fit(X, y)
    assert model.history_["loss"][-1] < model.history_["loss"][0]
    assert all((A >= 0).all() for A in model.A_)
    assert model.n_iter_ == 100


def test_user_init_and_float32():
    X = _data().astype(np.float32)
    rng = np.random.default_rng(0)
    A0, A1 = rng.random((30, 5)), rng.random((5, 2))
    model = NeuralNMF((5, 2), init=[A0, A1], n_threads=1).fit(X)
    assert model.A_[0].dtype == np.float32 and model.S_[0].dtype == np.float32
    assert model.transform(X).dtype == np.float32
    ref = NeuralNMF((5, 2), init=[A0, A1], n_threads=1).fit(X.astype(np.float64))
    assert model.reconstruction_err_ == pytest.approx(ref.reconstruction_err_, rel=1e-2)


def test_missing_entry_mask():
    X = _data()
    mask = np.random.default_rng(0).random(X.shape) > 0.2
    model = NeuralNMF((5, 3), random_state=0, n_threads=1).fit(X, X_mask=mask)
    assert np.all(np.diff(model.history_["loss"]) <= 0)
    full = NeuralNMF((5, 3), random_state=0, n_threads=1, max_iter=1)
    with pytest.warns(ConvergenceWarning):
        full.fit(X, X_mask=np.ones(X.shape))
    ref = NeuralNMF((5, 3), random_state=0, n_threads=1, max_iter=1)
    with pytest.warns(ConvergenceWarning):
        ref.fit(X)
    assert full.history_["loss"][0] == pytest.approx(ref.history_["loss"][0], rel=1e-8)
    sparse = NeuralNMF((5, 3), random_state=0, n_threads=1).fit(sp.csc_matrix(X), X_mask=mask)
    np.testing.assert_allclose(sparse.history_["loss"][:5], model.history_["loss"][:5],
                               rtol=1e-8)


def test_predictions_with_string_labels():
    X = _data(n=60)
    y = np.array(["cat", "dog", "eel"])[_labels(60, seed=1)]
    model = NeuralNMF((5, 3), random_state=0, n_threads=1).fit(X, y)
    np.testing.assert_array_equal(model.classes_, ["cat", "dog", "eel"])
    proba = model.predict_proba(X)
    assert proba.shape == (60, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])
    assert 0 <= model.score(X, y) <= 1
    l2 = NeuralNMF((5, 3), classification_loss="l2", random_state=0, n_threads=1).fit(X, y)
    np.testing.assert_allclose(l2.predict_proba(X).sum(axis=1), 1.0)
    assert l2.B_.shape == (3, 3)


def test_callback_sees_the_state_and_can_stop():
    X = _data()
    calls = []

    def callback(iteration, state):
        calls.append(iteration)
        assert {"loss", "reconstruction_err", "A", "B", "S", "history"} <= set(state)
        assert len(state["A"]) == 2 and state["B"] is None
        assert len(state["history"]["loss"]) == iteration
        # the state is read-only: a callback cannot corrupt training
        for M in state["A"] + state["S"]:
            with pytest.raises(ValueError, match="read-only"):
                M[0, 0] = -1.0
        state["history"]["loss"].clear()  # a copy of the history
        return iteration < 4

    model = NeuralNMF((5, 3), random_state=0, n_threads=1, callback=callback).fit(X)
    assert calls == [1, 2, 3, 4] and model.n_iter_ == 4
    assert len(model.history_["loss"]) == 4


def test_keyboard_interrupt_leaves_a_fitted_model():
    X = _data()

    def interrupt(iteration, state):
        if iteration == 3:
            raise KeyboardInterrupt

    model = NeuralNMF((5, 3), random_state=0, n_threads=1, callback=interrupt)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X)
    assert model.n_iter_ == 3
    assert model.transform(X).shape == (3, 40)
    assert model.reconstruction_err_ <= model.history_["reconstruction_err"][0] + 1e-12


def test_verbose_shows_a_progress_bar(capsys):
    pytest.importorskip("tqdm")
    NeuralNMF((5, 3), random_state=0, n_threads=1, verbose=True).fit(_data())
    assert "NeuralNMF" in capsys.readouterr().err


def test_verbose_without_tqdm_says_what_to_install(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "tqdm", None)  # makes "import tqdm" fail
    with pytest.raises(ImportError, match="pip install tqdm"):
        NeuralNMF((5, 3), n_threads=1, verbose=True).fit(_data())


def test_sparse_input_is_never_densified():
    m, n = 40000, 300  # dense X would be 96 MB
    X = sp.random(m, n, density=0.002, random_state=0, format="csc")
    model = NeuralNMF((4, 2), random_state=0, n_threads=1, max_iter=3, batch_size=None)
    tracemalloc.start()
    try:
        with pytest.warns(ConvergenceWarning):
            model.fit(X, _labels(n))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < m * n * 8 / 4


# -- parameters, fitted state and bad input ----------------------------------------------

def test_params_repr_and_not_fitted():
    model = NeuralNMF((4, 2), lam=0.5, n_threads=1)
    assert model.get_params()["lam"] == 0.5 and model.get_params()["ranks"] == (4, 2)
    assert model.set_params(max_iter=7) is model and model.max_iter == 7
    assert repr(model) == "NeuralNMF(lam=0.5, max_iter=7, n_threads=1, ranks=(4, 2))"
    with pytest.raises(ValueError, match="invalid parameter 'alpha'"):
        model.set_params(alpha=1)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        model.transform(_data())
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    assert model._fitted_attributes() == []
    model.set_params(max_iter=500).fit(_data())
    assert {"A_", "S_", "B_", "history_", "n_iter_", "reconstruction_err_"} <= set(
        model._fitted_attributes())
    check_is_fitted(model)
    with pytest.raises(ValueError, match="without labels"):
        model.predict(_data())
    assert nnmf.NeuralNMF is NeuralNMF and "NeuralNMF" in nnmf.__all__


def test_base_estimator_rejects_varargs():
    class Bad(BaseEstimator):
        def __init__(self, *args):
            pass
    with pytest.raises(RuntimeError, match="args"):
        Bad().get_params()


@pytest.mark.parametrize("X, match", [
    (-_data(), "nonnegative"),
    (np.where(_data() > 0.5, np.nan, _data()), "NaN"),
])
def test_bad_data(X, match):
    with pytest.raises(ValueError, match=match):
        NeuralNMF((3,)).fit(X)


@pytest.mark.parametrize("params, match", [
    (dict(ranks=()), "non-empty sequence"),
    (dict(ranks=(41,)), "exceed what X"),
    (dict(ranks=(5, 31)), "exceed what X"),
    (dict(ranks=(0,)), "positive ints"),
    (dict(ranks=(3, 5)), "non-increasing ranks"),
    (dict(ranks="abc"), "positive ints"),
    (dict(ranks=(3,), loss="kl"), "loss must be one of"),
    (dict(ranks=(3,), classification_loss="hinge"), "classification_loss must be one of"),
    (dict(ranks=(3,), optimizer="sgd"), "optimizer must be one of"),
    (dict(ranks=(3,), lam=-1.0), "lam must be"),
    (dict(ranks=(3,), learning_rate=0.0), "learning_rate must be"),
    (dict(ranks=(3,), max_iter=0), "max_iter must be"),
    (dict(ranks=(3,), tol=-1e-3), "tol must be"),
    (dict(ranks=(3,), batch_size=0), "batch_size must be"),
    (dict(ranks=(3,), init="nndsvd"), "init must be one of"),
    (dict(ranks=(3, 2), init=[np.ones((30, 3))]), "one per layer"),
    (dict(ranks=(3, 2), init=[np.ones((30, 3)), np.ones((2, 2))]), r"init\[1\] has shape"),
    (dict(ranks=(3,), callback=3), "callback must be a callable or None"),
    (dict(ranks=(3,), random_state="x"), "random_state"),
])
def test_neural_nmf_refuses_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        NeuralNMF(**params).fit(_data())


@pytest.mark.parametrize("y, label_mask, match", [
    (np.zeros(39, dtype=int), None, "39 labels but X has 40 columns"),
    (np.full(40, -1), None, "no known labels"),
    (_labels(40), np.zeros(40, dtype=bool), "no known labels"),
    (_labels(40), np.ones(39, dtype=bool), "label_mask has shape"),
    (np.zeros(40, dtype=int), None, "only one class"),
    (np.full(40, np.nan), None, "no known labels"),
    (np.full(40, 0.5), None, "fractions"),
])
def test_neural_nmf_refuses_bad_labels(y, label_mask, match):
    with pytest.raises(ValueError, match=match):
        NeuralNMF((3,)).fit(_data(), y, label_mask=label_mask)


def test_other_bad_fit_and_transform_input():
    X = _data()
    with pytest.raises(ValueError, match="label_mask was given without labels"):
        NeuralNMF((3,)).fit(X, label_mask=np.ones(40, dtype=bool))
    with pytest.raises(ValueError, match="lam must be positive"):
        NeuralNMF((3,), lam=0.0).fit(X, _labels(40))
    with pytest.raises(ValueError, match="X_mask has shape"):
        NeuralNMF((3,)).fit(X, X_mask=np.ones((3, 3)))
    with pytest.raises(ValueError, match="only 0 and 1"):
        NeuralNMF((3,)).fit(X, X_mask=np.full(X.shape, 0.5))
    with pytest.raises(ValueError, match="all zeros"):
        NeuralNMF((3,)).fit(np.zeros((30, 40)))
    model = NeuralNMF((3,), n_threads=1).fit(X, _labels(40))
    with pytest.raises(ValueError, match="X has 29 rows"):
        model.transform(X[:29])
    with pytest.raises(ValueError, match="layer must be"):
        model.transform(X, layer=1)
    with pytest.raises(ValueError, match="nonnegative"):
        model.transform(-X)


def test_a_stalled_start_warns_and_keeps_the_initial_factors(monkeypatch):
    from nnmf.neural import _optim

    def stall(self, params, value, grads, evaluate):
        return _optim.Step(params, value, None, stalled=True)
    monkeypatch.setattr(_optim.ArmijoPG, "step", stall)
    X = _data()
    model = NeuralNMF((5, 3), random_state=0, n_threads=1)
    with pytest.warns(ConvergenceWarning, match="ill-conditioned"):
        model.fit(X)
    assert model.n_iter_ == 0 and model.history_["loss"].size == 0
    np.testing.assert_allclose(model.transform(X), model.S_[-1], rtol=1e-7, atol=1e-10)


@pytest.mark.filterwarnings("ignore::nnmf.ConvergenceWarning")
def test_fits_with_every_product_in_the_core_hold_blas_to_one_thread():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    X = sp.csc_matrix(_data())
    seen = []

    def blas_threads():
        return [p["num_threads"] for p in threadpoolctl.threadpool_info()
                if p["user_api"] == "blas"]

    before = blas_threads()
    NeuralNMF((5, 3), random_state=0, n_threads=1, max_iter=3, tol=0.0,
              callback=lambda it, state: seen.append(blas_threads())).fit(X)
    assert seen and all(n == 1 for threads in seen for n in threads)
    assert blas_threads() == before  # restored after the fit
    # a dense X with a unit stride and rank <= 64: its products also run in the core (not
    # with the generic build of the core, where they go to BLAS)
    core = _operand._CORE_TDOT_MAX_RANK >= 5
    for dense, held in ((X.toarray(), core), (X.toarray(order="F"), core),
                        (np.repeat(np.repeat(X.toarray(), 2, 0), 2, 1)[::2, ::2], False)):
        seen.clear()
        NeuralNMF((5, 3), random_state=0, n_threads=1, max_iter=3, tol=0.0,
                  callback=lambda it, state: seen.append(blas_threads())).fit(dense)
        assert seen[0] == ([1] * len(before) if held else before)
