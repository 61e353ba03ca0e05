"""Class labels: one rule for unknown labels (None, NaN, pandas' NA, -1, "-1", "") that holds for
lists, numpy arrays of every dtype and pandas Series, through every supervised estimator; a mix
of numbers and strings is refused rather than guessed at."""

import warnings

import numpy as np
import pytest

import nnmf
from nnmf._utils.labels import check_labels, encode_labels

# names of the classes 0..3, in sorted order: the codes, hence the fits, are those of 0..3
NAMES = np.array(["corn", "oats", "rye", "wheat"])


@pytest.fixture(scope="module")
def data():
    """The paper's synthetic data: 90 columns, 4 classes, 40 % of the labels known."""
    d = nnmf.datasets.load_synthetic_noise()
    return d.X, d.labels["middle"], d.known[40]


def estimators():
    return [nnmf.NeuralNMF((9, 4), max_iter=30, random_state=0),
            nnmf.SSNMF(4, max_iter=50, random_state=0),
            nnmf.HierarchicalNMF((9, 4), max_iter=50, random_state=0),
            nnmf.DeepNMF((9, 4), max_iter=20, random_state=0)]


def fit(estimator, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnmf.ConvergenceWarning)
        return estimator.fit(X, y, **kwargs)


def fresh(estimator):
    return type(estimator)(**estimator.get_params())


def by_name(estimator):
    return type(estimator).__name__


# -- the reported bug: a plain list of strings with -1 for "unknown" -------------------------

@pytest.mark.parametrize("estimator", estimators(), ids=by_name)
def test_string_list_with_minus_one_is_not_a_class(data, estimator):
    """``fit(X, ["a", "b", -1, ...])`` made '-1' a class (classes_ == ['-1', 'a', 'b']): on a
    corpus the semi-supervised accuracy fell from 0.85 to 0.23 without a warning. -1 is an
    unknown label: the fit is the one with integer labels."""
    X, y, known = data
    y_list = [str(NAMES[c]) if k else -1 for c, k in zip(y, known)]
    model = fit(estimator, X, y_list)
    assert model.classes_.tolist() == NAMES.tolist()
    reference = fit(fresh(estimator), X, np.where(known, y, -1))
    np.testing.assert_array_equal(model.B_, reference.B_)
    np.testing.assert_array_equal(model.transduction_, NAMES[reference.transduction_])
    hidden = ~known
    accuracy = np.mean(model.transduction_[hidden] == NAMES[y][hidden])
    assert accuracy == np.mean(reference.transduction_[hidden] == y[hidden]) > 0.8


# -- every container and dtype: the same classes and codes -----------------------------------

def string_labels(y, known):
    """String labels with unknowns, in every form the rule covers: (id, labels)."""
    names = NAMES[y]
    cases = [
        ("list, -1", [str(v) if k else -1 for v, k in zip(names, known)]),
        ("list, None", [str(v) if k else None for v, k in zip(names, known)]),
        ("list, '-1'", [str(v) if k else "-1" for v, k in zip(names, known)]),
        ("list, ''", [str(v) if k else "" for v, k in zip(names, known)]),
        ("list, NaN", [str(v) if k else float("nan") for v, k in zip(names, known)]),
        ("<U, '-1'", np.where(known, names, "-1")),
        ("<U, ''", np.where(known, names, "")),
        ("<U, ' -1 '", np.where(known, names, " -1 ")),
        ("object, None", np.where(known, names.astype(object), None)),
        ("object, -1", np.where(known, names.astype(object), -1)),
        ("object, NaN", np.where(known, names.astype(object), np.nan)),
    ]
    mixed = np.where(known, names.astype(object), None)
    mixed[np.flatnonzero(~known)[::3]] = -1               # None and -1 in one array
    mixed[np.flatnonzero(~known)[1::3]] = np.nan
    cases.append(("object, None/-1/NaN", mixed))
    return cases


def integer_labels(y, known):
    return [
        ("list, -1", [int(v) if k else -1 for v, k in zip(y, known)]),
        ("list, None", [int(v) if k else None for v, k in zip(y, known)]),
        ("int64, -1", np.where(known, y, -1).astype(np.int64)),
        ("int32, -1", np.where(known, y, -1).astype(np.int32)),
        ("int8, -1", np.where(known, y, -1).astype(np.int8)),
        ("float64, NaN", np.where(known, y, np.nan)),
        ("float64, -1", np.where(known, y, -1.0)),
        ("float32, NaN", np.where(known, y, np.nan).astype(np.float32)),
        ("object, None", np.where(known, y.astype(object), None)),
        ("object, NaN", np.where(known, y.astype(object), np.nan)),
    ]


