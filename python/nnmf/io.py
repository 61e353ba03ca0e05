"""Model files: a fitted estimator as a numpy ``.npz`` archive with JSON metadata.

The archive holds every array of the model under a plain name and, under ``__nnmf__``, one
JSON document: the format and library versions, the class, the ranks, the parameters
(``get_params()``), the fitted attributes (the public ones ending in ``_``) and, optionally,
what is known about the training corpus (vocabulary, document ids, labels, vectorizer). Arrays
inside the JSON are references ``{"__array__": name}`` into the archive. Nothing is pickled:
files are read with ``allow_pickle=False``, so loading a file cannot run code.
"""

import json
import math
import numbers
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

# The estimator subpackages register their classes (BaseEstimator.__init_subclass__), which
# load_model looks up by the name a file gives: never an import of a module the file names.
from . import baselines, neural  # noqa: F401
from ._utils.estimator import BaseEstimator, check_is_fitted, estimator_class
from ._version import __version__
from .topics import Corpus

__all__ = ["FORMAT_VERSION", "save_model", "load_model"]

#: Version of the model file layout; files from a newer version are refused.
FORMAT_VERSION = 1
_FORMAT = "nnmf-model"
_META = "__nnmf__"


class _Unsupported(TypeError):
    pass


class _Encoder:
    """JSON-ready values, with arrays moved out to ``arrays``."""

    def __init__(self):
        self.arrays = {}

    def _store(self, array):
        name = f"a{len(self.arrays)}"
        self.arrays[name] = array
        return name

    def encode(self, value, where):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, numbers.Real):
            f = float(value)
            return f if math.isfinite(f) else {"__float__": repr(f)}
        if isinstance(value, np.str_):
            return str(value)
        if sp.issparse(value):
            fmt = "csr" if value.format == "csr" else "csc"
            M = value.asformat(fmt)
            return {"__sparse__": fmt, "shape": list(M.shape),
                    "data": self._store(M.data), "indices": self._store(M.indices),
                    "indptr": self._store(M.indptr)}
        if isinstance(value, np.ndarray):
            if value.dtype.kind == "O":
                items = value.ravel().tolist()
                if not all(isinstance(v, str) for v in items):
                    raise _Unsupported(f"{where} is an object array holding non-strings")
                array = np.array(items, dtype=str).reshape(value.shape)
                return {"__array__": self._store(array), "object": True}
            if value.dtype.kind not in "biufcUS":
                raise _Unsupported(f"{where} is an array of dtype {value.dtype}")
            return {"__array__": self._store(value)}
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise _Unsupported(f"{where} is a dict with non-string keys")
            return {"__dict__": {k: self.encode(v, f"{where}[{k!r}]") for k, v in value.items()}}
        raise _Unsupported(f"{where} is a {type(value).__name__}")


def _decode(node, arrays):
    if isinstance(node, list):
        return [_decode(v, arrays) for v in node]
    if not isinstance(node, dict):
        return node
    if "__array__" in node:
        array = arrays[node["__array__"]]
        return array.astype(object) if node.get("object") else array
    if "__float__" in node:
        return float(node["__float__"])
    if "__tuple__" in node:
        return tuple(_decode(v, arrays) for v in node["__tuple__"])
    if "__dict__" in node:
        return {k: _decode(v, arrays) for k, v in node["__dict__"].items()}
    if "__sparse__" in node:
        cls = sp.csr_matrix if node["__sparse__"] == "csr" else sp.csc_matrix
        parts = (arrays[node["data"]], arrays[node["indices"]], arrays[node["indptr"]])
        return cls(parts, shape=tuple(node["shape"]))
    raise ValueError(f"unreadable entry in the model metadata: {sorted(node)}")


def _ranks(model):
    A = getattr(model, "A_", None)
    if isinstance(A, (list, tuple)):
        return [int(a.shape[1]) for a in A]
    if A is not None and hasattr(A, "shape"):
        return [int(A.shape[1])]
    return None


