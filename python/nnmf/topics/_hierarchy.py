"""The topic hierarchy of a fitted multilayer model: words, shares, mixtures and the tree.

For layer l, the word profile of its topics is W_l = A_0 A_1 ... A_l (words x k_l) and the
documents' coefficients are S_l (k_l x documents), so X ~ W_l S_l at every layer. NMF leaves
the scale of each topic free (a column of W_l can grow while the matching row of S_l
shrinks), so every number reported here is scale-free:

- a topic's word weights are its column of W_l normalised to sum to 1;
- the mass topic i explains in document n is ||W_l[:, i]||_1 S_l[i, n]; normalised over the
  topics it is the document's topic mixture, and summed over documents (normalised over the
  topics) it is the topic's share of the corpus;
- layer-l topic i is the sum of the layer-(l+1) topics weighted by row i of A_{l+1}; the mass of
  i that flows through parent j is proportional to A_{l+1}[i, j] times the total of row j of
  S_{l+1}, and normalised over j it gives the link weights of the tree. A topic's parent is its
  heaviest link;
- seen from the parent, the word profile of layer-(l+1) topic j is the sum of the layer-l
  profiles weighted by column j of A_{l+1}: the part of its mass that child i makes up is
  ||W_l[:, i]||_1 A_{l+1}[i, j] over ||W_{l+1}[:, j]||_1 (its composition).
"""

import json
import sys
from dataclasses import dataclass, field

import numpy as np

from .._utils.files import atomic_open
from .._utils.linalg import prefix_chains
from ._metrics import _dense, hierarchy_quality

__all__ = ["Topic", "TopicHierarchy", "topic_hierarchy", "word_profiles", "dump_json",
           "model_factors"]

_FORMAT = "nnmf-topics"
_FORMAT_VERSION = 1


def word_profiles(A):
    """The word profiles W_l = A_0 A_1 ... A_l of every layer.

    Parameters
    ----------
    A : list of array-like
        The factor matrices A_0 (words x k_0), A_1 (k_0 x k_1), ...

    Returns
    -------
    list of ndarray
        W_l of shape (n_words, k_l) for each layer l.
    """
    A = [_dense(A_l, f"A[{l}]") for l, A_l in enumerate(A)]
    for l in range(1, len(A)):
        if A[l - 1].shape[1] != A[l].shape[0]:
            raise ValueError(f"A[{l}] has {A[l].shape[0]} rows but layer {l - 1} has "
                             f"{A[l - 1].shape[1]} topics")
    return prefix_chains(A)


@dataclass
class Topic:
    """One topic of a :class:`TopicHierarchy`.

    Attributes
    ----------
    layer, index : int
        Layer l and column of A_l / row of S_l.
    name : str
        ``"l.i"``, e.g. ``"1.0"``.
    words : list of (str, float)
        Top words with their weights (the weights of all words sum to 1).
    share : float
        Fraction of the corpus the topic explains (the shares of a layer sum to 1).
    parent : int or None
        Index of the heaviest layer-(l+1) topic; None at the top layer or for a dead topic.
    parents : list of (int, float)
        Links to layer l+1, heaviest first, with weights summing to 1.
    children : list of int
        The layer-(l-1) topics whose parent this is, largest share first.
    """

    layer: int
    index: int
    words: list
    share: float
    parent: object = None
    parents: list = field(default_factory=list)
    children: list = field(default_factory=list)

    @property
    def name(self):
        return f"{self.layer}.{self.index}"

    def label(self, n_words=None):
        """Its top words joined by spaces."""
        return " ".join(w for w, _ in self.words[:n_words])


