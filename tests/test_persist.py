"""Model files: save/load round trips for every estimator, the metadata, and refusals."""

import io
import json
import os
import re
import stat
import struct
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
from nnmf.exceptions import ModelFileError
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
    with pytest.raises(FileNotFoundError, match="missing.npz: no such model file"):
        nnmf.load_model(tmp_path / "missing.npz")
    with pytest.raises(FileNotFoundError, match="no model.npz in the folder"):
        nnmf.load_model(tmp_path)
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ModelFileError, match="text.npz is not an nnmf model file"):
        nnmf.load_model(tmp_path / "text.npz")
    np.save(tmp_path / "single.npy", np.ones(3))
    with pytest.raises(ModelFileError, match="a single .npy array, not an .npz archive"):
        nnmf.load_model(tmp_path / "single.npy")
    np.savez(tmp_path / "plain.npz", x=np.ones(3))
    with pytest.raises(ModelFileError, match="is not an nnmf model file .*no __nnmf__ metadata"):
        nnmf.load_model(tmp_path / "plain.npz")
    path = nnmf.save_model(ESTIMATORS["NMF"](X, y), tmp_path / "m.npz")
    rewrite_metadata(path, lambda m: m.update({"class": "os.system"}))
    with pytest.raises(ModelFileError, match="holds a 'os.system', which this nnmf .* does not "
                                             "have"):
        nnmf.load_model(path)
    rewrite_metadata(path, lambda m: m.update({"class": "NMF", "format": "other"}))
    with pytest.raises(ModelFileError, match="is not an nnmf model file"):
        nnmf.load_model(path)
    # An object array (which would need pickle) is never read.
    np.savez(tmp_path / "obj.npz", __nnmf__=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ModelFileError, match="is not an nnmf model file"):
        nnmf.load_model(tmp_path / "obj.npz")
    assert zipfile.is_zipfile(path)
    assert issubclass(ModelFileError, ValueError) and nnmf.ModelFileError is ModelFileError


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


# -- damaged and hostile files: a ModelFileError naming the file, never anything else -----------

@pytest.fixture(scope="module")
def supervised(data):
    X, y = data
    return ESTIMATORS["NeuralNMF-supervised"](X, y)


def members(path):
    with zipfile.ZipFile(path) as z:
        return {info.filename: z.read(info) for info in z.infolist()}


