"""Choosing the ranks k_0, k_1, ... of a topic hierarchy from the data.

Each layer is scanned the way :class:`~nnmf.HierarchicalNMF` builds it: layer 0 is NMF of X,
layer l > 0 is NMF of the chosen layer l-1's coefficients S_{l-1}, each row scaled to its
topic's mass (the sum of its word profile: NMF leaves the scale free), with at most half as
many topics (so that a parent has two children on average: near k_{l-1}, NMF of S_{l-1} only
merges a pair or two of rows, which every start does alike, and would look stable for it).
At every candidate k the layer is fitted ``n_seeds`` times by ANLS from different random
starts, giving two signals:

- the relative reconstruction error ||Z - A S||_F / ||Z||_F of the best of the fits, whose
  curve over k flattens once k reaches the structure in the data;
- the stability of the topics across the fits (Greene, O'Callaghan & Cunningham, 2014): for
  every pair of fits, the topics of one matched one to one to those of the other (Hungarian
  method) by the cosine similarity of their columns of A, averaged over the topics and the
  pairs. A rank the data supports gives the same topics from any start; a rank past it splits
  or merges topics differently from run to run.

The rule: the *elbow* of the error curve is its Kneedle point (the candidate farthest below
the chord from the first to the last candidate, both axes scaled to [0, 1]); fewer topics
than the elbow leave structure unexplained. Among the candidates from the elbow up, the
suggestion is the fewest topics whose stability is within ``tolerance`` of the most stable
one's.

References
----------
D. Greene, D. O'Callaghan and P. Cunningham, "How many topics? Stability analysis for topic
models", ECML PKDD 2014. https://doi.org/10.1007/978-3-662-44848-9_32

V. Satopaa, J. Albrecht, D. Irwin and B. Raghavan, "Finding a 'Kneedle' in a haystack:
detecting knee points in system behavior", ICDCS Workshops 2011.
https://doi.org/10.1109/ICDCSW.2011.20
"""

import itertools
import numbers
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment

from .._utils.estimator import check_random_state
from .._utils.params import Interval, check_param
from ..layer import Operand, resolve_n_threads
from ..multilayer import check_data, nmf_anls
from ._metrics import _unit_columns, npmi_coherence, top_words

__all__ = ["RankSuggestion", "suggest_ranks", "default_candidates", "elbow", "stability"]

# The default grid: every k up to _LINEAR_UP_TO, then steps of about a quarter up to _LARGEST.
_LINEAR_UP_TO, _GROWTH, _LARGEST = 10, 1.25, 30


def default_candidates(upper):
    """The default candidate ranks below or at ``upper``: 2, 3, ..., 10, then steps of about
    a quarter (12, 15, 19, 24, 30), never above ``upper``."""
    top = min(int(upper), _LARGEST)
    ks = list(range(2, min(top, _LINEAR_UP_TO) + 1))
    k = _LINEAR_UP_TO
    while True:
        k = max(k + 1, int(round(k * _GROWTH)))
        if k > top:
            return ks
        ks.append(k)


def elbow(ks, errors):
    """Index of the Kneedle point of a decreasing error curve over the ranks ``ks``: the
    point farthest below the chord from the first to the last point, both axes scaled to
    [0, 1]. 0 with fewer than three points or a flat curve."""
    ks = np.asarray(ks, dtype=np.float64)
    errors = np.asarray(errors, dtype=np.float64)
    drop = errors[0] - errors[-1]
    if ks.size < 3 or not drop > 0:
        return 0
    x = (ks - ks[0]) / (ks[-1] - ks[0])
    y = (errors - errors[-1]) / drop
    return int(np.argmax((1.0 - x) - y))


def stability(factors):
    """Mean over all pairs of ``factors`` (same shape, topics as columns) of the mean cosine
    similarity of their topics matched one to one (Hungarian method); 1 when every fit found
    the same topics."""
    scores = []
    for a, b in itertools.combinations(factors, 2):
        cos = _unit_columns(a).T @ _unit_columns(b)
        rows, cols = linear_sum_assignment(cos, maximize=True)
        scores.append(cos[rows, cols].mean())
    return float(np.mean(scores))


