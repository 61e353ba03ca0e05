"""nnmf.sklearn: the sample-major wrappers pass scikit-learn's estimator checks (the checks that
cannot apply named with their reasons), give what the nnmf estimators give on the transpose,
and work in Pipeline, GridSearchCV and clone."""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

pytest.importorskip("sklearn", minversion="1.6")

from sklearn.base import clone  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402
from sklearn.utils import estimator_checks  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks  # noqa: E402

import nnmf  # noqa: E402
from nnmf.sklearn import NeuralNMFClassifier, NeuralNMFTransformer, NMFTransformer  # noqa: E402

# Instances for scikit-learn's checks: small and fast. Some checks fit 2 features, so every
# rank is at most 2; max_iter is small, so NeuralNMF may stop at it (ConvergenceWarning,
# ignored below: the checks are about the API, not convergence).
CHECKED = [
    NeuralNMFTransformer((2, 1), max_iter=20, random_state=0),
    NeuralNMFTransformer(2, layer=0, loss="energy", max_iter=20, random_state=0),
    NMFTransformer(2, random_state=0),
    NMFTransformer(2, solver="mu", init="random", random_state=0),
    NeuralNMFClassifier(2, max_iter=50, random_state=0),
    NeuralNMFClassifier((2, 2), classification_loss="l2", max_iter=50, random_state=0),
]

# The checks that cannot apply, by estimator class: {check name: reason}. scikit-learn runs
# them and expects them to fail (xfail); every other check passes.
EXPECTED_FAILED_CHECKS = {
    "NeuralNMFTransformer": {},
    "NMFTransformer": {},
    "NeuralNMFClassifier": {
        "check_classifiers_classes":
            "its last problem has the labels -1 and 1, and -1 marks an unlabelled sample "
            "(nnmf's rule for unknown labels, and scikit-learn's for its semi-supervised "
            "classifiers, which this check exempts by name), leaving one class; "
            "test_classifier_label_kinds runs the rest of the check",
        "check_decision_proba_consistency":
            "it fits blobs with negative entries, without the shift to nonnegative data that "
            "the positive_only tag gets from the other checks; "
            "test_classifier_decision_proba_consistency runs it on nonnegative data",
    },
}


def expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS[type(estimator).__name__]


