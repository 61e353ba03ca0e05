"""Reading a corpus into a words x documents matrix, its vocabulary and its labels.

Raw text (a folder of .txt files, a CSV file, a JSON Lines file) is vectorised with
scikit-learn's CountVectorizer or TfidfVectorizer (the ``text`` extra, imported only when
needed). Pre-vectorised matrices (.npz, .mtx, .mat, .npy) are read as they are. Columns are
documents and rows are words, the orientation every nnmf estimator expects.
"""

import codecs
import csv
import io
import json
import numbers
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.io
import scipy.sparse as sp

from .._utils.labels import encode_labels
from ..layer import check_matrix

__all__ = ["Corpus", "load_corpus", "vectorize", "FORMATS", "detect_format", "count_tokens",
           "weigh_counts", "label_codes"]

#: Input formats and the file extensions that select them.
FORMATS = {
    "text": (),  # a directory of .txt files
    "csv": (".csv", ".tsv"),
    "jsonl": (".jsonl", ".ndjson"),
    "npz": (".npz",),
    "mtx": (".mtx", ".mm"),
    "mat": (".mat",),
    "npy": (".npy",),
}
_TEXT_FORMATS = ("text", "csv", "jsonl")
_VECTORIZERS = ("tfidf", "count")
#: Byte-order marks (UTF-32 before UTF-16, whose mark begins UTF-32 LE's): a text file that
#: starts with one is read in the encoding it marks, whatever ``encoding`` says.
#: The mark is stripped and the rest decoded in the codec it names, so that a decoding error's
#: position counts from the text after it.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
         (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))


@dataclass
class Corpus:
    """A words x documents matrix with what is known about its rows and columns.

    Attributes
    ----------
    X : ndarray or scipy.sparse.csc_matrix of shape (n_words, n_documents)
        Nonnegative. None in a corpus description read back from a model file.
    vocabulary : list of str or None
        The word of each row.
    doc_ids : list of str
        A name for each column: a file's path relative to the folder, a row number, ...
    labels : ndarray of int of shape (n_documents,) or None
        Index into ``label_names`` of each document's label; -1 where it is unknown.
    label_names : list of str or None
    vectorizer : dict or None
        How the text was vectorised (kind and options), to vectorise new text the same way.
    idf : ndarray or None
        The inverse document frequencies of a tf-idf vectorizer.
    """

    X: object
    vocabulary: list = None
    doc_ids: list = field(default_factory=list)
    labels: np.ndarray = None
    label_names: list = None
    vectorizer: dict = None
    idf: np.ndarray = None

    @property
    def n_documents(self):
        return len(self.doc_ids)

    @property
    def label_mask(self):
        """Boolean mask of the documents whose label is known (None without labels)."""
        return None if self.labels is None else self.labels >= 0


def detect_format(path, fmt):
    if fmt is not None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
        if fmt == "text" and not path.is_dir():
            raise ValueError(
                f"format 'text' reads a folder of .txt files, and {path} is not a folder")
        return fmt
    if path.is_dir():
        return "text"
    suffix = path.suffix.lower()
    for name, suffixes in FORMATS.items():
        if suffix in suffixes:
            return name
    known = ", ".join(s for suffixes in FORMATS.values() for s in suffixes)
    raise ValueError(
        f"cannot tell the format of {path.name!r} from its extension; expected a folder of .txt "
        f"files or one of {known} (or name the format)")


