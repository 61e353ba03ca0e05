"""Topic quality side by side on real corpora: nnmf's hierarchical models against flat NMF
(nnmf's and scikit-learn's), scikit-learn's LDA and tomotopy's hierarchical topic models, all
judged by the same measures of ``nnmf.topics`` on the same data; plus the semi-supervised
check (NeuralNMF with some labels known against a logistic regression on the same labels).

    python bench/bench_topics.py                  # all corpora, writes bench/RESULTS_topics.md
                                                  #   and bench/results_topics.json
    python bench/bench_topics.py --corpora 20news --seeds 2 --out /tmp/t   # a quick look

The corpora are built by ``_corpora.py`` (nothing downloaded). Every model fits the same
documents: the nnmf models and scikit-learn's NMF the tf-idf matrix, LDA and tomotopy the
counts of the same vocabulary (token lists).
"""

import argparse
import datetime
import json
import math
import platform
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _common  # noqa: E402  (bench helpers: machine info)
import _corpora  # noqa: E402

import nnmf  # noqa: E402
from nnmf.topics import (hierarchy_measures, label_alignment, largest_share,  # noqa: E402
                         npmi_coherence, top_words, topic_diversity, topic_hierarchy)

N_WORDS = 10
TOMOTOPY_ITERATIONS = 500
KNOWN_FRACTION = 0.6   # the paper's semi-supervised 20 Newsgroups runs know 60 % of the labels
# Random splits of the semi-supervised check: enough for this many hidden-label predictions
# in all (a small corpus hides few labels per split, and one split's accuracy is noisy),
# at least --seeds and at most SEMI_MAX_SPLITS.
SEMI_PREDICTIONS = 1500
SEMI_MAX_SPLITS = 20


# -- one fitted model, as the measures see it -------------------------------------------------

def _layer(c, W, M):
    """The measures of one layer: word profiles W (words x k), mixtures M (k x documents)."""
    tops = top_words(W, N_WORDS)
    out = {"k": int(W.shape[1]),
           "npmi": float(np.mean(npmi_coherence(c.X, tops))),
           "diversity": topic_diversity(tops),
           "largest_share": largest_share(M)}
    for level, codes in c.labels.items():
        out[f"nmi_{level}"] = label_alignment(M, codes)["nmi"]
    return out


def _tree(W_child, W_parent, parent_of, composition):
    m = hierarchy_measures(W_child, W_parent, parent_of, composition=composition)
    return {"affinity_children": m["affinity_children"], "affinity_others": m["affinity_others"],
            "single_child_parents": m["single_child_parents"],
            "childless_parents": m["childless_parents"],
            "degenerate_parents": len(m["degenerate_parents"])}


def from_factors(c, A, S):
    """Layers (bottom first) and the tree of a model given as lists of A's and S's."""
    h = topic_hierarchy((A, S), c.vocabulary)
    layers = [_layer(c, W, M) for W, M in zip(h.profiles, h.mixtures)]
    tree = None
    if h.n_layers > 1:
        children = h.layers[-2]
        parent_of = np.array([-1 if t.parent is None else t.parent for t in children])
        tree = _tree(h.profiles[-2], h.profiles[-1], parent_of, h.composition[-1])
    return layers, tree


def _nnmf_model(make):
    def fit(c, seed):
        model = make(c, seed).fit(c.X)
        A, S = (model.A_, model.S_) if isinstance(model.A_, list) else ([model.A_], [model.S_])
        return from_factors(c, A, S)
    return fit


def _sklearn_nmf(k_of):
    def fit(c, seed):
        from sklearn.decomposition import NMF
        model = NMF(k_of(c), init="nndsvda", max_iter=500, random_state=seed)
        H = model.fit_transform(c.X.T.tocsr())               # documents x k
        return from_factors(c, [model.components_.T], [H.T])
    return fit


def _counts(c):
    import scipy.sparse as sp
    index = {w: i for i, w in enumerate(c.vocabulary)}
    rows, cols = [], []
    for j, tokens in enumerate(c.tokens):
        cols.extend(index[w] for w in tokens)
        rows.extend([j] * len(tokens))
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)),
                         shape=(len(c.tokens), len(c.vocabulary)))