def save_model(model, path, *, vocabulary=None, corpus=None):
    """Save a fitted estimator to ``path`` (a numpy ``.npz`` archive with JSON metadata).

    Works for every nnmf estimator: the file holds the parameters (``get_params()``) and the
    fitted attributes (arrays, lists and dicts of arrays, numbers, strings). Nothing is
    pickled.

    Parameters
    ----------
    model : fitted nnmf estimator
    path : str or path-like
        Written as given (no extension is added); ``model.npz`` is the convention.
    vocabulary : sequence of str, default=None
        The word of each row of the training data, kept with the model.
    corpus : Corpus, default=None
        The training corpus from :func:`nnmf.load_corpus`: its vocabulary, document ids,
        labels and vectorizer settings are kept (not the matrix), so that ``nnmf transform``
        can vectorise new text the same way.

    Returns
    -------
    pathlib.Path

    Warns
    -----
    UserWarning
        For a parameter that cannot be stored (a numpy Generator as ``random_state``, a
        callback function): the loaded model gets that parameter's default.
    """
    if not isinstance(model, BaseEstimator):
        raise TypeError(f"save_model saves nnmf estimators, got {type(model).__name__}")
    check_is_fitted(model)
    enc = _Encoder()
    params, unsaved = {}, []
    for name, value in model.get_params().items():
        if name == "comm":  # the run's communicator, not part of the model: loads as None
            params[name] = None
            continue
        try:
            params[name] = enc.encode(value, f"parameter {name}")
        except _Unsupported:
            unsaved.append(name)
    if unsaved:
        warnings.warn(
            f"not saved (not representable without pickle): {', '.join(unsaved)}; the loaded "
            "model gets their defaults", UserWarning, stacklevel=2)
    fitted = {}
    for name in model._fitted_attributes():
        try:
            fitted[name] = enc.encode(getattr(model, name), f"attribute {name}")
        except _Unsupported as exc:
            raise TypeError(f"cannot save {type(model).__name__}: {exc}") from None
    meta = {"format": _FORMAT, "format_version": FORMAT_VERSION,
            "library_version": __version__, "class": type(model).__name__,
            "ranks": _ranks(model), "params": params, "unsaved_params": unsaved,
            "fitted": fitted}
    if corpus is not None:
        vocabulary = corpus.vocabulary if vocabulary is None else vocabulary
        info = {"doc_ids": corpus.doc_ids or None, "labels": corpus.labels,
                "label_names": corpus.label_names, "vectorizer": corpus.vectorizer,
                "idf": corpus.idf}
        meta["corpus"] = {k: enc.encode(v, f"corpus {k}") for k, v in info.items()
                          if v is not None}
    if vocabulary is not None:
        vocabulary = np.array([str(w) for w in vocabulary], dtype=str)
        A = getattr(model, "A_", None)
        A0 = A[0] if isinstance(A, (list, tuple)) else A
        if A0 is not None and hasattr(A0, "shape") and A0.shape[0] != vocabulary.size:
            raise ValueError(f"the vocabulary has {vocabulary.size} words but the model has "
                             f"{A0.shape[0]} rows (words)")
        meta["vocabulary"] = enc.encode(vocabulary, "vocabulary")
    arrays = dict(enc.arrays)
    arrays[_META] = np.array(json.dumps(meta, allow_nan=False))
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot save to {path}: the folder {path.parent} does not exist")
    # Write next to the target and rename, so a crash never leaves a half-written model.
    fd, tmp = tempfile.mkstemp(prefix=".nnmf-", suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _read(path):
    path = Path(path)
    if path.is_dir():
        if not (path / "model.npz").is_file():
            raise FileNotFoundError(f"no model.npz in the folder {path}")
        path = path / "model.npz"
    if not path.is_file():
        raise FileNotFoundError(f"no such model file: {path}")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} is not an nnmf model file (not a numpy .npz archive: "
                         f"{exc})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} is not an nnmf model file (a single array, not an .npz "
                         "archive)")
    with archive:
        try:
            arrays = {k: archive[k] for k in archive.files}
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path} is not an nnmf model file ({exc})") from None
    if _META not in arrays:
        raise ValueError(f"{path} is not an nnmf model file (it has no {_META} metadata)")
    try:
        meta = json.loads(str(arrays.pop(_META)))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: the model metadata is not valid JSON ({exc.msg})") from None
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise ValueError(f"{path} is not an nnmf model file (format {meta.get('format')!r})"
                         if isinstance(meta, dict) else f"{path} is not an nnmf model file")
    version = meta.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"{path}: invalid model format version {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{path} was written by nnmf {meta.get('library_version', '?')} in model format "
            f"version {version}; this nnmf {__version__} reads format versions up to "
            f"{FORMAT_VERSION}: upgrade nnmf to load it")
    return path, meta, arrays


def load_model(path, *, return_corpus=False):
    """Load an estimator saved by :func:`save_model`.

    Parameters
    ----------
    path : str or path-like
        The model file, or a folder holding ``model.npz`` (as ``nnmf fit --out`` writes).
    return_corpus : bool, default=False
        Also return what the file keeps of the training corpus.

    Returns
    -------
    model : nnmf estimator
        Of the saved class, with its parameters and fitted attributes.
    corpus : Corpus
        Only with ``return_corpus``: ``X`` is None; ``vocabulary``, ``doc_ids``, ``labels``,
        ``label_names``, ``vectorizer`` and ``idf`` as saved (None where not saved).

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not an nnmf model file, or one written in a newer format version than this nnmf reads.
    """
    path, meta, arrays = _read(path)
    try:
        name = meta["class"]
        cls = estimator_class(name)
        if cls is None:
            raise ValueError(f"{path} holds a {name!r}, which this nnmf {__version__} does not "
                             "have")
        params = {k: _decode(v, arrays) for k, v in meta["params"].items()}
        unknown = sorted(set(params) - set(cls._param_names()))
        if unknown:
            warnings.warn(f"{path}: ignoring parameters this nnmf's {name} does not have: "
                          f"{', '.join(unknown)}", UserWarning, stacklevel=2)
            for k in unknown:
                del params[k]
        model = cls(**params)
        for attr, node in meta["fitted"].items():
            setattr(model, attr, _decode(node, arrays))
        if not return_corpus:
            return model
        info = {k: _decode(v, arrays) for k, v in meta.get("corpus", {}).items()}
        vocab = meta.get("vocabulary")
        corpus = Corpus(
            None, None if vocab is None else [str(w) for w in _decode(vocab, arrays)],
            [str(d) for d in (info.get("doc_ids") or [])],
            info.get("labels"), None if info.get("label_names") is None
            else [str(n) for n in info["label_names"]], info.get("vectorizer"),
            info.get("idf"))
        return model, corpus
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{path}: damaged model file ({type(exc).__name__}: {exc})") from None