def load_corpus(path, *, format=None, labels=None, text_column="text", id_column=None,
                variable=None, vocabulary=None, transpose=False, vectorizer="tfidf",
                stop_words="english", min_df=1, max_df=1.0, max_features=None,
                ngram_range=(1, 1), idf=None, progress=False, encoding="utf-8"):
    """Read a corpus from a file or folder.

    Parameters
    ----------
    path : str or path-like
        A folder of ``.txt`` files (one document each, read recursively, in sorted order), a
        ``.csv``/``.tsv`` file or a ``.jsonl`` file (one document per row or line), or a
        pre-vectorised matrix: ``.npz`` (scipy sparse, or a numpy archive with ``variable``),
        ``.mtx`` (Matrix Market), ``.mat`` (MATLAB, the array named ``variable``) or ``.npy``.
    format : {"text", "csv", "jsonl", "npz", "mtx", "mat", "npy"}, default=None
        None tells it from the extension (a folder is "text").
    labels : str or sequence, default=None
        Each document's label (class). ``"folders"`` for a text folder: the name of the
        subfolder a file sits in (files at the top level have no label). For CSV/JSON Lines,
        the name of a column/key. For ``.mat`` and numpy archives, the name of a variable. A
        path to a text file (one label per line) or ``.npy`` file works for every format, and a
        sequence of labels from Python. Empty, NaN or -1 marks a label as unknown.
    text_column : str, default="text"
        CSV column or JSON key holding the text.
    id_column : str, default=None
        CSV column or JSON key naming each document; None numbers them from 0.
    variable : str, default=None
        The matrix's name inside a ``.mat`` file or numpy ``.npz`` archive. None takes the
        only 2-D numeric array there.
    vocabulary : str or sequence of str, default=None
        The word of each row of a pre-vectorised matrix: a text file (one word per line), a
        ``.npy``/``.json`` file, a variable of the same ``.mat``/``.npz`` file, or a sequence.
        For text, a fixed vocabulary (a sequence) to count instead of learning one: how new
        documents are vectorised like a model's training corpus.
    transpose : bool, default=False
        The matrix on file is documents x words (scikit-learn's orientation): transpose it.
    vectorizer : {"tfidf", "count"}, default="tfidf"
        For text: scikit-learn's TfidfVectorizer (l2-normalised tf-idf) or CountVectorizer.
    stop_words : "english" or None, default="english"
    min_df, max_df : int or float, default=1 and 1.0
        Drop words in fewer / more documents than this (a float is a fraction of documents).
    max_features : int, default=None
        Keep only the most frequent words.
    ngram_range : (int, int), default=(1, 1)
    idf : array-like, default=None
        With a fixed ``vocabulary`` and tf-idf: the training corpus's inverse document
        frequencies (None computes them from these documents).
    progress : bool, default=False
        Show a progress bar (tqdm) while reading a folder of text files.
    encoding : str, default="utf-8"
        The encoding of text files (``.txt``, CSV, JSON Lines, and vocabulary and label files
        with one entry per line), e.g. ``"latin-1"`` or ``"cp1252"``. A file that starts
        with a byte-order mark (UTF-8, UTF-16 or UTF-32) is read in the encoding it marks.

    Returns
    -------
    Corpus
        ``X`` is words x documents: scipy CSC for text and sparse inputs.

    Warns
    -----
    UserWarning
        For text that is not valid in ``encoding`` (its undecodable bytes are replaced, which
        splits words; the warning counts the files and names one), and for text holding NUL
        characters (UTF-16 or UTF-32 without a byte-order mark).

    Examples
    --------
    >>> corpus = load_corpus("reviews.csv", labels="stars", min_df=2)  # doctest: +SKIP
    >>> corpus.X.shape                                                 # doctest: +SKIP
    (5231, 1200)
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    fmt = detect_format(path, format)
    encoding = _check_encoding(encoding)
    if fmt in _TEXT_FORMATS:
        if isinstance(vocabulary, (str, os.PathLike)):
            raise ValueError("a vocabulary file goes with a pre-vectorised matrix; text input "
                             "builds its own vocabulary")
        if vocabulary is not None and len(vocabulary) == 0:
            raise ValueError("the fixed vocabulary is empty")
        if fmt == "text":
            texts, doc_ids, raw_labels = _read_text_folder(path, labels, progress, encoding)
        else:
            reader = _read_csv if fmt == "csv" else _read_jsonl
            texts, doc_ids, raw_labels = reader(path, text_column, id_column, labels,
                                                encoding)
        if not texts:
            raise ValueError(f"empty corpus: no documents in {path}")
        options = dict(kind=vectorizer, stop_words=stop_words, min_df=min_df, max_df=max_df,
                       max_features=max_features, ngram_range=list(ngram_range))
        X, vocab, idf = vectorize(texts, options, vocabulary=vocabulary, idf=idf)
        corpus = Corpus(X, vocab, doc_ids, vectorizer=options, idf=idf)
    else:
        X, names = _read_matrix(path, fmt, variable)
        if transpose:
            X = X.T
        X = _as_nonnegative(X, path)
        if X.shape[1] == 0 or X.shape[0] == 0:
            raise ValueError(f"empty corpus: the matrix in {path} has shape {X.shape}")
        vocab = _read_vocabulary(vocabulary, path, fmt, names, encoding)
        if vocab is not None and len(vocab) != X.shape[0]:
            hint = ""
            if len(vocab) == X.shape[1] and not transpose:
                hint = ("; the matrix looks like documents x words: transpose it "
                        "(--transpose, or transpose=True)")
            raise ValueError(
                f"the vocabulary has {len(vocab)} words but the matrix has {X.shape[0]} rows "
                f"(words) and {X.shape[1]} columns (documents){hint}")
        corpus = Corpus(X, vocab, [str(j) for j in range(X.shape[1])])
        raw_labels = _matrix_labels(labels, path, fmt, names, encoding)
    if raw_labels is not None:
        if len(raw_labels) != corpus.n_documents:
            raise ValueError(f"{len(raw_labels)} labels for {corpus.n_documents} documents")
        corpus.labels, corpus.label_names = label_codes(raw_labels)
    return corpus


# ---------------------------------------------------------------------------------------------
# Text


def _make_vectorizer(options, vocabulary=None):
    try:
        from sklearn.feature_extraction.text import CountVectorizer
    except ImportError:
        raise ImportError("vectorising text needs scikit-learn: pip install 'nnmf[text]'") from None
    kind = options.get("kind", "tfidf")
    if kind not in _VECTORIZERS:
        raise ValueError(f"unknown vectorizer {kind!r}; choose one of: {', '.join(_VECTORIZERS)}")
    stop_words = options.get("stop_words")
    if stop_words not in (None, "english"):
        raise ValueError(f"stop_words must be 'english' or None, got {stop_words!r}")
    ngram = tuple(options.get("ngram_range", (1, 1)))
    if (len(ngram) != 2 or not all(isinstance(v, numbers.Integral) for v in ngram)
            or not 1 <= ngram[0] <= ngram[1]):
        raise ValueError(f"ngram_range must be two integers 1 <= min <= max, got {ngram}")
    # The counts come from CountVectorizer; tf-idf weighting is applied by hand so that new text
    # can be weighted later with the stored idf, exactly as TfidfVectorizer would.
    kwargs = dict(stop_words=stop_words, ngram_range=ngram, dtype=np.float64)
    if vocabulary is None:
        kwargs.update(min_df=options.get("min_df", 1), max_df=options.get("max_df", 1.0),
                      max_features=options.get("max_features"))
    else:
        kwargs["vocabulary"] = vocabulary
    return CountVectorizer(**kwargs)


def weigh_counts(counts, options, idf=None):
    """Document-word counts (documents x words, sparse) weighted as ``options["kind"]`` says:
    raw counts, or tf-idf exactly as scikit-learn's TfidfVectorizer (smoothed idf, unit-norm
    documents). ``idf`` fixes the weights (to vectorise new text like a training corpus).
    Returns (X of shape (n_words, n_documents), idf or None). Needs only numpy and scipy."""
    counts = sp.csr_matrix(counts, dtype=np.float64)
    if options.get("kind", "tfidf") != "tfidf":
        return sp.csc_matrix(counts.T), None
    if idf is None:
        n = counts.shape[0]
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        idf = np.log((1.0 + n) / (1.0 + df)) + 1.0  # scikit-learn's smoothed idf
    idf = np.asarray(idf, dtype=np.float64)
    weighted = counts @ sp.diags(idf)
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    weighted = sp.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ weighted
    return sp.csc_matrix(weighted.T), idf


def vectorizer_error(exc):
    """scikit-learn's ValueError from vectorising, as the message nnmf gives."""
    message = str(exc)
    if "empty vocabulary" in message:
        return ValueError("empty corpus: the documents contain no words (after removing stop "
                          "words)")
    return ValueError(f"vectorising the text failed: {message}")