def _lda(k_of):
    def fit(c, seed):
        from sklearn.decomposition import LatentDirichletAllocation
        lda = LatentDirichletAllocation(k_of(c), learning_method="batch", max_iter=100,
                                        random_state=seed)
        theta = lda.fit_transform(_counts(c))                # documents x k
        W = lda.components_.T / lda.components_.sum(axis=1)
        return [_layer(c, W, theta.T)], None
    return fit


def _tomotopy_corpus(model, c):
    """Add the documents to a tomotopy model (tomotopy refuses an empty one: those are left
    out, with an empty mixture); returns the columns added."""
    kept = [j for j, t in enumerate(c.tokens) if t]
    for j in kept:
        model.add_doc(c.tokens[j])
    return kept


def _word_matrix(model, c, topic_ids):
    index = {w: i for i, w in enumerate(c.vocabulary)}
    order = np.array([index[w] for w in model.vocabs])
    W = np.zeros((len(c.vocabulary), len(topic_ids)))
    for col, t in enumerate(topic_ids):
        W[order, col] = model.get_topic_word_dist(t)
    return W


def _columns_sum_to_1(M):
    total = M.sum(axis=0)
    return M / np.where(total > 0, total, 1.0)


def _counted(kept, n, k, assignments):
    """Mixtures k x n from per-document lists of topic indices (-1: not this layer)."""
    M = np.zeros((k, n))
    for j, topics in zip(kept, assignments):
        topics = np.asarray(topics)
        topics = topics[topics >= 0]
        if topics.size:
            M[:, j] = np.bincount(topics, minlength=k) / topics.size
    return M


def tomotopy_hpa(c, seed):
    import tomotopy as tp
    k0, k1 = c.ranks
    model = tp.HPAModel(k1=k1, k2=k0, seed=seed)
    kept = _tomotopy_corpus(model, c)
    model.train(TOMOTOPY_ITERATIONS, workers=1)
    n = c.X.shape[1]
    # tomotopy's HPA topic ids: 0 the root, 1..k1 the super-topics, k1+1..k1+k2 the sub-topics;
    # a word is in (super z1, sub z2) with z2 = 0 when it stops at its super-topic.
    supers = [np.asarray(d.topics, dtype=np.intp) - 1 for d in model.docs]
    subs = [np.asarray(d.subtopics, dtype=np.intp) - 1 for d in model.docs]
    M1 = _counted(kept, n, k1, supers)
    M0 = _counted(kept, n, k0, [np.where(z1 >= 0, z2, -1) for z1, z2 in zip(supers, subs)])
    joint = np.zeros((k1, k0))
    for z1, z2 in zip(supers, subs):
        ok = (z1 >= 0) & (z2 >= 0)
        np.add.at(joint, (z1[ok], z2[ok]), 1)
    W1 = _word_matrix(model, c, range(1, k1 + 1))
    W0 = _word_matrix(model, c, range(k1 + 1, k1 + k0 + 1))
    parent_of = np.where(joint.sum(axis=0) > 0, joint.argmax(axis=0), -1)
    return [_layer(c, W0, M0), _layer(c, W1, M1)], _tree(W0, W1, parent_of,
                                                         _columns_sum_to_1(joint.T))


