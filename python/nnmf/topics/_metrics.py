"""Topic quality: coherence, diversity, balance, tree shape and agreement with labels.

Every function takes plain arrays, so that any topic model can be judged the same way; the
orientation is nnmf's: X is words x documents, a word profile matrix is words x k and a
mixture matrix is topics x documents with each column summing to 1 (or all 0 for a document
the model leaves empty). :meth:`TopicHierarchy.quality` applies them to every layer of a
fitted hierarchy.

References
----------
- G. Bouma, "Normalized (pointwise) mutual information in collocation extraction", GSCL 2009
  (NPMI).
- M. Röder, A. Both, A. Hinneburg, "Exploring the space of topic coherence measures", WSDM
  2015 (the c_npmi coherence: NPMI of top-word pairs over boolean sliding windows).
- A. B. Dieng, F. J. R. Ruiz, D. M. Blei, "Topic modeling in embedding spaces", TACL 2020
  (topic diversity).
- J. H. Kim, D. Kim, S. Kim, A. Oh, "Modeling topic hierarchies with the recursive Chinese
  restaurant process", CIKM 2012, and M. Isonuma, J. Mori, D. Bollegala, I. Sakata, "Tree-
  structured neural topic model", ACL 2020 (hierarchical affinity).
"""

import math
import numbers
import warnings

import numpy as np
import scipy.sparse as sp

from .._utils.labels import encode_labels

__all__ = ["top_words", "npmi_coherence", "topic_diversity", "largest_share",
           "hierarchy_measures", "label_alignment", "TopicQuality", "TopicQualityWarning",
           "DEGENERATE_WEIGHT", "CATCH_ALL_SHARE"]

#: gensim's smoothing of the joint probability in NPMI (Röder et al. 2015).
EPSILON = 1e-12
#: A parent topic is degenerate when one child topic makes up at least this part of it: it is
#: then a copy of that child rather than a grouping of several.
DEGENERATE_WEIGHT = 0.95
#: A topic is a catch-all when its share of the corpus exceeds both ``2 / k`` (twice a fair
#: share) and this absolute floor (so that a layer of two or three topics is not flagged for
#: an uneven but sensible split).
CATCH_ALL_SHARE = 0.3


class TopicQualityWarning(UserWarning):
    """A topic hierarchy has a degenerate parent (a copy of one subtopic) or a catch-all
    topic; :meth:`TopicQuality.warnings` lists them."""


# -- validation ------------------------------------------------------------------------------

def _dense(M, name):
    if sp.issparse(M):
        M = M.toarray()
    M = np.asarray(M, dtype=np.float64)
    if M.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {M.shape}")
    if not np.isfinite(M).all():
        raise ValueError(f"{name} contains NaN or infinity")
    return M


def _count(value, name, minimum=1):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def _word_lists(top_words, name="top_words"):
    """``top_words`` as a list of 1-D arrays (word indices or words), each without repeats."""
    if isinstance(top_words, np.ndarray) and top_words.ndim == 2:
        top_words = list(top_words)
    if isinstance(top_words, (str, bytes)) or not hasattr(top_words, "__len__"):
        raise TypeError(f"{name} must be a list with one sequence of words per topic")
    lists = []
    for i, words in enumerate(top_words):
        if isinstance(words, (str, bytes)) or not hasattr(words, "__len__"):
            raise TypeError(f"{name}[{i}] must be a sequence of word indices or words, got "
                            f"{type(words).__name__}")
        arr = np.asarray(words)
        if arr.size == 0:
            arr = np.zeros(0, dtype=np.intp)
        if arr.ndim != 1:
            raise ValueError(f"{name}[{i}] must be 1-D, got shape {arr.shape}")
        if arr.dtype.kind in "iu":
            arr = arr.astype(np.intp)
        elif arr.dtype.kind not in "US":
            raise TypeError(f"{name}[{i}] must hold word indices (integers) or words "
                            f"(strings), got {arr.dtype}")
        if np.unique(arr).size != arr.size:
            raise ValueError(f"{name}[{i}] repeats a word")
        lists.append(arr)
    if not lists:
        raise ValueError(f"{name} is empty: need at least one topic")
    return lists


