"""Run by tests/test_distributed.py under mpiexec: one rank fails, in the way argv[1] says,
while the others carry on; the job must end with that rank's message, never hang."""

import sys

import numpy as np
from mpi4py import MPI

import nnmf

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
how = sys.argv[1]
rng = np.random.default_rng(0)
X = rng.random((30, 40))
if how == "bad-input" and rank == 1:
    X[3, 4] = np.nan


def callback(it, state):
    if how == "training" and rank == 1 and it == 3:
        raise RuntimeError("rank 1 breaks at iteration 3")


try:
    nnmf.NeuralNMF((4, 2), max_iter=20, random_state=0, callback=callback,
                   comm=comm).fit(X)
except Exception as exc:   # bad input: every rank gets an error and says which
    print(f"rank {rank}: {type(exc).__name__}: {exc}", flush=True)
    sys.exit(3)
print(f"rank {rank}: fitted", flush=True)