def tomotopy_hlda(c, seed):
    """hLDA of depth 3: its level-1 topics are the top layer, level 2 the layer below (their
    number is the model's, not fixed); a document follows one path, so its mixture at a level
    is that path's topic."""
    import tomotopy as tp
    model = tp.HLDAModel(depth=3, seed=seed)
    kept = _tomotopy_corpus(model, c)
    model.train(TOMOTOPY_ITERATIONS, workers=1)
    live = {lev: [t for t in range(model.k) if model.is_live_topic(t) and model.level(t) == lev]
            for lev in (1, 2)}
    col = {lev: {t: i for i, t in enumerate(ts)} for lev, ts in live.items()}
    n = c.X.shape[1]
    paths = {1: [], 2: []}
    for d in model.docs:
        leaf = [t for t in set(int(t) for t in d.topics) if model.level(t) == 2]
        mid = [t for t in set(int(t) for t in d.topics) if model.level(t) == 1]
        lvl1 = model.parent_topic(leaf[0]) if leaf else (mid[0] if mid else -1)
        paths[2].append([col[2][leaf[0]]] if leaf else [])
        paths[1].append([col[1][lvl1]] if lvl1 >= 0 else [])
    M1 = _counted(kept, n, len(live[1]), paths[1])
    M0 = _counted(kept, n, len(live[2]), paths[2])
    W1, W0 = _word_matrix(model, c, live[1]), _word_matrix(model, c, live[2])
    parent_of = np.array([col[1][model.parent_topic(t)] for t in live[2]])
    parts = np.zeros((len(live[2]), len(live[1])))   # a parent is made of its children's documents
    parts[np.arange(len(live[2])), parent_of] = M0.sum(axis=1)
    return ([_layer(c, W0, M0), _layer(c, W1, M1)],
            _tree(W0, W1, parent_of, _columns_sum_to_1(parts)))


def _k0(c):
    return c.ranks[0]


def _k1(c):
    return c.ranks[-1]


# Row name -> (fit(corpus, seed) -> (layers, tree), which layer a flat model stands for,
# seeds it runs).
MODELS = {
    "NeuralNMF (reconstruction, default)": (
        _nnmf_model(lambda c, s: nnmf.NeuralNMF(c.ranks, random_state=s)), None, "all"),
    "NeuralNMF (energy)": (
        _nnmf_model(lambda c, s: nnmf.NeuralNMF(c.ranks, loss="energy", random_state=s)),
        None, "all"),
    "HierarchicalNMF": (
        _nnmf_model(lambda c, s: nnmf.HierarchicalNMF(c.ranks, random_state=s)), None, "all"),
    "DeepNMF": (_nnmf_model(lambda c, s: nnmf.DeepNMF(c.ranks, random_state=s)), None, "all"),
    "nnmf.NMF, rank k_0": (_nnmf_model(lambda c, s: nnmf.NMF(c.ranks[0], random_state=s)),
                           0, "all"),
    "nnmf.NMF, rank k_1": (_nnmf_model(lambda c, s: nnmf.NMF(c.ranks[-1], random_state=s)),
                           1, "all"),
    "sklearn NMF, rank k_0": (_sklearn_nmf(_k0), 0, "all"),
    "sklearn NMF, rank k_1": (_sklearn_nmf(_k1), 1, "all"),
    "sklearn LDA, k_0 topics": (_lda(_k0), 0, "few"),
    "sklearn LDA, k_1 topics": (_lda(_k1), 1, "few"),
    "tomotopy HPA (k_1 super, k_0 sub)": (tomotopy_hpa, None, "few"),
    "tomotopy hLDA (depth 3)": (tomotopy_hlda, None, "few"),
}


def run_model(c, name, seeds):
    fit, flat, _ = MODELS[name]
    records = []
    for seed in seeds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # convergence notes: the table gives the results
            t0 = time.perf_counter()
            layers, tree = fit(c, seed)
            seconds = time.perf_counter() - t0
        if flat is not None:   # a flat model stands for one layer of the hierarchy
            layers = [layers[0], None] if flat == 0 else [None, layers[0]]
        records.append({"seed": seed, "seconds": seconds, "layers": layers, "tree": tree})
    return records


def semi_splits(c, at_least):
    """The seeds of the semi-supervised check's random splits (SEMI_PREDICTIONS)."""
    hidden = len(c.labels["coarse"]) * (1 - KNOWN_FRACTION)
    return range(max(at_least, min(SEMI_MAX_SPLITS, math.ceil(SEMI_PREDICTIONS / hidden))))


