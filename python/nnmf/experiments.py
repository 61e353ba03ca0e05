"""Reproduce the Neural NMF paper's comparisons: Hier. NMF, Deep NMF and Neural NMF side by side.

Two experiments, each writing a markdown report::

    python -m nnmf.experiments table1 [--seeds 10] [--max-iter 500] [--out FILE]
    python -m nnmf.experiments news20 [--seeds 5] [--max-iter 500] [--out FILE]

``table1`` is the paper's Table 1 on its synthetic data
(:func:`nnmf.datasets.load_synthetic_noise`): ranks (9), (9, 4), (9, 4, 2); unsupervised,
semi-supervised (the paper's 40% known-label pattern, ``known[40]``) and supervised;
relative reconstruction error ||X - A_0...A_L S_L||_F / ||X||_F and classification accuracy
(on the hidden-label columns when semi-supervised, on all columns when supervised), as mean ±
std over seeds, beside the paper's numbers. ``news20`` runs the same three methods on the
20 Newsgroups subsample (:func:`nnmf.datasets.load_20news_subsampled`) with ranks (10, 6):
reconstruction error, accuracy at both levels with the paper's known labels (``known[60]``),
the top words of every topic at both layers, and the fit
time of each method.

Protocol (the same for both experiments). For every seed, the three methods share one
starting point:

- Hier. NMF: :class:`~nnmf.HierarchicalNMF` with ``init``, every layer by ANLS; with labels,
  its last layer is SSNMF with weight ``lam``. ``--init random,nndsvd`` (the default) reports
  both: "random" (seeded, ``--seeds`` runs: the spread over starting points) and "nndsvd" (the
  library's default, deterministic: one run).
- Deep NMF: :class:`~nnmf.DeepNMF`: the same layer-wise fit (same seed, so the same factors),
  then joint multiplicative-update fine-tuning of all factors (with the label term on S_L).
- Neural NMF: :class:`~nnmf.NeuralNMF` started from the Hier. NMF factors of the same seed
  (``init=hier.A_``), trained by backpropagation with its default optimiser on the data term
  ``loss`` (default "reconstruction", the paper's; "energy" shows what the other loss gives);
  the label term is ``classification_loss`` (default "l2", the paper's) with weight ``lam``.

``lam`` means the same in all three (each normalises the data term by ||data||^2 and the label
term by the number of known labels). Labels come from the level that matches the last rank.
Accuracy is ``transduction_`` (the model's own classifier on the training columns) for the
label-trained layer; for 20News's other layer (and for unsupervised runs) it is a linear probe:
a least-squares classifier fitted on the known documents' coefficients of that layer and
evaluated on the hidden ones. Times are wall-clock per fit; Neural NMF's include the Hier. NMF
fit it starts from, Deep NMF's its own pretraining.
"""

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from ._version import __version__
from .baselines import DeepNMF, HierarchicalNMF
from .datasets import load_20news_subsampled, load_synthetic_noise
from .exceptions import ConvergenceWarning
from .layer import build_info
from .neural import CLASSIFIER_LOSSES, LOSSES, NeuralNMF

__all__ = ["main", "run_table1", "table1_markdown", "run_news20", "news20_markdown",
           "PAPER_TABLE1"]

METHODS = ("Hier. NMF", "Deep NMF", "Neural NMF")
MODES = ("unsupervised", "semi-supervised", "supervised")
TABLE1_RANKS = ((9,), (9, 4), (9, 4, 2))

# The paper's Table 1 (nnmf/datasets/data/README.md): (relative error, accuracy) per rank setting.
PAPER_TABLE1 = {
    "unsupervised": {
        "Hier. NMF": [(0.053, None), (0.399, None), (0.860, None)],
        "Deep NMF": [(0.031, None), (0.414, None), (0.838, None)],
        "Neural NMF": [(0.029, None), (0.310, None), (0.492, None)],
    },
    "semi-supervised": {
        "Hier. NMF": [(0.049, 0.933), (0.374, 0.926), (0.676, 0.930)],
        "Deep NMF": [(0.031, 0.947), (0.394, 0.911), (0.733, 0.930)],
        "Neural NMF": [(0.042, 1.0), (0.305, 1.0), (0.496, 0.990)],
    },
    "supervised": {
        "Hier. NMF": [(0.052, 0.960), (0.311, 0.984), (0.495, 1.0)],
        "Deep NMF": [(0.042, 0.962), (0.310, 0.984), (0.494, 1.0)],
        "Neural NMF": [(0.042, 1.0), (0.307, 1.0), (0.498, 1.0)],
    },
}