def _mixtures(mixtures, name="mixtures"):
    M = _dense(mixtures, name)
    if M.shape[0] == 0 or M.shape[1] == 0:
        raise ValueError(f"{name} must have at least one topic and one document, got shape "
                         f"{M.shape}")
    if (M < 0).any():
        raise ValueError(f"{name} has negative entries; it must hold topic mixtures")
    total = M.sum(axis=0)
    bad = (np.abs(total - 1) > 1e-4) & (total != 0)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise ValueError(f"the columns of {name} must sum to 1 (or 0 for an empty document): "
                         f"column {j} sums to {total[j]:.6g}; {name} is topics x documents")
    return M, total > 0


def _document_shares(M, nonempty):
    if not nonempty.any():
        raise ValueError("mixtures: every document is empty (all columns are 0)")
    return M[:, nonempty].mean(axis=1)


# -- measures --------------------------------------------------------------------------------

def top_words(W, n_words=10):
    """Each topic's top words: the indices of the largest entries of each column of ``W``.

    Parameters
    ----------
    W : array-like of shape (n_words_total, k)
        Word weights of k topics (words x topics), such as ``TopicHierarchy.profiles[l]``.
    n_words : int, default=10

    Returns
    -------
    list of ndarray of int
        Per topic, up to ``n_words`` word indices, heaviest first (ties in index order);
        words of weight 0 are left out, so a dead topic has none.

    Examples
    --------
    >>> import numpy as np
    >>> [t.tolist() for t in top_words(np.array([[1., 0], [3, 0], [2, 1]]), 2)]
    [[1, 2], [2]]
    """
    W = _dense(W, "W")
    n_words = _count(n_words, "n_words")
    out = []
    for col in W.T:
        top = np.argsort(-col, kind="stable")[:n_words]
        out.append(top[col[top] > 0])
    return out


def _occurrences_in_columns(X, relevant):
    """Document counts of the ``relevant`` rows of X and of their pairs, and the number of
    documents; only those rows are read (a sparse X stays sparse)."""
    if sp.issparse(X):
        if X.format not in ("csr", "csc"):
            X = X.tocsr()
        rows = sp.csr_matrix(X[relevant, :])
        if not np.isfinite(rows.data).all():
            raise ValueError("X contains NaN or infinity")
        present = rows.copy()
        present.data = (rows.data > 0).astype(np.float64)
        present.eliminate_zeros()
        co = (present @ present.T).toarray()
    else:
        rows = np.asarray(X[relevant, :], dtype=np.float64)
        if not np.isfinite(rows).all():
            raise ValueError("X contains NaN or infinity")
        present = (rows > 0).astype(np.float64)
        co = present @ present.T
    return np.diag(co).copy(), co, X.shape[1]


def _occurrences_in_windows(texts, relevant, window):
    """Counts of the ``relevant`` words and of their pairs over the boolean windows of
    ``texts`` (every run of ``window`` consecutive tokens; a shorter text is one window; with
    ``window`` None each text is one window), and the number of windows."""
    index = {w: i for i, w in enumerate(relevant)}
    R = len(relevant)
    counts, co, n_windows = np.zeros(R), np.zeros((R, R)), 0
    for t, text in enumerate(texts):
        if isinstance(text, (str, bytes)):
            raise TypeError(f"texts[{t}] is a string: texts must be lists of tokens")
        ids = np.fromiter((index.get(str(w), -1) for w in text), dtype=np.intp)
        n_win = 1 if window is None or ids.size < window else ids.size - window + 1
        n_windows += n_win
        pos = np.flatnonzero(ids >= 0)
        if pos.size == 0:
            continue
        words, which = np.unique(ids[pos], return_inverse=True)
        if n_win == 1:
            present = np.ones((1, words.size))
        else:
            # Occurrence at p lies in the windows starting at p - window + 1 .. p: mark that
            # range with a difference array, one column per distinct word of the text.
            edges = np.zeros((n_win + 1, words.size), dtype=np.int64)
            np.add.at(edges, (np.maximum(pos - window + 1, 0), which), 1)
            np.add.at(edges, (np.minimum(pos, n_win - 1) + 1, which), -1)
            present = (np.cumsum(edges[:-1], axis=0) > 0).astype(np.float64)
        counts[words] += present.sum(axis=0)
        co[np.ix_(words, words)] += present.T @ present
    return counts, co, n_windows