def pandas_labels(y, known):
    pd = pytest.importorskip("pandas")
    names = NAMES[y]
    strings = [
        ("Series object, None", pd.Series(np.where(known, names.astype(object), None))),
        ("Series object, -1", pd.Series(np.where(known, names.astype(object), -1))),
        ("Series string, NA", pd.Series(np.where(known, names, None), dtype="string")),
        ("Series category, NaN", pd.Series(np.where(known, names, None), dtype="category")),
        ("Series, NaN", pd.Series([v if k else np.nan for v, k in zip(names, known)])),
    ]
    integers = [
        ("Series int64, -1", pd.Series(np.where(known, y, -1))),
        ("Series float64, NaN", pd.Series(np.where(known, y, np.nan))),
        ("Series Int64, NA", pd.Series([int(v) if k else None for v, k in zip(y, known)],
                                       dtype="Int64")),
        ("Series Int64, -1", pd.Series(np.where(known, y, -1), dtype="Int64")),
    ]
    return strings, integers


def test_every_form_encodes_the_same(data):
    _, y, known = data
    codes = np.where(known, y, -1)
    strings, integers = string_labels(y, known), integer_labels(y, known)
    try:
        more_strings, more_integers = pandas_labels(y, known)
    except pytest.skip.Exception:
        more_strings, more_integers = [], []
    for name, labels in strings + more_strings:
        classes, got = encode_labels(labels)
        assert classes.tolist() == NAMES.tolist(), name
        assert classes.dtype.kind == "U", name
        np.testing.assert_array_equal(got, codes, err_msg=name)
    for name, labels in integers + more_integers:
        classes, got = encode_labels(labels)
        assert classes.tolist() == [0, 1, 2, 3], name
        assert classes.dtype == np.int64, name
        np.testing.assert_array_equal(got, codes, err_msg=name)


def _cases(kind):
    d = nnmf.datasets.load_synthetic_noise()
    y, known = d.labels["middle"], d.known[40]
    cases = string_labels(y, known) if kind == "str" else integer_labels(y, known)
    return [pytest.param(labels, id=name) for name, labels in cases]


@pytest.mark.parametrize("labels", _cases("str") + _cases("int"))
def test_neuralnmf_fits_the_same_from_every_form(data, labels):
    X, y, known = data
    reference = fit(nnmf.NeuralNMF((9, 4), max_iter=30, random_state=0), X,
                    np.where(known, y, -1))
    model = fit(nnmf.NeuralNMF((9, 4), max_iter=30, random_state=0), X, labels)
    np.testing.assert_array_equal(model.B_, reference.B_)
    strings = model.classes_.dtype.kind == "U"
    expected = NAMES if strings else np.arange(4)
    assert model.classes_.tolist() == expected.tolist()
    np.testing.assert_array_equal(model.transduction_, expected[reference.transduction_])


def test_neuralnmf_fits_the_same_from_every_series(data):
    X, y, known = data
    strings, integers = pandas_labels(y, known)
    reference = fit(nnmf.NeuralNMF((9, 4), max_iter=30, random_state=0), X,
                    np.where(known, y, -1))
    for (name, labels), expected in [(c, NAMES) for c in strings] + [
            (c, np.arange(4)) for c in integers]:
        model = fit(nnmf.NeuralNMF((9, 4), max_iter=30, random_state=0), X, labels)
        np.testing.assert_array_equal(model.B_, reference.B_, err_msg=name)
        assert model.classes_.tolist() == expected.tolist(), name
        np.testing.assert_array_equal(model.transduction_, expected[reference.transduction_],
                                      err_msg=name)


@pytest.mark.parametrize("estimator", estimators()[1:], ids=by_name)
@pytest.mark.parametrize("kind", ["list", "<U", "object", "float", "Series"])
def test_baselines_fit_the_same_from_every_container(data, estimator, kind):
    X, y, known = data
    names = NAMES[y]
    if kind == "list":
        labels = [str(v) if k else -1 for v, k in zip(names, known)]
    elif kind == "<U":
        labels = np.where(known, names, "-1")
    elif kind == "object":
        labels = np.where(known, names.astype(object), None)
    elif kind == "float":
        labels = np.where(known, y, np.nan)
    else:
        pd = pytest.importorskip("pandas")
        labels = pd.Series(np.where(known, names, None), dtype="string")
    reference = fit(fresh(estimator), X, np.where(known, y, -1))
    model = fit(estimator, X, labels)
    np.testing.assert_array_equal(model.B_, reference.B_)
    expected = np.arange(4) if kind == "float" else NAMES
    assert model.classes_.tolist() == expected.tolist()
    np.testing.assert_array_equal(model.transduction_, expected[reference.transduction_])


