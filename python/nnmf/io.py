"""Model files: a fitted estimator as a numpy ``.npz`` archive with JSON metadata.

The archive holds every array of the model under a plain name and, under ``__nnmf__``, one
JSON document: the format and library versions, the class, the ranks, the parameters
(``get_params()``), the fitted attributes (the public ones ending in ``_``) and, optionally,
what is known about the training corpus (vocabulary, document ids, labels, vectorizer). Arrays
inside the JSON are references ``{"__array__": name}`` into the archive. Nothing is pickled:
files are read with ``allow_pickle=False``, so loading a file cannot run code. Loading reads
only the members the metadata refers to, checks what each declares before decompressing it,
and checks the values as a fit leaves them; a file that cannot be loaded raises
:class:`~nnmf.exceptions.ModelFileError`, its message starting with the file's path.
"""

import contextlib
import inspect
import json
import math
import numbers
import struct
import tokenize
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import scipy.sparse as sp

# The estimator subpackages register their classes (BaseEstimator.__init_subclass__), which
# load_model looks up by the name a file gives: never an import of a module the file names.
from . import baselines, neural  # noqa: F401
from ._utils.files import atomic_savez, read_npy_header
from ._utils.estimator import BaseEstimator, check_is_fitted, estimator_class
from ._version import __version__
from .exceptions import InvalidParameterError, ModelFileError
from .multilayer import MultilayerMixin
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
    if path.is_dir():
        raise IsADirectoryError(f"cannot save to {path}: it is a folder")
    # A crash never leaves a half-written model; the file gets the user's umask
    return atomic_savez(path, arrays, compressed=True)


# ---------------------------------------------------------------------------------------------
# Reading: every member checked before it is read, every value before it is used

#: The largest metadata accepted, in bytes as numpy stores it (4 bytes a character): room for
#: the document ids of some ten million documents.
_MAX_METADATA_BYTES = 1 << 30
#: The deepest nesting of the metadata's JSON (save_model writes a few levels).
_MAX_DEPTH = 64
# Deflate expands its input at most 1032 times: a member that declares more is damaged.
_DEFLATE_RATIO = 1032
# What reading a damaged archive raises (zipfile, zlib, numpy's .npy header parser).
_DAMAGE = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, zlib.error,
           struct.error, tokenize.TokenError, SyntaxError, NotImplementedError, RuntimeError,
           ValueError, OverflowError, KeyError, IndexError, TypeError)
_CORPUS_KEYS = ("doc_ids", "labels", "label_names", "vectorizer", "idf")


def _model_path(path):
    path = Path(path)
    if path.is_dir():
        if not (path / "model.npz").is_file():
            raise FileNotFoundError(f"{path}: no model.npz in the folder")
        path = path / "model.npz"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model file")
    if not path.is_file():
        raise ModelFileError(f"{path} is not an nnmf model file (not a regular file)")
    return path


def _describe(exc):
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _kind(value):
    if sp.issparse(value) or getattr(value, "sparse", False) is True:
        return "a sparse matrix"
    if isinstance(value, (np.ndarray, _Header)):
        return f"an array of shape {value.shape}"
    return {dict: "an object", list: "a list", tuple: "a tuple", str: "a string",
            bool: "a boolean", type(None): "null"}.get(type(value), "a number")


class _Header:
    """An array's shape and dtype from its .npy header (or a sparse matrix's shape): what the
    checks of the model's shapes need before any data is decompressed."""

    def __init__(self, shape, dtype, sparse=False):
        self.shape, self.dtype, self.sparse = tuple(shape), dtype, sparse

    @property
    def ndim(self):
        return len(self.shape)

    def __len__(self):
        return self.shape[0]


