"""Parameter constraints, declared once per estimator and checked by one function.

Each estimator lists its constructor parameters' constraints in ``_parameter_constraints``
(as scikit-learn's estimators do): a list of accepted kinds per parameter, any of which may
match. :func:`validate_params` checks them all at ``fit`` and returns the normalised values
(ints as ``int``, reals as ``float``, ranks as a tuple), so ``fit`` never re-codes a check. A
value that fits none raises :class:`~nnmf.exceptions.InvalidParameterError`, both a
``ValueError`` and a ``TypeError``.
"""

import numbers
import os

import numpy as np

from ..exceptions import InvalidParameterError

__all__ = ["Interval", "Options", "RANKS", "validate_params", "check_param", "check_ranks_fit"]


class Interval:
    """Numbers of one kind ("int" or "real") in an interval; ``None`` ends are open-ended.
    ``closed``: "both", "left", "right" or "neither". Reals must be finite."""

    def __init__(self, kind, left, right, *, closed="both"):
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def accepts(self, value):
        if isinstance(value, bool):
            return False
        if self.kind == "int" and not isinstance(value, numbers.Integral):
            return False
        if not isinstance(value, numbers.Real):
            return False
        try:
            if not np.isfinite(float(value)):
                return False
        except OverflowError:  # an int too large for a float
            return False
        if self.left is not None and (value < self.left or (
                value == self.left and self.closed in ("right", "neither"))):
            return False
        return self.right is None or not (value > self.right or (
            value == self.right and self.closed in ("left", "neither")))

    def normalise(self, value):
        return int(value) if self.kind == "int" else float(value)

    def __str__(self):
        what = "an int" if self.kind == "int" else "a finite number"
        if self.kind == "int" and self.left == 1 and self.right is None:
            return "a positive int"
        if self.kind == "real" and self.left == 0 and self.right is None:
            return "a positive finite number" if self.closed == "neither" \
                else "a nonnegative finite number"
        lo = "-inf" if self.left is None else self.left
        hi = "inf" if self.right is None else self.right
        lb = "[" if self.closed in ("both", "left") and self.left is not None else "("
        rb = "]" if self.closed in ("both", "right") and self.right is not None else ")"
        return f"{what} in {lb}{lo}, {hi}{rb}"


class Options:
    """One of a fixed set of strings."""

    def __init__(self, *choices):
        self.choices = choices

    def accepts(self, value):
        return isinstance(value, str) and value in self.choices

    def normalise(self, value):
        return value

    def __str__(self):
        return f"one of {self.choices}"


class _Kind:
    """A named kind of value with its own test and normalisation."""

    def __init__(self, description, accepts, normalise=lambda v: v):
        self.description, self.accepts, self.normalise = description, accepts, normalise

    def __str__(self):
        return self.description


def _as_ranks(value):
    return (int(value),) if isinstance(value, numbers.Integral) else tuple(int(k) for k in value)


def _is_ranks(value):
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return value >= 1
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        return False
    ranks = list(value)
    return bool(ranks) and all(
        isinstance(k, numbers.Integral) and not isinstance(k, bool) and k >= 1 for k in ranks)


RANKS = _Kind("a positive int or a non-empty sequence of positive ints", _is_ranks, _as_ranks)
_NAMED = {
    "boolean": _Kind("a bool", lambda v: isinstance(v, (bool, np.bool_)), bool),
    "callable": _Kind("a callable", callable),
    "random_state": _Kind(
        "an int, a numpy Generator or None",
        lambda v: isinstance(v, np.random.Generator)
        or (isinstance(v, numbers.Integral) and not isinstance(v, bool))),
    "verbose": _Kind("a bool or an int >= 0",
                     lambda v: isinstance(v, (bool, np.bool_))
                     or (isinstance(v, numbers.Integral) and v >= 0)),
    "n_threads": _Kind("a nonzero int",
                       lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool)
                       and v != 0, int),
    "list": _Kind("a list of arrays", lambda v: isinstance(v, (list, tuple))),
    "path": _Kind("a path (str or os.PathLike)", lambda v: isinstance(v, (str, os.PathLike))),
    "comm": _Kind("an mpi4py communicator",
                  lambda v: hasattr(v, "Get_rank") and hasattr(v, "Reduce")),
}


def _constraint(c):
    return _NAMED[c] if isinstance(c, str) else c


def check_param(value, name, constraints):
    """``value`` normalised by the first of ``constraints`` that accepts it; a ValueError
    naming the parameter and every accepted kind otherwise. ``None`` in ``constraints``
    accepts None."""
    for c in constraints:
        if c is None:
            if value is None:
                return None
            continue
        c = _constraint(c)
        if c.accepts(value):
            return c.normalise(value)
    kinds = [str(_constraint(c)) for c in constraints if c is not None]
    kinds += ["None"] * (None in constraints)
    raise InvalidParameterError(f"{name} must be {' or '.join(kinds)}, got {value!r}")


def validate_params(estimator):
    """Every constructor parameter of ``estimator`` checked against its class's
    ``_parameter_constraints``; returns ``{name: normalised value}``."""
    constraints = type(estimator)._parameter_constraints
    params = estimator.get_params()
    missing = set(params) - set(constraints)
    if missing:  # a programming error: every parameter is declared
        raise RuntimeError(f"{type(estimator).__name__} declares no constraints for "
                           f"{sorted(missing)}")
    return {name: check_param(value, name, constraints[name]) for name, value in params.items()}


def check_ranks_fit(ranks, shape, name="ranks", *, layerwise=True):
    """Each rank at most what the matrix its layer factorises allows: min(rows, columns).
    Layer 0 factorises X (``shape``); with ``layerwise`` layer l factorises S_{l-1}, whose
    rows are k_{l-1}, otherwise every layer is held to X's shape."""
    rows, n = shape
    for l, k in enumerate(ranks):
        if k > min(rows, n):
            label = name if len(ranks) == 1 else f"{name}[{l}]"
            raise ValueError(
                f"{label}={k} exceeds min(rows, columns) = {min(rows, n)} of the {rows} x {n} "
                f"matrix that layer {l} factorises")
        if layerwise:
            rows = k
    return ranks