@dataclass
class RankSuggestion:
    """What :func:`suggest_ranks` found: the suggested ranks and, per layer, the scan.

    Attributes
    ----------
    ranks : tuple of int
        The suggestion (k_0, k_1, ...), ready for ``NeuralNMF(ranks)`` or
        ``nnmf fit --ranks``.
    candidates : list of ndarray of int
        Per layer, the ranks scanned.
    error : list of ndarray
        Per layer and candidate, the relative reconstruction error of the best fit of that
        layer's input (X for layer 0, the topic mass of the chosen S_{l-1} above).
    stability : list of ndarray
        Per layer and candidate, the mean best-match cosine similarity of the topics across
        the ``n_seeds`` fits (1 = the same topics from every start).
    coherence : list of ndarray or None
        Per layer and candidate, the mean NPMI coherence of the best fit's topics (their word
        profiles through the chosen layers below), when asked for.
    elbow : list of int
        Per layer, the elbow of the error curve (a candidate rank).
    n_seeds : int
    tolerance : float
    """

    ranks: tuple
    candidates: list
    error: list
    stability: list
    coherence: list
    elbow: list
    n_seeds: int
    tolerance: float

    def summary(self):
        """The scan as a table per layer, the chosen row marked with ``*``, and the
        suggestion as ``--ranks``."""
        lines = []
        for l, ks in enumerate(self.candidates):
            what = ("NMF of X" if l == 0 else
                    f"NMF of layer {l - 1}'s topic mass ({self.ranks[l - 1]} topics)")
            lines.append(f"layer {l}: {what}, {self.n_seeds} starts, elbow at "
                         f"k={self.elbow[l]}, suggested k={self.ranks[l]}")
            header = "      k  rel. error  stability"
            if self.coherence is not None:
                header += "     NPMI"
            lines.append(header)
            for i, k in enumerate(ks):
                mark = "*" if k == self.ranks[l] else " "
                row = (f"  {mark} {k:3d}  {self.error[l][i]:10.4f}  "
                       f"{self.stability[l][i]:9.3f}")
                if self.coherence is not None:
                    row += f"  {self.coherence[l][i]:7.3f}"
                lines.append(row)
            lines.append("")
        lines.append(f"suggested: --ranks {','.join(map(str, self.ranks))}")
        return "\n".join(lines)

    def __str__(self):
        return self.summary()

    def to_dict(self):
        """Plain Python types, for JSON."""
        layers = []
        for l, ks in enumerate(self.candidates):
            rows = []
            for i, k in enumerate(ks):
                row = {"k": int(k), "error": float(self.error[l][i]),
                       "stability": float(self.stability[l][i])}
                if self.coherence is not None:
                    row["npmi"] = float(self.coherence[l][i])
                rows.append(row)
            layers.append({"layer": l, "elbow": int(self.elbow[l]),
                           "suggested": int(self.ranks[l]), "candidates": rows})
        return {"ranks": [int(k) for k in self.ranks], "n_seeds": self.n_seeds,
                "tolerance": self.tolerance, "layers": layers}


def _check_candidates(candidates, n_layers):
    """Per layer, the candidate list (None: the default grid), from None, one sequence of
    ints (every layer) or one sequence per layer."""
    if candidates is None:
        return [None] * n_layers
    if isinstance(candidates, (str, bytes)) or not hasattr(candidates, "__iter__"):
        raise TypeError(f"candidates must be None, a sequence of positive ints or one such "
                        f"sequence per layer, got {candidates!r}")
    candidates = list(candidates)
    nested = bool(candidates) and all(
        hasattr(c, "__iter__") and not isinstance(c, (str, bytes)) for c in candidates)
    if nested and len(candidates) != n_layers:
        raise ValueError(f"candidates has {len(candidates)} lists but n_layers={n_layers}")
    per_layer = [list(c) for c in candidates] if nested else [candidates] * n_layers
    checked = []
    for l, ks in enumerate(per_layer):
        name = f"candidates[{l}]" if nested else "candidates"
        if not ks or not all(isinstance(k, numbers.Integral) and not isinstance(k, bool)
                             and k >= 1 for k in ks):
            raise ValueError(f"{name} must be a non-empty sequence of positive ints, got {ks!r}")
        checked.append(sorted(set(int(k) for k in ks)))
    return checked


def _nonempty_rows(Xop):
    """X without its all-zero rows (words no document uses), which change neither the
    error nor the fitted topics' other rows, and cost an NNLS row each."""
    M = Xop.matrix
    used = M.getnnz(axis=1) > 0 if sp.issparse(M) else (M != 0).any(axis=1)
    return Xop if used.all() else Operand(M[used], dtype=Xop.dtype)