class _Archive:
    """A model file's members, each read only after what it declares has been checked."""

    def __init__(self, path):
        self.path = path
        self._headers, self._arrays = {}, {}
        try:
            self._file = open(path, "rb")
        except OSError as exc:  # the same type (PermissionError, ...), the path first
            error = type(exc)(f"{path}: cannot open the model file ({exc.strerror or exc})")
            error.errno = exc.errno
            raise error from None
        try:
            self._open()
        except BaseException:
            self._file.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._zip.close()
        self._file.close()

    # -- errors
    def not_model(self, detail):
        return ModelFileError(f"{self.path} is not an nnmf model file ({detail})")

    def damaged(self, detail):
        return ModelFileError(f"{self.path} is damaged ({detail}): save the model again, or "
                              "copy the file again")

    def invalid(self, detail):
        return ModelFileError(f"{self.path}: invalid model file: {detail}")

    @contextlib.contextmanager
    def _reading(self, what):
        try:
            yield
        except ModelFileError:
            raise
        except (*_DAMAGE, RecursionError) as exc:
            raise self.damaged(f"{what}: {_describe(exc)}") from None

    # -- members
    def _open(self):
        start = self._file.read(6)
        self._file.seek(0)
        if start == b"\x93NUMPY":
            raise self.not_model("a single .npy array, not an .npz archive")
        try:
            self._zip = zipfile.ZipFile(self._file)
        except zipfile.BadZipFile as exc:
            if start[:4] == b"PK\x03\x04":
                raise self.damaged(f"truncated: {_describe(exc)}") from None
            raise self.not_model(f"not a numpy .npz archive: {exc}") from None
        except _DAMAGE as exc:
            raise self.damaged(_describe(exc)) from None
        self._members = {}
        for info in self._zip.infolist():
            if info.filename in self._members:
                raise self.damaged(f"two members are named {info.filename!r}")
            self._members[info.filename] = info

    def _member(self, name, where):
        info = self._members.get(f"{name}.npy")
        if info is None:
            raise self.damaged(f"{where} refers to the array {name!r}, which is missing")
        if info.flag_bits & 0x1:
            raise self.damaged(f"the member {info.filename!r} is encrypted")
        if info.compress_type == zipfile.ZIP_STORED:
            if info.compress_size != info.file_size:
                raise self.damaged(f"the member {info.filename!r} declares {info.file_size} "
                                   f"bytes stored in {info.compress_size}")
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            if info.file_size > _DEFLATE_RATIO * info.compress_size + 64:
                raise self.damaged(f"the member {info.filename!r} declares {info.file_size} "
                                   f"bytes, more than its {info.compress_size} compressed "
                                   "bytes can hold")
        else:
            raise self.damaged(f"the member {info.filename!r} uses compression method "
                               f"{info.compress_type}, which numpy never writes")
        return info

    def _parse_header(self, name, info):
        """(shape, dtype) of a member's .npy header, its declared size checked against it."""
        with self._reading(f"the array {name!r}"):
            with self._zip.open(info) as f:
                shape, _, dtype = read_npy_header(f)
                offset = f.tell()
        if not dtype.hasobject:
            expected = offset + math.prod(shape) * dtype.itemsize
            if info.file_size != expected:
                raise self.damaged(f"the array {name!r} declares {info.file_size} bytes where "
                                   f"its header promises {expected}")
        return shape, dtype

    def header(self, name, where):
        """The _Header of the array ``name`` (nothing beyond its header decompressed)."""
        if not isinstance(name, str) or name == _META:
            raise self.invalid(f"{where} refers to {name!r}, which is not an array name")
        if name in self._headers:
            return self._headers[name]
        shape, dtype = self._parse_header(name, self._member(name, where))
        if dtype.hasobject:
            raise self.invalid(f"{where} is an array of Python objects, which would need "
                               "pickle: nnmf never writes nor reads these")
        if dtype.names is not None or dtype.subdtype is not None or dtype.kind not in "biufcUS":
            raise self.invalid(f"{where} is an array of dtype {dtype}, which nnmf never writes")
        self._headers[name] = header = _Header(shape, dtype)
        return header

    def read(self, name, where):
        """The array ``name``, read after its header (:meth:`header`) has been checked."""
        return self._read(name, self.header(name, where))

    def _read(self, name, header):
        if name in self._arrays:
            return self._arrays[name]
        with self._reading(f"the array {name!r}"):
            with self._zip.open(self._members[f"{name}.npy"]) as f:
                array = np.lib.format.read_array(f, allow_pickle=False)
                if f.read(1):  # also makes zipfile check the member's CRC
                    raise ValueError("data after the array")
        if array.shape != header.shape or array.dtype != header.dtype:
            raise self.damaged(f"the array {name!r} does not match its header")
        self._arrays[name] = array
        return array

    def metadata(self):
        """The JSON metadata, its layout checked (not yet the values it describes)."""
        info = self._members.get(f"{_META}.npy")
        if info is None:
            raise self.not_model(f"it has no {_META} metadata")
        if info.file_size > _MAX_METADATA_BYTES:
            raise self.invalid(f"its metadata declares {info.file_size} bytes, more than the "
                               f"{_MAX_METADATA_BYTES} accepted")
        shape, dtype = self._parse_header(_META, self._member(_META, "the metadata"))
        if dtype.kind != "U" or shape != ():
            raise self.not_model(f"its {_META} entry is not a JSON text")
        text = str(self._read(_META, _Header(shape, dtype))[()])
        try:
            meta = json.loads(text, parse_constant=_no_constant)
        except RecursionError:
            raise self.invalid(f"its metadata nests deeper than {_MAX_DEPTH} levels") from None
        except ValueError as exc:
            detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise ModelFileError(f"{self.path}: the model metadata is not valid JSON "
                                 f"({detail})") from None
        del text
        if _too_deep(meta):
            raise self.invalid(f"its metadata nests deeper than {_MAX_DEPTH} levels")
        self._check_layout(meta)
        return meta

    def _check_layout(self, meta):
        if not isinstance(meta, dict):
            raise self.not_model("its metadata is not a JSON object")
        if meta.get("format") != _FORMAT:
            raise self.not_model(f"format {meta.get('format')!r}")
        version = meta.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ModelFileError(f"{self.path}: invalid model format version {version!r}")
        if version > FORMAT_VERSION:
            written = meta.get("library_version")
            raise ModelFileError(
                f"{self.path} was written by nnmf "
                f"{written if isinstance(written, str) else '?'} in model format version "
                f"{version}; this nnmf {__version__} reads format versions up to "
                f"{FORMAT_VERSION}: upgrade nnmf to load it")
        required = {"class": str, "params": dict, "fitted": dict}
        optional = {"library_version": str, "ranks": list, "unsaved_params": list,
                    "corpus": dict}
        for key, kind in (*required.items(), *optional.items()):
            value = meta.get(key)
            if not isinstance(value, kind) and not (key in optional and value is None):
                raise self.invalid(f"the metadata's {key!r} is {_kind(value)} where "
                                   f"{_kind(kind())} belongs")
        ranks = meta.get("ranks")
        if ranks is not None and not all(_is_int(k) and k >= 1 for k in ranks):
            raise self.invalid(f"the metadata's ranks {ranks} are not positive integers")
        if not all(isinstance(p, str) for p in meta.get("unsaved_params") or []):
            raise self.invalid("the metadata's 'unsaved_params' are not names")


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def _too_deep(node):
    """Whether the JSON value ``node`` nests deeper than _MAX_DEPTH (checked without
    recursion)."""
    stack = [(node, 1)] if isinstance(node, (dict, list)) else []
    while stack:
        value, depth = stack.pop()
        if depth > _MAX_DEPTH:
            return True
        items = value.values() if isinstance(value, dict) else value
        stack.extend((v, depth + 1) for v in items if isinstance(v, (dict, list)))
    return False


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _is_array(value):
    return (isinstance(value, np.ndarray)
            or (isinstance(value, _Header) and not value.sparse))


