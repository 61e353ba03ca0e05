"""Model files: save/load round trips for every estimator, the metadata, and refusals."""

import json
import warnings
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp

import nnmf
from nnmf._utils.estimator import BaseEstimator
from nnmf import DeepNMF
from nnmf import HierarchicalNMF
from nnmf import NMF
from nnmf.io import FORMAT_VERSION
from nnmf import SSNMF


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.random((25, 5)) @ rng.random((5, 3)) @ rng.random((3, 40))
    y = np.array(["red", "green", "blue", "green"] * 10, dtype=object)
    y[::7] = None  # some unknown
    return X, y


def fit(model, X, *args, **kwargs):
    with warnings.catch_warnings():  # short fits: convergence is not the point here
        warnings.simplefilter("ignore", nnmf.ConvergenceWarning)
        return model.fit(X, *args, **kwargs)


ESTIMATORS = {
    "NeuralNMF": lambda X, y: fit(nnmf.NeuralNMF((5, 3), max_iter=15, random_state=0), X),
    "NeuralNMF-supervised": lambda X, y: fit(
        nnmf.NeuralNMF([5, 3], lam=0.5, max_iter=15, random_state=0), X, y),
    "NMF": lambda X, y: fit(NMF(4, max_iter=30, random_state=0), X),
    "HierarchicalNMF": lambda X, y: fit(HierarchicalNMF((5, 3), max_iter=30, random_state=0), X),
    "DeepNMF": lambda X, y: fit(DeepNMF((5, 3), max_iter=30, random_state=0), X),
    "SSNMF": lambda X, y: fit(SSNMF(4, max_iter=50, random_state=0), X, y),
}


def assert_same(a, b, where="value"):
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), where
        assert a.dtype == b.dtype and a.shape == b.shape, where
        if a.dtype.kind == "f":
            np.testing.assert_array_equal(a, b, err_msg=where)
        else:
            assert a.tolist() == b.tolist(), where
    elif sp.issparse(a):
        assert sp.issparse(b) and (a != b).nnz == 0, where
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (u, v) in enumerate(zip(a, b)):
            assert_same(u, v, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b and type(a) is type(b) or (a == b and isinstance(a, (int, float))), where


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_round_trip(name, data, tmp_path):
    X, y = data
    model = ESTIMATORS[name](X, y)
    path = nnmf.save_model(model, tmp_path / "model.npz")
    loaded = nnmf.load_model(path)
    assert type(loaded) is type(model)
    assert_same(model.get_params(), loaded.get_params(), "params")
    assert model._fitted_attributes() == loaded._fitted_attributes()
    for attr in model._fitted_attributes():
        assert_same(getattr(model, attr), getattr(loaded, attr), attr)
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))
    if getattr(model, "B_", None) is not None:
        assert loaded.predict(X).tolist() == model.predict(X).tolist()
    # Never pickled: every array loads without pickle support.
    with np.load(path, allow_pickle=False) as archive:
        assert all(archive[k].dtype.kind != "O" for k in archive.files)


def test_every_public_estimator_is_covered():
    public = {n for n in nnmf.__all__
              if isinstance(getattr(nnmf, n), type)
              and issubclass(getattr(nnmf, n), BaseEstimator)}
    covered = {n.split("-")[0] for n in ESTIMATORS}
    assert public <= covered


def test_metadata_vocabulary_and_corpus(data, tmp_path):
    X, y = data
    model = ESTIMATORS["NeuralNMF"](X, y)
    words = [f"word{i}" for i in range(25)]
    corpus = nnmf.Corpus(X, words, [f"doc{j}" for j in range(40)],
                         np.arange(40) % 3 - 1 * (np.arange(40) % 5 == 0), ["a", "b", "c"],
                         {"kind": "tfidf", "ngram_range": [1, 2]}, np.linspace(1, 2, 25))
    nnmf.save_model(model, tmp_path / "m.npz", corpus=corpus)
    with np.load(tmp_path / "m.npz", allow_pickle=False) as archive:
        meta = json.loads(str(archive["__nnmf__"]))
    assert meta["format"] == "nnmf-model" and meta["format_version"] == FORMAT_VERSION
    assert meta["class"] == "NeuralNMF" and meta["ranks"] == [5, 3]
    assert meta["library_version"] == nnmf.__version__
    assert meta["params"]["ranks"] == {"__tuple__": [5, 3]} and meta["params"]["max_iter"] == 15
    loaded, info = nnmf.load_model(tmp_path / "m.npz", return_corpus=True)
    assert isinstance(loaded, nnmf.NeuralNMF)
    assert info.X is None and info.vocabulary == words and info.doc_ids == corpus.doc_ids
    assert info.labels.tolist() == corpus.labels.tolist() and info.label_names == ["a", "b", "c"]
    assert info.vectorizer == corpus.vectorizer
    np.testing.assert_array_equal(info.idf, corpus.idf)
    # A folder holding model.npz loads too; vocabulary alone is enough.
    nnmf.save_model(model, tmp_path / "model.npz", vocabulary=words)
    _, info = nnmf.load_model(tmp_path, return_corpus=True)
    assert info.vocabulary == words and info.doc_ids == [] and info.labels is None
    with pytest.raises(ValueError, match="the vocabulary has 3 words but the model has 25 rows"):
        nnmf.save_model(model, tmp_path / "x.npz", vocabulary=["a", "b", "c"])