def count_tokens(token_lists):
    """Count already-tokenised documents: (counts (documents x words, CSR), vocabulary sorted).
    The synthetic demo corpus uses this, so the demo needs no scikit-learn."""
    vocabulary, inverse = np.unique(np.concatenate([np.asarray(t, dtype=str) for t in token_lists]),
                                    return_inverse=True)
    lengths = [len(t) for t in token_lists]
    rows = np.repeat(np.arange(len(token_lists)), lengths)
    counts = sp.csr_matrix((np.ones(len(rows)), (rows, inverse.ravel())),
                           shape=(len(token_lists), len(vocabulary)))
    counts.sum_duplicates()
    return counts, [str(w) for w in vocabulary]


def vectorize(texts, options, *, vocabulary=None, idf=None):
    """Vectorise texts as :func:`load_corpus` does.

    Parameters
    ----------
    texts : list of str
    options : dict
        ``kind`` ("tfidf" or "count"), ``stop_words``, ``min_df``, ``max_df``,
        ``max_features``, ``ngram_range``.
    vocabulary, idf : default=None
        A fixed vocabulary (and its idf for tf-idf), to vectorise new text like a training
        corpus. None learns them from ``texts``.

    Returns
    -------
    X : scipy.sparse.csc_matrix of shape (n_words, n_documents)
    vocabulary : list of str
    idf : ndarray or None
    """
    cv = _make_vectorizer(options, vocabulary)
    if vocabulary is None:
        _check_document_frequencies(options, len(texts))
    try:
        counts = cv.fit_transform(texts) if vocabulary is None else cv.transform(texts)
    except ValueError as exc:
        raise vectorizer_error(exc) from None
    if vocabulary is None:
        vocabulary = [str(w) for w in cv.get_feature_names_out()]
    X, idf = weigh_counts(counts, options, idf)
    return X, list(vocabulary), idf


