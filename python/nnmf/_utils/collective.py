"""Collective operations across the processes that share a fit: one process (``Local``), or
the ranks of an MPI communicator (``MPICollective``, over mpi4py).

Data-parallel training splits X by columns: every loss term and gradient is a sum over
columns, so each rank computes its columns' part and one sum across ranks makes it global.
The sums here are deterministic and identical on every rank (a reduction to rank 0 in a fixed
tree, then a broadcast), so that the replicated factors stay bitwise equal on all ranks;
several arrays are packed into one message. ``Local`` does nothing, so single-process code
runs the same lines at no cost.
"""

import contextlib
import sys

import numpy as np

from ..exceptions import Terminated

__all__ = ["Local", "MPICollective", "abort_on_error", "agreed", "as_collective", "column_range", "column_random",
           "CollectiveError"]


class CollectiveError(RuntimeError):
    """Another rank failed; raised on every rank with that rank's message."""


def column_range(n, rank, size):
    """The contiguous, balanced block [start, stop) of n columns that ``rank`` of ``size``
    holds: the first n mod size ranks get one column more."""
    base, extra = divmod(int(n), int(size))
    start = rank * base + min(rank, extra)
    return start, start + base + (rank < extra)


class Local:
    """The single-process case: every collective is the identity."""

    rank, size = 0, 1
    distributed = False

    def sum(self, *arrays):
        """The element-wise sums across ranks of the arrays (numbers or numpy arrays), as a
        list: each array in its own shape and dtype (summed in float64), each number a
        float. One process: the inputs themselves."""
        return [float(a) if np.ndim(a) == 0 else a for a in arrays]

    def any(self, flag):
        """Whether ``flag`` is true on any rank."""
        return bool(flag)

    def allgather(self, obj):
        """Every rank's ``obj``, in rank order."""
        return [obj]

    def bcast(self, obj):
        """Rank 0's ``obj`` on every rank."""
        return obj

    def agree(self, error):
        """Collective error agreement: ``error`` is this rank's exception or None. If any
        rank has one, every rank raises: its own, or a :class:`CollectiveError` naming the
        first failing rank and its message."""
        if error is not None:
            raise error

    def column_range(self, n):
        """This process's balanced block of n columns, (start, stop)."""
        return column_range(n, self.rank, self.size)

    def block(self, n_local):
        """Where this process's ``n_local`` columns sit among all processes' (in rank
        order): (start, stop, n) with n the total."""
        counts = self.allgather(int(n_local))
        start = sum(counts[:self.rank])
        return start, start + int(n_local), sum(counts)


class MPICollective(Local):
    """The ranks of an mpi4py communicator."""

    distributed = True

    def __init__(self, comm):
        from mpi4py import MPI  # the optional 'mpi' extra

        self._MPI = MPI
        self.comm = comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()

    def sum(self, *arrays):
        parts = [np.asarray(a, dtype=np.float64) for a in arrays]
        total = np.concatenate([p.ravel() for p in parts]) if parts else np.zeros(0)
        # Reduce + Bcast rather than Allreduce: an allreduce may round differently on
        # different ranks, and the replicated factors must stay identical. One buffer serves
        # both (in place on rank 0): no second copy of the gradient
        if self.rank == 0:
            self.comm.Reduce(self._MPI.IN_PLACE, total, op=self._MPI.SUM, root=0)
        else:
            self.comm.Reduce(total, None, op=self._MPI.SUM, root=0)
        self.comm.Bcast(total, root=0)
        out, start = [], 0
        for a, p in zip(arrays, parts):
            piece = total[start:start + p.size].reshape(p.shape)
            start += p.size
            dtype = getattr(a, "dtype", np.float64)
            out.append(float(piece) if p.ndim == 0 else piece.astype(dtype, copy=False))
        return out

    def any(self, flag):
        return self.sum(1.0 if flag else 0.0)[0] > 0

    def allgather(self, obj):
        return self.comm.allgather(obj)

    def bcast(self, obj):
        return self.comm.bcast(obj, root=0)

    def agree(self, error):
        messages = self.comm.allgather(None if error is None else
                                       f"{type(error).__name__}: {error}")
        failed = [(r, m) for r, m in enumerate(messages) if m is not None]
        if not failed:
            return
        if error is not None:
            raise error
        rank, message = failed[0]
        raise CollectiveError(f"rank {rank} of {self.size} failed: {message}")


def agreed(collective, check):
    """``check()``'s value on every process, or, where it raises a ValueError or TypeError on
    any process (bad input there), that error on every process (collective.agree)."""
    value, error = None, None
    try:
        value = check()
    except (TypeError, ValueError) as exc:
        error = exc
    collective.agree(error)
    return value


@contextlib.contextmanager
def abort_on_error(collective):
    """Around a phase whose failure on one process would leave the others waiting in a
    collective (training): an exception there prints its message and aborts the whole MPI
    job (a one-process run just raises it). Errors every process meets alike are raised
    before such a phase, by agreement."""
    try:
        yield
    except Terminated:  # a SIGTERM, agreed by every rank: they stop together
        raise
    except Exception as exc:  # noqa: BLE001 - any failure must end every rank
        if not collective.distributed or collective.size == 1:
            raise
        sys.stderr.write(f"nnmf: rank {collective.rank} of {collective.size} failed, "
                         f"aborting the MPI job: {type(exc).__name__}: {exc}\n")
        sys.stderr.flush()
        collective.comm.Abort(1)
        raise


def as_collective(comm):
    """The collective for ``comm``: None (one process) or an mpi4py communicator. A
    communicator of one rank runs the MPI code path (the same sums, over one rank)."""
    if comm is None:
        return Local()
    if isinstance(comm, Local):
        return comm
    if not (hasattr(comm, "Get_rank") and hasattr(comm, "Reduce")):
        raise TypeError(f"comm must be an mpi4py communicator or None, got "
                        f"{type(comm).__name__}")
    return MPICollective(comm)


_RANDOM_BLOCK = 1024  # columns per independently seeded block of random numbers


def column_random(seed, start, stop, width, kind="uniform"):
    """Random numbers for the columns [start, stop) of a matrix with one row of ``width``
    values per column, the same whichever process draws them: columns come in blocks of
    1024, each from its own generator seeded by (seed, block). Returns (stop - start) x
    width: uniform on [0, 1) or standard normal (``kind="normal"``)."""
    out = np.empty((stop - start, width))
    block = start // _RANDOM_BLOCK
    while block * _RANDOM_BLOCK < stop:
        lo = block * _RANDOM_BLOCK
        rng = np.random.default_rng([seed, block])
        draw = rng.random if kind == "uniform" else rng.standard_normal
        values = draw((_RANDOM_BLOCK, width))
        a, b = max(start, lo), min(stop, lo + _RANDOM_BLOCK)
        out[a - start:b - start] = values[a - lo:b - lo]
        block += 1
    return out
