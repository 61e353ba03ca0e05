"""Run by tests/test_distributed.py under mpiexec: a fit interrupted at iteration 8 and
resumed from its checkpoint (argv[2]: "write" or "resume"), on this rank's columns."""

import sys
import warnings

import numpy as np
from mpi4py import MPI

import nnmf
from nnmf.datasets import load_synthetic_noise

comm = MPI.COMM_WORLD
path, step = sys.argv[1], sys.argv[2]
warnings.simplefilter("ignore")
d = load_synthetic_noise()
start, stop = nnmf.distributed.column_range(d.X.shape[1], comm)
model = nnmf.NeuralNMF((9, 4), random_state=0, tol=0, checkpoint=path, checkpoint_every=4,
                       max_iter=8 if step == "write" else 14, comm=comm)
model.fit(d.X[:, start:stop], d.labels["middle"][start:stop],
          label_mask=d.known[40][start:stop], resume=None if step == "write" else path)
if step == "resume" and comm.Get_rank() == 0:
    np.savez(f"{path}.result.npz", A0=model.A_[0], A1=model.A_[1], B=model.B_,
             loss=model.history_["loss"])