def _check_document_frequencies(options, n):
    """min_df and max_df as document counts (as CountVectorizer counts them) that some word
    of ``n`` documents can meet; an error naming the option at fault otherwise."""
    min_df, max_df = options.get("min_df", 1), options.get("max_df", 1.0)
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in (min_df, max_df)):
        return  # CountVectorizer reports the type
    low = min_df if isinstance(min_df, numbers.Integral) else min_df * n
    high = max_df if isinstance(max_df, numbers.Integral) else max_df * n
    if low > n:
        raise ValueError(f"min_df={min_df} keeps only words in at least {low:g} documents, but "
                         f"the corpus has {n}: lower min_df")
    if high < low:
        raise ValueError(f"max_df={max_df} (words in at most {high:g} documents) and "
                         f"min_df={min_df} (in at least {low:g}) leave no word: raise max_df or "
                         "lower min_df")


# ---------------------------------------------------------------------------------------------
# Decoding text files


def _check_encoding(encoding):
    """The codec name of a text encoding (``"utf-8"``, ``"latin-1"``, ...); ValueError for an
    unknown name or a codec that is not a text encoding."""
    try:
        info = codecs.lookup(encoding)
    except (LookupError, TypeError):
        raise ValueError(f"unknown encoding {encoding!r}; give a text encoding such as "
                         "'utf-8', 'latin-1' or 'cp1252'") from None
    if not getattr(info, "_is_text_encoding", True):
        raise ValueError(f"{encoding!r} is not a text encoding")
    return info.name


