"""Corpora for the topic benchmark (bench_topics.py), built on this machine with nothing
downloaded: the shipped 20 Newsgroups subsample, the docstrings of Python's standard library
and the docstrings of the installed scientific Python packages.

Each builder returns a :class:`BenchCorpus`: X (words x documents, sparse), the vocabulary,
the token lists that the count-based models (LDA, tomotopy) fit, and labels at a fine and a
coarse level.

Weighting: the two docstring corpora are vectorised with ``nnmf.topics.vectorize`` as tf-idf
(English stop words, words in at least 3 documents and at most half of them), the weighting
the ``nnmf fit`` command uses by default and the one the paper's 20 Newsgroups matrix ships
in: NMF's least-squares loss on raw counts lets a few long documents and frequent words
dominate. The token lists for the count models are the same documents' tokens restricted
to that vocabulary, so every model sees the same words. The 20 Newsgroups subsample ships
only as tf-idf (no raw text): its token lists hold each word present in a document once.
"""

import contextlib
import importlib
import inspect
import io
import pkgutil
import re
import sys
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

import nnmf
from nnmf.topics import vectorize

VECTORIZER = {"kind": "tfidf", "stop_words": "english", "min_df": 3, "max_df": 0.5}

# The standard library by purpose: 12 fine groups, each in one of 4 coarse groups. A
# top-level module's submodules (email.mime, xml.dom, ...) take its group. Modules not
# listed (private, platform-only, GUI or with import side effects) are left out.
STDLIB_GROUPS = {
    "text": ("data", "string re difflib textwrap unicodedata stringprep rlcompleter locale "
                     "gettext shlex codecs"),
    "formats": ("data", "struct base64 binascii quopri csv configparser tomllib netrc plistlib "
                        "json html xml"),
    "numeric": ("data", "numbers math cmath decimal fractions random statistics"),
    "datatypes": ("data", "datetime zoneinfo calendar collections heapq bisect array weakref "
                          "types copy pprint reprlib enum graphlib functools itertools "
                          "operator"),
    "security_media": ("data", "hashlib hmac secrets wave colorsys"),
    "files_os": ("system", "os io pathlib stat filecmp tempfile glob fnmatch linecache shutil "
                           "fileinput getpass platform errno ctypes time argparse getopt "
                           "logging sysconfig"),
    "persistence": ("system", "pickle copyreg shelve marshal dbm sqlite3 zlib gzip bz2 lzma "
                              "zipfile tarfile zipimport"),
    "concurrency": ("system", "threading multiprocessing concurrent subprocess sched queue "
                              "contextvars asyncio signal selectors select mmap"),
    "internet": ("network", "socket ssl socketserver http urllib ftplib poplib imaplib smtplib "
                            "uuid ipaddress webbrowser wsgiref xmlrpc"),
    "mail": ("network", "email mailbox mimetypes"),
    "devtools": ("language", "typing pydoc doctest unittest bdb faulthandler pdb timeit trace "
                             "tracemalloc cProfile profile pstats warnings"),
    "runtime": ("language", "ast symtable token keyword tokenize tabnanny pyclbr py_compile "
                            "compileall dis pickletools inspect importlib pkgutil modulefinder "
                            "runpy site code codeop builtins abc atexit traceback gc contextlib "
                            "dataclasses"),
}

# The scientific corpus: one document per public function or class of these subpackages,
# labelled by subpackage (fine) and package (coarse); at most SCI_PER_GROUP per subpackage.
SCI_GROUPS = {
    "numpy": ["numpy.linalg", "numpy.fft", "numpy.random", "numpy.ma", "numpy.polynomial"],
    "scipy": ["scipy.linalg", "scipy.stats", "scipy.optimize", "scipy.signal", "scipy.sparse",
              "scipy.integrate", "scipy.interpolate", "scipy.special", "scipy.spatial"],
    "sklearn": ["sklearn.linear_model", "sklearn.cluster", "sklearn.ensemble",
                "sklearn.metrics", "sklearn.preprocessing", "sklearn.decomposition",
                "sklearn.model_selection"],
    "networkx": ["networkx.algorithms", "networkx.generators", "networkx.drawing"],
}
SCI_PER_GROUP = 120


@dataclass
class BenchCorpus:
    name: str
    X: object                 # words x documents, scipy CSC (tf-idf)
    vocabulary: list
    tokens: list              # per document, its tokens (vocabulary words) for count models
    labels: dict              # {"fine": codes, "coarse": codes}
    label_names: dict
    ranks: tuple              # the hierarchy's shape the benchmark fits
    note: str = ""


def _codes(values):
    names, codes = np.unique(np.asarray(values, dtype=str), return_inverse=True)
    return codes.astype(np.intp), [str(s) for s in names]


def _tokens(texts, vocabulary):
    """Each text's tokens in the vectoriser's tokenisation, kept when in the vocabulary."""
    pattern = re.compile(r"(?u)\b\w\w+\b")   # scikit-learn's default token_pattern
    known = set(vocabulary)
    return [[w for w in pattern.findall(t.lower()) if w in known] for t in texts]