# -- the three methods, one seed --------------------------------------------------------------

def _fit_three(X, ranks, fit_kwargs, *, seed, init, max_iter, lam, classification_loss,
               loss, n_threads):
    """Fit Hier. NMF, Deep NMF and Neural NMF from one seed. Returns {method: (model, seconds,
    converged)}."""
    def timed(make, extra=0.0):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            t0 = time.perf_counter()
            model = make().fit(X, **fit_kwargs)
            seconds = time.perf_counter() - t0 + extra
        converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        return model, seconds, converged

    hier = timed(lambda: HierarchicalNMF(ranks, init=init, max_iter=max_iter, lam=lam,
                                         random_state=seed, n_threads=n_threads))
    deep = timed(lambda: DeepNMF(ranks, init=init, pretrain_max_iter=max_iter,
                                 max_iter=max_iter, lam=lam, random_state=seed,
                                 n_threads=n_threads))
    neural = timed(lambda: NeuralNMF(ranks, init=[A.copy() for A in hier[0].A_],
                                     max_iter=max_iter, lam=lam, loss=loss,
                                     classification_loss=classification_loss,
                                     random_state=seed, n_threads=n_threads),
                   extra=hier[1])
    return dict(zip(METHODS, (hier, deep, neural)))


def _seeded_fits(X, ranks, fit_kwargs, seeds, **settings):
    """:func:`_fit_three` for seeds 0 .. seeds-1: yields (seed, method, model, seconds,
    converged) for every fit, seed after seed."""
    for seed in range(seeds):
        fits = _fit_three(X, ranks, fit_kwargs, seed=seed, **settings)
        for method, (model, seconds, converged) in fits.items():
            yield seed, method, model, seconds, converged


def _linear_probe(S, codes, train, test):
    """Accuracy on ``test`` of a least-squares classifier fitted on the ``train`` columns of
    S (k x n) to the one-hot ``codes``."""
    c = int(codes.max()) + 1
    Y = np.eye(c)[:, codes[train]]
    St = S[:, train]
    G = St @ St.T
    ridge = 1e-10 * max(np.trace(G), np.finfo(float).tiny)
    B = np.linalg.solve(G + ridge * np.eye(G.shape[0]), St @ Y.T).T
    return float(np.mean(np.argmax(B @ S[:, test], axis=0) == codes[test]))


# -- Table 1 ----------------------------------------------------------------------------------

def run_table1(data, *, seeds=10, max_iter=500, init="random", lam=1.0,
               classification_loss="l2", loss="reconstruction", ranks=TABLE1_RANKS,
               modes=MODES, n_threads=None, progress=None):
    """Run Table 1.

    Parameters
    ----------
    data : nnmf.datasets.Dataset
        :func:`nnmf.datasets.load_synthetic_noise` (labels per number of classes: "fine" 9,
        "middle" 4, "coarse" 2).
    seeds : int, default=10
        Seeds 0 .. seeds-1.
    max_iter, init, lam, classification_loss, loss, n_threads
        See the module docstring.
    ranks : sequence of tuple, default=((9,), (9, 4), (9, 4, 2))
    modes : sequence of str, default=("unsupervised", "semi-supervised", "supervised")
    progress : callable, default=None
        ``progress(message)`` after every (ranks, mode).

    Returns
    -------
    list of dict
        One record per (mode, ranks, method, seed): "err", "acc" (NaN when unsupervised),
        "time", "converged".
    """
    X = np.asarray(data.X, dtype=np.float64)
    known = data.known[40]
    level = {9: "fine", 4: "middle", 2: "coarse"}
    records = []
    for r in ranks:
        y = data.labels[level[r[-1]]]
        for mode in modes:
            kwargs = {"unsupervised": {}, "semi-supervised": {"y": y, "label_mask": known},
                      "supervised": {"y": y}}[mode]
            evaluate = {"semi-supervised": ~known, "supervised": np.ones_like(known)}.get(mode)
            t0 = time.perf_counter()
            for seed, method, model, seconds, converged in _seeded_fits(
                    X, r, kwargs, seeds, init=init, max_iter=max_iter, lam=lam,
                    classification_loss=classification_loss, loss=loss,
                    n_threads=n_threads):
                acc = (np.nan if evaluate is None else
                       float(np.mean(model.transduction_[evaluate] == y[evaluate])))
                records.append(dict(init=init, mode=mode, ranks=tuple(r), method=method,
                                    seed=seed, err=float(model.reconstruction_err_), acc=acc,
                                    time=seconds, converged=converged))
            if progress is not None:
                progress(f"table1 init={init} ranks={r} {mode}: {seeds} seed(s) in "
                         f"{time.perf_counter() - t0:.1f} s")
    return records


