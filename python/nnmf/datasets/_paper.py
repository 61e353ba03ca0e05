"""The data sets of the Neural NMF paper, as published with its reference code.

Both files come from the reference implementation's repository (github.com/jvendrow/NeuralNMF,
MIT licence, PyPI ``NeuralNMF`` 1.0.0) and ship unchanged in ``nnmf/datasets/data`` with that
licence (``LICENSE-NeuralNMF``) and a README naming every field.
"""

from dataclasses import dataclass, field
from importlib import resources
from typing import Dict, Optional, Tuple

import numpy as np
import scipy.io

__all__ = ["Dataset", "load_synthetic_noise", "load_20news_subsampled"]


@dataclass(frozen=True)
class Dataset:
    """A data set: the matrix, its labels and the paper's known-label patterns.

    Attributes
    ----------
    X : ndarray or scipy.sparse.csc_matrix of shape (n_features, n_samples)
        Nonnegative data, one column per sample (document).
    labels : dict of str to ndarray of int, shape (n_samples,)
        Class labels at each level of the hierarchy, as indices ``0..c-1``.
    label_names : dict of str to tuple of str
        The class names per level (index i names class i); empty where the paper gives none.
    known : dict of int to ndarray of bool, shape (n_samples,)
        The paper's known-label patterns for semi-supervised runs, keyed by the percentage of
        labelled samples.
    vocabulary : tuple of str or None
        The word of each row, for text data.
    name : str
    description : str
    """
    X: object
    labels: Dict[str, np.ndarray]
    label_names: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    known: Dict[int, np.ndarray] = field(default_factory=dict)
    vocabulary: Optional[Tuple[str, ...]] = None
    name: str = ""
    description: str = ""


def _load(filename):
    with resources.files(__package__).joinpath("data", filename).open("rb") as f:
        return scipy.io.loadmat(f)


def _strings(cell):
    return tuple(str(np.asarray(v).ravel()[0]) for v in np.asarray(cell).ravel())


def _read_only(a):
    a.flags.writeable = False
    return a


def load_synthetic_noise():
    """The paper's synthetic hierarchical data (its Table 1): 90 samples of 87 features with
    a three-level hierarchy of 9, 4 and 2 classes, plus noise.

    Returns
    -------
    Dataset
        ``X`` (87 x 90, float64); ``labels["fine"]`` (9 classes), ``labels["middle"]`` (4)
        and ``labels["coarse"]`` (2); ``known[p]`` for p = 0, 10, ..., 90: the paper's
        pattern of samples whose labels count as known (``known[40]`` is the one of its
        semi-supervised experiments).

    Examples
    --------
    >>> from nnmf.datasets import load_synthetic_noise
    >>> d = load_synthetic_noise()
    >>> d.X.shape, int(d.labels["middle"].max()) + 1, int(d.known[40].sum())
    ((87, 90), 4, 36)
    """
    d = _load("synthetic_noise.mat")
    labels = {name: _read_only(np.asarray(d[f"labels{c}"]).ravel().astype(np.intp))
              for name, c in (("fine", 9), ("middle", 4), ("coarse", 2))}
    known = {p: _read_only(np.asarray(d[f"L{p}"])[0].astype(bool)) for p in range(0, 100, 10)}
    return Dataset(_read_only(np.asarray(d["X"], dtype=np.float64)), labels, {}, known, None,
                   "synthetic_noise",
                   "The Neural NMF paper's synthetic data: 87 features x 90 samples, "
                   "classes at three levels (9, 4, 2).")


def load_20news_subsampled():
    """200 documents of 20 Newsgroups (TF-IDF, 37693 words) with two levels of labels: 10
    newsgroups and 6 supergroups (comp, rec, sci, misc.forsale, talk.politics, religion).

    Returns
    -------
    Dataset
        ``X`` (37693 x 200, scipy CSC, float64); ``labels["sub"]`` (10 newsgroups) and
        ``labels["super"]`` (6 supergroups) with their ``label_names``; ``known[60]``: the
        120 documents whose labels count as known in the paper's semi-supervised runs;
        ``vocabulary``: the word of each row.

    Examples
    --------
    >>> from nnmf.datasets import load_20news_subsampled
    >>> d = load_20news_subsampled()
    >>> d.X.shape, d.label_names["super"][0], int(d.known[60].sum())
    ((37693, 200), 'comp', 120)
    """
    d = _load("20News_subsampled.mat")
    X = d["X_subsampled"].tocsc().astype(np.float64)
    labels = {name: _read_only(np.asarray(d[field]).ravel().astype(np.intp) - 1)
              for name, field in (("sub", "sub_cats"), ("super", "super_cats"))}
    names = {"sub": _strings(d["newsgroup_names"]), "super": _strings(d["super_names"])}
    known = np.zeros(X.shape[1], dtype=bool)
    known[np.asarray(d["known60"]).ravel().astype(np.intp) - 1] = True
    return Dataset(X, labels, names, {60: _read_only(known)}, _strings(d["vocab"]),
                   "20news_subsampled",
                   "200 documents of 20 Newsgroups (TF-IDF over 37693 words), labelled by "
                   "newsgroup (10) and supergroup (6).")
