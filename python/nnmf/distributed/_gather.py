"""Bringing a distributed fit's per-rank results to rank 0, which writes the outputs."""

import copy
import dataclasses

import numpy as np

__all__ = ["gather_fit"]


def _concat(parts, axis):
    parts = [p for p in parts if p is not None]
    return np.concatenate(parts, axis=axis) if parts else None


def gather_fit(model, corpus, comm):
    """The fit as one process would hold it, on rank 0: the model with every rank's columns
    of ``S_`` (each layer) and ``transduction_``, and the corpus with every rank's document
    ids and labels (its ``X`` left out: the ranks keep their own columns). Other ranks get
    ``(None, None)``. A collective call: every rank of ``comm`` makes it."""
    S = model.S_ if isinstance(model.S_, list) else [model.S_]
    parts = comm.gather({"S": S, "transduction": getattr(model, "transduction_", None),
                         "doc_ids": list(corpus.doc_ids or []),
                         "labels": corpus.labels}, root=0)
    if comm.Get_rank() != 0:
        return None, None
    whole = copy.copy(model)
    layers = [_concat([p["S"][l] for p in parts], axis=1) for l in range(len(S))]
    whole.S_ = layers if isinstance(model.S_, list) else layers[0]
    if getattr(model, "transduction_", None) is not None:
        whole.transduction_ = _concat([p["transduction"] for p in parts], axis=0)
    corpus = dataclasses.replace(
        corpus, X=None, doc_ids=[d for p in parts for d in p["doc_ids"]],
        labels=None if corpus.labels is None else _concat([p["labels"] for p in parts], 0))
    return whole, corpus