def _stats(values):
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0 or np.isnan(v).all():
        return np.nan, np.nan
    return float(np.mean(v)), float(np.std(v, ddof=1)) if v.size > 1 else 0.0


def _select(records, **keys):
    return [r for r in records if all(r[k] == v for k, v in keys.items())]


def _fmt(mean, std, digits):
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _svd_floor(X, k):
    s = np.linalg.svd(X, compute_uv=False)
    return float(np.sqrt(np.sum(s[k:] ** 2) / np.sum(s ** 2)))


def _inits(records):
    return list(dict.fromkeys(r.get("init", "random") for r in records))


def _init_title(init, n_seeds):
    if init == "nndsvd":
        return ("NNDSVD initialisation (deterministic: every method's result is the same for "
                f"any seed; {n_seeds} run{'s' if n_seeds > 1 else ''})")
    return f"Random initialisation (seeded), {n_seeds} seeds"


def table1_markdown(records, *, data=None, settings=None, elapsed=None):
    """The markdown report of :func:`run_table1`'s records (one section per init)."""
    ranks_list = sorted({r["ranks"] for r in records}, key=len)
    paper_index = {r: i for i, r in enumerate(TABLE1_RANKS)}
    lines = ["# Table 1 of the Neural NMF paper, reproduced", ""]
    lines += _environment_lines(settings, elapsed)
    lines += ["",
              "Cells: relative reconstruction error ||X − A_0⋯A_L S_L||_F / ||X||_F, then "
              "(semi-/supervised) classification accuracy — on the 50 hidden-label columns "
              "(semi-supervised, the `L40` pattern) or on all 90 (supervised) — as mean ± "
              "std over seeds. *paper* rows are the published numbers. Time: mean seconds per "
              "fit over the rank settings (Neural NMF's includes the Hier. NMF fit it starts "
              "from). All three methods of a seed start from the same layer-wise NMF."]
    floors = None
    if data is not None:
        X = np.asarray(data.X, dtype=np.float64)
        floors = {r[-1]: _svd_floor(X, r[-1]) for r in ranks_list}
        lines += ["", "Lower bound on any rank-k error (truncated SVD): "
                  + ", ".join(f"{v:.4f} (k = {k})" for k, v in floors.items()) + "."]
    header = "| Method | " + " | ".join(str(r) for r in ranks_list) + " | time (s) |"
    rule = "|---|" + "---|" * len(ranks_list) + "---:|"
    for init in _inits(records):
        recs_init = [r for r in records if r.get("init", "random") == init]
        modes = [m for m in MODES if any(r["mode"] == m for r in recs_init)]
        n_seeds = len({r["seed"] for r in recs_init})
        lines += ["", f"## {_init_title(init, n_seeds)}"]
        for mode in modes:
            lines += ["", f"### {mode.capitalize()}", "", header, rule]
            for method in METHODS:
                cells = []
                times = []
                for r in ranks_list:
                    recs = _select(recs_init, mode=mode, method=method, ranks=r)
                    times += [x["time"] for x in recs]
                    cell = _fmt(*_stats([x["err"] for x in recs]), 4)
                    if mode != "unsupervised":
                        cell += " / " + _fmt(*_stats([x["acc"] for x in recs]), 3)
                    unconverged = sum(not x["converged"] for x in recs)
                    if unconverged:
                        cell += f" ({unconverged}†)"
                    cells.append(cell)
                lines.append(f"| {method} | " + " | ".join(cells)
                             + f" | {np.mean(times):.2f} |")
                paper = []
                for r in ranks_list:
                    if r in paper_index:
                        e, a = PAPER_TABLE1[mode][method][paper_index[r]]
                        paper.append(f"{e:.3f}" + ("" if a is None else f" / {a:.3f}"))
                    else:
                        paper.append("—")
                lines.append(f"| *{method} (paper)* | " + " | ".join(paper) + " | |")
        lines += ["", f"### Neural NMF against the targets ({init} init)", ""]
        lines += _target_lines(recs_init, modes, ranks_list, paper_index, floors)
    if any(not r["converged"] for r in records):
        lines += ["", "† fits that stopped at the iteration limit (ConvergenceWarning); the "
                  "number is how many of the seeds."]
    return "\n".join(lines) + "\n"