@pytest.mark.filterwarnings("ignore::nnmf.ConvergenceWarning")
@parametrize_with_checks(CHECKED, expected_failed_checks=expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.filterwarnings("ignore::nnmf.ConvergenceWarning")
@pytest.mark.parametrize("estimator", CHECKED[::2], ids=repr)
def test_check_estimator_passes(estimator):
    """check_estimator itself (what users run), on one instance of each class."""
    results = check_estimator(estimator, expected_failed_checks=expected_failed_checks(
        estimator), on_fail=None, on_skip=None)
    failed = [(r["check_name"], r["exception"]) for r in results if r["status"] == "failed"]
    assert not failed
    # the expected failures do fail (else they would be listed for nothing)
    xfail = {r["check_name"] for r in results if r["status"] == "xfail"}
    assert xfail == set(expected_failed_checks(estimator))


# checks that check_estimator does not run (output containers, feature names)
EXTRA_CHECKS = ["check_transformer_get_feature_names_out",
                "check_transformer_get_feature_names_out_pandas",
                "check_get_feature_names_out_error", "check_set_output_transform",
                "check_set_output_transform_pandas", "check_global_output_transform_pandas",
                "check_dataframe_column_names_consistency", "check_inplace_ensure_writeable"]


@pytest.mark.filterwarnings("ignore::nnmf.ConvergenceWarning")
# the pandas output checks fit a DataFrame and transform an array, and the reverse: by design,
# scikit-learn warns
@pytest.mark.filterwarnings("ignore:X does not have valid feature names:UserWarning")
@pytest.mark.filterwarnings("ignore:X has feature names, but:UserWarning")
@pytest.mark.parametrize("name", EXTRA_CHECKS)
@pytest.mark.parametrize("estimator", CHECKED[::2], ids=repr)
def test_more_sklearn_checks(estimator, name):
    if "pandas" in name:
        pytest.importorskip("pandas")
    getattr(estimator_checks, name)(type(estimator).__name__, estimator)


# -- the same as the nnmf estimators on the transpose ------------------------------------------

def planted(n=60, m=40, ranks=(6, 3), seed=0):
    """Rows as samples: (n_samples, n_features) with a planted hierarchy."""
    rng = np.random.default_rng(seed)
    W = rng.random((n, ranks[-1]))
    for rows, cols in zip(ranks[::-1][:-1], ranks[::-1][1:]):
        W = W @ rng.random((rows, cols))
    return W @ rng.random((ranks[0], m)) + 0.01 * rng.random((n, m))


# the wrapper must equal NeuralNMF whether or not the fit converged within max_iter
@pytest.mark.filterwarnings("ignore::nnmf.ConvergenceWarning")
def test_neural_wrapper_is_neuralnmf_on_the_transpose():
    X = planted()
    t = NeuralNMFTransformer((6, 3), random_state=0)
    W = t.fit_transform(X)
    model = nnmf.NeuralNMF((6, 3), random_state=0).fit(X.T)
    np.testing.assert_array_equal(W, model.S_[-1].T)
    np.testing.assert_array_equal(t.model_.A_[0], model.A_[0])
    assert W.shape == (60, 3) and W.flags.c_contiguous
    assert t.components_.shape == (3, 40)
    np.testing.assert_allclose(t.components_, (model.A_[0] @ model.A_[1]).T)
    np.testing.assert_allclose(t.transform(X), W, atol=1e-10)
    np.testing.assert_allclose(t.transform(X[:7]), model.transform(X[:7].T).T, atol=1e-12)
    assert t.n_iter_ == model.n_iter_ and t.n_features_in_ == 40
    assert t.reconstruction_err_ == model.reconstruction_err_
    # inverse_transform: X ~ W @ components_, the model's own relative error
    err = np.linalg.norm(X - t.inverse_transform(W)) / np.linalg.norm(X)
    assert err == pytest.approx(t.reconstruction_err_, rel=1e-8)
    names = t.get_feature_names_out()
    assert list(names) == ["neuralnmftransformer0", "neuralnmftransformer1",
                           "neuralnmftransformer2"]


# the wrapper must equal NeuralNMF whether or not the fit converged within max_iter
@pytest.mark.filterwarnings("ignore::nnmf.ConvergenceWarning")
def test_neural_wrapper_layer():
    X = planted()
    t = NeuralNMFTransformer((6, 3), layer=0, random_state=0).fit(X)
    model = nnmf.NeuralNMF((6, 3), random_state=0).fit(X.T)
    np.testing.assert_allclose(t.transform(X), model.transform(X.T, layer=0).T, atol=1e-12)
    assert t.components_.shape == (6, 40) and len(t.get_feature_names_out()) == 6
    np.testing.assert_allclose(t.components_, model.A_[0].T)
    with pytest.raises(ValueError, match="layer"):
        NeuralNMFTransformer((6, 3), layer=2).fit(X)


def test_nmf_wrapper_is_nmf_on_the_transpose():
    X = planted(ranks=(4,))
    t = NMFTransformer(4, tol=1e-3, max_iter=1000, random_state=0)
    W = t.fit_transform(X)
    model = nnmf.NMF(4, tol=1e-3, max_iter=1000, random_state=0).fit(X.T)
    np.testing.assert_array_equal(W, model.S_.T)
    np.testing.assert_array_equal(t.components_, model.A_.T)
    np.testing.assert_allclose(t.transform(X), W, atol=1e-10)
    err = np.linalg.norm(X - t.inverse_transform(W)) / np.linalg.norm(X)
    assert err == pytest.approx(t.reconstruction_err_, rel=1e-8)
    assert list(t.get_feature_names_out()) == [f"nmftransformer{i}" for i in range(4)]
    # mu: fit_transform gives the coefficients of the final factors, as transform does
    mu = NMFTransformer(4, solver="mu", max_iter=50, tol=0, random_state=0)
    np.testing.assert_allclose(mu.fit_transform(X), mu.transform(X), atol=1e-10)


@pytest.mark.parametrize("Estimator, param", [(NeuralNMFTransformer, (5, 2)),
                                              (NMFTransformer, 4)])
def test_sparse_float32_and_determinism(Estimator, param):
    X = planted()
    X[X < 0.6 * X.mean()] = 0
    dense = Estimator(param, random_state=0).fit_transform(X)
    again = Estimator(param, random_state=0).fit_transform(X)
    np.testing.assert_array_equal(dense, again)           # a fixed seed: the same fit
    for fmt in (sp.csr_matrix, sp.csc_matrix, sp.csr_array):
        np.testing.assert_allclose(Estimator(param, random_state=0).fit_transform(fmt(X)),
                                   dense, rtol=1e-6, atol=1e-8)
    t32 = Estimator(param, random_state=0).fit(X.astype(np.float32))
    assert t32.transform(X.astype(np.float32)).dtype == np.float32
    assert t32.fit_transform(sp.csr_matrix(X, dtype=np.float32)).dtype == np.float32


def test_errors():
    X = planted()
    with pytest.raises(ValueError, match="Negative values in data passed to NMFTransformer"):
        NMFTransformer(2).fit(X - 0.5)
    with pytest.raises(ValueError, match=r"ranks=\(8, 3\) exceeds min\(n_samples, n_features\) "
                                         r"= 5 of X with n_samples = 5, n_features = 40"):
        NeuralNMFTransformer((8, 3)).fit(X[:5])
    with pytest.raises(ValueError, match="n_components=50 exceeds"):
        NMFTransformer(50).fit(X)
    with pytest.raises(ValueError, match="n_components"):
        NMFTransformer(0).fit(X)
    with pytest.raises(ValueError, match="ranks"):
        NeuralNMFTransformer((3, 0)).fit(X)
    with pytest.raises(ValueError, match="optimizer"):      # nnmf's own parameter checks
        NeuralNMFTransformer(3, optimizer="sgd").fit(X)
    t = NMFTransformer(3, random_state=0).fit(X)
    with pytest.raises(ValueError, match="X has 39 features"):
        t.transform(X[:, 1:])
    with pytest.raises(ValueError, match="expected 3"):
        t.inverse_transform(np.ones((2, 4)))


def test_clone_and_pickle():
    t = NeuralNMFTransformer((6, 3), loss="energy", max_iter=50, random_state=0)
    c = clone(t)
    assert c is not t and c.get_params() == t.get_params()
    assert not hasattr(c, "model_")
    X = planted()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnmf.ConvergenceWarning)
        W = t.fit_transform(X)
        np.testing.assert_array_equal(c.fit_transform(X), W)
    fitted = clone(t)                                     # clone of a fitted one: unfitted
    assert not hasattr(fitted, "model_")
    back = pickle.loads(pickle.dumps(t))
    np.testing.assert_array_equal(back.transform(X), t.transform(X))
    c.set_params(ranks=(4, 2), layer=0)
    assert c.get_params()["ranks"] == (4, 2)