def npmi_coherence(X, top_words, *, texts=None, window=None, vocabulary=None):
    """Each topic's NPMI coherence: the mean normalised pointwise mutual information of the
    pairs of its top words (Bouma 2009; the c_npmi measure of Röder et al. 2015).

    For words i, j with probabilities p_i, p_j of occurring in a document (or window) and
    p_ij of occurring together, NPMI(i, j) = log((p_ij + eps) / (p_i p_j)) / -log(p_ij + eps)
    with eps = 1e-12, gensim's smoothing: it ranges over [-1, 1], near 1 for words that
    always come together, 0 for independent words and close to -1 for words that never do
    (exactly -1 + log(p_i p_j) / log(eps) then). A pair with a word that never occurs scores
    -1, and a pair that occurs in every document (or window) 0: such words are independent,
    where the smoothing would give -1. Otherwise the value equals gensim's
    ``CoherenceModel(coherence="c_npmi")`` on the same windows.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_words_total, n_documents), or None
        The reference corpus, words x documents: a word occurs in a document where its entry
        is positive (so tf-idf and counts give the same result). Only the rows of the top
        words are read. None when ``texts`` is given.
    top_words : list of sequences
        Per topic, its top words: row indices of X (see :func:`top_words`), or, with
        ``texts``, the words themselves or indices into ``vocabulary``.
    texts : list of list of str, default=None
        Tokenised documents to count in instead of X.
    window : int, default=None
        With ``texts``: count in every run of ``window`` consecutive tokens (a boolean sliding
        window, as gensim's c_npmi does with its default of 10) rather than in whole texts.
    vocabulary : sequence of str, default=None
        With ``texts`` and word indices in ``top_words``: the word of each index.

    Returns
    -------
    ndarray of shape (k,)
        NaN for a topic with fewer than two top words.

    Notes
    -----
    gensim 4's sliding window loses a word that repeats inside a window once the window
    slides past the word's first occurrence there, so on texts with such repeats its
    counts (and c_npmi) differ from the definition; whole-document counts agree exactly.
    """
    topics = _word_lists(top_words)
    strings = [t.dtype.kind in "US" for t in topics if t.size]
    if any(strings) and not all(strings):
        raise TypeError("top_words mixes word indices and words")
    as_words = bool(strings) and all(strings)
    if texts is None:
        if window is not None:
            raise ValueError("window goes with texts (a sliding window over token lists)")
        if X is None:
            raise ValueError("give X (words x documents) or texts to count words in")
        if as_words:
            raise TypeError("with X, top_words must hold row indices of X, not words")
        if not sp.issparse(X):
            X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (words x documents), got shape {X.shape}")
        if X.shape[1] == 0:
            raise ValueError("X has no documents")
        for i, t in enumerate(topics):
            if t.size and (t.min() < 0 or t.max() >= X.shape[0]):
                raise ValueError(f"top_words[{i}] has word indices outside X's {X.shape[0]} "
                                 "rows")
        relevant = np.unique(np.concatenate(topics))
        counts, co, n = _occurrences_in_columns(X, relevant)
        keys = relevant.tolist()
    else:
        if X is not None:
            raise ValueError("give X or texts, not both")
        if window is not None:
            window = _count(window, "window")
        if isinstance(texts, (str, bytes)):
            raise TypeError("texts must be a list of token lists")
        texts = list(texts)
        if not texts:
            raise ValueError("texts is empty")
        if not as_words:
            if vocabulary is None:
                raise ValueError("top_words holds word indices: give the vocabulary they "
                                 "index (or pass the words themselves)")
            vocabulary = [str(w) for w in vocabulary]
            for i, t in enumerate(topics):
                if t.size and (t.min() < 0 or t.max() >= len(vocabulary)):
                    raise ValueError(f"top_words[{i}] has word indices outside the "
                                     f"vocabulary's {len(vocabulary)} words")
            topics = [np.array([vocabulary[j] for j in t], dtype=str) for t in topics]
        keys = sorted({str(w) for t in topics for w in t})
        counts, co, n = _occurrences_in_windows(texts, keys, window)
        topics = [np.array([str(w) for w in t], dtype=object) for t in topics]
    position = {w: i for i, w in enumerate(keys)}
    p, p_joint = counts / n, co / n
    independent = np.outer(p, p)
    with np.errstate(divide="ignore", invalid="ignore"):
        npmi = np.log((p_joint + EPSILON) / independent) / -np.log(p_joint + EPSILON)
    npmi[co == n] = 0.0
    npmi[independent == 0] = -1.0
    out = np.full(len(topics), np.nan)
    for i, t in enumerate(topics):
        if t.size >= 2:
            idx = [position[w] for w in t.tolist()]
            block = npmi[np.ix_(idx, idx)]
            out[i] = (block.sum() - np.trace(block)) / (t.size * (t.size - 1))
    return out