def _decode(data, encoding):
    """(text, problem) of a file's bytes. A byte-order mark chooses the encoding. ``problem``
    is None, ("undecodable", where: the first bad byte and its line; those bytes are replaced
    by U+FFFD) or ("nul", None) for text holding NUL characters (UTF-16 or UTF-32 read as a
    one-byte encoding)."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            data, encoding = data[len(bom):], name
            break
    try:
        text, problem = data.decode(encoding), None
    except UnicodeDecodeError as exc:
        text = data.decode(encoding, errors="replace")
        line = data[:exc.start].decode(encoding, errors="replace").count("\n") + 1
        problem = ("undecodable", f"byte 0x{data[exc.start]:02x} on line {line}")
    if "\x00" in text:  # the likelier cause of undecodable bytes too
        problem = ("nul", None)
    return text, problem


def _report_decoding(problems, total, encoding, what, stacklevel=4):
    """One warning per kind of problem of ``_decode`` among ``total`` files (``what``): how
    many files have it, and the first. ``problems``: (name, problem) of each such file."""
    for kind in ("undecodable", "nul"):
        bad = [(name, where) for name, (k, where) in problems if k == kind]
        if not bad:
            continue
        name, where = bad[0]
        if total > 1:
            subject = f"{len(bad)} of {total} {what}"
            example = f" (the first: {name}{', ' + where if where else ''})"
        else:
            subject, example = name, f" ({where})" if where else ""
        if kind == "undecodable":
            message = (f"{subject}: not valid {encoding}{example}; the undecodable bytes were "
                       "replaced, which splits words: name the encoding with encoding= "
                       "(--encoding on the command line), e.g. 'latin-1' or 'cp1252'")
        else:
            message = (f"{subject}: NUL characters{example}, as in UTF-16 or UTF-32 text "
                       "without a byte-order mark: name the encoding with encoding= "
                       "(--encoding on the command line), e.g. 'utf-16-le'")
        warnings.warn(message, UserWarning, stacklevel=stacklevel)


def _read_text(path, encoding):
    """A whole text file decoded by ``_decode``, with a warning for a problem."""
    text, problem = _decode(Path(path).read_bytes(), encoding)
    if problem is not None:
        _report_decoding([(Path(path).name, problem)], 1, encoding, "files", stacklevel=5)
    return text


def _raise_csv_field_limit():
    """Let the csv module read fields of any length (its default limit is 131,072
    characters). The limit is process-wide: it is only ever raised, to the largest value the
    platform's C long holds."""
    for limit in (sys.maxsize, 2**31 - 1):
        if csv.field_size_limit() >= limit:
            return
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:  # a 32-bit C long (Windows)
            continue


def _progress(iterable, enabled, desc, total=None):
    if not enabled:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, desc=desc, total=total, unit="doc", leave=False, disable=None)


def _read_text_folder(path, labels, progress, encoding="utf-8"):
    files = sorted(p for p in path.rglob("*.txt") if p.is_file())
    if not files:
        raise ValueError(f"empty corpus: no .txt files in {path}")
    texts, doc_ids, problems = [], [], []
    for f in _progress(files, progress, "reading", len(files)):
        text, problem = _decode(f.read_bytes(), encoding)
        texts.append(text)
        doc_ids.append(f.relative_to(path).as_posix())
        if problem is not None:
            problems.append((str(f), problem))
    _report_decoding(problems, len(files), encoding, ".txt files")
    if labels is None:
        return texts, doc_ids, None
    if isinstance(labels, str) and labels == "folders":
        raw = [f.relative_to(path).parts[0] if len(f.relative_to(path).parts) > 1 else None
               for f in files]
        if all(r is None for r in raw):
            raise ValueError(f"labels='folders' but every .txt file sits directly in {path}: "
                             "put each class's files in a subfolder named after it")
        return texts, doc_ids, raw
    return texts, doc_ids, _labels_from_file_or_list(labels, "'folders' or a labels file",
                                                     encoding)


def _pick_column(columns, name, what, path):
    if name not in columns:
        raise ValueError(f"{what} {name!r} not found in {path.name}; it has: "
                         f"{', '.join(map(str, columns)) or 'nothing'}")