# -- text pipelines --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def corpus():
    return nnmf.datasets.make_topic_corpus(90, random_state=0)


def test_pipeline_in_grid_search(corpus):
    """Pipeline(TfidfVectorizer, NeuralNMFTransformer, LogisticRegression) in GridSearchCV
    over the ranks and the layer: 9 subtopics need 9 topics (3 supertopics hold themes)."""
    pipe = Pipeline([("tfidf", TfidfVectorizer()),
                     ("nnmf", NeuralNMFTransformer((9, 3), random_state=0)),
                     ("clf", LogisticRegression())])
    grid = {"nnmf__ranks": [(9, 3), (6, 3)], "nnmf__layer": [0, -1]}
    search = GridSearchCV(pipe, grid, cv=3).fit(corpus.documents, corpus.subtopics)
    assert search.best_params_ == {"nnmf__ranks": (9, 3), "nnmf__layer": 0}
    assert search.best_score_ >= 0.9
    scores = search.cv_results_["mean_test_score"]
    again = GridSearchCV(pipe, grid, cv=3).fit(corpus.documents, corpus.subtopics)
    np.testing.assert_array_equal(again.cv_results_["mean_test_score"], scores)
    best = search.best_estimator_
    assert best.named_steps["nnmf"].transform(
        best.named_steps["tfidf"].transform(corpus.documents[:4])).shape == (4, 9)
    assert best.predict(corpus.documents[:3]).tolist() == corpus.subtopics[:3]
    # the untouched pipeline was cloned, never fitted
    assert not hasattr(pipe.named_steps["nnmf"], "model_")