def topic_diversity(top_words):
    """The share of distinct words among all topics' top words (Dieng et al. 2020): 1 when no
    two topics share a top word, 1/k when all k topics have the same ones.

    Parameters
    ----------
    top_words : list of sequences
        Per topic, its top words (indices or words); Dieng et al. use 25 per topic.

    Returns
    -------
    float

    Examples
    --------
    >>> topic_diversity([[0, 1, 2], [2, 3, 4]])
    0.8333333333333334
    """
    topics = _word_lists(top_words)
    words = [w for t in topics for w in t.tolist()]
    if not words:
        raise ValueError("top_words has no words (every topic is empty)")
    return len(set(words)) / len(words)


def largest_share(mixtures):
    """The largest topic's share of the corpus: the largest entry of the mean of the
    documents' topic mixtures (empty documents left out). Every document counts the same,
    whatever its length, so that models that weigh documents differently compare fairly.

    Parameters
    ----------
    mixtures : array-like of shape (k, n_documents)
        Topic mixtures, each column summing to 1 (or 0 for an empty document).

    Returns
    -------
    float

    Examples
    --------
    >>> largest_share([[1.0, 0.5, 0.0], [0.0, 0.5, 1.0]])
    0.5
    """
    M, nonempty = _mixtures(mixtures)
    return float(_document_shares(M, nonempty).max())


def _unit_columns(M):
    norm = np.linalg.norm(M, axis=0)
    return M / np.where(norm > 0, norm, 1.0)


