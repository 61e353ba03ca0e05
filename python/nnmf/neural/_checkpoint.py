"""Training checkpoints: everything a NeuralNMF fit needs to continue its trajectory.

A checkpoint is one numpy ``.npz`` archive (no pickle) holding the parameters, the best ones
so far, the history, the optimiser's state, the random generator's state and the iteration,
plus the S's of the last evaluated point (the warm starts; with them a resumed fit is the
same computation as an uninterrupted one). In a run over MPI, rank 0 writes the archive and
every rank writes its own columns' S's beside it (``PATH.rank<r>of<P>.npz``). Files are
written to a temporary name and renamed, so an interrupted write never leaves a damaged
checkpoint.
"""

import json
from pathlib import Path

import numpy as np

from .._utils.files import atomic_savez
from .._version import __version__

__all__ = ["write_checkpoint", "read_checkpoint", "read_stored_S"]

_FORMAT = "nnmf-checkpoint"
_FORMAT_VERSION = 1
_META = "__checkpoint__"


def _rank_file(path, rank, size):
    return Path(f"{path}.rank{rank}of{size}.npz")


def write_checkpoint(path, state, store, collective):
    """Write ``state`` (a dict: JSON-ready values and numpy arrays, nested one level in lists
    and dicts of arrays) and this process's ``store`` (the S's)."""
    arrays, meta = {}, {"format": _FORMAT, "format_version": _FORMAT_VERSION,
                        "nnmf_version": __version__, "processes": collective.size}

    def put(name, value):
        if isinstance(value, np.ndarray):
            arrays[name] = value
            return {"__array__": name}
        if isinstance(value, (list, tuple)):
            return [put(f"{name}.{i}", v) for i, v in enumerate(value)]
        if isinstance(value, dict):
            return {k: put(f"{name}.{k}", v) for k, v in value.items()}
        if isinstance(value, np.generic):
            return value.item()
        return value

    meta["state"] = {k: put(k, v) for k, v in state.items()}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if collective.size > 1:
        atomic_savez(_rank_file(path, collective.rank, collective.size),
                      {f"S{l}": S for l, S in enumerate(store)})
    else:
        arrays.update({f"store.S{l}": S for l, S in enumerate(store)})
    if collective.rank == 0:
        arrays[_META] = np.array(json.dumps(meta))
        atomic_savez(path, arrays)


def read_checkpoint(path):
    """The state saved by :func:`write_checkpoint` (arrays restored in place of their
    references) and the number of processes that wrote it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such checkpoint: {path}")
    with np.load(path, allow_pickle=False) as archive:
        if _META not in archive.files:
            raise ValueError(f"{path} is not an nnmf checkpoint (no {_META} metadata)")
        meta = json.loads(str(archive[_META]))
        arrays = {name: archive[name] for name in archive.files if name != _META}
    if meta.get("format") != _FORMAT or meta.get("format_version", 0) > _FORMAT_VERSION:
        raise ValueError(f"{path} is not an nnmf checkpoint this nnmf {__version__} reads")

    def get(node):
        if isinstance(node, dict) and set(node) == {"__array__"}:
            return arrays[node["__array__"]]
        if isinstance(node, list):
            return [get(v) for v in node]
        if isinstance(node, dict):
            return {k: get(v) for k, v in node.items()}
        return node

    state = {k: get(v) for k, v in meta["state"].items()}
    state["store"] = [arrays[f"store.S{l}"] for l in range(len(state["params"]))
                      if f"store.S{l}" in arrays]
    return state, meta["processes"]


def read_stored_S(path, n_layers, collective, processes):
    """This process's S's from a checkpoint written by the same number of processes, or None
    (the resumed fit then recomputes them)."""
    if processes != collective.size:
        return None
    if collective.size == 1:
        return None  # kept inside the main archive: read_checkpoint has them
    part = _rank_file(path, collective.rank, collective.size)
    if not part.is_file():
        return None
    with np.load(part, allow_pickle=False) as archive:
        return [archive[f"S{l}"] for l in range(n_layers)]