def _target_lines(records, modes, ranks_list, paper_index, floors=None):
    """Neural NMF at or below the paper's error and below both baselines at 2 and 3 layers;
    accuracy at least the paper's."""
    out = ["| Setting | Ranks | Neural error | ≤ paper's | < Hier. & Deep | Neural accuracy | "
           "≥ paper's |", "|---|---|---|---|---|---|---|"]
    for mode in modes:
        for r in ranks_list:
            if r not in paper_index:
                continue
            mean = {m: _stats([x["err"] for x in _select(records, mode=mode, method=m,
                                                            ranks=r)])[0] for m in METHODS}
            acc = _stats([x["acc"] for x in _select(records, mode=mode, method="Neural NMF",
                                                     ranks=r)])[0]
            pe, pa = PAPER_TABLE1[mode]["Neural NMF"][paper_index[r]]
            e = mean["Neural NMF"]
            ok_paper = "yes" if e <= pe else f"no (+{e - pe:.4f})"
            best_base = min(mean["Hier. NMF"], mean["Deep NMF"])
            floor = (floors or {}).get(r[-1])
            at_floor = (" — baseline at the SVD floor" if floor is not None
                        and best_base <= floor + 5e-5 else "")
            if len(r) < 2:
                ok_base = "(1 layer: not a target)"
            elif abs(e - best_base) < 5e-5:
                ok_base = f"tie (±{abs(e - best_base):.4f}){at_floor}"
            elif e < best_base:
                ok_base = f"yes (−{best_base - e:.4f})"
            else:
                ok_base = f"no (+{e - best_base:.4f}){at_floor}"
            if pa is None:
                acc_cell, ok_acc = "—", "—"
            else:
                acc_cell = f"{acc:.3f}"
                ok_acc = "yes" if acc >= pa - 1e-12 else f"no (−{pa - acc:.3f})"
            out.append(f"| {mode} | {r} | {e:.4f} | {ok_paper} | {ok_base} | {acc_cell} | "
                       f"{ok_acc} |")
    return out


def _environment_lines(settings, elapsed):
    info = build_info()
    lines = [f"- Command: `{settings.get('command', '')}`" if settings else "- Command: —",
             f"- Settings: {', '.join(f'{k}={v}' for k, v in settings.items() if k != 'command')}"
             if settings else "- Settings: defaults",
             f"- Machine: {platform.machine()} {platform.processor() or ''} "
             f"({os.cpu_count()} CPUs), {platform.system()} {platform.release()}; core threads "
             f"{info['max_threads']} (OpenMP {'on' if info['openmp'] else 'off'})",
             f"- Versions: nnmf {__version__}, numpy {np.__version__}, Python "
             f"{platform.python_version()}"]
    if elapsed is not None:
        lines.append(f"- Wall time of the whole run: {elapsed:.0f} s")
    return lines


# -- 20 Newsgroups ----------------------------------------------------------------------------