def hierarchy_measures(child_profiles, parent_profiles, parent_of, *, composition=None):
    """How well a layer of parent topics groups the layer of child topics below it.

    The hierarchical affinity of Kim et al. (2012) and Isonuma et al. (2020): a parent should
    resemble its own children more than the other topics of the layer below.

    Parameters
    ----------
    child_profiles : array-like of shape (n_words_total, k_child)
        The children's word profiles (words x topics).
    parent_profiles : array-like of shape (n_words_total, k_parent)
        The parents' word profiles.
    parent_of : array-like of int, shape (k_child,)
        Each child's parent (-1 for a child without one).
    composition : array-like of shape (k_child, k_parent), default=None
        Column j: the parts of parent j that the children make up (summing to 1), such as
        ``TopicHierarchy.composition[l - 1]``. When given, the result also has the degenerate
        parents.

    Returns
    -------
    dict
        ``affinity_children``: the mean cosine similarity of a parent's profile with its
        children's, over all parent-child pairs; ``affinity_others``: the same over the pairs
        of a parent and a child that is not its own (NaN when there is none of the kind);
        ``n_children``: each parent's number of children; ``single_child_parents`` and
        ``childless_parents``: how many parents have exactly one child and none; with
        ``composition``, ``copy_weight``: each parent's largest part, and
        ``degenerate_parents``: the indices of the parents whose largest part is at least
        :data:`DEGENERATE_WEIGHT` (copies of one child, whichever parent that child counts
        as its own).

    Examples
    --------
    >>> import numpy as np
    >>> m = hierarchy_measures(np.eye(3), np.array([[1., 0], [1, 0], [0, 1]]), [0, 0, 1])
    >>> round(m["affinity_children"], 4), m["affinity_others"], m["single_child_parents"]
    (0.8047, 0.0, 1)
    """
    C = _dense(child_profiles, "child_profiles")
    P = _dense(parent_profiles, "parent_profiles")
    if C.shape[0] != P.shape[0]:
        raise ValueError(f"child_profiles has {C.shape[0]} rows (words) but parent_profiles "
                         f"has {P.shape[0]}")
    parent_of = np.asarray(parent_of)
    if parent_of.shape != (C.shape[1],) or (parent_of.size and parent_of.dtype.kind not in "iu"):
        raise ValueError(f"parent_of must hold one integer per child topic ({C.shape[1]}), "
                         f"got {parent_of.dtype} of shape {parent_of.shape}")
    parent_of = parent_of.astype(np.intp)
    k_parent = P.shape[1]
    if parent_of.size and (parent_of.min() < -1 or parent_of.max() >= k_parent):
        raise ValueError(f"parent_of must hold parent indices in [0, {k_parent}) or -1 for "
                         "no parent")
    similarity = _unit_columns(P).T @ _unit_columns(C)
    own = np.zeros(similarity.shape, dtype=bool)
    has = parent_of >= 0
    own[parent_of[has], np.flatnonzero(has)] = True
    n_children = np.bincount(parent_of[has], minlength=k_parent)
    out = {"affinity_children": float(similarity[own].mean()) if own.any() else math.nan,
           "affinity_others": float(similarity[~own].mean()) if (~own).any() else math.nan,
           "n_children": n_children.tolist(),
           "single_child_parents": int((n_children == 1).sum()),
           "childless_parents": int((n_children == 0).sum())}
    if composition is not None:
        parts = _dense(composition, "composition")
        if parts.shape != similarity.T.shape:
            raise ValueError(f"composition must be children x parents, "
                             f"{similarity.T.shape}, got shape {parts.shape}")
        largest = parts.max(axis=0, initial=0.0)
        out["copy_weight"] = largest.tolist()
        out["degenerate_parents"] = np.flatnonzero(largest >= DEGENERATE_WEIGHT).tolist()
    return out


def _nmi(a, b):
    """scikit-learn's ``normalized_mutual_info_score(a, b)`` (arithmetic mean of the
    entropies), without needing scikit-learn."""
    _, a = np.unique(a, return_inverse=True)
    _, b = np.unique(b, return_inverse=True)
    ka, kb = a.max(initial=-1) + 1, b.max(initial=-1) + 1
    if ka == kb and ka <= 1:
        return 1.0
    table = np.zeros((ka, kb))
    np.add.at(table, (a, b), 1)
    n = table.sum()
    pa, pb = table.sum(axis=1) / n, table.sum(axis=0) / n
    nz = table > 0
    joint = table[nz] / n
    mi = max(float(np.sum(joint * np.log(joint / np.outer(pa, pb)[nz]))), 0.0)
    if ka == 1 or kb == 1 or mi == 0:
        return 0.0
    h_a, h_b = -np.sum(pa * np.log(pa)), -np.sum(pb * np.log(pb))
    return float(mi / ((h_a + h_b) / 2))


def label_alignment(mixtures, labels):
    """How well the documents' dominant topics agree with their labels.

    Parameters
    ----------
    mixtures : array-like of shape (k, n_documents)
        Topic mixtures (columns sum to 1, or 0 for an empty document, whose dominant topic is
        then "none", a cluster of its own).
    labels : array-like of shape (n_documents,)
        Integers or strings; unknown labels (None, NaN, -1, "") are left out.

    Returns
    -------
    dict
        ``nmi``: the normalised mutual information of the dominant topics and the labels
        (equal to scikit-learn's ``normalized_mutual_info_score``); ``purity``: the fraction of
        documents whose label is the most common one of their dominant topic;
        ``n_documents``: how many documents with a known label were compared.

    Examples
    --------
    >>> label_alignment([[1, 1, 0, 0], [0, 0, 1, 1]], ["a", "a", "b", None])
    {'nmi': 1.0, 'purity': 1.0, 'n_documents': 3}
    """
    M, nonempty = _mixtures(mixtures)
    _, codes = encode_labels(labels, name="labels")
    if codes.size != M.shape[1]:
        raise ValueError(f"{codes.size} labels for {M.shape[1]} documents (mixtures is "
                         "topics x documents)")
    known = codes >= 0
    if not known.any():
        raise ValueError("labels: no document has a known label")
    dominant = np.where(nonempty, M.argmax(axis=0), -1)[known]
    codes = codes[known]
    _, cluster = np.unique(dominant, return_inverse=True)
    table = np.zeros((cluster.max() + 1, codes.max() + 1))
    np.add.at(table, (cluster, codes), 1)
    return {"nmi": _nmi(codes, dominant), "purity": float(table.max(axis=1).sum() / codes.size),
            "n_documents": int(codes.size)}


