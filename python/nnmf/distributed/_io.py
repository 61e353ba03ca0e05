"""Reading a data set across the ranks of an MPI communicator, each rank only its columns.

Every public function here is collective: all ranks of ``comm`` call it with the same
arguments. It runs in phases (find the input, inspect it, read, agree on the vocabulary...)
and the ranks agree after each one, so that a failure on any rank (a missing file, a corrupt
shard, bad options) makes every rank raise instead of leaving the others blocked:

- a failure that every rank sees the same way (it comes from the input as a whole: a missing
  path, shards with different numbers of words, options that prune every word) is found once,
  on rank 0 or on every rank alike, and every rank raises that same exception;
- a failure of one rank's own part (its shard is unreadable, its documents hold NaN) is raised
  by that rank as it is, and by the others as a
  :class:`~nnmf._utils.collective.CollectiveError` naming the rank and its message.
"""

import array
import csv
import hashlib
import itertools
import json
import numbers
import os
import pickle
import re
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.io
import scipy.sparse as sp

from .._utils.collective import CollectiveError, as_collective, column_range
from .._utils.files import UnsupportedNpyVersion, read_npy_header
from .._utils.labels import encode_labels
from ..topics import _corpus as _c

__all__ = ["ColumnBlock", "load_columns", "load_corpus"]

_MATRIX_FORMATS = ("npz", "npy", "mtx", "mat")
# What reading a damaged or foreign file raises; reported as "cannot read <file> as ..."
_READ_ERRORS = (OSError, ValueError, TypeError, KeyError, IndexError, EOFError,
                NotImplementedError, RuntimeError, zipfile.BadZipFile, zlib.error)
_MAT_DTYPES = {"double": np.float64, "single": np.float32, "logical": np.bool_,
               **{t: np.dtype(t).type for t in ("int8", "uint8", "int16", "uint16", "int32",
                                                "uint32", "int64", "uint64")}}


@dataclass
class ColumnBlock:
    """One rank's block of columns of a words x documents matrix.

    Attributes
    ----------
    X : ndarray or scipy.sparse.csc_matrix of shape (n_words, stop - start)
        Columns ``start`` to ``stop`` of the whole matrix: scipy CSC when the input is sparse
        (any shard sparse), else a Fortran-ordered ndarray. Nonnegative and finite.
    start, stop : int
        The rank's block, as :func:`nnmf.distributed.column_range` gives it.
    shape : (int, int)
        The shape of the whole matrix (n_words, n_documents).
    format : str
        "npz", "npy", "mtx" or "mat".
    files : list of str
        The files this rank read (a shard folder's shards that overlap its block).
    """

    X: object
    start: int
    stop: int
    shape: tuple
    format: str
    files: list = field(default_factory=list)

    @property
    def n_documents(self):
        """The number of this rank's columns."""
        return self.stop - self.start


# ---------------------------------------------------------------------------------------------
# Phases


def _run(c, fn, *args):
    """``fn(*args)`` on every rank, then the ranks agree: if any failed, every rank raises."""
    result = error = None
    try:
        result = fn(*args)
    except Exception as exc:  # noqa: BLE001 - every failure must reach the agreement
        error = exc
    c.agree(error)
    return result