class TopicHierarchy:
    """Topics of every layer with their words, shares, document mixtures and tree.

    Build one with :func:`topic_hierarchy`.

    Attributes
    ----------
    ranks : tuple of int
    vocabulary : list of str
    doc_ids : list of str
    profiles : list of ndarray
        Per layer, the normalised word profiles (words x k_l, columns sum to 1).
    mixtures : list of ndarray
        Per layer, each document's topic mixture (k_l x documents, columns sum to 1, or 0 for
        a document the model leaves empty).
    shares : list of ndarray
        Per layer, each topic's share of the corpus.
    links : list of ndarray
        ``links[l]`` (k_l x k_{l+1}) for l < L: row i holds layer-l topic i's link weights to
        the layer-(l+1) topics.
    composition : list of ndarray
        ``composition[l]`` (k_l x k_{l+1}) for l < L: column j holds the parts of layer-(l+1)
        topic j's word mass that the layer-l topics make up (columns sum to 1, or 0 for a
        dead topic).
    layers : list of list of Topic
    """

    def __init__(self, A, S, vocabulary=None, doc_ids=None, n_words=10):
        if len(A) == 0 or len(A) != len(S):
            raise ValueError(f"need one S per A and at least one layer, got {len(A)} A's and "
                             f"{len(S)} S's")
        if int(n_words) < 1:
            raise ValueError(f"n_words must be at least 1, got {n_words}")
        W = word_profiles(A)
        S = [_dense(S_l, f"S[{l}]") for l, S_l in enumerate(S)]
        n = S[0].shape[1]
        for l, (W_l, S_l) in enumerate(zip(W, S)):
            if S_l.shape != (W_l.shape[1], n):
                raise ValueError(f"S[{l}] has shape {S_l.shape}, expected {(W_l.shape[1], n)}")
        m = W[0].shape[0]
        if vocabulary is None:
            vocabulary = [f"w{i}" for i in range(m)]
        vocabulary = [str(w) for w in vocabulary]
        if len(vocabulary) != m:
            raise ValueError(f"the vocabulary has {len(vocabulary)} words but the model has "
                             f"{m} rows (words)")
        doc_ids = [str(j) for j in range(n)] if doc_ids is None else [str(d) for d in doc_ids]
        if len(doc_ids) != n:
            raise ValueError(f"{len(doc_ids)} document ids for {n} documents")
        self.ranks = tuple(W_l.shape[1] for W_l in W)
        self.vocabulary, self.doc_ids, self.n_words = vocabulary, doc_ids, int(n_words)
        self.profiles, self.mixtures, self.shares = [], [], []
        self.links, self.composition = [], []
        scales = []
        for W_l, S_l in zip(W, S):
            scale = W_l.sum(axis=0)
            scales.append(scale)
            self.profiles.append(W_l / np.where(scale > 0, scale, 1.0))
            mass = scale[:, None] * S_l
            total = mass.sum(axis=0)
            self.mixtures.append(mass / np.where(total > 0, total, 1.0))
            topic_mass = mass.sum(axis=1)
            self.shares.append(topic_mass / max(topic_mass.sum(), np.finfo(float).tiny))
        for l in range(1, len(A)):
            A_l = _dense(A[l], f"A[{l}]")
            flow = A_l * S[l].sum(axis=1)[None, :]
            rows = flow.sum(axis=1, keepdims=True)
            self.links.append(flow / np.where(rows > 0, rows, 1.0))
            parts = scales[l - 1][:, None] * A_l
            cols = parts.sum(axis=0, keepdims=True)
            self.composition.append(parts / np.where(cols > 0, cols, 1.0))
        self.layers = []
        for l, profile in enumerate(self.profiles):
            topics = []
            for i in range(profile.shape[1]):
                col = profile[:, i]
                top = np.argsort(-col, kind="stable")[:self.n_words]
                words = [(vocabulary[t], float(col[t])) for t in top if col[t] > 0]
                topic = Topic(l, i, words, float(self.shares[l][i]))
                if l < len(self.links):
                    row = self.links[l][i]
                    order = np.argsort(-row, kind="stable")
                    topic.parents = [(int(j), float(row[j])) for j in order if row[j] > 0]
                    topic.parent = topic.parents[0][0] if topic.parents else None
                topics.append(topic)
            self.layers.append(topics)
        for l in range(1, len(self.layers)):
            for child in sorted(self.layers[l - 1], key=lambda t: -t.share):
                if child.parent is not None:
                    self.layers[l][child.parent].children.append(child.index)

    # -- access ----------------------------------------------------------------------------

    @property
    def n_layers(self):
        return len(self.ranks)

    def topic(self, layer, index):
        """The :class:`Topic` ``index`` of ``layer`` (negative layers count from the top)."""
        return self.layers[layer][index]

    def document_topics(self, layer=-1):
        """Each document's topic mixture at ``layer``: ndarray (documents x k_l), rows sum
        to 1 (0 for an empty document)."""
        return self.mixtures[layer].T.copy()

    def dominant_topics(self, layer=-1):
        """Index of each document's heaviest topic at ``layer`` (-1 for an empty document)."""
        mix = self.mixtures[layer]
        return np.where(mix.sum(axis=0) > 0, mix.argmax(axis=0), -1)

    # -- quality ---------------------------------------------------------------------------

    def quality(self, X=None, labels=None, n_words=None, *, texts=None, window=None,
                warn=True):
        """Quality measures of every layer (see :mod:`nnmf.topics` and the guide's page
        "Judging a topic hierarchy").

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_words, n_documents), default=None
            A corpus over the same vocabulary (usually the training corpus) in which to count
            word co-occurrences for the NPMI coherence; without it (or ``texts``) NPMI is left
            out.
        labels : array-like, list of array-like or dict, default=None
            Labels of the documents: one labelling, several (finest first, coarsest last) or
            a dict name -> labelling (finest first). Each layer is compared with every level;
            the summary shows the coarsest level at the top layer and finer ones below.
        n_words : int, default=None
            Top words per topic for NPMI and diversity (default: the hierarchy's ``n_words``).
        texts, window
            Tokenised documents (and a sliding window) to count co-occurrences in instead of
            X, as in :func:`npmi_coherence`.
        warn : bool, default=True
            Issue a :class:`TopicQualityWarning` for each degenerate parent and catch-all
            topic.

        Returns
        -------
        TopicQuality
        """
        return hierarchy_quality(self, X, labels, n_words, texts=texts, window=window,
                                 warn=warn)

    # -- export ----------------------------------------------------------------------------

    def to_dict(self, documents=True, *, quality=None):
        """A JSON-ready dict: every layer's topics (words, weights, share, parents, children),
        the ``quality`` measures when given (a :class:`TopicQuality`), and, when
        ``documents``, each document's topic mixture per layer."""
        out = {"format": _FORMAT, "format_version": _FORMAT_VERSION, "ranks": list(self.ranks),
               "n_words": len(self.vocabulary), "n_documents": len(self.doc_ids), "layers": []}
        for l, topics in enumerate(self.layers):
            entries = []
            for t in topics:
                entry = {"id": t.name, "index": t.index, "share": round(t.share, 6),
                         "words": [{"word": w, "weight": round(x, 6)} for w, x in t.words]}
                if l + 1 < self.n_layers:
                    entry["parent"] = None if t.parent is None else f"{l + 1}.{t.parent}"
                    entry["parents"] = [{"id": f"{l + 1}.{j}", "weight": round(x, 6)}
                                        for j, x in t.parents if x >= 5e-4]
                if l > 0:
                    entry["children"] = [f"{l - 1}.{c}" for c in t.children]
                entries.append(entry)
            out["layers"].append({"layer": l, "n_topics": len(topics), "topics": entries})
        if quality is not None:
            out["quality"] = quality.to_dict()
        if documents:
            out["documents"] = [
                {"id": d, "topics": [[round(float(x), 6) for x in mix[:, j]]
                                     for mix in self.mixtures]}
                for j, d in enumerate(self.doc_ids)]
        return out

    def to_json(self, path=None, *, documents=True, quality=None):
        """The :meth:`to_dict` as JSON text, written to ``path`` when given. Nested objects
        are indented; lists of numbers and small flat objects stay on one line."""
        text = dump_json(self.to_dict(documents=documents, quality=quality))
        if path is not None:
            with atomic_open(path, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
        return text

    def to_markdown(self, path=None, *, n_words=None, quality=None):
        """A Markdown report: a table per layer (top layer first), the tree and, when given,
        a table of the ``quality`` measures (a :class:`TopicQuality`) with its warnings.
        Written to ``path`` when given; returned as a string."""
        n_words = n_words or self.n_words
        lines = ["# Topic hierarchy", "",
                 f"Ranks {' > '.join(map(str, self.ranks))}; {len(self.doc_ids)} documents, "
                 f"{len(self.vocabulary)} words. A topic's share is the fraction of the corpus "
                 "it explains; a link's weight is the fraction of a topic's mass that flows "
                 "through its parent.", ""]
        for l in reversed(range(self.n_layers)):
            noun = "topic" if self.ranks[l] == 1 else "topics"
            lines += [f"## Layer {l} ({self.ranks[l]} {noun})", ""]
            header = "| Topic | Share | Top words |"
            rule = "|---|---:|---|"
            if l + 1 < self.n_layers:
                header += " Parent (weight) |"
                rule += "---|"
            if l > 0:
                header += " Subtopics |"
                rule += "---|"
            lines += [header, rule]
            for t in sorted(self.layers[l], key=lambda t: -t.share):
                row = f"| {t.name} | {100 * t.share:.1f}% | {_md(t.label(n_words))} |"
                if l + 1 < self.n_layers:
                    row += (" — |" if t.parent is None
                            else f" {l + 1}.{t.parent} ({t.parents[0][1]:.2f}) |")
                if l > 0:
                    row += f" {', '.join(f'{l - 1}.{c}' for c in t.children) or '—'} |"
                lines.append(row)
            lines.append("")
        if self.n_layers > 1:
            lines += ["## Tree", "", "```", self.format_tree(n_words=n_words), "```", ""]
        if quality is not None:
            lines += ["## Quality", "",
                      f"Over the top {quality.n_words} words of each topic; shares are means "
                      "over the documents.", "", quality.to_markdown(), ""]
            lines += [f"- {_md(w)}" for w in quality.warnings()]
            if quality.warnings():
                lines.append("")
        text = "\n".join(lines)
        if path is not None:
            with atomic_open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
        return text

    def format_tree(self, n_words=None, *, weights=False):
        """The hierarchy as indented text: each top-layer topic, then its subtopics under it,
        largest share first. Each line: ``[layer.index] share  top words`` (and the link
        weight to its parent in parentheses)."""
        n_words = n_words or self.n_words
        out = []

        def words(t):
            if weights:
                return ", ".join(f"{w} {x:.3f}" for w, x in t.words[:n_words])
            return " ".join(w for w, _ in t.words[:n_words])

        def emit(t, depth):
            link = ""
            if t.layer + 1 < self.n_layers and t.parent is not None and depth > 0:
                link = f"  ({t.parents[0][1]:.2f})"
            out.append(f"{'  ' * depth}[{t.name}] {100 * t.share:5.1f}%  {words(t)}{link}")
            if t.layer > 0:
                for c in t.children:
                    emit(self.layers[t.layer - 1][c], depth + 1)

        for t in sorted(self.layers[-1], key=lambda t: -t.share):
            emit(t, 0)
        for l in range(self.n_layers - 1):
            orphans = [t for t in self.layers[l] if t.parent is None]
            if orphans:
                out.append(f"(layer {l} topics without a parent)")
                for t in orphans:
                    emit(t, 1)
        return "\n".join(out)

    def print_topics(self, n_words=None, *, weights=False, file=None):
        """Print the tree (see :meth:`format_tree`); ``weights`` adds each word's weight."""
        print(self.format_tree(n_words, weights=weights), file=file or sys.stdout)

    def __str__(self):
        return self.format_tree()

    def __repr__(self):
        return (f"<TopicHierarchy ranks={self.ranks}, {len(self.vocabulary)} words, "
                f"{len(self.doc_ids)} documents>")

    def _repr_markdown_(self):  # notebooks
        return self.to_markdown()


def _flat(value):
    if isinstance(value, dict):
        return len(value) <= 4 and all(not isinstance(v, (dict, list)) for v in value.values())
    if isinstance(value, list):
        return all(not isinstance(v, (dict, list)) for v in value)
    return True


def dump_json(value, indent=2, _level=0):
    """JSON text of ``value``: containers indented, except lists of scalars and small flat
    objects, which stay on one line (readable, and far shorter for long mixtures)."""
    if _flat(value) or (isinstance(value, list) and all(
            isinstance(v, list) and _flat(v) for v in value) and len(value) <= 8):
        return json.dumps(value, ensure_ascii=False)
    pad, inner = " " * (indent * _level), " " * (indent * (_level + 1))
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k)}: {dump_json(v, indent, _level + 1)}"
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    items = [f"{inner}{dump_json(v, indent, _level + 1)}" for v in value]
    return "[\n" + ",\n".join(items) + f"\n{pad}]"