def write_members(path, items, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for name, blob in items.items():
            z.writestr(name, blob)
    return path


def array_member(path, where):
    """The archive member name of a fitted attribute's array (``where``: a path of keys into
    the metadata, e.g. ("fitted", "A_", 0))."""
    with np.load(path, allow_pickle=False) as archive:
        node = json.loads(str(archive["__nnmf__"]))
    for key in where:
        node = node[key]
    return (node if isinstance(node, str) else node["__array__"]) + ".npy"


def npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def replace_array(path, where, array):
    items = members(path)
    items[array_member(path, where)] = npy(array)
    return write_members(path, items)


def refused(path, match, **kwargs):
    with pytest.raises(ModelFileError, match=match) as info:
        nnmf.load_model(path, **kwargs)
    assert str(info.value).startswith(str(path)), str(info.value)
    return str(info.value)


def test_truncated_and_corrupt_archives(supervised, tmp_path):
    good = nnmf.save_model(supervised, tmp_path / "good.npz")
    raw = good.read_bytes()
    (tmp_path / "half.npz").write_bytes(raw[:len(raw) // 2])
    refused(tmp_path / "half.npz", "is damaged .*save the model again")
    (tmp_path / "empty.npz").write_bytes(b"")
    refused(tmp_path / "empty.npz", "is not an nnmf model file")
    # A flipped byte inside an array: a bad checksum or a broken deflate stream.
    items = members(good)
    name = array_member(good, ("fitted", "A_", 0))
    write_members(tmp_path / "stored.npz", items, zipfile.ZIP_STORED)
    blob = bytearray((tmp_path / "stored.npz").read_bytes())
    at = bytes(blob).index(items[name][-64:])
    blob[at] ^= 0xFF
    (tmp_path / "crc.npz").write_bytes(bytes(blob))
    refused(tmp_path / "crc.npz", r"is damaged \(the array 'a\d+': BadZipFile: Bad CRC-32")
    items[name] = items[name][:-8]  # shorter than its header promises
    refused(write_members(tmp_path / "short.npz", items), "declares .* bytes where its header "
                                                          "promises")


def test_declared_sizes_are_checked_before_decompressing(supervised, tmp_path):
    good = nnmf.save_model(supervised, tmp_path / "good.npz")
    name = array_member(good, ("fitted", "A_", 0))
    # A header declaring 10**12 elements over a few bytes of data.
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
    items = members(good)
    items[name] = header.getvalue() + bytes(64)
    refused(write_members(tmp_path / "huge.npz", items), "header promises 8000000000")
    # The zip directory agreeing with that header, over a few compressed bytes.
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (20000, 20000)})
    items[name] = header.getvalue() + bytes(64)
    path = write_members(tmp_path / "forged.npz", items)
    blob = bytearray(path.read_bytes())
    entry = blob.index(b"PK\x01\x02")  # the central directory: the entry of the member
    while blob[entry + 46:entry + 46 + len(name)] != name.encode():
        entry = blob.index(b"PK\x01\x02", entry + 4)
    struct.pack_into("<I", blob, entry + 24, len(header.getvalue()) + 20000 * 20000 * 8)
    path.write_bytes(bytes(blob))
    refused(path, "more than its .* compressed bytes can hold")
    # Metadata nested too deep, or not JSON.
    with np.load(good, allow_pickle=False) as archive:
        text = str(archive["__nnmf__"])
    items = members(good)
    items["__nnmf__.npy"] = npy(np.array(text.replace('"fitted": {', '"fitted": {"deep_": '
                                                      + "[" * 5000 + "]" * 5000 + ", ")))
    refused(write_members(tmp_path / "deep.npz", items), "nests deeper than")
    items["__nnmf__.npy"] = npy(np.array(text[:-10]))
    refused(write_members(tmp_path / "cut.npz", items), "the model metadata is not valid JSON")


def test_only_the_referenced_members_are_read(supervised, tmp_path, monkeypatch):
    words = [f"w{i}" for i in range(25)]
    good = nnmf.save_model(supervised, tmp_path / "good.npz", vocabulary=words)
    with np.load(good, allow_pickle=False) as archive:
        meta = json.loads(str(archive["__nnmf__"]))
    model_arrays = {f"{name}.npy" for name in re.findall(
        r'"__array__": "(\w+)"', json.dumps([meta["fitted"], meta["params"]]))}
    with zipfile.ZipFile(good, "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("junk.npy", bytes(20_000_000))  # 20 MB of zeros in a few kB
    assert good.stat().st_size < 200_000
    opened = []
    real_open = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        opened.append(name if isinstance(name, str) else name.filename)
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    assert isinstance(nnmf.load_model(good), nnmf.NeuralNMF)
    assert set(opened) == model_arrays | {"__nnmf__.npy"}  # not junk.npy, nor the vocabulary
    opened.clear()
    assert nnmf.load_model(good, return_corpus=True)[1].vocabulary == words
    assert array_member(good, ("vocabulary",)) in opened and "junk.npy" not in opened


@pytest.mark.parametrize("change, match", [
    (lambda m: m.update(fitted=[1, 2]), "the metadata's 'fitted' is a list where an object"),
    (lambda m: m.update(params="x"), "the metadata's 'params' is a string"),
    (lambda m: m["fitted"].update(transform=1), "it sets 'transform', which is not a fitted"),
    (lambda m: m["fitted"].update(__dict__={"__dict__": {}}), "it sets '__dict__'"),
    (lambda m: m["fitted"].update(_private_=1), "it sets '_private_'"),
    (lambda m: m["fitted"].update(n_features_in_=7), "n_features_in_ is 7 but A_ has 25 rows"),
    (lambda m: m["fitted"].update(n_iter_=-3), "n_iter_ is -3"),
    (lambda m: m["fitted"].update(A_={"__array__": "a0"}), "A_ is .*not a list of matrices"),
    (lambda m: m["fitted"]["A_"].reverse(), r"A_\[1\] has shape \(25, 5\) but A_\[0\]"),
    (lambda m: m["fitted"].update(S_=m["fitted"]["S_"][:1]), "S_ has shapes"),
    (lambda m: m["fitted"].update(classes_=None), "B_ scores 3 classes but classes_ has none"),
    (lambda m: m["fitted"]["A_"][0].update(__array__="nowhere"),
     "refers to the array 'nowhere', which is missing"),
    (lambda m: m["fitted"]["A_"][0].update(__array__="__nnmf__"), "not an array name"),
    (lambda m: m["fitted"].update(x_={"__pickle__": "..."}), "unreadable entry"),
    (lambda m: m["fitted"].update(x_={"__float__": "one"}), "'one' is not a number"),
    (lambda m: m["params"].update(lam=-1), "parameter lam must be"),
    (lambda m: m["params"].update(ranks="abc"), "parameter ranks must be"),
    (lambda m: m.update(ranks=[4, 3]), r"ranks \[4, 3\] are not those of A_"),
    (lambda m: m.update(format_version="1"), "invalid model format version '1'"),
])
def test_invalid_metadata(supervised, tmp_path, change, match):
    path = nnmf.save_model(supervised, tmp_path / "m.npz")
    rewrite_metadata(path, change)
    refused(path, match)


@pytest.mark.parametrize("where, value, match", [
    (("fitted", "B_"), np.full((3, 3), np.nan), "B_ has NaN or infinite entries"),
    (("fitted", "A_", 1), -np.ones((5, 3)), r"A_\[1\] has negative entries"),
    (("fitted", "S_", 0), np.full((5, 40), np.inf), r"S_\[0\] has NaN or infinite"),
    (("fitted", "A_", 0), np.ones((25, 5), dtype=np.int64), "not a float32 or float64 matrix"),
    (("fitted", "A_", 0), np.ones((25, 6)), r"A_\[1\] has shape \(5, 3\) but A_\[0\] has 6"),
    (("fitted", "B_"), np.ones((3, 4)), "B_ has shape .* but the top layer has 3 topics"),
    (("fitted", "A_", 0), np.array(["x"] * 5), "not a float32 or float64 matrix"),
])
def test_arrays_are_validated_like_fitted_ones(supervised, tmp_path, where, value, match):
    path = nnmf.save_model(supervised, tmp_path / "m.npz")
    replace_array(path, where, value)
    refused(path, match)


def test_a_nan_classifier_no_longer_predicts_class_0(supervised, data, tmp_path):
    X, _ = data
    path = nnmf.save_model(supervised, tmp_path / "m.npz")
    replace_array(path, ("fitted", "B_"), np.full((3, 3), np.nan))
    refused(path, "B_ has NaN")
    # Only the estimator's own names: a property of NMF cannot be set either.
    path = nnmf.save_model(ESTIMATORS["NMF"](*data), tmp_path / "nmf.npz")
    rewrite_metadata(path, lambda m: m["fitted"].update(components_=1))
    refused(path, "it sets 'components_'")


def test_invalid_corpus_description(supervised, tmp_path):
    words = [f"w{i}" for i in range(25)]
    corpus = nnmf.Corpus(None, words, [f"d{j}" for j in range(4)], np.array([0, 1, -1, 1]),
                         ["a", "b"], {"kind": "tfidf", "stop_words": None,
                                      "ngram_range": [1, 1]}, np.linspace(1, 2, 25))
    path = nnmf.save_model(supervised, tmp_path / "m.npz", corpus=corpus)
    assert nnmf.load_model(path, return_corpus=True)[1].label_names == ["a", "b"]
    replace_array(path, ("corpus", "labels"), np.array([0, 1, 5, 1]))
    refused(path, "corpus labels are not codes of its 2 label names", return_corpus=True)
    nnmf.load_model(path)  # the corpus description is read only when asked for
    path = nnmf.save_model(supervised, tmp_path / "m.npz", corpus=corpus)
    replace_array(path, ("corpus", "idf"), np.linspace(1, 2, 24))
    refused(path, "corpus idf has 24 weights for 25 words", return_corpus=True)
    path = nnmf.save_model(supervised, tmp_path / "m.npz", corpus=corpus)
    rewrite_metadata(path, lambda m: m["corpus"]["vectorizer"]["__dict__"].update(kind="bag"))
    refused(path, "is not a vectorizer's settings", return_corpus=True)
    path = nnmf.save_model(supervised, tmp_path / "m.npz", corpus=corpus)
    replace_array(path, ("vocabulary",), np.array(words[:20]))
    refused(path, "the vocabulary has 20 words but the model has 25 rows", return_corpus=True)


def test_bad_sparse_values_are_refused(data, tmp_path):
    model = ESTIMATORS["NMF"](*data)
    model.extra_ = sp.random(4, 5, density=0.5, random_state=0, format="csr")
    path = nnmf.save_model(model, tmp_path / "m.npz")
    replace_array(path, ("fitted", "extra_", "indices"),
                  np.full(model.extra_.nnz, 99, dtype=np.int32))
    refused(path, "extra_")


def test_model_files_follow_the_umask(data, tmp_path):
    model = ESTIMATORS["NMF"](*data)
    old = os.umask(0o022)
    try:
        path = nnmf.save_model(model, tmp_path / "m.npz")
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        os.umask(0o077)
        path = nnmf.save_model(model, tmp_path / "private.npz")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz", "private.npz"]
    with pytest.raises(IsADirectoryError, match="it is a folder"):
        nnmf.save_model(model, tmp_path)


def test_unreadable_file(data, tmp_path, monkeypatch):
    path = nnmf.save_model(ESTIMATORS["NMF"](*data), tmp_path / "m.npz")

    def denied(file, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(file))

    monkeypatch.setattr(nnmf.io, "open", denied, raising=False)  # as chmod 0 does (not as root)
    with pytest.raises(PermissionError, match=f"^{re.escape(str(path))}: cannot open the model "
                                              r"file \(Permission denied\)$"):
        nnmf.load_model(path)


def test_unknown_parameters_are_ignored_with_a_warning(data, tmp_path):
    path = nnmf.save_model(ESTIMATORS["NMF"](*data), tmp_path / "m.npz")
    rewrite_metadata(path, lambda m: m["params"].update(frobnicate={"__array__": "missing"}))
    with pytest.warns(UserWarning, match="ignoring parameters .*: frobnicate"):
        nnmf.load_model(path)


def test_random_damage_gives_only_model_file_errors(supervised, tmp_path):
    """Flipped bytes anywhere (compressed and stored archives) and truncations: the file loads
    or raises ModelFileError naming it, never another exception."""
    words = [f"w{i}" for i in range(25)]
    compressed = nnmf.save_model(supervised, tmp_path / "c.npz", vocabulary=words)
    stored = write_members(tmp_path / "s.npz", members(compressed), zipfile.ZIP_STORED)
    rng = np.random.default_rng(0)
    outcomes = {"loaded": 0, "refused": 0}
    for trial in range(300):
        blob = bytearray((stored if trial % 2 else compressed).read_bytes())
        for _ in range(rng.integers(1, 4)):
            blob[rng.integers(len(blob))] = rng.integers(256)
        if trial % 7 == 0:
            blob = blob[:rng.integers(len(blob))]
        path = tmp_path / "damaged.npz"
        path.write_bytes(bytes(blob))
        try:
            nnmf.load_model(path, return_corpus=True)
            outcomes["loaded"] += 1
        except ModelFileError as exc:
            assert str(exc).startswith(str(path)), exc
            outcomes["refused"] += 1
    assert outcomes["refused"] > 250, outcomes
