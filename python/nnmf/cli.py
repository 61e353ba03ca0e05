"""The ``nnmf`` command: hierarchical topic modeling from the shell.

    nnmf ranks INPUT                                       suggest the ranks for fit
    nnmf fit INPUT --ranks 20,6 [--labels ...] --out DIR   fit, print the tree, write files
    nnmf topics MODEL                                      print a saved model's topics
    nnmf transform MODEL INPUT --out FILE                  topic mixtures of new documents
    nnmf plot MODEL                                        draw a saved model's figures
    nnmf demo                                              a built-in synthetic example

Exit codes: 0 success, 1 error, 2 usage error. Errors are printed as one line; ``--debug``
shows the traceback.
"""

import argparse
import codecs
import csv
import inspect
import os
import signal
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

from ._version import __version__
from .exceptions import Terminated
from ._utils.files import atomic_open, atomic_savez

__all__ = ["main"]

_LOSSES = ("reconstruction", "energy")
_FIGURE_FORMATS = ("png", "svg")


class UsageError(Exception):
    """A bad combination of options (exit code 2)."""


# ---------------------------------------------------------------------------------------------
# Argument parsing


def _ranks(text):
    try:
        ranks = tuple(int(t) for t in text.replace(" ", "").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers such as 20,6, got {text!r}") from None
    if not ranks or any(k < 1 for k in ranks):
        raise argparse.ArgumentTypeError(f"ranks must be positive integers, got {text!r}")
    return ranks


def _parse_number(text, kind, expected):
    """``kind(text)`` (int or float); a usage error naming what was ``expected`` otherwise."""
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None


def _positive_int(text):
    value = _parse_number(text, int, "a positive integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _threads(text):
    value = _parse_number(text, int, "an integer")
    if value == 0:
        raise argparse.ArgumentTypeError("must be nonzero (-1 means all cores)")
    return value


def _fraction(text):
    value = _parse_number(text, float, "a number in [0, 1]")
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return value


def _nonnegative_float(text):
    value = _parse_number(text, float, "a number")
    if not value >= 0.0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a nonnegative number, got {text!r}")
    return value


def _df(text):
    try:
        return int(text)
    except ValueError:
        pass
    value = _parse_number(text, float, "a document count or a fraction")
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a fraction must lie in [0, 1], got {text!r}")
    return value


def _ngrams(text):
    parts = text.split(",")
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) == 1:
        values = (1, values[0])
    if len(values) != 2 or not 1 <= values[0] <= values[1]:
        raise argparse.ArgumentTypeError(f"expected MIN,MAX such as 1,2, got {text!r}")
    return values


def _encoding(text):
    try:
        info = codecs.lookup(text)
    except LookupError:
        raise argparse.ArgumentTypeError(
            f"unknown encoding {text!r}; e.g. utf-8, latin-1, cp1252, utf-16") from None
    if not getattr(info, "_is_text_encoding", True):
        raise argparse.ArgumentTypeError(f"{text!r} is not a text encoding")
    return text


def _formats(text):
    if text.lower() == "none":
        return ()
    formats = tuple(f.strip().lower() for f in text.split(",") if f.strip())
    bad = [f for f in formats if f not in _FIGURE_FORMATS]
    if bad or not formats:
        raise argparse.ArgumentTypeError(
            f"expected png, svg, png,svg or none, got {text!r}")
    return formats


def _common_options():
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("general")
    g.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bars, status lines or warnings; results only")
    g.add_argument("--debug", action="store_true", help="show the traceback of an error")
    g.add_argument("--threads", type=_threads, default=None, metavar="N",
                   help="threads for the compiled core (default: all cores; -1 all, -2 all "
                        "but one)")
    g.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    return p


def _input_options():
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("input")
    g.add_argument("--format", choices=["text", "csv", "jsonl", "npz", "mtx", "mat", "npy"],
                   help="input format (default: from the extension; a folder is text)")
    g.add_argument("--text-column", default="text", metavar="NAME",
                   help="CSV column / JSON key with the text (default: text)")
    g.add_argument("--id-column", metavar="NAME", help="CSV column / JSON key naming each document")
    g.add_argument("--variable", metavar="NAME",
                   help="the data matrix's name in a .mat file or .npz archive")
    g.add_argument("--transpose", action="store_true",
                   help="the matrix on file is documents x words: transpose it")
    g.add_argument("--encoding", type=_encoding, default="utf-8", metavar="NAME",
                   help="encoding of text input, e.g. latin-1 (default: utf-8; a file with a "
                        "byte-order mark is read in the encoding it marks)")
    return p


def _vectorizer_options():
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("text vectorisation (scikit-learn)")
    g.add_argument("--vectorizer", choices=["tfidf", "count"], default="tfidf",
                   help="tf-idf (l2-normalised) or raw counts (default: tfidf)")
    g.add_argument("--stop-words", choices=["english", "none"], default="english",
                   help="remove English stop words (default) or keep every word")
    g.add_argument("--min-df", type=_df, default=1, metavar="N|F",
                   help="drop words in fewer documents (count, or fraction) (default: 1)")
    g.add_argument("--max-df", type=_df, default=1.0, metavar="N|F",
                   help="drop words in more documents (count, or fraction) (default: 1.0)")
    g.add_argument("--max-features", type=_positive_int, metavar="N",
                   help="keep only the N most frequent words")
    g.add_argument("--ngrams", type=_ngrams, default=(1, 1), metavar="MIN,MAX",
                   help="word n-grams to count, e.g. 1,2 (default: 1,1)")
    return p


def build_parser():
    """The argparse parser of the ``nnmf`` command."""
    common, inputs, vect = _common_options(), _input_options(), _vectorizer_options()
    parser = argparse.ArgumentParser(
        prog="nnmf",
        description="Hierarchical topic modeling with Neural NMF: fit a multilayer topic "
                    "model to a corpus, print its topic tree, draw it, save it.",
        epilog="Run 'nnmf demo' for a self-contained example, 'nnmf COMMAND -h' for a "
               "command's options.")
    parser.add_argument("--version", action="version", version=f"nnmf {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    fit = sub.add_parser(
        "fit", parents=[inputs, vect, common], help="fit a topic hierarchy to a corpus",
        description="Fit a Neural NMF topic hierarchy to a corpus and print its topic tree. "
                    "With --out, also write model.npz, topics.json, topics.md and figures/. "
                    "Launched as several MPI ranks (mpiexec -n P nnmf fit ..., or srun), the "
                    "ranks share the documents and rank 0 alone prints and writes.")
    fit.add_argument("input", metavar="INPUT",
                     help="a folder of .txt files, a .csv/.tsv/.jsonl file, or a matrix "
                          "(.npz, .mtx, .mat, .npy; words x documents)")
    fit.add_argument("--ranks", type=_ranks, required=True, metavar="K0,K1,...",
                     help="topics per layer, finest first, e.g. 20,6")
    fit.add_argument("--labels", metavar="SPEC",
                     help="document labels: 'folders' (the subfolder of each .txt file), a "
                          "CSV column / JSON key, a .mat variable, or a file with one label "
                          "per line")
    fit.add_argument("--known-fraction", type=_fraction, metavar="F",
                     help="with --labels: the fraction of documents whose label the model sees "
                          "(chosen at random with --seed; default 1 = supervised; 0 = "
                          "unsupervised, labels only group the figures)")
    fit.add_argument("--vocab", metavar="FILE|NAME",
                     help="the words of a matrix's rows: a file with one word per line, or a "
                          ".mat/.npz variable")
    fit.add_argument("--loss", choices=_LOSSES, default=None,
                     help="training loss: reconstruction (of X through the top layer) or "
                          "energy (every layer's own fit) (default: the estimator's, "
                          "reconstruction)")
    fit.add_argument("--lam", type=_nonnegative_float, default=None, metavar="L",
                     help="weight of the label term (default: the estimator's)")
    fit.add_argument("--max-iter", type=_positive_int, default=None, metavar="N",
                     help="training iterations (default: the estimator's)")
    fit.add_argument("--out", metavar="DIR", help="write the model, topics and figures here")
    fit.add_argument("--top-words", type=_positive_int, default=10, metavar="N",
                     help="words per topic in the tree and topic files (default: 10)")
    fit.add_argument("--figures", type=_formats, default=("png", "svg"), metavar="FORMATS",
                     help="figure formats with --out: png, svg, png,svg (default) or none")
    g = fit.add_argument_group("checkpoints (batch jobs with a wall-time limit)")
    g.add_argument("--checkpoint", metavar="FILE",
                   help="write the training state here every --checkpoint-every iterations "
                        "and when a SIGTERM stops the run (exit code 143)")
    g.add_argument("--checkpoint-every", type=_positive_int, default=10, metavar="N",
                   help="iterations between checkpoints (default: 10)")
    g.add_argument("--resume", metavar="FILE",
                   help="continue the training saved in this checkpoint (same input and "
                        "options)")
    fit.set_defaults(func=_cmd_fit)

    ranks = sub.add_parser(
        "ranks", parents=[inputs, vect, common], help="suggest the ranks to give fit",
        description="Suggest the topics per layer (--ranks for fit) from the relative "
                    "reconstruction error and the stability of the topics across random "
                    "starts of NMF at each candidate rank, layer by layer (nnmf.suggest_ranks). "
                    "Prints a table per layer and the suggestion.")
    ranks.add_argument("input", metavar="INPUT", help="a corpus or matrix, as fit reads it")
    ranks.add_argument("--layers", type=_positive_int, default=2, metavar="N",
                       help="layers to suggest a rank for (default: 2)")
    ranks.add_argument("--candidates", type=_ranks, default=None, metavar="K,K,...",
                       help="the ranks to scan (each layer above the first keeps those at most "
                            "half the rank below it; default: 2-10, 12, 15, 19, 24, 30 within "
                            "the data's shape)")
    ranks.add_argument("--seeds", type=_positive_int, default=3, metavar="N",
                       help="random starts per candidate, at least 2 (default: 3)")
    ranks.add_argument("--coherence", action="store_true",
                       help="also report each candidate's mean NPMI coherence")
    ranks.add_argument("--json", metavar="PATH", help="also write the scan here as JSON")
    ranks.set_defaults(func=_cmd_ranks, vocab=None)

    topics = sub.add_parser("topics", parents=[common], help="print a saved model's topics",
                            description="Print the topic tree of a saved model, or export it.")
    topics.add_argument("model", metavar="MODEL", help="a model file, or a folder with model.npz")
    topics.add_argument("--top-words", type=_positive_int, default=10, metavar="N",
                        help="words per topic (default: 10)")
    topics.add_argument("--as", dest="output_format", choices=["tree", "json", "markdown"],
                        default="tree", help="output format (default: tree)")
    topics.add_argument("--weights", action="store_true", help="show each word's weight")
    topics.add_argument("--out", metavar="FILE", help="write to FILE instead of printing")
    topics.set_defaults(func=_cmd_topics)

    transform = sub.add_parser(
        "transform", parents=[inputs, common], help="topic mixtures of new documents",
        description="Compute the topic mixtures of new documents with a saved model. Text is "
                    "vectorised like the model's training corpus. The output format follows "
                    "FILE's extension: .csv (one row per document: id, dominant topic, "
                    "mixture of --layer), .json (mixtures at every layer), .npz (the raw "
                    "coefficients S_0, S_1, ... and the document ids) or .npy (raw S of "
                    "--layer).")
    transform.add_argument("model", metavar="MODEL",
                           help="a model file, or a folder with model.npz")
    transform.add_argument("input", metavar="INPUT", help="documents, in any format fit reads")
    transform.add_argument("--out", required=True, metavar="FILE",
                           help="output file: .csv, .json, .npz or .npy")
    transform.add_argument("--layer", type=int, default=-1, metavar="L",
                           help="layer for .csv/.npy output (default: -1, the top layer)")
    transform.add_argument("--vocab", metavar="FILE|NAME",
                           help="the words of a matrix's rows, to align them with the model's")
    transform.set_defaults(func=_cmd_transform)

    plot = sub.add_parser("plot", parents=[common], help="draw a saved model's figures",
                          description="Draw the factor heatmaps (A_l), the document-mixture "
                                      "heatmaps (S_l, grouped by label when known) and the "
                                      "topic tree of a saved model.")
    plot.add_argument("model", metavar="MODEL", help="a model file, or a folder with model.npz")
    plot.add_argument("--out", metavar="DIR",
                      help="where to write (default: a figures/ folder beside the model)")
    plot.add_argument("--formats", type=_formats, default=("png", "svg"), metavar="FORMATS",
                      help="png, svg or png,svg (default)")
    plot.add_argument("--top-words", type=_positive_int, default=4, metavar="N",
                      help="words on each tree node and per topic in the heatmap (default: 4)")
    plot.set_defaults(func=_cmd_plot)

    demo = sub.add_parser(
        "demo", parents=[common], help="fit a built-in synthetic corpus (nothing to download)",
        description="Generate a synthetic corpus with a planted two-level topic hierarchy (3 "
                    "themes x 3 subtopics, deterministic for --seed), fit Neural NMF with "
                    "ranks 9,3, and print the recovered tree beside the planted one with a "
                    "match score.")
    demo.add_argument("--documents", type=_positive_int, default=450, metavar="N",
                      help="documents to generate (default: 450)")
    demo.add_argument("--out", metavar="DIR", help="also write the model, topics and figures here")
    demo.add_argument("--save-corpus", metavar="DIR",
                      help="also write the corpus as .txt files in one subfolder per subtopic, "
                           "ready for 'nnmf fit DIR --labels folders'")
    demo.set_defaults(func=_cmd_demo)
    return parser


# ---------------------------------------------------------------------------------------------
# Output helpers


class _Console:
    def __init__(self, quiet):
        self.quiet = quiet

    def info(self, *parts):
        if not self.quiet:
            print(*parts, file=sys.stderr)

    def result(self, text=""):
        print(text)

    def progress(self, total, desc):
        """A tqdm bar on stderr (None when quiet or tqdm is missing)."""
        if self.quiet:
            return None
        try:
            from tqdm import tqdm
        except ImportError:
            return None
        # disable=None: no bar when stderr is not a terminal (logs, pipes, CI)
        bar = tqdm(total=total, desc=desc, unit="it", leave=False, file=sys.stderr,
                   dynamic_ncols=True, disable=None)
        return None if bar.disable else bar


def _seconds(t0):
    return f"{time.perf_counter() - t0:.1f} s"


def _read_corpus(args, console, *, labels=None, reference=None, comm=None):
    if comm is None:
        from .topics import load_corpus
    else:
        from .distributed import load_corpus as load_columns_of_corpus

        def load_corpus(path, **kwargs):
            return load_columns_of_corpus(path, comm, **kwargs)

    t0 = time.perf_counter()
    kwargs = dict(format=args.format, text_column=args.text_column, id_column=args.id_column,
                  variable=args.variable, transpose=args.transpose,
                  progress=not console.quiet, labels=labels)
    kwargs["encoding"] = args.encoding
    if reference is None:
        kwargs.update(vocabulary=args.vocab, vectorizer=args.vectorizer,
                      stop_words=None if args.stop_words == "none" else args.stop_words,
                      min_df=args.min_df, max_df=args.max_df, max_features=args.max_features,
                      ngram_range=args.ngrams)
    corpus = load_corpus(args.input, **kwargs, **(reference or {}))
    kind = (corpus.vectorizer or {}).get("kind", "matrix")
    n = corpus.n_documents if comm is None else comm.allreduce(corpus.n_documents)
    where = "" if comm is None else f" on {comm.Get_size()} MPI ranks"
    console.info(f"Read {n} documents x {corpus.X.shape[0]} words ({kind}) "
                 f"from {args.input}{where} in {_seconds(t0)}")
    return corpus


def _estimator(args, ranks, max_iter=None, comm=None):
    from .neural import NeuralNMF

    params = dict(ranks=ranks, random_state=args.seed, n_threads=args.threads, comm=comm,
                  checkpoint=getattr(args, "checkpoint", None),
                  checkpoint_every=getattr(args, "checkpoint_every", 10))
    names = NeuralNMF._param_names()
    for name, value in (("loss", getattr(args, "loss", None)), ("lam", getattr(args, "lam", None)),
                        ("max_iter", max_iter)):
        if value is not None and name in names:
            params[name] = value
    if "verbose" in names:
        params["verbose"] = 0
    return NeuralNMF(**params)


def _fit(model, X, console, y=None, label_mask=None, resume=None):
    """model.fit with a progress bar driven by the estimator's callback."""
    total = getattr(model, "max_iter", None)
    bar = console.progress(total if isinstance(total, int) else None, "training")
    if bar is not None and "callback" in model._param_names() and model.callback is None:
        def callback(iteration, *rest):
            bar.update(1)
            return True
        model.set_params(callback=callback)
    t0 = time.perf_counter()
    try:
        model.fit(X, y, label_mask=None if y is None else label_mask, resume=resume)
    finally:
        if bar is not None:
            bar.close()
            if "callback" in model._param_names():
                model.set_params(callback=None)
    return time.perf_counter() - t0


def _describe_fit(model, seconds):
    parts = [f"{seconds:.1f} s"]
    n_iter = getattr(model, "n_iter_", None)
    if isinstance(n_iter, (int, np.integer)):
        parts.append(f"{int(n_iter)} iterations")
    err = getattr(model, "reconstruction_err_", None)
    if err is not None:
        parts.append(f"relative reconstruction error {float(err):.3f}")
    return ", ".join(parts)


def _quality(h, console, X=None, labels=None):
    """The hierarchy's quality measures, with one line per layer on stderr; a warning names
    each degenerate parent and catch-all topic. NPMI needs the corpus X, NMI known labels."""
    if labels is not None and not (np.asarray(labels) >= 0).any():
        labels = None
    quality = h.quality(X, labels)
    console.info(f"Topic quality (top {quality.n_words} words):")
    for line in quality.summary_lines():
        console.info(f"  {line}")
    return quality


def _write_outputs(model, corpus, out, console, *, n_words, figures):
    from .io import save_model
    from .topics import topic_hierarchy

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [save_model(model, out / "model.npz", corpus=corpus)]
    h = topic_hierarchy(model, corpus.vocabulary, doc_ids=corpus.doc_ids, n_words=n_words)
    quality = _quality(h, console, corpus.X, corpus.labels)
    h.to_json(out / "topics.json", quality=quality)
    h.to_markdown(out / "topics.md", quality=quality)
    written += [out / "topics.json", out / "topics.md"]
    if figures:
        from .topics import save_figures

        written += save_figures(model, out / "figures", vocabulary=corpus.vocabulary,
                                labels=corpus.labels, label_names=corpus.label_names,
                                formats=figures)
    console.info("Wrote " + ", ".join(str(p) for p in written))
    return h


def _output_problem(path, *, folder):
    """Why ``path`` cannot be written (a folder to create or write in, with ``folder``, else a
    file to create or replace), or None. Checked before the work whose result goes there."""
    path = Path(path)
    if path.exists():
        if folder and not path.is_dir():
            return f"{path} exists and is not a folder"
        if not folder and path.is_dir():
            return f"{path} is a folder"
        if not os.access(path, os.W_OK | (os.X_OK if folder else 0)):
            return f"{path} is not writable"
        return None
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"cannot create {path}: {parent} is not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot create {path}: {parent} is not writable"
    return None


def _check_outputs(outputs, comm=None):
    """Raise (on every MPI rank) the first problem :func:`_output_problem` finds with
    ``outputs``, (option, path or None, folder) triples, as rank 0 sees them."""
    problem = None
    if comm is None or comm.Get_rank() == 0:
        for option, path, folder in outputs:
            text = None if path is None else _output_problem(path, folder=folder)
            if text:
                problem = f"{option}: {text}"
                break
    if comm is not None:
        problem = comm.bcast(problem, root=0)
    if problem:
        raise ValueError(problem)


def _run_outputs(out, figures):
    """The (option, path, folder) triples of what _write_outputs writes into ``out``."""
    if out is None:
        return []
    out = Path(out)
    return [("--out", out, True), *(("--out", out / name, False)
                                     for name in ("model.npz", "topics.json", "topics.md")),
            ("--out", out / "figures" if figures else None, True)]


# ---------------------------------------------------------------------------------------------
# Commands


def _mpi_world():
    """MPI's world communicator when this process is one of several MPI ranks (mpiexec,
    srun), else None. The launchers' environment says so without initialising MPI."""
    sizes = [os.environ.get(v) for v in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE")]
    if not any(v is not None and v.isdigit() and int(v) > 1 for v in sizes):
        return None
    try:
        from mpi4py import MPI
    except ImportError:
        raise UsageError("launched as several MPI ranks, but mpi4py is not installed: "
                         "pip install 'nnmf[mpi]'") from None
    return MPI.COMM_WORLD if MPI.COMM_WORLD.Get_size() > 1 else None


def _known_mask(known, fraction, seed, comm):
    """The documents whose labels the model sees: a fraction of the known ones, chosen with
    the seed among all ranks' documents (the same choice as one process makes)."""
    if fraction >= 1:
        return known.copy()
    if comm is None:
        idx, start = np.flatnonzero(known), 0
    else:
        counts = comm.allgather(known.size)
        start = sum(counts[:comm.Get_rank()])
        idx = np.concatenate(comm.allgather(np.flatnonzero(known) + start))
    n_keep = max(1, int(round(fraction * idx.size)))
    chosen = np.random.default_rng(seed).choice(idx, size=n_keep, replace=False)
    mask = np.zeros(known.size, dtype=bool)
    mine = chosen[(chosen >= start) & (chosen < start + known.size)]
    mask[mine - start] = True
    return mask


def _cmd_fit(args, console):
    if args.known_fraction is not None and args.labels is None:
        raise UsageError("--known-fraction needs --labels")
    ranks = args.ranks
    if args.resume is None and any(b > a for a, b in zip(ranks, ranks[1:])):
        raise UsageError(
            f"--ranks {','.join(map(str, ranks))}: each layer groups the topics of the layer "
            "below it, so it needs at most as many (ranks are finest first, e.g. --ranks "
            f"{','.join(map(str, sorted(ranks, reverse=True)))})")
    comm = args.comm
    _check_outputs([*_run_outputs(args.out, args.figures),
                    ("--checkpoint", args.checkpoint, False)], comm)
    corpus = _read_corpus(args, console, labels=args.labels, comm=comm)
    y = mask = None
    if corpus.labels is not None:
        known = corpus.labels >= 0
        n_known = int(known.sum()) if comm is None else comm.allreduce(int(known.sum()))
        if not n_known:
            raise ValueError("--labels: no document has a known label")
        fraction = 1.0 if args.known_fraction is None else args.known_fraction
        if fraction > 0:
            mask = _known_mask(known, fraction, args.seed, comm)
            y = corpus.labels
            if len(corpus.label_names) > args.ranks[-1]:
                warnings.warn(
                    f"{len(corpus.label_names)} classes but the top layer has {args.ranks[-1]} "
                    "topics: the classifier acts on the top layer's topics and cannot tell "
                    "more classes apart than it has topics", UserWarning, stacklevel=2)
            seen, n = int(mask.sum()), corpus.n_documents
            if comm is not None:
                seen, n = comm.allreduce(seen), comm.allreduce(n)
            console.info(f"Labels: {len(corpus.label_names)} classes, {seen} of {n} documents "
                         "known to the model")
    model = _estimator(args, args.ranks, args.max_iter, comm)
    console.info(f"Fitting {model!r} ...")
    seconds = _fit(model, corpus.X, console, y, mask, resume=args.resume)
    console.info(f"Fitted in {_describe_fit(model, seconds)}")
    if comm is not None:  # rank 0 writes: the training columns' results of every rank
        from .distributed import gather_fit

        masks = None if mask is None else comm.gather(mask, root=0)
        model, corpus = gather_fit(model, corpus, comm)
        if model is None:
            return
        mask = None if masks is None else np.concatenate(masks)
    if y is not None and mask is not None and not mask[corpus.labels >= 0].all():
        hidden = (corpus.labels >= 0) & ~mask
        predicted = getattr(model, "transduction_", None)  # label codes, as y was given
        if predicted is not None:
            accuracy = np.mean(np.asarray(predicted)[hidden] == corpus.labels[hidden])
            console.info(f"Accuracy on the {int(hidden.sum())} documents whose labels were "
                         f"hidden: {accuracy:.3f}")
    if args.out:
        h = _write_outputs(model, corpus, args.out, console, n_words=args.top_words,
                           figures=args.figures)
    else:
        from .topics import topic_hierarchy

        h = topic_hierarchy(model, corpus.vocabulary, doc_ids=corpus.doc_ids,
                            n_words=args.top_words)
        _quality(h, console, corpus.X, corpus.labels)
        console.info("(use --out DIR to save the model, topics and figures)")
    console.result(h.format_tree())


def _cmd_ranks(args, console):
    from .topics import dump_json, suggest_ranks

    if args.seeds < 2:
        raise UsageError(f"--seeds {args.seeds}: stability compares the starts, so it needs "
                         "at least 2")
    _check_outputs([("--json", args.json, False)])
    corpus = _read_corpus(args, console)
    console.info(f"Scanning ranks for {args.layers} layers, {args.seeds} starts each ...")
    t0 = time.perf_counter()
    result = suggest_ranks(corpus.X, n_layers=args.layers, candidates=args.candidates,
                           n_seeds=args.seeds, coherence=args.coherence,
                           random_state=args.seed, n_threads=args.threads)
    console.info(f"Scanned in {_seconds(t0)}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(args.json, "w", encoding="utf-8") as fh:
            fh.write(dump_json(result.to_dict()) + "\n")
        console.info(f"Wrote {args.json}")
    console.result(result.summary())


def _load(path):
    from .io import load_model

    return load_model(path, return_corpus=True)


def _cmd_topics(args, console):
    from .topics import topic_hierarchy

    _check_outputs([("--out", args.out, False)])
    model, info = _load(args.model)
    h = topic_hierarchy(model, info.vocabulary, doc_ids=info.doc_ids or None,
                        n_words=args.top_words)
    quality = _quality(h, console, labels=info.labels)  # the file keeps no corpus: no NPMI
    if args.output_format == "json":
        text = h.to_json(quality=quality)
    elif args.output_format == "markdown":
        text = h.to_markdown(quality=quality)
    else:
        text = h.format_tree(weights=args.weights)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        console.info(f"Wrote {args.out}")
    else:
        console.result(text)


def _transform_all(model, X):
    """The coefficients of X at every layer, as a list (one-layer models take no ``layer``)."""
    if "layer" in inspect.signature(model.transform).parameters:
        return list(model.transform(X, layer="all"))
    return [model.transform(X)]


def _align_rows(X, words, vocabulary):
    """Rows of X (words) reordered to the model's vocabulary; unknown words dropped, missing
    ones zero."""
    import scipy.sparse as sp

    index = {w: i for i, w in enumerate(words)}
    rows = np.array([index.get(w, -1) for w in vocabulary])
    if (rows < 0).all():
        raise ValueError("none of the input's words is in the model's vocabulary")
    X = sp.csr_matrix(X)
    picked = X[np.maximum(rows, 0)]
    picked = sp.diags((rows >= 0).astype(float)) @ picked
    return sp.csc_matrix(picked)


def _cmd_transform(args, console):
    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".json", ".npz", ".npy"):
        raise UsageError(f"--out must end in .csv, .json, .npz or .npy, got {args.out!r}")
    _check_outputs([("--out", out, False)])
    model, info = _load(args.model)
    reference = {}
    if info.vectorizer is not None:
        v = info.vectorizer
        reference = dict(vocabulary=info.vocabulary, idf=info.idf, vectorizer=v.get("kind"),
                         stop_words=v.get("stop_words"),
                         ngram_range=tuple(v.get("ngram_range", (1, 1))))
    from .topics import detect_format

    fmt = detect_format(Path(args.input), args.format) if Path(args.input).exists() else None
    if fmt in ("npz", "mtx", "mat", "npy"):
        reference = {"vocabulary": args.vocab}
    elif args.vocab is not None:
        raise UsageError("--vocab goes with a matrix input; text is vectorised with the "
                         "model's vocabulary")
    elif fmt is not None and info.vectorizer is None:
        raise ValueError("this model was not fitted on text, so it cannot vectorise text: "
                         "give a words x documents matrix")
    corpus = _read_corpus(args, console, reference=reference)
    X = corpus.X
    if fmt in ("npz", "mtx", "mat", "npy") and corpus.vocabulary is not None:
        if info.vocabulary is None:
            raise ValueError("the model has no vocabulary to align the input's words with")
        X = _align_rows(X, corpus.vocabulary, info.vocabulary)
    S = _transform_all(model, X)
    layer = args.layer
    if not -len(S) <= layer < len(S):
        raise ValueError(f"--layer {layer} is out of range: the model has {len(S)} layers")
    from .topics import model_factors, dump_json, word_profiles

    A, _ = model_factors(model)
    scales = [W.sum(axis=0) for W in word_profiles(A)][-len(S):]
    mixtures = []
    for scale, S_l in zip(scales, S):
        mass = scale[:, None] * np.asarray(S_l)
        total = mass.sum(axis=0)
        mixtures.append(mass / np.where(total > 0, total, 1.0))
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".npz":
        arrays = {f"S_{l}": np.asarray(S_l) for l, S_l in enumerate(S)}
        atomic_savez(out, dict(doc_ids=np.array(corpus.doc_ids, dtype=str), **arrays))
    elif suffix == ".npy":
        with atomic_open(out, "wb") as fh:
            np.save(fh, np.asarray(S[layer]))
    elif suffix == ".json":
        rows = [{"id": d, "topics": [[round(float(x), 6) for x in mix[:, j]] for mix in mixtures]}
                for j, d in enumerate(corpus.doc_ids)]
        with atomic_open(out, "w", encoding="utf-8") as fh:
            fh.write(dump_json({"ranks": [int(m.shape[0]) for m in mixtures],
                                "documents": rows}) + "\n")
    else:
        mix = mixtures[layer]
        lidx = layer % len(S)
        with atomic_open(out, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["id", "topic"] + [f"{lidx}.{i}" for i in range(mix.shape[0])])
            for j, d in enumerate(corpus.doc_ids):
                top = f"{lidx}.{int(mix[:, j].argmax())}" if mix[:, j].sum() > 0 else ""
                writer.writerow([d, top] + [f"{x:.6f}" for x in mix[:, j]])
    console.info(f"Wrote {out}: {len(corpus.doc_ids)} documents")


def _cmd_plot(args, console):
    from .topics import save_figures

    model_path = Path(args.model)
    out = Path(args.out) if args.out else (
        model_path if model_path.is_dir() else model_path.parent) / "figures"
    _check_outputs([("--out" if args.out else "the figures folder", out, True)])
    model, info = _load(args.model)
    t0 = time.perf_counter()
    written = save_figures(model, out, vocabulary=info.vocabulary, labels=info.labels,
                           label_names=info.label_names, formats=args.formats,
                           n_words=args.top_words)
    console.info(f"Drew {len(written)} figures in {_seconds(t0)}")
    for p in written:
        console.result(str(p))


def _planted_rows(h, corpus, match, n_words=6):
    """Rows (planted text, recovered text) for the side-by-side demo table."""
    sub_of = {v: k for k, v in match["sub_match"].items()}
    theme_of = {v: k for k, v in match["theme_match"].items()}
    rows = []

    def recovered(layer, index, indent, mark=""):
        if index is None:
            return f"{indent}(no matching topic)"
        t = h.topic(layer, index)
        return f"{indent}[{t.name}] {100 * t.share:4.1f}%  {t.label(n_words)}{mark}"

    for theme, subs in corpus.hierarchy.items():
        ti = theme_of.get(theme)
        rows.append((theme, recovered(1, ti, "")))
        for sub in subs:
            si = sub_of.get(sub)
            mark = ""
            if si is not None:
                ok = h.topic(0, si).parent == ti and ti is not None
                mark = "" if ok else "   <- parent differs"
            rows.append((f"  {sub}", recovered(0, si, "  ", mark)))
    return rows


def _cmd_demo(args, console):
    from .datasets import make_topic_corpus, match_hierarchy
    from .topics import Corpus, count_tokens, label_codes, weigh_counts
    from .topics import topic_hierarchy

    _check_outputs([*_run_outputs(args.out, ("png", "svg")),
                    ("--save-corpus", args.save_corpus, True)])
    t_start = time.perf_counter()
    synth = make_topic_corpus(args.documents, random_state=args.seed)
    # Counted from the generator's own tokens (no scikit-learn needed); the options say how
    # to vectorise new text for this model later.
    options = dict(kind="tfidf", stop_words=None, min_df=1, max_df=1.0,
                   max_features=None, ngram_range=[1, 1])
    counts, vocab = count_tokens(synth.tokens)
    X, idf = weigh_counts(counts, options)
    labels, names = label_codes(synth.subtopics)
    doc_ids = [f"{sub}/doc{j:04d}.txt" for j, sub in enumerate(synth.subtopics)]
    corpus = Corpus(X, vocab, doc_ids, labels, names, options, idf)
    console.info(f"Synthetic corpus: {len(synth.documents)} documents, {len(vocab)} words, a "
                 f"planted hierarchy of 3 themes x 3 subtopics (seed {args.seed})")
    if args.save_corpus:
        root = Path(args.save_corpus)
        for doc_id, text in zip(doc_ids, synth.documents):
            path = root / doc_id
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text + "\n", encoding="utf-8")
        console.info(f"Wrote the corpus to {root}/ (try: nnmf fit {root} --ranks 9,3 "
                     "--labels folders --known-fraction 0)")
    model = _estimator(args, (9, 3))
    console.info(f"Fitting {model!r} ...")
    seconds = _fit(model, X, console)
    console.info(f"Fitted in {_describe_fit(model, seconds)}")
    if args.out:
        h = _write_outputs(model, corpus, args.out, console, n_words=10,
                           figures=("png", "svg"))
    else:
        h = topic_hierarchy(model, vocab, doc_ids=doc_ids, n_words=10)
    match = match_hierarchy(h, synth)
    rows = _planted_rows(h, synth, match)
    width = max(len(a) for a, _ in rows) + 2
    console.result(f"{'Planted':<{width}}| Recovered by Neural NMF (ranks 9,3)")
    console.result(f"{'-' * width}+{'-' * 52}")
    for planted, found in rows:
        console.result(f"{planted:<{width}}| {found}")
    console.result()
    n_tree = round(match["tree"] * 9)
    console.result(f"Match score: {match['score']:.3f}  (documents on the right subtopic "
                   f"{100 * match['subtopics']:.1f}%, on the right theme "
                   f"{100 * match['themes']:.1f}%, tree edges {n_tree}/9)")
    console.info(f"Total time {_seconds(t_start)}")


# ---------------------------------------------------------------------------------------------
# Entry point


def _one_line(exc):
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.strerror}: {exc.filename}"
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, KeyError):
        text = f"missing key {text}"
    return " ".join(text.split())