def _md(text):
    return text.replace("|", "\\|")


def model_factors(model):
    if isinstance(model, (tuple, list)) and len(model) == 2:
        A, S = model
        return list(A), list(S)
    A, S = getattr(model, "A_", None), getattr(model, "S_", None)
    if A is None or S is None:
        from .._utils.estimator import check_is_fitted

        check_is_fitted(model)
        raise TypeError(f"{type(model).__name__} has no A_ and S_: a topic hierarchy needs "
                        "a multilayer model (or a pair (A, S) of lists of matrices)")
    if not isinstance(A, (list, tuple)):
        A, S = [A], [S]
    return list(A), list(S)


def topic_hierarchy(model, vocabulary=None, *, doc_ids=None, n_words=10):
    """The topic hierarchy of a fitted model.

    Parameters
    ----------
    model : fitted estimator or (A, S)
        An estimator with fitted ``A_`` (list of factor matrices) and ``S_`` (list of
        coefficient matrices), such as :class:`nnmf.NeuralNMF`, or the two lists themselves.
    vocabulary : sequence of str, default=None
        The word of each row of X; None names them ``w0``, ``w1``, ...
    doc_ids : sequence of str, default=None
        A name for each column of X; None numbers them.
    n_words : int, default=10
        Top words kept per topic.

    Returns
    -------
    TopicHierarchy

    Examples
    --------
    >>> import numpy as np
    >>> A = [np.array([[1., 0], [1, 0], [0, 1]]), np.array([[1.], [1.]])]
    >>> S = [np.array([[1., 0], [0, 1]]), np.array([[1., 1.]])]
    >>> h = topic_hierarchy((A, S), ["apple", "pear", "kiwi"], n_words=2)
    >>> h.print_topics()
    [1.0] 100.0%  apple pear
      [0.0]  66.7%  apple pear  (1.00)
      [0.1]  33.3%  kiwi  (1.00)
    """
    A, S = model_factors(model)
    return TopicHierarchy(A, S, vocabulary, doc_ids, n_words)