def rewrite_metadata(path, change):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    meta = json.loads(str(arrays["__nnmf__"]))
    change(meta)
    arrays["__nnmf__"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)


def test_newer_format_is_refused(data, tmp_path):
    X, y = data
    path = nnmf.save_model(ESTIMATORS["NMF"](X, y), tmp_path / "m.npz")
    rewrite_metadata(path, lambda m: m.update(format_version=FORMAT_VERSION + 1,
                                              library_version="9.0"))
    with pytest.raises(ValueError, match=rf"was written by nnmf 9.0 in model format version "
                                         rf"{FORMAT_VERSION + 1}; this nnmf .* reads format "
                                         rf"versions up to {FORMAT_VERSION}: upgrade nnmf"):
        nnmf.load_model(path)


def test_bad_files(data, tmp_path):
    X, y = data
    with pytest.raises(FileNotFoundError, match="no such model file"):
        nnmf.load_model(tmp_path / "missing.npz")
    with pytest.raises(FileNotFoundError, match="no model.npz in the folder"):
        nnmf.load_model(tmp_path)
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="is not an nnmf model file"):
        nnmf.load_model(tmp_path / "text.npz")
    np.savez(tmp_path / "plain.npz", x=np.ones(3))
    with pytest.raises(ValueError, match="is not an nnmf model file .*no __nnmf__ metadata"):
        nnmf.load_model(tmp_path / "plain.npz")
    path = nnmf.save_model(ESTIMATORS["NMF"](X, y), tmp_path / "m.npz")
    rewrite_metadata(path, lambda m: m.update({"class": "os.system"}))
    with pytest.raises(ValueError, match="holds a 'os.system', which this nnmf .* does not have"):
        nnmf.load_model(path)
    rewrite_metadata(path, lambda m: m.update({"class": "NMF", "format": "other"}))
    with pytest.raises(ValueError, match="is not an nnmf model file"):
        nnmf.load_model(path)
    # An object array (which would need pickle) is never read.
    np.savez(tmp_path / "obj.npz", __nnmf__=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="is not an nnmf model file"):
        nnmf.load_model(tmp_path / "obj.npz")
    assert zipfile.is_zipfile(path)


def test_save_refusals_and_unsaved_parameters(data, tmp_path):
    X, y = data
    with pytest.raises(nnmf.NotFittedError):
        nnmf.save_model(nnmf.NeuralNMF((2,)), tmp_path / "m.npz")
    with pytest.raises(TypeError, match="save_model saves nnmf estimators, got dict"):
        nnmf.save_model({}, tmp_path / "m.npz")
    model = ESTIMATORS["NMF"](X, y)
    with pytest.raises(FileNotFoundError, match="the folder .*nowhere does not exist"):
        nnmf.save_model(model, tmp_path / "nowhere" / "m.npz")
    model.set_params(random_state=np.random.default_rng(1))
    with pytest.warns(UserWarning, match="not saved .*: random_state; the loaded model gets "
                                         "their defaults"):
        nnmf.save_model(model, tmp_path / "m.npz")
    assert nnmf.load_model(tmp_path / "m.npz").random_state is None
    model.set_params(random_state=0)
    model.extra_ = object()
    with pytest.raises(TypeError, match="cannot save NMF: attribute extra_ is a object"):
        nnmf.save_model(model, tmp_path / "m.npz")


def test_values_of_every_kind(tmp_path, data):
    """Arrays of any dtype, sparse matrices, nested lists/tuples/dicts, NaN and inf."""
    X, y = data
    model = ESTIMATORS["NMF"](X, y)
    model.misc_ = {"nan": float("nan"), "inf": -np.inf, "ints": np.arange(3, dtype=np.int32),
                   "nested": [(1, "a"), {"b": np.float32(2.5)}], "flag": np.bool_(True),
                   "sparse": sp.random(4, 5, density=0.5, random_state=0, format="csr"),
                   "strings": np.array(["x", "yz"]), "none": None}
    nnmf.save_model(model, tmp_path / "m.npz")
    misc = nnmf.load_model(tmp_path / "m.npz").misc_
    assert np.isnan(misc["nan"]) and misc["inf"] == -np.inf and misc["flag"] is True
    assert misc["ints"].dtype == np.int32 and misc["nested"] == [(1, "a"), {"b": 2.5}]
    assert (misc["sparse"] != model.misc_["sparse"]).nnz == 0 and misc["sparse"].format == "csr"
    assert misc["strings"].tolist() == ["x", "yz"] and misc["none"] is None
