"""nnmf: Neural NMF — hierarchical nonnegative matrix factorization trained end to end by
backpropagation, with a fast C++ core.

The public names below load on first use (PEP 562): ``import nnmf`` itself reads no
compiled code and changes nothing process-wide (see :func:`nnmf.tune_process`).

Subpackages, each importing only those listed after it: ``nnmf.cli``, ``nnmf.experiments``
(the paper's tables), ``nnmf.io`` (model files), ``nnmf.topics`` (corpora, topic trees,
figures), ``nnmf.neural`` (Neural NMF) and ``nnmf.baselines`` (NMF, hierarchical, deep and
semi-supervised NMF; neither imports the other), ``nnmf.multilayer`` (what both share:
layer-wise NMF, the forward pass, the classifier head), ``nnmf.layer`` (the NNLS layer and
its compiled core), ``nnmf.datasets`` (the paper's data, planted corpora).
"""

import importlib

from ._version import __version__
from .exceptions import (ConvergenceWarning, InvalidParameterError, ModelFileError,
                         NotFittedError, Terminated)

_EXPORTS = {
    "NeuralNMF": "neural",
    "NMF": "baselines", "HierarchicalNMF": "baselines", "DeepNMF": "baselines",
    "SSNMF": "baselines",
    "nnls": "layer", "nnls_vjp": "layer", "nnls_jvp": "layer", "NNLSInfo": "layer",
    "build_info": "layer", "tune_process": "_process",
    "Corpus": "topics", "load_corpus": "topics", "Topic": "topics", "TopicHierarchy": "topics",
    "topic_hierarchy": "topics", "plot_factors": "topics", "plot_mixtures": "topics",
    "plot_topic_tree": "topics", "save_figures": "topics", "suggest_ranks": "topics",
    "make_topic_corpus": "datasets", "match_hierarchy": "datasets",
    "save_model": "io", "load_model": "io",
}
_SUBPACKAGES = ("layer", "multilayer", "neural", "baselines", "topics", "datasets", "io",
                "experiments", "cli", "distributed")

__all__ = ["__version__", "ConvergenceWarning", "InvalidParameterError", "ModelFileError",
           "NotFittedError", "Terminated", *_EXPORTS]


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'nnmf' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__) | set(_SUBPACKAGES))