def _read_csv(path, text_column, id_column, labels, encoding="utf-8"):
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    text = _read_text(path, encoding)
    _raise_csv_field_limit()
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    del text
    try:
        columns = reader.fieldnames or []
        if not columns:
            raise ValueError(f"empty corpus: {path.name} has no header row")
        rows = list(reader)
    except csv.Error as exc:
        raise ValueError(f"{path.name} line {reader.line_num} is not valid CSV: {exc}") from None
    for name in (text_column, id_column, labels):
        if isinstance(name, str) and columns.count(name) > 1:  # DictReader keeps the last
            raise ValueError(f"{path.name} has {columns.count(name)} columns named {name!r}: "
                             "rename all but one")
    return _records(rows, columns, path, text_column, id_column, labels, "column", encoding)


def _read_jsonl(path, text_column, id_column, labels, encoding="utf-8"):
    rows, columns = [], {}
    with io.StringIO(_read_text(path, encoding), newline=None) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except RecursionError:
                raise ValueError(f"{path.name} line {lineno} nests JSON too deeply to read") \
                    from None
            except ValueError as exc:  # JSONDecodeError, or an integer of 4,300+ digits
                detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
                raise ValueError(
                    f"{path.name} line {lineno} is not valid JSON: {detail}") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path.name} line {lineno} is not a JSON object")
            rows.append(row)
            columns.update(dict.fromkeys(row))
    if not rows:
        raise ValueError(f"empty corpus: no records in {path}")
    return _records(rows, list(columns), path, text_column, id_column, labels, "key", encoding)


def _records(rows, columns, path, text_column, id_column, labels, what, encoding="utf-8"):
    _pick_column(columns, text_column, f"text {what}", path)
    texts = ["" if r.get(text_column) is None else str(r.get(text_column)) for r in rows]
    if id_column is not None:
        _pick_column(columns, id_column, f"id {what}", path)
        doc_ids = [str(r.get(id_column)) for r in rows]
    else:
        doc_ids = [str(i) for i in range(len(rows))]
    raw = None
    if labels is not None:
        if isinstance(labels, str) and labels in columns:
            raw = [r.get(labels) for r in rows]
        elif isinstance(labels, str) and not Path(labels).is_file():
            _pick_column(columns, labels, f"label {what}", path)
        else:
            raw = _labels_from_file_or_list(labels, f"a {what} name or a labels file", encoding)
    return texts, doc_ids, raw


# ---------------------------------------------------------------------------------------------
# Matrices


def _read_matrix(path, fmt, variable):
    """(matrix, named arrays of the file or None)."""
    try:
        if fmt == "mtx":
            return scipy.io.mmread(str(path)), None
        if fmt == "npy":
            return np.load(path, allow_pickle=False), None
        if fmt == "mat":
            names = {k: v for k, v in scipy.io.loadmat(str(path)).items() if not k.startswith("__")}
        else:  # npz: a scipy sparse matrix, or a numpy archive of named arrays
            with np.load(path, allow_pickle=False) as archive:
                if {"format", "shape", "data"} <= set(archive.files) and variable is None:
                    return sp.load_npz(path), None
                names = {k: archive[k] for k in archive.files}
    except (OSError, ValueError, NotImplementedError, TypeError) as exc:
        raise ValueError(f"cannot read {path.name} as a {fmt} file: {exc}") from None
    return _named_matrix(names, variable, path, "variable" if fmt == "mat" else "array"), names


def _named_matrix(names, variable, path, what):
    if variable is not None:
        if variable not in names:
            raise ValueError(f"no {what} {variable!r} in {path.name}; it has: "
                             f"{', '.join(sorted(names)) or 'nothing'}")
        return names[variable]
    candidates = [k for k, v in names.items()
                  if (sp.issparse(v) or (isinstance(v, np.ndarray) and v.dtype.kind in "biuf"))
                  and v.ndim == 2 and min(v.shape) > 1]
    if len(candidates) == 1:
        return names[candidates[0]]
    if not candidates:
        raise ValueError(f"no 2-D numeric {what} in {path.name}")
    raise ValueError(f"which {what} of {path.name} holds the data? name one of: "
                     f"{', '.join(sorted(candidates))} (--variable)")