def main(argv=None):
    """Run the ``nnmf`` command with the arguments ``argv`` (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code: 0 success, 1 error, 2 usage error.

    Notes
    -----
    Run as the program (``argv`` None), the command owns its process and opts in to
    :func:`nnmf.tune_process`'s settings before the core loads.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else 0
    if argv is None:
        from ._process import tune_process

        tune_process()
    try:
        args.comm = _mpi_world() if args.command == "fit" else None
    except UsageError as exc:
        print(f"nnmf {args.command}: usage error: {exc}", file=sys.stderr)
        return 2
    root = args.comm is None or args.comm.Get_rank() == 0
    console = _Console(args.quiet or not root)
    shown = set()

    def show_warning(message, category, filename, lineno, file=None, line=None):
        # Printed when it happens (before the output it concerns), once per text.
        text = f"nnmf {args.command}: warning: {' '.join(str(message).split())}"
        if not args.quiet and root and text not in shown:
            shown.add(text)
            print(text, file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = show_warning
            args.func(args, console)
    except UsageError as exc:
        print(f"nnmf {args.command}: usage error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nnmf: interrupted", file=sys.stderr)
        return 130
    except Terminated:  # SIGTERM: the checkpoint, if asked for, is written
        if root:
            where = getattr(args, "checkpoint", None)
            print(f"nnmf {args.command}: stopped by SIGTERM" + (
                f"; the checkpoint {where} is written: continue with --resume {where}"
                if where else " (no --checkpoint: nothing saved)"), file=sys.stderr)
        return 128 + int(signal.SIGTERM)
    except BrokenPipeError:  # e.g. `nnmf topics MODEL | head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - every error becomes one readable line
        if not root:  # the ranks agree on errors: rank 0 reports them
            return 1
        if args.debug:
            traceback.print_exc()
        hint = "" if args.debug else " (--debug shows the traceback)"
        print(f"nnmf {args.command}: error: {_one_line(exc)}{hint}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