# -- a hierarchy's report --------------------------------------------------------------------

def _label_levels(labels):
    """``labels`` as a dict name -> labels, finest first."""
    if isinstance(labels, dict):
        if not labels:
            raise ValueError("labels is an empty dict")
        return {str(k): v for k, v in labels.items()}
    if isinstance(labels, (list, tuple)) and labels and all(
            isinstance(v, (list, tuple, np.ndarray)) for v in labels):
        return {f"level {i}": v for i, v in enumerate(labels)}
    return {"labels": labels}


def _round(value):
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_round(v) for v in value]
    return value


class TopicQuality:
    """The quality measures of every layer of a :class:`TopicHierarchy`; build one with
    :meth:`TopicHierarchy.quality`.

    Attributes
    ----------
    ranks : tuple of int
    n_words : int
        Top words per topic behind the NPMI and diversity.
    layers : list of dict
        Per layer: ``layer``, ``k``; ``npmi`` (the mean over its topics with two top words or
        more) and ``npmi_topics`` when a corpus was given; ``diversity``; ``largest_share`` and
        ``shares`` (each topic's mean share over the documents); ``catch_all`` (the names of
        the topics whose share exceeds ``2 / k`` and :data:`CATCH_ALL_SHARE`); for a layer
        above 0, the :func:`hierarchy_measures` of its topics as parents of the layer below
        (``degenerate_parents`` by name, and ``copies``: for each, the child it copies and
        the part that child makes up); with labels, ``labels``: per label level, its
        :func:`label_alignment` (``nmi``, ``purity``).
    label_levels : list of str
        The names of the label levels, finest first.
    """

    def __init__(self, ranks, layers, n_words, label_levels=()):
        self.ranks, self.layers, self.n_words = tuple(ranks), layers, n_words
        self.label_levels = list(label_levels)

    def _level(self, layer):
        """The label level matched with ``layer``: the coarsest with the top layer, finer
        ones downwards."""
        if not self.label_levels:
            return None
        offset = len(self.label_levels) - len(self.ranks)
        return self.label_levels[max(0, offset + layer)]

    def summary_lines(self):
        """One line per layer, top layer first."""
        lines = []
        for q in reversed(self.layers):
            parts = []
            if "npmi" in q:
                parts.append(f"NPMI {q['npmi']:.3f}")
            parts += [f"diversity {q['diversity']:.2f}",
                      f"largest share {q['largest_share']:.2f}"]
            if "single_child_parents" in q:
                parts.append(f"single-child parents {q['single_child_parents']}")
                parts.append(f"degenerate parents {len(q['degenerate_parents'])}")
            level = self._level(q["layer"])
            if level is not None:
                name = "" if len(self.label_levels) == 1 else f" ({level})"
                parts.append(f"NMI{name} {q['labels'][level]['nmi']:.2f}")
            lines.append(f"layer {q['layer']} (k={q['k']}): " + ", ".join(parts))
        return lines

    def summary(self):
        """The :meth:`summary_lines` as one string."""
        return "\n".join(self.summary_lines())

    def warnings(self):
        """The degenerate parents and catch-all topics, one sentence each."""
        out = []
        for q in reversed(self.layers):
            for copy in q.get("copies", []):
                out.append(f"topic {copy['parent']} is a copy of subtopic {copy['child']}, "
                           f"which makes up {copy['weight']:.2f} of it: a degenerate parent")
            for name in q["catch_all"]:
                share = q["shares"][int(name.split(".")[1])]
                out.append(f"topic {name} is a catch-all: it holds {100 * share:.0f}% of the "
                           f"corpus, more than 2/k = {100 * 2 / q['k']:.0f}% at layer "
                           f"{q['layer']}")
        return out

    def to_dict(self):
        """A JSON-ready dict (NaN becomes None)."""
        return _round({"n_words": self.n_words, "label_levels": self.label_levels,
                       "layers": self.layers, "warnings": self.warnings()})

    def to_markdown(self):
        """A short Markdown table: one row per layer, top layer first."""
        has_npmi = "npmi" in self.layers[0]
        head = ["Layer", "k"] + (["NPMI"] if has_npmi else []) + [
            "Diversity", "Largest share", "Single-child parents", "Degenerate parents"]
        if self.label_levels:
            head.append("NMI")
        rows = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
        for q in reversed(self.layers):
            cells = [str(q["layer"]), str(q["k"])]
            if has_npmi:
                cells.append(f"{q['npmi']:.3f}")
            cells += [f"{q['diversity']:.2f}", f"{100 * q['largest_share']:.1f}%",
                      str(q.get("single_child_parents", "—")),
                      str(len(q["degenerate_parents"])) if "degenerate_parents" in q else "—"]
            level = self._level(q["layer"])
            if level is not None:
                name = "" if len(self.label_levels) == 1 else f" ({level})"
                cells.append(f"{q['labels'][level]['nmi']:.2f}{name}")
            rows.append("| " + " | ".join(cells) + " |")
        return "\n".join(rows)

    def __str__(self):
        return self.summary()

    def __repr__(self):
        return f"<TopicQuality ranks={self.ranks}>"