def test_nmf_pipeline_grid_search(corpus):
    pipe = make_pipeline(TfidfVectorizer(), NMFTransformer(3, random_state=0),
                         LogisticRegression())
    search = GridSearchCV(pipe, {"nmftransformer__n_components": [3, 9]}, cv=3)
    search.fit(corpus.documents, corpus.subtopics)
    assert search.best_params_ == {"nmftransformer__n_components": 9}
    assert search.best_score_ >= 0.9


def test_pandas_output(corpus):
    pd = pytest.importorskip("pandas")
    tfidf = TfidfVectorizer().fit(corpus.documents)
    X = pd.DataFrame(tfidf.transform(corpus.documents).toarray(),
                     columns=tfidf.get_feature_names_out())
    t = NMFTransformer(3, random_state=0).set_output(transform="pandas").fit(X)
    out = t.transform(X)
    assert list(out.columns) == ["nmftransformer0", "nmftransformer1", "nmftransformer2"]
    assert list(t.feature_names_in_) == list(X.columns)


def test_import_nnmf_does_not_import_sklearn():
    code = "import sys, nnmf; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_without_sklearn_a_clear_import_error():
    code = "import sys; sys.modules['sklearn'] = None; import nnmf.sklearn"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode != 0
    assert "nnmf.sklearn needs scikit-learn 1.6 or later" in out.stderr


# -- the classifier ----------------------------------------------------------------------------

def semi_supervised_themes(corpus, fraction=0.2):
    """The corpus's themes as a list with -1 for the unknown ones, and the known mask."""
    known = np.random.default_rng(0).random(len(corpus.themes)) < fraction
    return [t if k else -1 for t, k in zip(corpus.themes, known)], known


def test_classifier_is_neuralnmf_on_the_transpose(corpus):
    X = TfidfVectorizer().fit_transform(corpus.documents)        # sparse CSR
    y, known = semi_supervised_themes(corpus)
    clf = NeuralNMFClassifier((9, 3), random_state=0).fit(X, y)
    model = nnmf.NeuralNMF((9, 3), classification_loss="cross_entropy",  # the wrapper's default
                           random_state=0).fit(X.T, y)
    np.testing.assert_array_equal(clf.model_.B_, model.B_)
    assert clf.classes_.tolist() == ["food", "science", "sports"]
    np.testing.assert_array_equal(clf.transduction_, model.transduction_)
    np.testing.assert_array_equal(clf.predict(X), model.predict(X.T))
    np.testing.assert_allclose(clf.predict_proba(X), model.predict_proba(X.T), atol=1e-12)
    np.testing.assert_allclose(clf.decision_function(X), model.decision_function(X.T),
                               atol=1e-12)
    np.testing.assert_allclose(clf.transform(X), model.transform(X.T).T, atol=1e-12)
    assert clf.components_.shape == (3, X.shape[1])
    themes = np.array(corpus.themes)
    assert np.mean(clf.transduction_[~known] == themes[~known]) > 0.9
    # score: accuracy on the known labels of y only
    assert clf.score(X, y) == np.mean(clf.predict(X)[known] == themes[known])


