"""Run by tests/test_distributed_io.py under mpiexec: read the inputs of tests/mpi/io_cases.py
with nnmf.distributed and save what each rank got.

    load_io.py INPUTS OUT           every case of io_cases.CASES: OUT/<tag>/CASE/rank<r>.pkl.
                                    On 4 ranks, in one job (one start-up for every size): the
                                    cases of io_cases.FOUR on the 4 ranks (tag P4); then every
                                    case on ranks 0-2 (P3) and rank 3 alone (P1) side by side;
                                    then on ranks 0-1 (P2g0) and 2-3 (P2g1). On other sizes
                                    every case on all the ranks (P<size>).
    load_io.py INPUTS OUT --fail    io_cases.FAILURES: OUT/fail/CASE/rank<r>.json holds the
                                    exception each rank raised; then the last case again,
                                    uncaught, so that the job ends with a non-zero status
"""

import json
import os
import pickle
import sys
import warnings

from mpi4py import MPI

sys.path.insert(0, os.path.dirname(__file__))
import io_cases  # noqa: E402

import nnmf.distributed  # noqa: E402

world = MPI.COMM_WORLD
inputs, out = sys.argv[1], sys.argv[2]
fail = sys.argv[3:] == ["--fail"]
warnings.simplefilter("ignore")


def read(name, comm):
    loader, rel, options = (io_cases.FAILURES if fail else io_cases.CASES)[name]
    options = {k: comm.Get_rank() + 1 if v == "RANK" else v
               for k, v in io_cases.resolve(options, inputs).items()}
    path = os.path.join(inputs, rel)
    if loader == "columns":
        return nnmf.distributed.load_columns(path, comm, **options)
    return nnmf.distributed.load_corpus(path, comm, **options)


def run(comm, tag, names):
    for name in names:
        folder = os.path.join(out, tag, name)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"rank{comm.Get_rank()}.pkl"), "wb") as fh:
            pickle.dump(read(name, comm).__dict__, fh)


if fail:
    names = list(io_cases.FAILURES)
    for name in names:
        try:
            read(name, world)
            result = {"type": None}
        except Exception as exc:  # noqa: BLE001 - record any failure
            result = {"type": type(exc).__name__, "message": str(exc)}
        folder = os.path.join(out, "fail", name)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"rank{world.Get_rank()}.json"), "w") as fh:
            json.dump(result, fh)
    read(names[-1], world)  # uncaught on every rank: the job must end, non-zero
elif world.Get_size() == 4:
    rank = world.Get_rank()
    run(world, "P4", io_cases.FOUR)
    for color in (int(rank == 3), rank // 2):  # {0, 1, 2} and {3}; then {0, 1} and {2, 3}
        comm = world.Split(color, rank)
        tag = f"P{comm.Get_size()}" + (f"g{color}" if comm.Get_size() == 2 else "")
        run(comm, tag, list(io_cases.CASES))
        comm.Free()
else:
    run(world, f"P{world.Get_size()}", list(io_cases.CASES))