def _from_texts(name, texts, fine, coarse, ranks, note):
    X, vocabulary, _ = vectorize(texts, VECTORIZER)
    keep = np.asarray(X.sum(axis=0)).ravel() > 0          # documents left with no word
    X = sp.csc_matrix(X[:, keep])
    texts = [t for t, k in zip(texts, keep) if k]
    labels, names = {}, {}
    for level, values in (("fine", fine), ("coarse", coarse)):
        labels[level], names[level] = _codes(np.asarray(values)[keep])
    return BenchCorpus(name, X, vocabulary, _tokens(texts, vocabulary), labels, names,
                       ranks, note)


def _doc_of(obj):
    doc = inspect.getdoc(obj)
    return doc if isinstance(doc, str) else ""


def _module_text(module):
    """A module's docstring and those of the public functions and classes (and their public
    methods) it defines."""
    parts = [_doc_of(module)]
    for attr in sorted(vars(module)):
        if attr.startswith("_"):
            continue
        obj = getattr(module, attr, None)
        if not (inspect.isfunction(obj) or inspect.isclass(obj) or inspect.isbuiltin(obj)):
            continue
        if getattr(obj, "__module__", None) != module.__name__:
            continue
        parts.append(_doc_of(obj))
        if inspect.isclass(obj):
            parts.extend(_doc_of(v) for k, v in sorted(vars(obj).items())
                         if not k.startswith("_") and callable(v))
    return "\n".join(p for p in parts if p)


def _quiet_import(name):
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            return importlib.import_module(name)
        except Exception:  # a module this platform lacks: left out
            return None


def _submodules(package):
    """The public submodules of a package (none of tests or private ones), sorted."""
    if not hasattr(package, "__path__"):
        return []
    names = []
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        parts = info.name.split(".")
        if any(p.startswith("_") or p in ("test", "tests") for p in parts):
            continue
        names.append(info.name)
    return sorted(names)


def stdlib_docstrings():
    """One document per public module of the standard library (top-level and submodules),
    labelled by purpose (STDLIB_GROUPS)."""
    texts, fine, coarse = [], [], []
    for group, (level, modules) in STDLIB_GROUPS.items():
        for top in modules.split():
            if top not in sys.stdlib_module_names:
                continue
            module = _quiet_import(top)
            if module is None:
                continue
            for name in [top] + _submodules(module):
                sub = module if name == top else _quiet_import(name)
                text = "" if sub is None else _module_text(sub)
                if len(text.split()) >= 20:
                    texts.append(text)
                    fine.append(group)
                    coarse.append(level)
    return _from_texts("stdlib docstrings", texts, fine, coarse, (12, 4),
                       "one document per public module, labels: 12 purposes, 4 areas")


def scientific_docstrings():
    """One document per public function or class of the SCI_GROUPS subpackages, labelled
    by subpackage and package."""
    texts, fine, coarse = [], [], []
    for package, subpackages in SCI_GROUPS.items():
        for subname in subpackages:
            sub = _quiet_import(subname)
            if sub is None:
                continue
            seen, docs = set(), []
            for attr in sorted(getattr(sub, "__all__", None) or dir(sub)):
                try:
                    obj = getattr(sub, attr, None)
                except ImportError:  # an experimental name that needs its own import
                    continue
                if attr.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)
                                                or callable(obj)):
                    continue
                if id(obj) in seen:
                    continue
                seen.add(id(obj))
                doc = _doc_of(obj)
                if len(doc.split()) >= 30:
                    docs.append(doc)
            for doc in docs[:SCI_PER_GROUP]:
                texts.append(doc)
                fine.append(subname)
                coarse.append(package)
    return _from_texts("scientific docstrings", texts, fine, coarse, (len(set(fine)), 4),
                       "one document per public function/class; labels: subpackage, package")


def news20():
    """The paper's 20 Newsgroups subsample as shipped (tf-idf); words in no document are
    dropped (they change no model and no measure)."""
    d = nnmf.datasets.load_20news_subsampled()
    X = sp.csc_matrix(d.X)
    used = np.flatnonzero(np.asarray((X > 0).sum(axis=1)).ravel() > 0)
    X = sp.csc_matrix(X[used])
    vocabulary = [d.vocabulary[i] for i in used]
    tokens = [[vocabulary[i] for i in X.indices[X.indptr[j]:X.indptr[j + 1]]]
              for j in range(X.shape[1])]
    return BenchCorpus("20 Newsgroups subsample", X, vocabulary, tokens,
                       {"fine": np.asarray(d.labels["sub"]),
                        "coarse": np.asarray(d.labels["super"])},
                       {"fine": list(d.label_names["sub"]),
                        "coarse": list(d.label_names["super"])},
                       (10, 6), "shipped tf-idf; tokens: each present word once")


BUILDERS = {"20news": news20, "stdlib": stdlib_docstrings, "scientific": scientific_docstrings}