def _settable(cls, name):
    """Whether a model file may set the attribute ``name`` of a ``cls``: a fitted attribute
    (public, ending in ``_``), never a method, property or other descriptor of the class."""
    if not (name.isidentifier() and name.endswith("_") and not name.startswith("_")):
        return False
    attr = inspect.getattr_static(cls, name, None)  # a class-level default value is data
    return not (callable(attr) or hasattr(attr, "__get__") or hasattr(attr, "__set__"))


class _Loader:
    """load_model's work on an open archive: the values of the metadata decoded and checked,
    first from the arrays' headers alone, then from the arrays."""

    def __init__(self, archive, meta):
        self.archive, self.meta = archive, meta
        self.invalid = archive.invalid

    def load(self, return_corpus):
        meta, archive = self.meta, self.archive
        name = meta["class"]
        cls = estimator_class(name)
        if cls is None:
            raise ModelFileError(f"{archive.path} holds a {name!r}, which this nnmf "
                                 f"{__version__} does not have")
        known = set(cls._param_names())
        unknown = sorted(set(meta["params"]) - known)
        if unknown:
            warnings.warn(f"{archive.path}: ignoring parameters this nnmf's {name} does not "
                          f"have: {', '.join(unknown)}", UserWarning, stacklevel=3)
        for attr in meta["fitted"]:
            if not _settable(cls, attr):
                raise self.invalid(
                    f"it sets {attr!r}, which is not a fitted attribute of {name}: a model "
                    "file sets only parameters and fitted attributes (public names ending in "
                    "'_' that are not methods or properties)")
        corpus = meta.get("corpus") or {}
        corpus = {k: corpus[k] for k in _CORPUS_KEYS if k in corpus} if return_corpus else {}
        vocabulary = meta.get("vocabulary") if return_corpus else None

        # 1. The shapes, from the arrays' headers: nothing large is decompressed before they
        #    are those of a model.
        _, *shapes = self._decode_all(known, corpus, vocabulary, archive.header)
        self._check(cls, *shapes, full=False)
        # 2. The values.
        params, fitted, info, vocab = self._decode_all(known, corpus, vocabulary, archive.read)
        self._check(cls, fitted, info, vocab, full=True)
        try:
            model = cls(**params)
        except TypeError as exc:
            raise self.invalid(f"its parameters do not make a {name}: {exc}") from None
        try:
            model._validate_params()
        except InvalidParameterError as exc:
            raise self.invalid(f"parameter {exc}") from None
        except (TypeError, ValueError, OverflowError) as exc:  # e.g. an int beyond int64
            raise self.invalid(f"its parameters are invalid ({_describe(exc)})") from None
        for attr, value in fitted.items():
            setattr(model, attr, value)
        if not return_corpus:
            return model
        label_names = info.get("label_names")
        return model, Corpus(
            None, None if vocab is None else [str(w) for w in vocab],
            [str(d) for d in (info.get("doc_ids") or [])], info.get("labels"),
            None if label_names is None else [str(n) for n in label_names],
            info.get("vectorizer"), info.get("idf"))

    def _decode_all(self, known, corpus, vocabulary, get):
        """(params, fitted, corpus info, vocabulary) decoded through ``get``."""
        meta = self.meta
        params = {k: self.decode(v, f"parameter {k}", get)
                  for k, v in meta["params"].items() if k in known}
        fitted = {k: self.decode(v, f"fitted attribute {k}", get)
                  for k, v in meta["fitted"].items()}
        info = {k: self.decode(v, f"corpus {k}", get) for k, v in corpus.items()}
        vocab = None if vocabulary is None else self.decode(vocabulary, "vocabulary", get)
        return params, fitted, info, vocab

    def _keys(self, node, keys, where):
        if not set(node) <= set(keys):
            raise self.invalid(f"{where}: unreadable entry with keys {sorted(node)}")

    def decode(self, node, where, get):
        """A value of the metadata; arrays (or, from ``archive.header``, their headers)
        through ``get``."""
        if node is None or isinstance(node, (bool, str, int, float)):
            return node
        if isinstance(node, list):
            if not any(isinstance(v, (dict, list)) for v in node):  # e.g. document ids
                return list(node)
            return [self.decode(v, f"{where}[{i}]", get) for i, v in enumerate(node)]
        if "__array__" in node:
            self._keys(node, ("__array__", "object"), where)
            as_object = node.get("object", False)
            if not isinstance(as_object, bool):
                raise self.invalid(f"{where}: unreadable entry {node}")
            array = get(node["__array__"], where)
            if as_object:
                if array.dtype.kind != "U":
                    raise self.invalid(f"{where}: an object array of {array.dtype}")
                return array.astype(object) if isinstance(array, np.ndarray) else array
            return array
        if "__float__" in node:
            self._keys(node, ("__float__",), where)
            try:
                return float(node["__float__"])
            except (TypeError, ValueError):
                raise self.invalid(f"{where}: {node['__float__']!r} is not a number") from None
        if "__tuple__" in node:
            self._keys(node, ("__tuple__",), where)
            items = node["__tuple__"]
            if not isinstance(items, list):
                raise self.invalid(f"{where}: unreadable entry {node}")
            return tuple(self.decode(v, f"{where}[{i}]", get) for i, v in enumerate(items))
        if "__dict__" in node:
            self._keys(node, ("__dict__",), where)
            items = node["__dict__"]
            if not isinstance(items, dict):
                raise self.invalid(f"{where}: unreadable entry {node}")
            return {k: self.decode(v, f"{where}[{k!r}]", get) for k, v in items.items()}
        if "__sparse__" in node:
            return self._sparse(node, where, get)
        raise self.invalid(f"{where}: unreadable entry with keys {sorted(node)}")

    def _sparse(self, node, where, get):
        keys = ("__sparse__", "shape", "data", "indices", "indptr")
        if set(node) != set(keys):
            raise self.invalid(f"{where}: unreadable entry with keys {sorted(node)}")
        fmt, shape = node["__sparse__"], node["shape"]
        if fmt not in ("csr", "csc") or not (
                isinstance(shape, list) and len(shape) == 2
                and all(_is_int(s) and s >= 0 for s in shape)):
            raise self.invalid(f"{where}: unreadable sparse matrix {fmt!r} of shape {shape!r}")
        data, indices, indptr = (get(node[k], f"{where} ({k})") for k in keys[2:])
        major = shape[0] if fmt == "csr" else shape[1]
        if not (data.ndim == indices.ndim == indptr.ndim == 1
                and data.dtype.kind in "biufc" and indices.dtype.kind in "iu"
                and indptr.dtype.kind in "iu" and len(indptr) == major + 1
                and len(indices) == len(data)):
            raise self.invalid(f"{where}: the parts of a {shape[0]} x {shape[1]} sparse "
                               "matrix do not fit together")
        if isinstance(data, _Header):
            return _Header(shape, data.dtype, sparse=True)
        cls = sp.csr_matrix if fmt == "csr" else sp.csc_matrix
        try:
            matrix = cls((data, indices, indptr), shape=tuple(shape))
            matrix.check_format(full_check=True)
        except ValueError as exc:
            raise self.invalid(f"{where}: {_describe(exc)}") from None
        return matrix

    # -- the checks of a fit's results
    def _factors(self, value, name, as_list, full, nonnegative=True):
        """The matrices of A_, S_ or B_ (one, or a non-empty list for a multilayer model)."""
        if as_list:
            if not isinstance(value, list) or not value:
                raise self.invalid(f"{name} is {_kind(value)}, not a list of matrices")
            items = [(f"{name}[{i}]", v) for i, v in enumerate(value)]
        else:
            items = [(name, value)]
        for where, M in items:
            if not _is_array(M) or M.ndim != 2 or M.dtype.kind != "f" or \
                    M.dtype.itemsize not in (4, 8):
                what = (f"an array of dtype {M.dtype} and shape {M.shape}" if _is_array(M)
                        else _kind(M))
                raise self.invalid(f"{where} is {what}, not a float32 or float64 matrix")
            if min(M.shape) < 1:
                raise self.invalid(f"{where} has shape {M.shape}")
            if full and not np.isfinite(M).all():
                raise self.invalid(f"{where} has NaN or infinite entries")
            if full and nonnegative and M.min() < 0:
                raise self.invalid(f"{where} has negative entries")
        return [M for _, M in items]

    def _check(self, cls, fitted, info, vocab, *, full):
        """The fitted attributes are what a fit of ``cls`` leaves (shapes; with ``full``
        also the values), and the corpus description fits the model."""
        fail = self.invalid
        multilayer = issubclass(cls, MultilayerMixin)
        if "A_" not in fitted:
            raise fail("it has no fitted factors A_")
        A = self._factors(fitted["A_"], "A_", multilayer, full)
        for l in range(len(A) - 1):
            if A[l].shape[1] != A[l + 1].shape[0]:
                raise fail(f"A_[{l + 1}] has shape {A[l + 1].shape} but A_[{l}] has "
                           f"{A[l].shape[1]} columns")
        ranks = [M.shape[1] for M in A]
        if self.meta.get("ranks") is not None and self.meta["ranks"] != ranks:
            raise fail(f"the metadata's ranks {self.meta['ranks']} are not those of A_, "
                       f"{ranks}")
        m = fitted.get("n_features_in_")
        if not _is_int(m) or m != A[0].shape[0]:
            raise fail(f"n_features_in_ is {m!r} but A_ has {A[0].shape[0]} rows (features)")
        if fitted.get("S_") is None:
            raise fail("it has no fitted coefficients S_")
        S = self._factors(fitted["S_"], "S_", multilayer, full)
        n = S[0].shape[1]
        if len(S) != len(A) or any(M.shape != (k, n) for M, k in zip(S, ranks)):
            raise fail(f"S_ has shapes {[M.shape for M in S]}, which do not fit A_'s ranks "
                       f"{ranks}")
        B, classes = fitted.get("B_"), fitted.get("classes_")
        if classes is not None and not (_is_array(classes) and classes.ndim == 1):
            raise fail("classes_ is not a 1-D array")
        if B is not None:
            (B,) = self._factors(B, "B_", False, full, nonnegative=False)
            if B.shape[1] != ranks[-1]:
                raise fail(f"B_ has shape {B.shape} but the top layer has {ranks[-1]} topics")
            if classes is None or len(classes) != B.shape[0]:
                raise fail(f"B_ scores {B.shape[0]} classes but classes_ has "
                           f"{'none' if classes is None else len(classes)}")
        t = fitted.get("transduction_")
        if t is not None and not (_is_array(t) and t.ndim == 1 and len(t) == n):
            raise fail("transduction_ is not one label per training column")
        n_iter = fitted.get("n_iter_")
        if n_iter is not None and not all(
                _is_int(i) and i >= 0 for i in (n_iter if isinstance(n_iter, list) else [n_iter])):
            raise fail(f"n_iter_ is {n_iter!r}, not a count of iterations")
        for key in ("reconstruction_err_", "layer_errors_"):
            value = fitted.get(key)
            if value is not None and not all(
                    _is_real(v) for v in (value if isinstance(value, list) else [value])):
                raise fail(f"{key} is {value!r}, not a number")
        self._check_corpus(info, vocab, m, full)

    def _check_corpus(self, info, vocab, m, full):
        fail = self.invalid

        def strings(value, name):
            if value is None:
                return None
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return value
            if _is_array(value) and value.ndim == 1 and value.dtype.kind in "UO":
                return value
            raise fail(f"{name} is not a list of strings")

        vocab = strings(vocab, "the vocabulary")
        if vocab is not None and len(vocab) != m:
            raise fail(f"the vocabulary has {len(vocab)} words but the model has {m} rows "
                       "(words)")
        doc_ids = strings(info.get("doc_ids"), "corpus doc_ids")
        names = strings(info.get("label_names"), "corpus label_names")
        labels = info.get("labels")
        if labels is not None:
            if not (_is_array(labels) and labels.ndim == 1 and labels.dtype.kind in "iu"):
                raise fail("corpus labels are not a 1-D array of label codes")
            if names is None:
                raise fail("corpus labels come without label_names")
            if doc_ids and len(labels) != len(doc_ids):
                raise fail(f"{len(labels)} corpus labels for {len(doc_ids)} documents")
            if full and labels.size and (labels.min() < -1 or labels.max() >= len(names)):
                raise fail(f"corpus labels are not codes of its {len(names)} label names")
        v = info.get("vectorizer")
        if v is not None:
            ngram = v.get("ngram_range", [1, 1]) if isinstance(v, dict) else None
            if not (isinstance(v, dict) and v.get("kind") in ("tfidf", "count")
                    and v.get("stop_words") in (None, "english")
                    and isinstance(ngram, (list, tuple)) and len(ngram) == 2
                    and all(_is_int(g) for g in ngram) and 1 <= ngram[0] <= ngram[1]
                    and all(_is_real(v.get(k, 1)) for k in ("min_df", "max_df"))
                    and (v.get("max_features") is None or (
                        _is_int(v["max_features"]) and v["max_features"] >= 1))):
                raise fail(f"corpus vectorizer {v!r} is not a vectorizer's settings")
        idf = info.get("idf")
        if idf is not None:
            if not (_is_array(idf) and idf.ndim == 1 and idf.dtype.kind == "f"):
                raise fail("corpus idf is not a 1-D float array")
            if vocab is not None and len(idf) != len(vocab):
                raise fail(f"corpus idf has {len(idf)} weights for {len(vocab)} words")
            if full and not (np.isfinite(idf).all() and (idf > 0).all()):
                raise fail("corpus idf has weights that are not finite and positive")