def semi_supervised(c, seeds):
    """NeuralNMF (its defaults) with KNOWN_FRACTION of the coarse labels known (top layer =
    the coarse classes) against scikit-learn's LogisticRegression on the same known
    documents; both judged on the hidden ones."""
    from sklearn.linear_model import LogisticRegression
    y = c.labels["coarse"]
    out = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        known = np.zeros(len(y), dtype=bool)
        for cls in np.unique(y):   # stratified: every class has known documents
            idx = np.flatnonzero(y == cls)
            known[rng.choice(idx, max(1, round(KNOWN_FRACTION * len(idx))), replace=False)] = True
        ranks = (c.ranks[0], len(np.unique(y)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            model = nnmf.NeuralNMF(ranks, random_state=seed).fit(c.X, y, label_mask=known)
            t_nnmf = time.perf_counter() - t0
            t0 = time.perf_counter()
            lr = LogisticRegression(max_iter=2000).fit(c.X.T[known], y[known])
            t_lr = time.perf_counter() - t0
        acc_nnmf = float(np.mean(model.transduction_[~known] == y[~known]))
        acc_lr = float(np.mean(lr.predict(c.X.T[~known]) == y[~known]))
        out.append({"seed": seed, "ranks": list(ranks), "known": int(known.sum()),
                    "hidden": int((~known).sum()), "accuracy_nnmf": acc_nnmf,
                    "accuracy_logreg": acc_lr, "seconds_nnmf": t_nnmf, "seconds_logreg": t_lr})
    return out


# -- why the top layer collapses: the diagnosis ------------------------------------------------

CHECKPOINTS = (1, 5, 20)


def _spread(S0):
    """The spread of S_0's row scales: log10 of the largest row norm over the smallest."""
    norms = np.linalg.norm(S0, axis=1)
    norms = norms[norms > 0]
    return float(np.log10(norms.max() / norms.min()))


def _top(c, A, S):
    layers, tree = from_factors(c, A, S)
    return {"share": layers[-1]["largest_share"], "nmi_coarse": layers[-1]["nmi_coarse"],
            "npmi_top": layers[-1]["npmi"], "npmi_l0": layers[0]["npmi"],
            "degenerate_parents": tree["degenerate_parents"]}


def _balanced_start(c, seed):
    """The layer-wise start with S_0's rows rescaled to one norm (A_0's columns the inverse)
    before layer 1 is fitted, so that every layer-0 topic weighs the same in layer 1's
    least squares."""
    from nnmf.multilayer import nmf_anls
    rng = np.random.default_rng(seed)
    A0, S0, _ = nmf_anls(c.X, c.ranks[0], random_state=rng, warn=False)
    d = np.linalg.norm(S0, axis=1)
    d = np.where(d > 0, d, 1.0) / np.mean(d[d > 0])
    A0, S0 = A0 * d, S0 / d[:, None]
    A1, _, _ = nmf_anls(S0, c.ranks[1], random_state=rng, warn=False)
    return [A0, A1]


def diagnose(c, seeds):
    """Per seed: the default fit's top layer along training (largest share, S_0's row-scale
    spread), and the end of training from a balanced start."""
    out = []
    for seed in seeds:
        path = {}

        def watch(it, state):
            if it in CHECKPOINTS:
                path[it] = {"share": _top(c, [np.array(a) for a in state["A"]],
                                          [np.array(s) for s in state["S"]])["share"],
                            "spread": _spread(state["S"][0])}

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = nnmf.HierarchicalNMF(c.ranks, random_state=seed).fit(c.X)
            model = nnmf.NeuralNMF(c.ranks, random_state=seed, callback=watch).fit(c.X)
            balanced = nnmf.NeuralNMF(c.ranks, random_state=seed,
                                      init=_balanced_start(c, seed)).fit(c.X)
        out.append({"seed": seed,
                    "start": dict(_top(c, start.A_, start.S_), spread=_spread(start.S_[0])),
                    "path": path, "iterations": int(model.n_iter_),
                    "end": dict(_top(c, model.A_, model.S_), spread=_spread(model.S_[0])),
                    "balanced": dict(_top(c, balanced.A_, balanced.S_),
                                     spread=_spread(balanced.S_[0]))})
    return out


def diagnosis_markdown(c, diag):
    # JSON turns the iteration keys into strings
    diag = [dict(r, path={int(k): v for k, v in r["path"].items()}) for r in diag]

    def m(get):
        return np.mean([get(r) for r in diag])

    lines = [f"### {c.name}: the default fit along training ({len(diag)} seeds, means)", "",
             "| point | largest share (top) | S_0 row-scale spread (log10 max/min) "
             "| degenerate parents | NMI top–coarse | NPMI top | NPMI L0 |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    rows = [("layer-wise start (HierarchicalNMF)", lambda r: r["start"])]
    rows += [(f"after {it} iteration{'s' if it > 1 else ''}", None) for it in CHECKPOINTS]
    rows += [("end of training (default)", lambda r: r["end"]),
             ("end of training from a balanced start", lambda r: r["balanced"])]
    for label, get in rows:
        if get is None:
            it = int(label.split()[1])
            have = [r for r in diag if it in r["path"]]
            if not have:
                continue
            if len(have) < len(diag):   # the fits that ended earlier are left out
                label += f" ({len(have)} of {len(diag)} seeds)"
            lines.append(f"| {label} | {np.mean([r['path'][it]['share'] for r in have]):.2f} | "
                         f"{np.mean([r['path'][it]['spread'] for r in have]):.2f} | | | | |")
            continue
        lines.append(f"| {label} | {m(lambda r: get(r)['share']):.2f} | "
                     f"{m(lambda r: get(r)['spread']):.2f} | "
                     f"{m(lambda r: get(r)['degenerate_parents']):.1f} | "
                     f"{m(lambda r: get(r)['nmi_coarse']):.3f} | "
                     f"{m(lambda r: get(r)['npmi_top']):.3f} | "
                     f"{m(lambda r: get(r)['npmi_l0']):.3f} |")
    iterations = ", ".join(str(r["iterations"]) for r in diag)
    lines += ["", f"Iterations of the default fit: {iterations}.", ""]
    return lines


# -- the report -------------------------------------------------------------------------------

def _mean(records, get):
    values = [get(r) for r in records]
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(np.mean(values)) if values else None


def summarise(records):
    def layer(l, key):
        return _mean(records, lambda r: None if r["layers"][l] is None else r["layers"][l][key])

    def tree(key):
        return _mean(records, lambda r: None if r["tree"] is None else r["tree"][key])

    out = {"seeds": len(records), "seconds": _mean(records, lambda r: r["seconds"])}
    for key in ("npmi", "diversity", "largest_share", "nmi_fine", "nmi_coarse", "k"):
        out[f"top_{key}"] = layer(-1, key)
        out[f"l0_{key}"] = layer(0, key)
    for key in ("affinity_children", "affinity_others", "single_child_parents",
                "degenerate_parents", "childless_parents"):
        out[key] = tree(key)
    return out


def _f(v, digits=3):
    return "—" if v is None else f"{v:.{digits}f}"


def _t(v):
    return "—" if v is None else (f"{v:.2f}" if v < 10 else f"{v:.0f}")


def corpus_markdown(c, summary, semi):
    k0, k1 = c.ranks
    lines = [f"### {c.name}: {c.X.shape[1]} documents, {c.X.shape[0]} words, ranks "
             f"({k0}, {k1}); labels {len(c.label_names['fine'])} fine, "
             f"{len(c.label_names['coarse'])} coarse", "", f"{c.note}.", "",
             "| model | seeds | NPMI top | NPMI L0 | div. top | div. L0 | affinity own / other "
             "| largest share (top) | single-child / degenerate parents | NMI top–coarse "
             "| NMI L0–fine | time (s) |",
             "|---|---:|---:|---:|---:|---:|---|---:|---|---:|---:|---:|"]
    for name, s in summary.items():
        aff = ("—" if s["affinity_children"] is None
               else f"{s['affinity_children']:.2f} / {_f(s['affinity_others'], 2)}")
        par = ("—" if s["single_child_parents"] is None
               else f"{s['single_child_parents']:.1f} / {s['degenerate_parents']:.1f}")
        share = s["top_largest_share"] if MODELS[name][1] != 0 else s["l0_largest_share"]
        lines.append(f"| {name} | {s['seeds']} | {_f(s['top_npmi'])} | {_f(s['l0_npmi'])} | "
                     f"{_f(s['top_diversity'], 2)} | {_f(s['l0_diversity'], 2)} | {aff} | "
                     f"{_f(share, 2)}{'' if MODELS[name][1] != 0 else ' (k_0)'} | {par} | "
                     f"{_f(s['top_nmi_coarse'])} | {_f(s['l0_nmi_fine'])} | {_t(s['seconds'])} |")
    acc_n = np.mean([r["accuracy_nnmf"] for r in semi])
    acc_l = np.mean([r["accuracy_logreg"] for r in semi])
    lines += ["", f"Semi-supervised ({semi[0]['known']} known, {semi[0]['hidden']} hidden coarse "
              f"labels, NeuralNMF ranks {tuple(semi[0]['ranks'])} with its defaults, {len(semi)} "
              f"random splits): "
              f"NeuralNMF {acc_n:.3f}, LogisticRegression {acc_l:.3f}, ratio "
              f"{acc_n / acc_l:.3f} (goal ≥ 0.95); time "
              f"{np.mean([r['seconds_nnmf'] for r in semi]):.2f} s against "
              f"{np.mean([r['seconds_logreg'] for r in semi]):.2f} s.", ""]
    return lines


COLUMNS = """Every measure comes from `nnmf.topics` and is computed the same way for every model:

- **NPMI top / L0**: mean NPMI coherence (`npmi_coherence`) of each topic's 10 top words
  (`top_words` of its word profile), from document co-occurrence in the corpus (a word occurs
  in a document where its count is positive; tf-idf and counts agree), averaged over the
  layer's topics; top = the top layer (k_1 topics), L0 = the layer below (k_0). A flat model
  fills the column of the layer whose rank it has.
- **div.**: topic diversity (`topic_diversity`) of the same 10 top words: the share of
  distinct words.
- **affinity own / other**: `hierarchy_measures`: mean cosine similarity of a parent's word
  profile with its own children's / with the other layer-0 topics'. For tomotopy's HPA a
  super-topic's profile holds only the words that stop at it (not its children's), so its
  affinity is low by construction.
- **largest share (top)**: `largest_share` of the top layer's document mixtures (the mean
  over documents of each document's topic mixture); for a flat model at rank k_0, of its own
  layer (marked).
- **single-child / degenerate parents**: parents with exactly one child (each child's parent
  is its heaviest link) / parents that one child makes up at least 0.95 of
  (`DEGENERATE_WEIGHT`: a copy of that child). With k_0 = 10 children under k_1 = 6 parents
  (20 Newsgroups) at least 2 parents have a single child unless some have none.
- **NMI top–coarse / L0–fine**: `label_alignment`: NMI of the documents' dominant topics
  with the coarse labels (top layer) and the fine labels (layer 0).
- **time**: seconds per fit on this machine, competitors in the same run (indicative: the
  machine is shared with other jobs).

Seeds: the nnmf models and scikit-learn's NMF over seeds 0 to n-1 of `--seeds`; LDA and
tomotopy (slower) over `--few-seeds`; cells are means over the seeds. tomotopy's models
train for 500 iterations (one worker); hLDA chooses its own number of topics per level. The
semi-supervised check draws random splits (seeds 0, 1, ...) until about 1500 hidden labels
are predicted in all (at least `--seeds` splits, at most 20), and compares mean accuracies.
"""

# The done-when of issue 17, checked for the default NeuralNMF row.
DEFAULT_ROW = "NeuralNMF (reconstruction, default)"


def verdicts(summary, semi):
    d, h = summary[DEFAULT_ROW], summary["HierarchicalNMF"]
    hpa = summary.get("tomotopy HPA (k_1 super, k_0 sub)")
    flat = summary.get("nnmf.NMF, rank k_0")
    ratio = np.mean([r["accuracy_nnmf"] for r in semi]) / np.mean(
        [r["accuracy_logreg"] for r in semi])
    rows = [("no degenerate parent", d["degenerate_parents"] == 0,
             f"{d['degenerate_parents']:.1f} per fit "
             f"(HierarchicalNMF {h['degenerate_parents']:.1f})"),
            ("no single-child parent", d["single_child_parents"] == 0,
             f"{d['single_child_parents']:.1f} (HierarchicalNMF {h['single_child_parents']:.1f})"),
            ("largest share ≤ HierarchicalNMF's",
             d["top_largest_share"] <= h["top_largest_share"],
             f"{d['top_largest_share']:.2f} vs {h['top_largest_share']:.2f}")]
    best = max(h["top_npmi"], hpa["top_npmi"] if hpa else -1.0)
    rows.append(("NPMI top ≥ HierarchicalNMF's and HPA's", d["top_npmi"] >= best,
                 f"{d['top_npmi']:.3f} vs {h['top_npmi']:.3f}"
                 + (f" / {hpa['top_npmi']:.3f}" if hpa else "")))
    if flat is not None:
        rows.append(("NPMI L0 within 0.02 of flat NMF(k_0)",
                     d["l0_npmi"] >= flat["l0_npmi"] - 0.02,
                     f"{d['l0_npmi']:.3f} vs {flat['l0_npmi']:.3f}"))
    rows.append(("NMI top–coarse ≥ HierarchicalNMF's",
                 d["top_nmi_coarse"] >= h["top_nmi_coarse"],
                 f"{d['top_nmi_coarse']:.3f} vs {h['top_nmi_coarse']:.3f}"))
    rows.append(("semi-supervised ≥ 0.95x logistic regression", ratio >= 0.95, f"{ratio:.3f}"))
    return rows


def report(results, corpora):
    m = results["machine"]
    lines = ["# Topic quality on real corpora, side by side", "",
             "- Command: `" + f"python bench/bench_topics.py {results.get('argv', '')}".strip()
             + "`",
             f"- Date: {results['date']}; wall time of the run "
             f"{results['wall_seconds'] / 60:.0f} min",
             f"- Machine: {m['cpu']} ({m['logical_cores']} logical cores, shared with other "
             f"jobs: timings are indicative), {m['platform']}",
             "- Versions: " + ", ".join(f"{k} {v}" for k, v in results["versions"].items())
             + f", Python {results['python']}", "", "## What the columns mean", "", COLUMNS,
             "## Results", ""]
    checks = []
    diagnosis = []
    for key, r in results["corpora"].items():
        c = corpora[key]
        lines += corpus_markdown(c, r["summary"], r["semi_supervised"])
        checks.append((c.name, verdicts(r["summary"], r["semi_supervised"])))
        if r.get("diagnosis"):
            diagnosis += diagnosis_markdown(c, r["diagnosis"])
    lines += ["## The default NeuralNMF against issue 17's goals", "",
              "| corpus | goal | met | figures |", "|---|---|---|---|"]
    for name, rows in checks:
        lines += [f"| {name} | {goal} | {'yes' if ok else '**no**'} | {fig} |"
                  for goal, ok, fig in rows]
    lines += ["", "## Why the top layer collapses", "", DIAGNOSIS_INTRO, ""] + diagnosis
    lines += [DIAGNOSIS_READING, ""]
    return "\n".join(lines) + "\n"


DIAGNOSIS_INTRO = """The default fit starts from the layer-wise NMF (HierarchicalNMF's factors, same
seed) and then trains every factor end to end on the reconstruction loss. The tables follow
the top layer along that training (`diagnose()` in this script, first `--few-seeds` seeds):
the largest share, and the spread of the scales of S_0's rows (A_0's column scales) that
would let a few layer-0 topics dominate layer 1's least squares. The last row starts from a
balanced start instead: S_0's rows rescaled to one norm (A_0's columns inversely) before
layer 1 is fitted."""


DIAGNOSIS_READING = """How to read it (the reasoning the defaults rest on; the figures are the
tables'): the largest share grows and degenerate parents appear during end-to-end training,
not in the start, while the spread of S_0's row scales shrinks; the flat NMF of the top rank
(results table) has a catch-all too, so the reconstruction loss, which fits X
through the top layer alone, pulls that layer towards the flat least-squares solution of its
rank. Equalising S_0's row scales at the start gives a more even top layer on some corpora
but not on all; `loss="energy"`, which fits each layer to the one below, keeps fewer
degenerate parents but gives up much of the top layer's agreement with the coarse labels. So
neither is made the default. DeepNMF, which minimises the same reconstruction error by other
updates, ends with the same catch-all and copies (results tables). And the paper's Table 1,
which the defaults must keep within 0.005, is that same error: trained on the energy loss,
Neural NMF's Table 1 errors at depths 2 and 3 rise far beyond that
(`python -m nnmf.experiments table1 --loss energy`: bench/RESULTS_table1_energy.md against
bench/RESULTS_table1.md). A more even top layer is bought with the fit that Table 1 measures;
the default keeps the fit, and `nnmf.topics` names the catch-all topics and degenerate parents
so that a user sees them."""


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpora", nargs="+", default=list(_corpora.BUILDERS),
                   choices=list(_corpora.BUILDERS))
    p.add_argument("--seeds", type=int, default=5, help="seeds of the cheap models (0..n-1)")
    p.add_argument("--few-seeds", type=int, default=3,
                   help="seeds of the slow ones (LDA, tomotopy) and of the diagnosis")
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--out", default=str(HERE / "RESULTS_topics"),
                   help="write OUT.md and OUT.json (default bench/RESULTS_topics.md and "
                        "bench/results_topics.json)")
    p.add_argument("--from-json", metavar="JSON",
                   help="rewrite the Markdown from a results file, without fitting")
    args = p.parse_args(argv)
    out = Path(args.out)
    json_path = (out.parent / "results_topics.json" if out.name == "RESULTS_topics"
                 else out.with_suffix(".json"))
    if args.from_json:
        results = json.loads(Path(args.from_json).read_text())
        corpora = {key: _corpora.BUILDERS[key]() for key in results["corpora"]}
        out.with_suffix(".md").write_text(report(results, corpora))
        return
    started = time.perf_counter()
    results = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "argv": shlex.join(sys.argv[1:] if argv is None else argv),
               "machine": _common.machine_info(), "python": platform.python_version(),
               "versions": _versions(), "corpora": {}}
    corpora = {}
    for key in args.corpora:
        c = corpora[key] = _corpora.BUILDERS[key]()
        summary, raw = {}, {}
        for name in args.models:
            n = args.seeds if MODELS[name][2] == "all" else args.few_seeds
            raw[name] = run_model(c, name, range(n))
            summary[name] = summarise(raw[name])
            print(f"{key}: {name} done ({summary[name]['seconds']:.2f} s per fit)", flush=True)
        results["corpora"][key] = {"name": c.name, "shape": list(c.X.shape),
                                   "ranks": list(c.ranks), "summary": summary, "fits": raw,
                                   "semi_supervised": semi_supervised(
                                       c, semi_splits(c, args.seeds)),
                                   "diagnosis": diagnose(c, range(args.few_seeds))}
    results["wall_seconds"] = time.perf_counter() - started
    json_path.write_text(json.dumps(results, indent=1) + "\n")
    text = report(results, corpora)
    out.with_suffix(".md").write_text(text)
    print(text)


def _versions():
    import scipy
    import sklearn
    out = {"nnmf": nnmf.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
           "scikit-learn": sklearn.__version__}
    try:
        import tomotopy
        out["tomotopy"] = tomotopy.__version__
    except ImportError:
        out["tomotopy"] = None
    return out


if __name__ == "__main__":
    main()