def run_news20(data, *, seeds=5, max_iter=500, init="random", lam=1.0,
               classification_loss="l2", loss="reconstruction", ranks=(10, 6), n_words=10,
               n_threads=None, progress=None):
    """Run the 20 Newsgroups comparison.

    ``data`` is :func:`nnmf.datasets.load_20news_subsampled`. Unsupervised and
    semi-supervised (super-group labels of the ``known[60]`` documents on the
    last layer) fits of the three methods for seeds 0 .. seeds-1. Returns (records, topics):
    records with "err", "acc_sub" (layer 0 against the 10 subgroups), "acc_super" (layer 1
    against the 6 supergroups) — both on the 80 hidden documents — and "time"; topics maps
    (mode, method) to the top ``n_words`` words of every topic of both layers, from seed 0.
    """
    X = data.X
    vocab = np.array(data.vocabulary)
    sub, sup = data.labels["sub"], data.labels["super"]
    known = data.known[60]
    hidden = ~known
    records, topics = [], {}
    for mode in ("unsupervised", "semi-supervised"):
        kwargs = {} if mode == "unsupervised" else {"y": sup, "label_mask": known}
        t0 = time.perf_counter()
        for seed, method, model, seconds, converged in _seeded_fits(
                X, ranks, kwargs, seeds, init=init, max_iter=max_iter, lam=lam,
                classification_loss=classification_loss, loss=loss, n_threads=n_threads):
            S0, S1 = model.S_[0], model.S_[-1]
            acc_sub = _linear_probe(S0, sub, known, hidden)
            if mode == "unsupervised":
                acc_super = _linear_probe(S1, sup, known, hidden)
            else:
                acc_super = float(np.mean(model.transduction_[hidden] == sup[hidden]))
            records.append(dict(init=init, mode=mode, ranks=tuple(ranks), method=method,
                                seed=seed, err=float(model.reconstruction_err_),
                                acc_sub=acc_sub, acc_super=acc_super, time=seconds,
                                converged=converged))
            if seed == 0:
                topics[(init, mode, method)] = [
                    [list(vocab[np.argsort(-P[:, j], kind="stable")[:n_words]])
                     for j in range(P.shape[1])]
                    for P in model.topic_matrices()]
        if progress is not None:
            progress(f"news20 init={init} {mode}: {seeds} seed(s) in "
                     f"{time.perf_counter() - t0:.1f} s")
    return records, topics


def news20_markdown(records, topics, *, settings=None, elapsed=None):
    """The markdown report of :func:`run_news20` (one section per init)."""
    lines = ["# 20 Newsgroups (200 documents), ranks (10, 6): Hier. NMF, Deep NMF, Neural NMF",
             ""]
    lines += _environment_lines(settings, elapsed)
    lines += ["",
              "Mean ± std over seeds. Error: ||X − A_0 A_1 S_1||_F / ||X||_F. Accuracies are "
              "on the 80 documents outside `known60`: *layer 1* against the 6 supergroups, "
              "*layer 0* against the 10 subgroups. Semi-supervised fits see the supergroup "
              "labels of the 120 `known60` documents on the last layer, and their layer-1 "
              "accuracy is the model's own classifier; otherwise (layer 0, and unsupervised "
              "fits) it is a linear probe — a least-squares classifier fitted on the known "
              "documents' coefficients of that layer. Time: seconds per fit, all in this run "
              "(Neural NMF's includes the Hier. NMF fit it starts from). All three methods of "
              "a seed start from the same layer-wise NMF."]
    inits = _inits(records)
    for init in inits:
        recs_init = [r for r in records if r.get("init", "random") == init]
        n_seeds = len({r["seed"] for r in recs_init})
        modes = [m for m in ("unsupervised", "semi-supervised")
                 if any(r["mode"] == m for r in recs_init)]
        lines += ["", f"## {_init_title(init, n_seeds)}", "",
                  "| Setting | Method | Rel. error | Acc. layer 0 (10 subgroups) | "
                  "Acc. layer 1 (6 supergroups) | Time (s) |",
                  "|---|---|---|---|---|---:|"]
        for mode in modes:
            for method in METHODS:
                recs = _select(recs_init, mode=mode, method=method)
                unconverged = sum(not x["converged"] for x in recs)
                mark = f" ({unconverged}†)" if unconverged else ""
                lines.append(
                    f"| {mode} | {method} | "
                    f"{_fmt(*_stats([x['err'] for x in recs]), 4)}{mark} | "
                    f"{_fmt(*_stats([x['acc_sub'] for x in recs]), 3)} | "
                    f"{_fmt(*_stats([x['acc_super'] for x in recs]), 3)} | "
                    f"{_fmt(*_stats([x['time'] for x in recs]), 2)} |")
    if any(not r["converged"] for r in records):
        lines += ["", "† fits that stopped at the iteration limit (ConvergenceWarning); the "
                  "number is how many of the seeds."]
    init0 = inits[0] if inits else None
    lines += ["", f"## Top words of every topic ({init0} init, seed 0)"]
    for mode in ("unsupervised", "semi-supervised"):
        for method in METHODS:
            layers = topics.get((init0, mode, method))
            if layers is None:
                continue
            lines += ["", f"### {method}, {mode}"]
            for l, layer in enumerate(layers):
                lines += ["", f"Layer {l} ({len(layer)} topics):", ""]
                for j, words in enumerate(layer):
                    lines.append(f"- {l}.{j}: " + " ".join(words))
    return "\n".join(lines) + "\n"