def load_model(path, *, return_corpus=False):
    """Load an estimator saved by :func:`save_model`.

    The file is checked before it is used: only the archive members its metadata refers to
    are read, each after its declared size has been checked against its array header and
    the model's shapes (so a damaged or hostile file cannot make the load decompress more
    than the model needs); the metadata may set only the estimator's parameters (validated
    as ``fit`` validates them) and fitted attributes (public names ending in ``_`` that are
    not methods or properties); the fitted arrays are checked as a fit leaves them (finite,
    nonnegative factors and coefficients, consistent shapes). Nothing is unpickled.

    Parameters
    ----------
    path : str or path-like
        The model file, or a folder holding ``model.npz`` (as ``nnmf fit --out`` writes).
    return_corpus : bool, default=False
        Also return what the file keeps of the training corpus (read and checked only then).

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
        No such file (or no ``model.npz`` in the folder).
    OSError
        The file cannot be opened (no permission to read it, ...).
    ~nnmf.exceptions.ModelFileError
        Anything else: not an nnmf model file, a damaged file (truncated, a bad checksum),
        one written in a newer format version than this nnmf reads, or invalid content. A
        subclass of ``ValueError``; the message starts with the file's path.

    Warns
    -----
    UserWarning
        For parameters the file has but this nnmf's estimator does not: they are ignored.
    """
    path = _model_path(path)
    with _Archive(path) as archive:
        meta = archive.metadata()
        return _Loader(archive, meta).load(return_corpus)