def _on_root(c, fn, *args):
    """``fn(*args)`` on rank 0; its result on every rank, or its exception raised on every
    rank (a failure of the input as a whole: the same error everywhere)."""
    if not c.distributed:
        return fn(*args)
    payload = error = None
    if c.rank == 0:
        try:
            result = fn(*args)
            payload = pickle.dumps((True, result), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - sent to every rank
            error = exc
            payload = pickle.dumps((False, _portable(exc, c)),
                                   protocol=pickle.HIGHEST_PROTOCOL)
    ok, value = pickle.loads(c.bcast(payload))
    if ok:
        return value
    if error is not None:
        raise error
    raise value


def _portable(exc, c):
    """``exc`` if it survives pickling, else a CollectiveError with its message."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - anything that does not pickle
        return CollectiveError(f"rank 0 of {c.size} failed: {type(exc).__name__}: {exc}")


def _gather(c, obj):
    """Every rank's ``obj`` in rank order on rank 0 (None elsewhere)."""
    return c.comm.gather(obj, root=0) if c.distributed else [obj]


def _digest(value):
    if isinstance(value, np.ndarray):
        text = repr((value.dtype.str, value.shape)).encode() + np.ascontiguousarray(value).tobytes()
    else:
        text = repr(value).encode("utf-8", "backslashreplace")
    return hashlib.sha1(text).hexdigest()


def _same_arguments(c, where, arguments):
    """Every rank must pass the same arguments: a rank that reads another file or with other
    options would give blocks that do not fit together."""
    if not c.distributed or c.size == 1:
        return
    mine = _run(c, lambda: {k: _digest(v) for k, v in arguments.items()})
    everyone = c.allgather(mine)
    differ = [k for k in arguments if len({d[k] for d in everyone}) > 1]
    if differ:
        raise ValueError(f"{where} was called with different {', '.join(differ)} on different "
                         "ranks; every rank must pass the same arguments")


# ---------------------------------------------------------------------------------------------
# Matrices


@dataclass
class _Shard:
    path: str
    label: str        # how messages name it: "x.npz", or "shard part-0001.npz"
    fmt: str
    variable: str     # the array read from a .mat file or a numpy .npz archive, else None
    sparse: bool
    rows: int         # the shape on file (before any transpose)
    cols: int

    def words(self, transpose):
        return self.cols if transpose else self.rows

    def documents(self, transpose):
        return self.rows if transpose else self.cols


@dataclass
class _Plan:
    path: Path
    fmt: str
    folder: bool
    transpose: bool
    shards: list
    offsets: list     # the first document of each shard, and n at the end
    shape: tuple
    sparse: bool


def _fake(shape, dtype):
    """A stand-in with the shape and dtype of an array not read yet (no memory), for
    choosing a variable as :func:`nnmf.topics.load_corpus` does."""
    return np.broadcast_to(np.zeros((), dtype=dtype), tuple(int(s) for s in shape))


def _choose(fakes, variable, path, what):
    """The name of the matrix to read, by load_corpus's rule (_named_matrix)."""
    chosen = _c._named_matrix(fakes, variable, path, what)
    return next(k for k, v in fakes.items() if v is chosen)


def _npz_member_header(archive, name):
    """(shape, dtype) of a member of a numpy .npz archive, from its header only."""
    try:
        with archive.zip.open(name + ".npy") as fh:
            shape, _, dtype = read_npy_header(fh)
    except UnsupportedNpyVersion:  # no header to read alone: read the member
        value = archive[name]
        return value.shape, value.dtype
    return shape, dtype


def _mat_fake(shape, cls):
    if cls == "sparse":
        return sp.csc_matrix(tuple(int(s) for s in shape))
    dtype = _MAT_DTYPES.get(cls, "U1" if cls == "char" else object)
    return _fake(shape, dtype)


def _inspect(file, fmt, variable, label):
    """Read a matrix file's header: a _Shard. Reads no data (the shape of a sparse .npz is one
    small member of the archive)."""
    p = Path(file)
    fakes = None
    try:
        if fmt == "npy":
            mapped = np.load(p, mmap_mode="r", allow_pickle=False)
            shape, sparse = mapped.shape, False
            del mapped
        elif fmt == "mtx":
            rows, cols, _, layout, _, _ = scipy.io.mminfo(str(p))
            shape, sparse = (rows, cols), layout == "coordinate"
        elif fmt == "mat":
            fakes = {name: _mat_fake(s, cls) for name, s, cls in scipy.io.whosmat(str(p))
                     if not name.startswith("__")}
        else:
            with np.load(p, allow_pickle=False) as archive:
                if {"format", "shape", "data"} <= set(archive.files) and variable is None:
                    shape, sparse = tuple(int(s) for s in archive["shape"]), True
                else:
                    npy = {n[:-4] for n in archive.zip.namelist() if n.endswith(".npy")}
                    fakes = {n: _fake(*_npz_member_header(archive, n)) if n in npy else b""
                             for n in archive.files}
    except _READ_ERRORS as exc:
        raise ValueError(f"cannot read {label} as a {fmt} file: {exc}") from None
    name = None
    if fakes is not None:
        name = _choose(fakes, variable, p, "variable" if fmt == "mat" else "array")
        shape, sparse = fakes[name].shape, sp.issparse(fakes[name])
    if len(shape) != 2:
        raise ValueError(f"the matrix in {label} must be 2-D, got a {len(shape)}-D array of "
                         f"shape {tuple(shape)}")
    return _Shard(str(p), label, fmt, name, bool(sparse), int(shape[0]), int(shape[1]))


def _list_shards(path, fmt):
    """The shard files of a folder, in sorted order, and their format."""
    if fmt is not None:
        _c.detect_format(path, fmt)  # an unknown format's message
        if fmt not in _MATRIX_FORMATS:
            raise ValueError(f"{path} is a folder of {fmt} files, not matrix shards: read text "
                             "with nnmf.distributed.load_corpus")
    files = sorted((p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")),
                   key=lambda p: p.name)
    found = {}
    for p in files:
        kind = next((k for k in _MATRIX_FORMATS if p.suffix.lower() in _c.FORMATS[k]), None)
        if kind is not None and fmt in (None, kind):
            found.setdefault(kind, []).append(p)
    if not found:
        if next(path.rglob("*.txt"), None) is not None and fmt is None:
            raise ValueError(f"{path} is a folder of .txt files (text): read it with "
                             "nnmf.distributed.load_corpus")
        wanted = _c.FORMATS[fmt] if fmt is not None else sum(
            (_c.FORMATS[k] for k in _MATRIX_FORMATS), ())
        raise ValueError(f"no matrix shards ({', '.join(wanted)} files) in {path}")
    if len(found) > 1:
        counts = ", ".join(f"{k}: {len(v)} files" for k, v in found.items())
        raise ValueError(f"the shards in {path} mix formats ({counts}): keep one format per "
                         "folder, or name the one to read (format=)")
    (kind, shards), = found.items()
    return kind, [str(p) for p in shards]


def _locate(path, fmt):
    """(folder, format, files) of a matrix input."""
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    if path.is_dir():
        kind, files = _list_shards(path, fmt)
        return True, kind, files
    kind = _c.detect_format(path, fmt)
    if kind not in _MATRIX_FORMATS:
        raise ValueError(f"{path.name} holds {kind} text, not a matrix: read text with "
                         "nnmf.distributed.load_corpus")
    return False, kind, [str(path)]


def _plan_matrix(c, path, fmt, variable, transpose, located=None):
    """Find the files, read their headers (shard i on rank i mod P) and agree on the shape."""
    folder, fmt, files = located if located is not None else _on_root(c, _locate, path, fmt)

    def label(f):
        return f"shard {Path(f).name}" if folder else Path(f).name

    def inspect_mine():
        return {i: _inspect(files[i], fmt, variable, label(files[i]))
                for i in range(c.rank, len(files), c.size)}

    mine = _run(c, inspect_mine)
    inspected = {}
    for part in c.allgather(mine):
        inspected.update(part)
    shards = [inspected[i] for i in range(len(files))]

    def combine():
        first = shards[0]
        words = first.words(transpose)
        what = "columns" if transpose else "rows"
        for s in shards[1:]:
            if s.words(transpose) != words:
                turned = s.documents(transpose) == words and not transpose
                raise ValueError(
                    f"{s.label} has {s.words(transpose)} {what} (words) but {first.label} has "
                    f"{words}: every shard must have the same words"
                    + ("; is it documents x words (transpose)?" if turned else ""))
        offsets = np.concatenate([[0], np.cumsum([s.documents(transpose) for s in shards])])
        shape = (words, int(offsets[-1]))
        if 0 in shape:
            raise ValueError(f"empty corpus: the matrix in {path} has shape {shape}")
        return _Plan(path, fmt, folder, transpose, shards, [int(o) for o in offsets], shape,
                     any(s.sparse for s in shards))

    return _run(c, combine)


def _take(M, lo, hi, transpose):
    """Documents [lo, hi) of a matrix on file, as words x documents: the slice alone is
    copied (the whole matrix is dropped by the caller)."""
    if sp.issparse(M):
        if M.format == "coo":  # select the entries, no conversion of the whole matrix
            docs = M.row if transpose else M.col
            keep = (docs >= lo) & (docs < hi)
            words = (M.col if transpose else M.row)[keep]
            shape = (M.shape[1] if transpose else M.shape[0], hi - lo)
            return sp.csc_matrix((M.data[keep], (words, docs[keep] - lo)), shape=shape)
        if M.format not in ("csr", "csc"):
            M = M.tocsr()
        return sp.csc_matrix(M[lo:hi, :].T if transpose else M[:, lo:hi])
    M = np.asarray(M)
    return np.array(M[lo:hi, :].T if transpose else M[:, lo:hi], order="F")


def _read_shard(s, transpose, lo, hi):
    try:
        if s.fmt == "npy":
            mapped = np.load(s.path, mmap_mode="r", allow_pickle=False)  # reads only the slice
            M = mapped
        elif s.fmt == "npz":
            if s.variable is None:
                M = sp.load_npz(s.path)
            else:
                with np.load(s.path, allow_pickle=False) as archive:
                    M = archive[s.variable]
        elif s.fmt == "mtx":
            M = scipy.io.mmread(s.path)
        else:
            M = scipy.io.loadmat(s.path, variable_names=[s.variable])[s.variable]
        if tuple(M.shape) != (s.rows, s.cols):
            raise ValueError(f"the matrix has shape {tuple(M.shape)}, but {(s.rows, s.cols)} "
                             "when its header was read: did the file change?")
        return _take(M, lo, hi, transpose)
    except _READ_ERRORS as exc:
        raise ValueError(f"cannot read {s.label} as a {s.fmt} file: {exc}") from None


def _check_dtype(dtype):
    if dtype is None:
        return None
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be float32, float64 or None, got {dtype!r}")
    return dt


def _read_block(c, plan, dtype):
    """Phase 2: every rank reads the shards that overlap its block and checks its columns."""
    start, stop = c.column_range(plan.shape[1])

    def read():
        parts, files = [], []
        for s, a, b in zip(plan.shards, plan.offsets, plan.offsets[1:]):
            lo, hi = max(a, start), min(b, stop)
            if lo >= hi:
                continue
            part = _read_shard(s, plan.transpose, lo - a, hi - a)
            if dtype is not None:
                part = part.astype(dtype, copy=False)
            parts.append(_c._as_nonnegative(part, Path(s.path)))
            files.append(s.path)
        return parts, files

    parts, files = _run(c, read)
    # one dtype on every rank: the shards' float types promoted
    dtypes = c.allgather(sorted({p.dtype.str for p in parts}))
    common = dtype if dtype is not None else np.result_type(
        *[np.dtype(d) for ds in dtypes for d in ds] or [np.float64])

    def assemble():
        m = plan.shape[0]
        if plan.sparse:
            blocks = [sp.csc_matrix(p.astype(common, copy=False)) for p in parts]
            if not blocks:
                return sp.csc_matrix((m, 0), dtype=common)
            return blocks[0] if len(blocks) == 1 else sp.csc_matrix(
                sp.hstack(blocks, format="csc"))
        blocks = [p.astype(common, copy=False) for p in parts]
        if not blocks:
            return np.empty((m, 0), dtype=common, order="F")
        return blocks[0] if len(blocks) == 1 else np.asfortranarray(np.hstack(blocks))

    X = _run(c, assemble)
    return ColumnBlock(X, start, stop, plan.shape, plan.fmt, files)


def load_columns(path, comm, *, format=None, variable=None, transpose=False, dtype=None):
    """Read this rank's columns (documents) of a words x documents matrix. Collective: every
    rank of ``comm`` calls it with the same arguments.

    Rank r reads columns ``[start, stop)`` of :func:`~nnmf.distributed.column_range`.

    Parameters
    ----------
    path : str or path-like
        A matrix file or a folder of shards:

        - ``.npy``: memory-mapped, each rank reads only its columns (rows with ``transpose``);
        - ``.npz`` (:func:`scipy.sparse.save_npz`, or a numpy archive with ``variable``),
          ``.mtx`` (Matrix Market) and ``.mat`` (MATLAB; only ``variable`` is read): these
          formats cannot be read in part, so each rank reads the whole matrix, keeps a copy of
          its columns and drops the rest (memory: the matrix once, then the block). For large
          data use ``.npy`` or a folder of shards;
        - a folder of shards: its files of one of those formats (hidden files and other
          extensions are skipped), in sorted order of their names (zero-pad the numbers:
          ``part-0000.npz``, ``part-0001.npz``, ...), each a block of consecutive documents
          with the same words. Their sizes come from their headers; a rank reads only the
          shards that overlap its block.
    comm : mpi4py communicator or None
        None reads the whole matrix in this process.
    format : {"npz", "npy", "mtx", "mat"}, default=None
        None tells it from the extension; for a folder, the format of the shards (only files
        of that format are read).
    variable : str, default=None
        The matrix's name in a ``.mat`` file or numpy ``.npz`` archive (in every shard). None
        takes the only 2-D numeric array of at least 2 x 2, as :func:`nnmf.topics.load_corpus`
        does (name it when a shard may hold a single document).
    transpose : bool, default=False
        The matrix on file (each shard) is documents x words: rank r reads rows, not columns.
    dtype : {None, numpy.float32, numpy.float64}, default=None
        None keeps the file's floating type (integers become float64; shards of different
        types are promoted to one type on every rank).

    Returns
    -------
    ColumnBlock
        ``X`` (this rank's columns: scipy CSC when the input is sparse, else a
        Fortran-ordered array), ``start``, ``stop``, ``shape`` (the whole matrix's),
        ``format`` and ``files`` (what this rank read).

    Raises
    ------
    FileNotFoundError, ValueError
        Every rank raises when any rank fails, and none is left waiting. A failure of the
        input as a whole (no such path, shards with different numbers of words) is the same
        exception on every rank. A failure of one rank's part (its shard is unreadable, its
        columns hold NaN or negative entries) is raised by that rank.
    CollectiveError
        On the other ranks in that case, naming the failing rank and its message.

    Examples
    --------
    >>> from mpi4py import MPI                                            # doctest: +SKIP
    >>> block = nnmf.distributed.load_columns("shards/", MPI.COMM_WORLD)  # doctest: +SKIP
    >>> model = nnmf.NeuralNMF((20, 5), comm=MPI.COMM_WORLD).fit(block.X) # doctest: +SKIP
    """
    c = as_collective(comm)
    _same_arguments(c, "nnmf.distributed.load_columns", dict(
        path=str(path), format=format, variable=variable, transpose=bool(transpose),
        dtype=None if dtype is None else str(dtype)))
    dt = _run(c, _check_dtype, dtype)
    plan = _plan_matrix(c, Path(path), format, variable, bool(transpose))
    return _read_block(c, plan, dt)


# ---------------------------------------------------------------------------------------------
# Vocabulary and labels of matrices


class _Names(Mapping):
    """The named arrays of a .mat file or numpy .npz archive, each read when first asked for:
    load_corpus's ``names`` without reading the whole file."""

    def __init__(self, path, fmt):
        self.path, self.fmt = Path(path), fmt
        if fmt == "mat":
            self._names = [n for n, _, _ in scipy.io.whosmat(str(self.path))
                           if not n.startswith("__")]
        else:
            with np.load(self.path, allow_pickle=False) as archive:
                self._names = list(archive.files)
        self._cache = {}

    def __contains__(self, key):
        return key in self._names

    def __getitem__(self, key):
        if key not in self._names:
            raise KeyError(key)
        if key not in self._cache:
            if self.fmt == "mat":
                value = scipy.io.loadmat(str(self.path), variable_names=[key])[key]
            else:
                with np.load(self.path, allow_pickle=False) as archive:
                    value = archive[key]
            self._cache[key] = value
        return self._cache[key]

    def __iter__(self):
        return iter(self._names)

    def __len__(self):
        return len(self._names)


def _names_of(shard):
    """The named arrays of a shard's file where load_corpus would have them, else None."""
    return None if shard.variable is None else _Names(shard.path, shard.fmt)


def _matrix_meta(plan, vocabulary, labels, encoding):
    """Rank 0: the vocabulary, and the labels' codes and names of the whole matrix."""
    first = plan.shards[0]
    names = _names_of(first)
    where = plan.path if not plan.folder else Path(first.path)
    vocab = _c._read_vocabulary(vocabulary, where, plan.fmt, names, encoding)
    m, n = plan.shape
    if vocab is not None and len(vocab) != m:
        hint = ""
        if len(vocab) == n and not plan.transpose:
            hint = ("; the matrix looks like documents x words: transpose it "
                    "(--transpose, or transpose=True)")
        raise ValueError(
            f"the vocabulary has {len(vocab)} words but the matrix has {m} rows "
            f"(words) and {n} columns (documents){hint}")
    if labels is None:
        return vocab, None, None
    if plan.folder and names is not None and isinstance(labels, str) and labels in names:
        raw = []
        for s in plan.shards:  # a variable of every shard: its documents' labels
            part = _c._matrix_labels(labels, Path(s.path), s.fmt, _names_of(s), encoding)
            if len(part) != s.documents(plan.transpose):
                raise ValueError(f"{s.label} has {len(part)} labels for "
                                 f"{s.documents(plan.transpose)} documents")
            raw.extend(part)
    else:
        raw = _c._matrix_labels(labels, where, plan.fmt, names, encoding)
    if len(raw) != n:
        raise ValueError(f"{len(raw)} labels for {n} documents")
    codes, label_names = _c.label_codes(raw)
    return vocab, codes, label_names


# ---------------------------------------------------------------------------------------------
# Text


class _Lines:
    """The lines of a text file from a byte offset, split and decoded exactly as
    ``open(path, encoding=encoding, errors="replace")`` gives them (at ``\\n``, ``\\r\\n``
    and a lone ``\\r``): with their endings (``newline=""``, for csv) or with each ending
    turned into ``\\n`` (universal newlines). ``offset`` is the byte offset of the next line.
    The encoding must write ``\\n`` and ``\\r`` as those single bytes (``_line_encoding``).
    ``problem``: the first decoding problem met, as ``nnmf.topics``' ``_decode`` reports it
    but with the byte offset in place of the line: ("undecodable", (offset, byte)) or
    ("nul", None); None while there is none."""

    _LONE_CR = re.compile(rb"(?<=\r)(?!\n)")

    def __init__(self, path, offset=0, universal=False, encoding="utf-8"):
        self._fh = open(path, "rb")
        self._fh.seek(offset)
        self.offset = offset
        self._universal = universal
        self._encoding = encoding
        self._pending = []
        self.problem = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()

    def __iter__(self):
        return self

    def __next__(self):
        if not self._pending:
            raw = self._fh.readline()
            if not raw:
                raise StopIteration
            pieces = [raw] if b"\r" not in raw else [p for p in self._LONE_CR.split(raw) if p]
            self._pending = pieces[::-1]
        piece = self._pending.pop()
        try:
            text = piece.decode(self._encoding)
        except UnicodeDecodeError as exc:
            text = piece.decode(self._encoding, "replace")
            if self.problem is None:
                self.problem = ("undecodable", (self.offset + exc.start, piece[exc.start]))
        if "\x00" in text and (self.problem is None or self.problem[0] != "nul"):
            self.problem = ("nul", None)
        self.offset += len(piece)
        if self._universal:
            if text.endswith("\r\n"):
                text = text[:-2] + "\n"
            elif text.endswith("\r"):
                text = text[:-1] + "\n"
        return text


def _split_points(n_ranks, starts, extra=None):
    """For each rank: (its first record's byte offset, ``extra`` of that record), or None
    when it has no records."""
    n = len(starts)
    points = []
    for r in range(n_ranks):
        a, b = column_range(n, r, n_ranks)
        points.append((starts[a], None if extra is None else extra[a]) if a < b else None)
    return points


def _global_labels(labels, n, expected, encoding):
    """Rank 0: the codes and names of labels given for the whole corpus (a file or a
    sequence)."""
    raw = _c._labels_from_file_or_list(labels, expected, encoding)
    if len(raw) != n:
        raise ValueError(f"{len(raw)} labels for {n} documents")
    return _c.label_codes(raw)


def _line_encoding(path, encoding):
    """(codec, byte offset of the text) for reading a CSV or JSON Lines file in pieces
    split at line-ending bytes: a byte-order mark chooses the codec and is skipped (as
    ``nnmf.topics``' ``_decode`` reads it). The pieces are only right in a codec that writes
    line endings as single ASCII bytes, so UTF-16 and UTF-32 are refused."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    start = 0
    for bom, name in _c._BOMS:
        if head.startswith(bom):
            encoding, start = name, len(bom)
            break
    codec = encoding
    if "\r\n{}\",".encode(codec, errors="replace") != b"\r\n{}\",":
        raise ValueError(f"{path.name} is {codec} text, which the ranks cannot split at line "
                         f"ends: convert it to UTF-8 (e.g. iconv -f {codec.upper()} -t UTF-8) "
                         "or read it in one process")
    return codec, start


def _text_plan(path, fmt, labels, text_column, id_column, vocabulary, options, n_ranks,
               encoding):
    """Rank 0: the documents and how they split across the ranks, without reading the text
    itself more than once (folders: the file list; CSV and JSON Lines: one scan for where the
    records start)."""
    if isinstance(vocabulary, (str, os.PathLike)):
        raise ValueError("a vocabulary file goes with a pre-vectorised matrix; text input "
                         "builds its own vocabulary")
    if vocabulary is not None and len(vocabulary) == 0:
        raise ValueError("the fixed vocabulary is empty")
    _vectorizer(options, vocabulary)
    plan = dict(fmt=fmt, codes=None, label_names=None)
    if fmt == "text":
        files = sorted(p for p in path.rglob("*.txt") if p.is_file())  # as load_corpus
        if not files:
            raise ValueError(f"empty corpus: no .txt files in {path}")
        rel = [f.relative_to(path) for f in files]
        plan.update(n=len(files), files=[r.as_posix() for r in rel])
        if labels is not None:
            if isinstance(labels, str) and labels == "folders":
                raw = [r.parts[0] if len(r.parts) > 1 else None for r in rel]
                if all(v is None for v in raw):
                    raise ValueError(
                        f"labels='folders' but every .txt file sits directly in {path}: "
                        "put each class's files in a subfolder named after it")
                plan["codes"], plan["label_names"] = _c.label_codes(raw)
            else:
                plan["codes"], plan["label_names"] = _global_labels(
                    labels, len(files), "'folders' or a labels file", encoding)
        return plan
    codec, begin = _line_encoding(path, encoding)
    plan["encoding"] = codec
    if fmt == "csv":
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        _c._raise_csv_field_limit()
        with _Lines(path, begin, encoding=codec) as lines:
            reader = csv.reader(lines, delimiter=delimiter)
            header = next(reader, None) or []
            if not header:
                raise ValueError(f"empty corpus: {path.name} has no header row")
            starts = array.array("q")
            while True:
                at = lines.offset
                row = next(reader, None)
                if row is None:
                    break
                if row:  # csv.DictReader skips blank rows
                    starts.append(at)
        _c._pick_column(header, text_column, "text column", path)
        if id_column is not None:
            _c._pick_column(header, id_column, "id column", path)
        if not starts:
            raise ValueError(f"empty corpus: no documents in {path}")
        plan.update(n=len(starts), header=header, delimiter=delimiter,
                    points=_split_points(n_ranks, starts))
        columns = header
    else:
        with _Lines(path, begin, universal=True, encoding=codec) as lines:
            starts, linenos, lineno = array.array("q"), array.array("q"), 0
            while True:
                at = lines.offset
                line = next(lines, None)
                if line is None:
                    break
                lineno += 1
                if line.strip():
                    starts.append(at)
                    linenos.append(lineno)
        if not starts:
            raise ValueError(f"empty corpus: no records in {path}")
        plan.update(n=len(starts), points=_split_points(n_ranks, starts, linenos))
        columns = None  # the union of the records' keys: known once every rank has read
    if labels is not None and not (isinstance(labels, str) and (
            (columns is not None and labels in columns) or not Path(labels).is_file())):
        # a file or a sequence: every document's label (a column is read with its rows)
        what = "column" if fmt == "csv" else "key"
        plan["codes"], plan["label_names"] = _global_labels(
            labels, len(starts), f"a {what} name or a labels file", encoding)
    return plan


def _vectorizer(options, vocabulary):
    """load_corpus's CountVectorizer, its parameters checked as fitting it would."""
    cv = _c._make_vectorizer(options, vocabulary)
    try:
        if vocabulary is None:
            cv._validate_params()
            cv._validate_vocabulary()
        else:
            cv._validate_vocabulary()
    except ValueError as exc:
        raise _c.vectorizer_error(exc) from None
    return cv


def _read_documents(plan, path, start, stop, progress, encoding):
    """This rank's records: (rows or texts, doc ids or None, keys seen, decoding problems as
    (file name, problem) pairs: a text folder's per file (``nnmf.topics``' ``_decode``), a
    CSV or JSON Lines file's first (``_Lines.problem``))."""
    count = stop - start
    fmt = plan["fmt"]
    if fmt == "text":
        rel = plan["files"][start:stop]
        texts, problems = [], []
        for r in _c._progress(rel, progress, "reading", len(rel)):
            text, problem = _c._decode((path / r).read_bytes(), encoding)
            texts.append(text)
            if problem is not None:
                problems.append((str(path / r), problem))
        return texts, rel, None, problems
    point = plan["points"]
    if count == 0:
        return [], None, [], []
    offset, first_line = point
    codec = plan["encoding"]
    if fmt == "csv":
        _c._raise_csv_field_limit()
        with _Lines(path, offset, encoding=codec) as lines:
            reader = csv.DictReader(lines, fieldnames=plan["header"],
                                    delimiter=plan["delimiter"])
            rows = list(itertools.islice(reader, count))
        keys, problem = plan["header"], lines.problem
    else:
        rows, keys, lineno = [], {}, first_line - 1
        with _Lines(path, offset, universal=True, encoding=codec) as lines:
            for line in lines:
                lineno += 1
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(
                        f"{path.name} line {lineno} is not valid JSON: {exc.msg}") from None
                if not isinstance(row, dict):
                    raise ValueError(f"{path.name} line {lineno} is not a JSON object")
                rows.append(row)
                keys.update(dict.fromkeys(row))
                if len(rows) == count:
                    break
        keys, problem = list(keys), lines.problem
    if len(rows) != count:
        raise ValueError(f"{path.name} changed while it was read: expected {count} records "
                         f"from byte {offset}, found {len(rows)}")
    return rows, None, keys, [] if problem is None else [(path.name, problem)]


def _report_decoding(c, path, problems, plan, encoding):
    """Rank 0 warns as ``nnmf.topics.load_corpus`` does about the decoding problems every
    rank met (``_read_documents``): a folder's files, or the file's first problem with its
    line."""
    gathered = _gather(c, problems)
    if c.rank != 0:
        return
    problems = [p for rank in gathered for p in rank]
    if plan["fmt"] == "text":
        _c._report_decoding(problems, plan["n"], encoding, ".txt files", stacklevel=5)
        return
    kinds = [problem for _, problem in problems]
    if ("nul", None) in kinds:
        problem = ("nul", None)
    elif kinds:
        offset, byte = min(where for _, where in kinds)
        with open(path, "rb") as fh:
            line = fh.read(offset).count(b"\n") + 1
        problem = ("undecodable", f"byte 0x{byte:02x} on line {line}")
    else:
        return
    _c._report_decoding([(path.name, problem)], 1, plan["encoding"], "files", stacklevel=5)


def _records(rows, columns, path, text_column, id_column, labels, what, start, have_codes):
    """load_corpus's _records for this rank's rows: (texts, doc ids, raw labels of a column or
    None)."""
    _c._pick_column(columns, text_column, f"text {what}", path)
    texts = ["" if r.get(text_column) is None else str(r.get(text_column)) for r in rows]
    if id_column is not None:
        _c._pick_column(columns, id_column, f"id {what}", path)
        doc_ids = [str(r.get(id_column)) for r in rows]
    else:
        doc_ids = [str(start + i) for i in range(len(rows))]
    raw = None
    if labels is not None:
        if isinstance(labels, str) and labels in columns:
            raw = [r.get(labels) for r in rows]
        elif isinstance(labels, str) and not Path(labels).is_file():
            _c._pick_column(columns, labels, f"label {what}", path)
        elif not have_codes:
            _c._labels_from_file_or_list(labels, f"a {what} name or a labels file")
    return texts, doc_ids, raw


def _count(texts, options):
    """Count this rank's documents as CountVectorizer does: the terms in order of first
    appearance, and each document's (term, count) in order of first appearance in it."""
    analyze = _vectorizer(options, None).build_analyzer()
    vocab, indices, values, indptr = {}, [], array.array("l"), [0]
    for doc in texts:
        counter = {}
        for feature in analyze(doc):
            j = vocab.get(feature)
            if j is None:
                j = vocab[feature] = len(vocab)
            counter[j] = counter.get(j, 0) + 1
        indices.extend(counter.keys())
        values.extend(counter.values())
        indptr.append(len(indices))
    indices = np.asarray(indices, dtype=np.int64)
    values = np.frombuffer(values, dtype=np.dtype("l")).astype(np.float64) if values else (
        np.zeros(0))
    return list(vocab), indices, values, np.asarray(indptr, dtype=np.int64)


def _count_fixed(texts, options, vocabulary):
    """This rank's documents x words counts over a fixed vocabulary, as vectorize."""
    cv = _vectorizer(options, vocabulary)
    try:
        counts = cv.transform(texts)
    except ValueError as exc:
        raise ValueError(f"vectorising the text failed: {exc}") from None
    return sp.csr_matrix(counts, dtype=np.float64)


def _count_stats(texts, options):
    """This rank's counts (:func:`_count`) and its terms' statistics for rank 0: (terms,
    document frequencies, total counts)."""
    counted = _count(texts, options)
    terms, indices, values, _ = counted
    df = np.bincount(indices, minlength=len(terms)).astype(np.int64)
    tf = np.bincount(indices, weights=values, minlength=len(terms))
    return counted, (terms, df, tf)


def _agree_vocabulary(stats, n, options):
    """Rank 0: the vocabulary of the whole corpus from every rank's term statistics, pruned
    exactly as CountVectorizer.fit_transform prunes it (min_df, max_df, max_features), with
    each kept term's place in the order of first appearance and the tf-idf weights."""
    index = {}
    for terms, _, _ in stats:  # ranks in order: the order of first appearance in the corpus
        for t in terms:
            if t not in index:
                index[t] = len(index)
    if not index:
        raise ValueError("empty corpus: the documents contain no words (after removing stop "
                         "words)")
    df = np.zeros(len(index), dtype=np.int64)
    tf = np.zeros(len(index), dtype=np.float64)
    for terms, d, t in stats:
        at = np.fromiter((index[w] for w in terms), dtype=np.int64, count=len(terms))
        df[at] += d
        tf[at] += t
    max_df, min_df, limit = options["max_df"], options["min_df"], options["max_features"]
    high = max_df if isinstance(max_df, numbers.Integral) else max_df * n
    low = min_df if isinstance(min_df, numbers.Integral) else min_df * n
    if high < low:
        raise ValueError("vectorising the text failed: max_df corresponds to < documents than "
                         "min_df")
    terms = sorted(index)
    appearance = np.fromiter((index[w] for w in terms), dtype=np.int64, count=len(terms))
    dfs, tfs = df[appearance], tf[appearance]
    mask = (dfs <= high) & (dfs >= low)
    if limit is not None and mask.sum() > limit:  # CountVectorizer._limit_features
        mask_inds = (-tfs[mask]).argsort()[:limit]
        new_mask = np.zeros(len(dfs), dtype=bool)
        new_mask[np.where(mask)[0][mask_inds]] = True
        mask = new_mask
    kept = np.where(mask)[0]
    if len(kept) == 0:
        raise ValueError("vectorising the text failed: After pruning, no terms remain. Try a "
                         "lower min_df or a higher max_df.")
    vocab = [terms[i] for i in kept]
    idf = None
    if options.get("kind", "tfidf") == "tfidf":
        idf = np.log((1.0 + n) / (1.0 + dfs[kept])) + 1.0  # weigh_counts's smoothed idf
    return vocab, appearance[kept], idf


def _local_counts(local, vocab, appearance):
    """This rank's documents x words counts over the agreed vocabulary, each row's entries in
    the order CountVectorizer leaves them (the terms' first appearance in the corpus)."""
    terms, indices, values, indptr = local
    position = {w: i for i, w in enumerate(vocab)}
    to_final = np.fromiter((position.get(w, -1) for w in terms), dtype=np.int64,
                           count=len(terms))
    n_local = len(indptr) - 1
    rows = np.repeat(np.arange(n_local), np.diff(indptr))
    final = to_final[indices] if indices.size else indices
    keep = final >= 0
    rows, final, values = rows[keep], final[keep], values[keep]
    order = np.lexsort((appearance[final], rows))
    ptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_local))])
    return sp.csr_matrix((values[order], final[order], ptr), shape=(n_local, len(vocab)))