def test_classifier_in_pipeline_grid_search(corpus):
    """Semi-supervised: GridSearchCV scores each fold on its known labels."""
    y, known = semi_supervised_themes(corpus, 0.3)
    pipe = make_pipeline(TfidfVectorizer(), NeuralNMFClassifier((9, 3), random_state=0))
    search = GridSearchCV(pipe, {"neuralnmfclassifier__lam": [0.1, 1.0],
                                 "neuralnmfclassifier__ranks": [(9, 3), (6, 3)]}, cv=3)
    search.fit(corpus.documents, y)
    assert search.best_score_ >= 0.9
    again = clone(search).fit(corpus.documents, y)
    np.testing.assert_array_equal(again.cv_results_["mean_test_score"],
                                  search.cv_results_["mean_test_score"])
    themes = np.array(corpus.themes)
    assert np.mean(search.predict(corpus.documents)[~known] == themes[~known]) > 0.9


@pytest.mark.filterwarnings("ignore::nnmf.ConvergenceWarning")
def test_classifier_label_kinds():
    """check_classifiers_classes without its -1/1 problem: string and object labels, binary
    and multiclass, give classes_ and predictions of the same kind."""
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=30, random_state=0, cluster_std=0.1)
    X -= X.min()
    clf = NeuralNMFClassifier(2, max_iter=50, random_state=0)
    for labels in (["one", "two"], ["one", "two", "three"]):
        rows = y < len(labels)
        names = np.take(labels, y[rows])
        for y_ in (names, names.astype(object), names.tolist()):
            estimator_checks.check_classifiers_predictions(X[rows], y_, "NeuralNMFClassifier",
                                                           clf)
    # -1 and 1: -1 is an unlabelled sample, so one class is left
    with pytest.raises(ValueError, match="only one class"):
        clone(clf).fit(X[y < 2], np.take([-1, 1], y[y < 2]))


@pytest.mark.filterwarnings("ignore::nnmf.ConvergenceWarning")
def test_classifier_decision_proba_consistency():
    """check_decision_proba_consistency on nonnegative data: with two classes the decision
    function ranks samples as predict_proba[:, 1] does."""
    from scipy.stats import rankdata
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=100, random_state=0, n_features=4,
                      centers=[(2, 2), (4, 4)], cluster_std=1.0)
    X -= X.min()
    clf = NeuralNMFClassifier(2, max_iter=50, random_state=0).fit(X[:80], y[:80])
    proba, decision = clf.predict_proba(X[80:])[:, 1], clf.decision_function(X[80:])
    assert decision.shape == (20,)
    np.testing.assert_array_equal(rankdata(proba.round(10)), rankdata(decision.round(10)))
    np.testing.assert_array_equal(clf.classes_[(decision > 0).astype(int)], clf.predict(X[80:]))


def test_classifier_errors():
    from sklearn.exceptions import DataConversionWarning

    X = planted()
    y = np.arange(60) % 3
    clf = NeuralNMFClassifier(3, random_state=0)
    with pytest.raises(ValueError, match="requires y to be passed"):
        clf.fit(X, None)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        clf.fit(X, y + 0.5)
    with pytest.raises(ValueError, match="mixes numbers and strings"):
        clf.fit(X, ["a", 1, "b"] * 20)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.fit(X, y[:-1])
    with pytest.warns(DataConversionWarning):
        column = clone(clf).fit(X, y[:, None])
    np.testing.assert_array_equal(column.model_.B_, clone(clf).fit(X, y).model_.B_)
    fitted = clone(clf).fit(X, y)
    with pytest.raises(ValueError, match="mixes numbers and strings"):
        fitted.score(X, ["a", 1, "b"] * 20)
    unsupervised = NeuralNMFTransformer(3, random_state=0).fit(X)
    assert not hasattr(unsupervised, "predict")