def suggest_ranks(X, *, n_layers=2, candidates=None, n_seeds=3, tolerance=0.05,
                  coherence=False, max_iter=200, tol=1e-4, random_state=0, n_threads=None):
    """Suggest the ranks (k_0, k_1, ...) of a topic hierarchy of X, layer by layer, from the
    reconstruction-error curve and the stability of the topics across random starts.

    Layer 0 is NMF of X, layer l > 0 NMF of the coefficients S_{l-1} of the best fit at the
    rank chosen for layer l-1 (as :class:`~nnmf.HierarchicalNMF` builds it; each row scaled
    to its topic's mass), with candidates at most half that rank.
    At each candidate k the layer is fitted ``n_seeds`` times by ANLS from random starts.
    The suggestion per layer: among the candidates from the elbow of the error curve up, the
    fewest topics whose stability is within ``tolerance`` of the most stable's. See
    :doc:`/guide/ranks` for the method and how to read the result.

    Parameters
    ----------
    X : array-like or scipy sparse matrix of shape (m, n)
        Nonnegative data, words x documents (columns are samples).
    n_layers : int, default=2
        Layers to suggest a rank for.
    candidates : sequence of int, or one sequence per layer, default=None
        The ranks to scan. One sequence serves every layer (layer l > 0 keeps those at most
        half the rank chosen for layer l-1). None: 2, 3, ..., 10, 12, 15, 19, 24, 30, bounded
        by the data's shape (layer 0) or by half the rank below (layer l > 0).
    n_seeds : int, default=3
        Fits per candidate (at least 2: stability compares fits).
    tolerance : float, default=0.05
        How far below the best stability a rank may be and still be preferred for having
        fewer topics.
    coherence : bool, default=False
        Also report each candidate's mean NPMI coherence (document co-occurrence in X, top
        10 words; :func:`nnmf.topics.npmi_coherence`). It does not enter the rule.
    max_iter, tol : int, float, default=200, 1e-4
        ANLS iterations and stopping tolerance of each fit (:func:`nnmf.multilayer.nmf_anls`).
    random_state : None, int or numpy.random.Generator, default=0
        Seeds the random starts; the same seed gives the same suggestion.
    n_threads : int, default=None
        Threads of the compiled core; None = OpenMP's maximum.

    Returns
    -------
    RankSuggestion
        ``ranks`` and the scan per layer; ``print`` it for a table.

    Examples
    --------
    >>> import nnmf
    >>> d = nnmf.datasets.load_synthetic_noise()      # 9 planted fine classes
    >>> nnmf.suggest_ranks(d.X, n_layers=1, candidates=range(2, 13)).ranks
    (9,)
    """
    n_layers = check_param(n_layers, "n_layers", [Interval("int", 1, None)])
    n_seeds = check_param(n_seeds, "n_seeds", [Interval("int", 2, None)])
    tolerance = check_param(tolerance, "tolerance", [Interval("real", 0, 1)])
    coherence = check_param(coherence, "coherence", ["boolean"])
    max_iter = check_param(max_iter, "max_iter", [Interval("int", 1, None)])
    tol = check_param(tol, "tol", [Interval("real", 0, None)])
    per_layer = _check_candidates(candidates, n_layers)
    rng = check_random_state(random_state)
    n_threads = resolve_n_threads(n_threads)
    Xop = _nonempty_rows(check_data(X))
    m, n = Xop.shape
    if per_layer[0] is not None and per_layer[0][-1] > min(m, n):
        raise ValueError(f"candidates: k={per_layer[0][-1]} exceeds min(words used, documents)"
                         f" = {min(m, n)} of X")
    # The same starts at every candidate, so that the curves compare ranks, not luck.
    seeds = rng.integers(2**63, size=n_seeds)
    Z, basis = Xop, None  # basis: the chosen topics' word profiles, each summing to 1
    found = {key: [] for key in ("ranks", "candidates", "error", "stability", "coherence",
                                 "elbow")}
    for l in range(n_layers):
        upper = min(m, n) if l == 0 else found["ranks"][-1] // 2
        ks = per_layer[l]
        ks = default_candidates(upper) if ks is None else [k for k in ks if k <= upper]
        if not ks and l == 0:
            raise ValueError(f"X is too small to scan: its {m} used words x {n} documents "
                             "allow no candidate rank")
        if not ks:
            raise ValueError(
                f"no candidate rank for layer {l}: it takes at most half the "
                f"{found['ranks'][-1]} topics chosen for layer {l - 1}; lower n_layers or "
                "give candidates that allow more topics below")
        fits, errors, stabilities, npmi = [], [], [], []
        for k in ks:
            runs = [nmf_anls(Z, k, init="random", max_iter=max_iter, tol=tol, random_state=s,
                             n_threads=n_threads, warn=False) for s in seeds]
            best = min(runs, key=lambda run: run[2][-1])
            fits.append(best)
            errors.append(best[2][-1])
            stabilities.append(stability([A for A, _, _ in runs]))
            if coherence:
                W = best[0] if basis is None else basis @ best[0]
                values = npmi_coherence(Xop.matrix, top_words(W))
                values = values[np.isfinite(values)]  # a topic with under two words has none
                npmi.append(float(values.mean()) if values.size else np.nan)
        e = elbow(ks, errors)
        stab = np.asarray(stabilities)
        past = np.arange(e, len(ks))
        pick = int(past[np.argmax(stab[past] >= stab[past].max() - tolerance)])
        A, S, _ = fits[pick]
        # NMF leaves each topic's scale free; the next layer fits the documents' topic mass
        # (as topic_hierarchy measures shares), so that the scan does not depend on it.
        W = A if basis is None else basis @ A
        mass = W.sum(axis=0)
        basis = W / np.where(mass > 0, mass, 1.0)
        Z = Operand.trusted(np.asfortranarray(mass[:, None] * S))
        for key, value in (("ranks", ks[pick]), ("candidates", np.asarray(ks)),
                           ("error", np.asarray(errors)), ("stability", stab),
                           ("coherence", np.asarray(npmi)), ("elbow", ks[e])):
            found[key].append(value)
    return RankSuggestion(
        ranks=tuple(int(k) for k in found["ranks"]), candidates=found["candidates"],
        error=found["error"], stability=found["stability"],
        coherence=found["coherence"] if coherence else None, elbow=found["elbow"],
        n_seeds=n_seeds, tolerance=tolerance)