def test_label_mask_and_unknown_labels_combine(data):
    """label_mask False hides a known label; True never makes an unknown one known."""
    X, y, known = data
    y_list = [str(NAMES[c]) if k else -1 for c, k in zip(y, known)]
    masked = fit(nnmf.NeuralNMF((9, 4), max_iter=30, random_state=0), X, y_list,
                 label_mask=np.ones(y.size, dtype=bool))
    plain = fit(nnmf.NeuralNMF((9, 4), max_iter=30, random_state=0), X, y_list)
    np.testing.assert_array_equal(masked.B_, plain.B_)
    full = [str(v) for v in NAMES[y]]
    hidden = fit(nnmf.NeuralNMF((9, 4), max_iter=30, random_state=0), X, full,
                 label_mask=known)
    np.testing.assert_array_equal(hidden.B_, plain.B_)
    _, _, got = check_labels(y_list, y.size, label_mask=np.ones(y.size, dtype=bool))
    np.testing.assert_array_equal(got, known)


def test_score_skips_unknown_labels(data):
    X, y, known = data
    model = fit(nnmf.NeuralNMF((9, 4), max_iter=30, random_state=0), X,
                [str(NAMES[c]) if k else -1 for c, k in zip(y, known)])
    pred = model.predict(X)
    expected = np.mean(pred[known] == NAMES[y][known])
    assert model.score(X, [str(NAMES[c]) if k else -1 for c, k in zip(y, known)]) == expected
    assert model.score(X, np.where(known, NAMES[y], "")) == expected
    assert model.score(X, np.where(known, NAMES[y].astype(object), None)) == expected


# -- numbers as strings, and what is refused --------------------------------------------------

def test_numeric_strings_sort_as_numbers():
    classes, codes = encode_labels(["10", "2", "-1", "1", "", "2"])
    assert classes.tolist() == ["1", "2", "10"]
    assert codes.tolist() == [2, 1, -1, 0, -1, 1]
    classes, codes = encode_labels(np.array([3.0, 1.0, -1.0, np.nan]))   # integral floats
    assert classes.tolist() == [1, 3] and codes.tolist() == [1, 0, -1, -1]


@pytest.mark.parametrize("labels", [
    ["a", 1, "b"],                                        # a list
    ["1", 2, "3"],                                        # numbers and numeric strings
    np.array(["a", 2, "b", None], dtype=object),          # an object array
], ids=["list", "numeric strings", "object array"])
def test_numbers_mixed_with_strings_are_refused(data, labels):
    X, _, _ = data
    n = len(labels)
    with pytest.raises(ValueError, match="mixes numbers and strings"):
        encode_labels(labels)
    with pytest.raises(ValueError, match="mixes numbers and strings"):
        nnmf.NeuralNMF((3, 2), max_iter=5).fit(X[:, :n], labels)
    with pytest.raises(ValueError, match="mixes numbers and strings"):
        nnmf.SSNMF(2, max_iter=5).fit(X[:, :n], labels)


def test_mixed_pandas_series_is_refused():
    pd = pytest.importorskip("pandas")
    with pytest.raises(ValueError, match="mixes numbers and strings"):
        encode_labels(pd.Series(["a", 1, "b", None]))


@pytest.mark.parametrize("labels, error, match", [
    ([0.5, 1.0, 2.0], ValueError, "fractions"),
    ([1.0, np.inf, 2.0], ValueError, "infinity"),
    ([True, False, True], TypeError, "integers or strings, got bool"),
    ([[0, 1], [1, 0], [0, 1]], ValueError, "1-D"),
])
def test_other_labels_are_refused(labels, error, match):
    with pytest.raises(error, match=match):
        check_labels(labels, 3)


def test_all_unknown_or_one_class_is_an_error(data):
    X, y, _ = data
    with pytest.raises(ValueError, match="no known labels"):
        nnmf.NeuralNMF((9, 4)).fit(X, [None] * y.size)
    with pytest.raises(ValueError, match="only one class"):
        nnmf.HierarchicalNMF((9, 4)).fit(X, ["a"] + ["-1"] * (y.size - 1))