def _agree_labels(c, raw):
    """Codes of this rank's labels with label names agreed across the ranks, so that a code
    means the same class everywhere: as label_codes on every document's label."""
    def local():
        classes, codes = encode_labels(raw, name="labels")
        return classes.tolist(), codes

    classes, codes = _run(c, local)
    everyone = c.allgather(classes)
    merged = _run(c, lambda: encode_labels([v for cl in everyone for v in cl],
                                           name="labels")[0].tolist())
    where = {v: i for i, v in enumerate(merged)}
    remap = np.array([where[v] for v in classes], dtype=np.int64)
    out = np.full(len(codes), -1, dtype=np.int64)
    known = codes >= 0
    out[known] = remap[codes[known]]
    return out, [str(v) for v in merged]


def _load_text(c, path, fmt, labels, text_column, id_column, vocabulary, options, idf,
               progress, encoding):
    # Phase 1 (rank 0): the documents and where each rank's start
    plan = _on_root(c, _text_plan, path, fmt, labels, text_column, id_column, vocabulary,
                    options, c.size, encoding)
    n = plan["n"]
    start, stop = c.column_range(n)
    if "points" in plan:
        plan["points"] = plan["points"][c.rank]

    # Phase 2: each rank reads its documents
    texts, doc_ids, keys, problems = _run(c, _read_documents, plan, path, start, stop,
                                          progress and c.rank == 0, encoding)
    _report_decoding(c, path, problems, plan, encoding)
    raw = None  # this rank's labels, when they come from a column
    if fmt != "text":
        if fmt == "jsonl":  # the union of every record's keys, in order of first appearance
            keys = list(dict.fromkeys(k for ks in c.allgather(keys) for k in ks))
        what = "column" if fmt == "csv" else "key"
        texts, doc_ids, raw = _run(c, _records, texts, keys, path, text_column, id_column,
                                   labels, what, start, plan["codes"] is not None)

    # Phase 3: the vocabulary, the document frequencies and the idf of the whole corpus
    if vocabulary is not None:
        counts = _run(c, _count_fixed, texts, options, vocabulary)
        texts = None
        vocab, weights = list(vocabulary), idf
        if options["kind"] == "tfidf" and idf is None:
            (df,) = c.sum(np.bincount(counts.indices, minlength=counts.shape[1]))
            weights = np.log((1.0 + n) / (1.0 + df)) + 1.0  # weigh_counts's smoothed idf
    else:
        counted, summary = _run(c, _count_stats, texts, options)
        texts = None
        gathered = _gather(c, summary)
        summary = None
        vocab, appearance, weights = _on_root(c, _agree_vocabulary, gathered, n, options)
        gathered = None
        counts = _run(c, _local_counts, counted, vocab, appearance)
    X, weights = _run(c, _c.weigh_counts, counts, options, weights)
    corpus = _c.Corpus(X, vocab, list(doc_ids), vectorizer=options, idf=weights)

    # Phase 4: the labels, coded with the same names on every rank
    if raw is not None:
        corpus.labels, corpus.label_names = _agree_labels(c, raw)
    elif plan["codes"] is not None:
        corpus.labels = plan["codes"][start:stop]
        corpus.label_names = plan["label_names"]
    return corpus