# -- command line -----------------------------------------------------------------------------

def _parser():
    p = argparse.ArgumentParser(
        prog="python -m nnmf.experiments",
        description="Reproduce the Neural NMF paper's comparisons (Hier. NMF, Deep NMF, "
                    "Neural NMF) and write markdown reports.")
    sub = p.add_subparsers(dest="experiment", required=True)
    for name, seeds, help_ in (
            ("table1", 10, "the paper's Table 1 on synthetic_noise.mat"),
            ("news20", 5, "ranks (10, 6) on 20News_subsampled.mat with known60 labels")):
        q = sub.add_parser(name, help=help_, description=help_)
        q.add_argument("--seeds", type=int, default=seeds,
                       help=f"number of seeds, 0..N-1 (default {seeds})")
        q.add_argument("--max-iter", type=int, default=500,
                       help="iteration limit of every solver (default 500)")
        q.add_argument("--init", default="random,nndsvd",
                       help="comma-separated layer-wise initialisations shared by the three "
                            "methods, each reported in its own section: 'random' (seeded, "
                            "--seeds runs) and/or 'nndsvd' (deterministic, one run) "
                            "(default random,nndsvd)")
        q.add_argument("--lam", type=float, default=1.0,
                       help="weight of the label term, normalised (default 1.0)")
        q.add_argument("--classification-loss", choices=CLASSIFIER_LOSSES,
                       default="l2", help="Neural NMF's label loss (default l2, the paper's)")
        q.add_argument("--loss", choices=LOSSES, default="reconstruction",
                       help="Neural NMF's data term (default reconstruction, the paper's)")
        q.add_argument("--threads", type=int, default=None, help="core threads")
        q.add_argument("--out", type=Path, default=None, help="write the markdown here too")
        q.add_argument("--json", type=Path, default=None,
                       help="write every fit's record (method, seed, error, accuracy, time) "
                            "as JSON here")
        q.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return p


def main(argv=None):
    """Entry point of ``python -m nnmf.experiments``. Returns the exit status."""
    args = _parser().parse_args(argv)
    if args.seeds < 1 or args.max_iter < 1:
        raise SystemExit("--seeds and --max-iter must be positive")
    progress = None if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    command = "python -m nnmf.experiments " + " ".join(
        sys.argv[1:] if argv is None else list(argv))
    settings = dict(command=command, seeds=args.seeds, max_iter=args.max_iter,
                    init=args.init, lam=args.lam,
                    classification_loss=args.classification_loss, loss=args.loss)
    options = dict(seeds=args.seeds, max_iter=args.max_iter, lam=args.lam,
                   classification_loss=args.classification_loss, loss=args.loss,
                   n_threads=args.threads,
                   progress=progress)
    inits = [x.strip() for x in args.init.split(",") if x.strip()]
    bad = [x for x in inits if x not in ("random", "nndsvd")]
    if bad or not inits:
        raise SystemExit(f"--init takes 'random' and/or 'nndsvd', got {args.init!r}")
    del options["seeds"]
    t0 = time.perf_counter()
    if args.experiment == "table1":
        data = load_synthetic_noise()
        records = []
        for init in inits:
            records += run_table1(data, **dict(options, init=init,
                                               seeds=1 if init == "nndsvd" else args.seeds))
        text = table1_markdown(records, data=data, settings=settings,
                               elapsed=time.perf_counter() - t0)
    else:
        data = load_20news_subsampled()
        records, topics = [], {}
        for init in inits:
            recs, tops = run_news20(data, **dict(options, init=init,
                                                 seeds=1 if init == "nndsvd" else args.seeds))
            records += recs
            topics.update(tops)
        text = news20_markdown(records, topics, settings=settings,
                               elapsed=time.perf_counter() - t0)
    if args.json is not None:
        import json

        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(
            [dict(r, ranks=list(r["ranks"])) for r in records], indent=1,
            default=lambda v: None if v != v else v), encoding="utf-8")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        if progress is not None:
            progress(f"wrote {args.out}")
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
