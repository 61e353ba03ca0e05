"""The fits that tests/test_distributed.py runs on one process and on P MPI ranks: name ->
() -> (make(comm) -> estimator, X, y or None, label_mask or None)."""

import numpy as np
import scipy.sparse as sp

import nnmf
from nnmf.datasets import load_synthetic_noise


def _planted(m=60, n=91, k=6, seed=0, sparse=False):
    rng = np.random.default_rng(seed)
    X = rng.random((m, k)) @ rng.random((k, n)) + 0.05 * rng.random((m, n))
    if sparse:
        X = sp.csc_matrix(X * (rng.random((m, n)) < 0.4))
    return X


def _noise():
    d = load_synthetic_noise()
    return d.X, d.labels["middle"], d.known[40]


CASES = {
    "neural": lambda: (lambda c: nnmf.NeuralNMF((6, 3), random_state=0, max_iter=15, comm=c),
                       _planted(), None, None),
    "neural_sparse_energy": lambda: (
        lambda c: nnmf.NeuralNMF((6, 3), loss="energy", random_state=1, max_iter=20, comm=c),
        _planted(sparse=True), None, None),
    "neural_supervised": lambda: (
        lambda c: nnmf.NeuralNMF((9, 4), random_state=0, max_iter=20, comm=c),
        _noise()[0], _noise()[1], None),
    "neural_semi": lambda: (
        lambda c: nnmf.NeuralNMF((9, 4), classification_loss="l2", random_state=0,
                                 max_iter=20, comm=c), *_noise()),
    "neural_minibatch": lambda: (
        lambda c: nnmf.NeuralNMF((6, 3), batch_size=20, optimizer="adam", init="random",
                                 random_state=3, max_iter=8, comm=c),
        _planted(), None, None),
    "nmf_anls": lambda: (lambda c: nnmf.NMF(5, random_state=0, max_iter=30, comm=c),
                         _planted(sparse=True), None, None),
    "nmf_mu": lambda: (lambda c: nnmf.NMF(5, solver="mu", init="random", random_state=0,
                                          max_iter=40, comm=c), _planted(), None, None),
    "hierarchical": lambda: (
        lambda c: nnmf.HierarchicalNMF((6, 3), random_state=0, max_iter=30, comm=c),
        _planted(), None, None),
    "hierarchical_semi": lambda: (
        lambda c: nnmf.HierarchicalNMF((9, 4), random_state=0, max_iter=30, comm=c),
        *_noise()),
}


def summary(model):
    """The replicated results of a fit, as arrays."""
    out = {"err": np.array(model.reconstruction_err_)}
    As = model.A_ if isinstance(model.A_, list) else [model.A_]
    for l, A in enumerate(As):
        out[f"A{l}"] = np.asarray(A)
    history = model.history_
    if isinstance(history, dict):
        for key, values in history.items():
            out[f"h_{key}"] = np.asarray(values)
    elif isinstance(history, list):
        for l, h in enumerate(history):
            out[f"h{l}"] = np.asarray(h)
    else:
        out["h"] = np.asarray(history)
    if getattr(model, "B_", None) is not None:
        out["B"] = np.asarray(model.B_)
    return out
