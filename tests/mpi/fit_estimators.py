"""Run by tests/test_distributed.py under mpiexec: fit every configuration of
tests/mpi/cases.py on this rank's columns and save the results (rank 0: the replicated
factors and histories; every rank: its own S)."""

import sys
import warnings

import numpy as np
from mpi4py import MPI

sys.path.insert(0, __import__("os").path.dirname(__file__))
import cases  # noqa: E402

import nnmf  # noqa: E402

comm = MPI.COMM_WORLD
out = sys.argv[1]
names = sys.argv[2].split(",")
warnings.simplefilter("ignore")
results = {}
for name in names:
    make, X, y, mask = cases.CASES[name]()
    start, stop = nnmf.distributed.column_range(X.shape[1], comm)
    kwargs = {}
    if y is not None:
        kwargs["y"] = y[start:stop]
        if mask is not None:
            kwargs["label_mask"] = mask[start:stop]
    model = make(comm).fit(X[:, start:stop], **kwargs)
    for key, value in cases.summary(model).items():
        results[f"{name}/{key}"] = value
    S = model.S_[-1] if isinstance(model.S_, list) else model.S_
    results[f"{name}/S"] = np.asarray(S)
np.savez(f"{out}.{comm.Get_rank()}.npz", **results)