def _which_input(path, fmt):
    """Rank 0: ("text", format) or ("matrix", (folder, format, files))."""
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    if path.is_dir():
        if fmt == "text" or (fmt is None and (
                next(path.rglob("*.txt"), None) is not None or not _has_shards(path))):
            return "text", "text"  # as load_corpus (a folder without .txt files is an error)
        return "matrix", _locate(path, fmt)
    kind = _c.detect_format(path, fmt)
    return ("text", kind) if kind in ("csv", "jsonl") else ("matrix", _locate(path, kind))


def _has_shards(path):
    suffixes = sum((_c.FORMATS[k] for k in _MATRIX_FORMATS), ())
    return any(p.is_file() and p.suffix.lower() in suffixes and not p.name.startswith(".")
               for p in path.iterdir())


def load_corpus(path, comm, *, format=None, labels=None, text_column="text", id_column=None,
                variable=None, vocabulary=None, transpose=False, vectorizer="tfidf",
                stop_words="english", min_df=1, max_df=1.0, max_features=None,
                ngram_range=(1, 1), idf=None, progress=False, encoding="utf-8"):
    """Read this rank's documents of a corpus as :func:`nnmf.topics.load_corpus` reads the
    whole corpus. Collective: every rank of ``comm`` calls it with the same arguments.

    The documents are ordered as :func:`nnmf.topics.load_corpus` orders them (a folder's
    ``.txt`` files in sorted order, a CSV's rows, a JSON Lines file's records) and rank r
    takes block ``[start, stop)`` of :func:`~nnmf.distributed.column_range`. Each rank reads
    and vectorises only its documents (for CSV and JSON Lines, rank 0 first scans the file
    once for where the records start); the vocabulary, the document frequencies (hence
    ``min_df``, ``max_df``, ``max_features``) and the tf-idf weights are agreed across the
    ranks, so each rank's ``X`` is exactly its columns of the single-process result, and the
    label names are agreed so that a label code means the same class on every rank.

    Pre-vectorised matrices (and folders of matrix shards) are read with
    :func:`load_columns`.

    Parameters
    ----------
    path : str or path-like
        As :func:`nnmf.topics.load_corpus`, or a folder of matrix shards (see
        :func:`load_columns`): a folder is text when it holds ``.txt`` files or ``format`` is
        "text". In a shard folder ``vocabulary`` may name a variable of the first shard and
        ``labels`` a variable of every shard (its documents' labels).
    comm : mpi4py communicator or None
        None reads the whole corpus in this process.
    format, labels, text_column, id_column, variable, vocabulary, transpose, vectorizer, \
stop_words, min_df, max_df, max_features, ngram_range, idf, progress, encoding
        As :func:`nnmf.topics.load_corpus` (``progress`` shows rank 0's reading; rank 0
        warns about text that is not valid in ``encoding``, as one process does). A CSV or
        JSON Lines file is split among the ranks at its line ends, which needs an encoding
        that writes them as single bytes: UTF-16 and UTF-32 files are refused there (convert
        them to UTF-8, or read them in one process).

    Returns
    -------
    Corpus
        ``X``: this rank's columns (words x its documents); ``vocabulary``, ``label_names``,
        ``vectorizer`` and ``idf``: those of the whole corpus, the same on every rank;
        ``doc_ids`` and ``labels``: this rank's documents' (matrices' documents are numbered
        from 0 over the whole corpus).

    Raises
    ------
    FileNotFoundError, ValueError, CollectiveError
        As :func:`load_columns`: every rank raises when any rank fails (the same error where
        the input or the options are at fault, e.g. options that prune every word).
    """
    c = as_collective(comm)
    arguments = dict(path=str(path), format=format, labels=labels, text_column=text_column,
                     id_column=id_column, variable=variable, vocabulary=vocabulary,
                     transpose=bool(transpose), vectorizer=vectorizer, stop_words=stop_words,
                     min_df=min_df, max_df=max_df, max_features=max_features,
                     ngram_range=tuple(ngram_range), idf=idf, encoding=encoding)
    _same_arguments(c, "nnmf.distributed.load_corpus", arguments)
    encoding = _c._check_encoding(encoding)
    path = Path(path)
    kind, detail = _on_root(c, _which_input, path, format)
    if kind == "text":
        options = dict(kind=vectorizer, stop_words=stop_words, min_df=min_df, max_df=max_df,
                       max_features=max_features, ngram_range=list(ngram_range))
        return _load_text(c, path, detail, labels, text_column, id_column, vocabulary, options,
                          idf, progress, encoding)
    plan = _plan_matrix(c, path, detail[1], variable, bool(transpose), located=detail)
    vocab, codes, label_names = _on_root(c, _matrix_meta, plan, vocabulary, labels, encoding)
    block = _read_block(c, plan, None)
    corpus = _c.Corpus(block.X, vocab, [str(j) for j in range(block.start, block.stop)])
    if codes is not None:
        corpus.labels, corpus.label_names = codes[block.start:block.stop], label_names
    return corpus