def _as_nonnegative(X, path):
    if sp.issparse(X):
        X = sp.csc_matrix(X)
    try:
        X = check_matrix(X, f"the matrix in {path.name}", sparse_ok=True)
    except TypeError as exc:
        raise ValueError(str(exc)) from None
    values = X.data if sp.issparse(X) else X
    if values.size and values.min() < 0:
        raise ValueError(f"the matrix in {path.name} has negative entries; NMF needs "
                         "nonnegative data")
    return X


def _strings(values):
    """Flatten a MATLAB cell array / numpy array / list into a list of str."""
    out = []
    for v in np.asarray(values, dtype=object).ravel():
        while isinstance(v, np.ndarray):
            v = v.ravel()[0] if v.size else ""
        out.append(v.decode() if isinstance(v, bytes) else str(v))
    return out


def _read_vocabulary(vocabulary, path, fmt, names, encoding="utf-8"):
    if vocabulary is None:
        return None
    if not isinstance(vocabulary, (str, os.PathLike)):
        return [str(w) for w in vocabulary]
    if names is not None and isinstance(vocabulary, str) and vocabulary in names:
        return [str(w) for w in _strings(names[vocabulary])]
    vpath = Path(vocabulary)
    if not vpath.is_file():
        where = f" and no variable {vocabulary!r} in {path.name}" if names is not None else ""
        raise FileNotFoundError(f"vocabulary file not found: {vocabulary}{where}")
    if vpath.suffix.lower() == ".npy":
        return [str(w) for w in _load_npy(vpath).ravel()]
    if vpath.suffix.lower() == ".json":
        try:
            words = json.loads(_read_text(vpath, encoding))
        except (ValueError, RecursionError) as exc:
            raise ValueError(f"{vpath.name} is not valid JSON: {exc}") from None
        if not isinstance(words, list):
            raise ValueError(f"{vpath.name} must hold a JSON list of words")
        return [str(w) for w in words]
    return _read_text(vpath, encoding).splitlines()


def _load_npy(path):
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"cannot read {path.name} as a .npy file: {exc}") from None


def _labels_from_file_or_list(labels, expected, encoding="utf-8"):
    if not isinstance(labels, (str, os.PathLike)):
        return list(labels)
    lpath = Path(labels)
    if not lpath.is_file():
        raise FileNotFoundError(f"labels file not found: {labels} (expected {expected})")
    if lpath.suffix.lower() == ".npy":
        return list(_load_npy(lpath).ravel())
    return _read_text(lpath, encoding).splitlines()


def _matrix_labels(labels, path, fmt, names, encoding="utf-8"):
    if labels is None:
        return None
    if names is not None and isinstance(labels, str) and labels in names:
        value = names[labels]
        if sp.issparse(value):
            value = value.toarray()
        value = np.asarray(value)
        if value.ndim == 2 and min(value.shape) > 1:  # one-hot, classes x documents
            known = value.sum(axis=0) > 0
            return [int(np.argmax(col)) if k else None for col, k in zip(value.T, known)]
        return _strings(value) if value.dtype.kind in "OUS" else list(value.ravel())
    if isinstance(labels, str) and names is not None and not Path(labels).is_file():
        raise ValueError(f"no labels {labels!r} in {path.name}: not a variable there "
                         f"({', '.join(sorted(names))}) nor a file")
    return _labels_from_file_or_list(labels, "a labels file", encoding)


def label_codes(raw):
    """Labels as (codes, names): codes index names, -1 where unknown (the rule of
    :func:`nnmf._utils.labels.encode_labels`); names are strings."""
    classes, codes = encode_labels(raw, name="labels")
    return codes.astype(np.int64), [str(c) for c in classes.tolist()]
