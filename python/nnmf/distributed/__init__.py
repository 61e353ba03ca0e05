"""Data-parallel nnmf over MPI (mpi4py; the optional ``mpi`` extra).

X is split by columns (documents) across the ranks of a communicator; every factor is
replicated. The estimators take ``comm=`` and ``fit(X_local, ...)`` the rank's column block;
this subpackage gives each rank its block (:func:`column_range`, :func:`load_columns`) and
the helpers that keep a failing rank from leaving the others blocked.
"""

from .._utils.collective import as_collective
from .._utils.collective import column_range as _range
from ._gather import gather_fit
from ._io import ColumnBlock, load_columns, load_corpus

__all__ = ["ColumnBlock", "column_range", "gather_fit", "load_columns", "load_corpus"]


def column_range(n, comm):
    """This rank's contiguous, balanced block of ``n`` columns as ``(start, stop)``: the
    first ``n mod P`` ranks of the ``P`` in ``comm`` get one column more.

    Parameters
    ----------
    n : int
        The number of columns (documents) of the whole data set.
    comm : mpi4py communicator or None
        None means one process: ``(0, n)``.

    Returns
    -------
    (int, int)
    """
    c = as_collective(comm)
    return _range(n, c.rank, c.size)