def hierarchy_quality(h, X=None, labels=None, n_words=None, *, texts=None, window=None,
                      warn=True):
    """The work of :meth:`TopicHierarchy.quality`."""
    n_words = h.n_words if n_words is None else _count(n_words, "n_words")
    if X is not None and texts is not None:
        raise ValueError("give X or texts, not both")
    if X is not None:
        shape = X.shape if sp.issparse(X) else np.shape(X)
        if len(shape) != 2 or shape[0] != len(h.vocabulary):
            raise ValueError(f"X must be words x documents with one row per word of the "
                             f"vocabulary ({len(h.vocabulary)}), got shape {tuple(shape)}")
    levels = {} if labels is None else _label_levels(labels)
    layers = []
    for l, k in enumerate(h.ranks):
        words = top_words(h.profiles[l], n_words)
        M, nonempty = _mixtures(h.mixtures[l], f"mixtures[{l}]")
        # a model that leaves every document empty still gets its report (of zeros)
        shares = _document_shares(M, nonempty) if nonempty.any() else np.zeros(k)
        q = {"layer": l, "k": int(k)}
        if X is not None or texts is not None:
            npmi = npmi_coherence(X, words, texts=texts, window=window,
                                  vocabulary=h.vocabulary)
            q["npmi"] = float(np.nanmean(npmi)) if not np.isnan(npmi).all() else math.nan
            q["npmi_topics"] = npmi.tolist()
        q["diversity"] = topic_diversity(words) if any(w.size for w in words) else math.nan
        q["largest_share"] = float(shares.max())
        q["shares"] = shares.tolist()
        q["catch_all"] = [f"{l}.{i}" for i in np.flatnonzero(
            (shares > 2 / k) & (shares > CATCH_ALL_SHARE))]
        if l > 0:
            below = h.layers[l - 1]
            parent_of = np.array([-1 if t.parent is None else t.parent for t in below])
            parts = h.composition[l - 1]
            m = hierarchy_measures(h.profiles[l - 1], h.profiles[l], parent_of,
                                   composition=parts)
            q["copies"] = [{"parent": f"{l}.{j}", "child": f"{l - 1}.{int(parts[:, j].argmax())}",
                            "weight": float(parts[:, j].max())} for j in m["degenerate_parents"]]
            m["degenerate_parents"] = [f"{l}.{j}" for j in m["degenerate_parents"]]
            q.update(m)
        if levels:
            q["labels"] = {name: label_alignment(h.mixtures[l], y) for name, y in levels.items()}
        layers.append(q)
    quality = TopicQuality(h.ranks, layers, n_words, levels.keys())
    if warn:
        for text in quality.warnings():
            warnings.warn(text, TopicQualityWarning, stacklevel=3)
    return quality
