"""Class labels: the one encoder every estimator and corpus reader uses.

Labels are integers or strings, one per column (document) of X. The rule for an unknown
label, the same for lists, numpy arrays of any dtype and pandas Series: None, NaN (and
pandas' NA), the number -1, and the strings "-1" and "" (after stripping spaces). A label is
also unknown where an estimator's ``label_mask`` is False. Known labels must be all numbers
(integers, or floats with integer values) or all strings: a mix is refused rather than guessed
at.
"""

import math
import numbers

import numpy as np

__all__ = ["encode_labels", "check_labels", "one_hot"]


def _is_unknown(v):
    if v is None or _is_pandas_na(v):
        return True
    if isinstance(v, str):
        return v.strip() in ("", "-1")
    if isinstance(v, (numbers.Real, np.number)) and not isinstance(v, (bool, np.bool_)):
        return math.isnan(float(v)) or float(v) == -1
    return False


def _is_pandas_na(v):
    """pandas.NA, the missing value of pandas' nullable dtypes (without importing pandas)."""
    kind = type(v)
    return kind.__name__ == "NAType" and kind.__module__.split(".")[0] == "pandas"


def _is_int_text(text):
    try:
        int(text)
    except ValueError:
        return False
    return True


def encode_labels(y, *, name="y"):
    """Encode labels by the module's rule.

    Returns
    -------
    classes : ndarray
        The sorted distinct known labels: int64 for numbers, str for strings (numerically
        sorted when they all spell integers).
    codes : ndarray of int, shape (len(y),)
        Index into ``classes`` of each label, -1 where unknown.
    """
    values = list(y.tolist() if isinstance(y, np.ndarray) else y)
    if any(isinstance(v, (list, tuple, np.ndarray)) for v in values):
        raise ValueError(f"{name} must be 1-D (one label per column of X)")
    unknown = np.array([_is_unknown(v) for v in values], dtype=bool)
    known = [v for v, u in zip(values, unknown) if not u]
    strings = [isinstance(v, (str, bytes)) for v in known]
    if any(strings) and not all(strings):
        raise ValueError(f"{name} mixes numbers and strings; use one kind of label (unknown "
                         "labels: None, -1 or '')")
    if all(strings):
        texts = [v.decode() if isinstance(v, bytes) else v.strip() for v in known]
        names = sorted(set(texts))
        if names and all(_is_int_text(t) for t in names):
            names.sort(key=int)
        classes = np.array(names, dtype=str)
        keys = texts
    else:
        for v in known:
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Real, np.number)):
                raise TypeError(f"{name} must hold integers or strings, got {type(v).__name__}")
            if not math.isfinite(float(v)):
                raise ValueError(f"{name} contains infinity; mark unknown labels with -1")
            if float(v) != int(v):
                raise ValueError(f"{name} must hold class labels (integers or strings), got "
                                 "fractions")
        keys = [int(v) for v in known]
        classes = np.array(sorted(set(keys)), dtype=np.int64)
    index = {c: i for i, c in enumerate(classes.tolist())}
    codes = np.full(len(values), -1, dtype=np.intp)
    codes[~unknown] = [index[k] for k in keys]
    return classes, codes


def check_labels(y, n, label_mask=None, *, name="y", collective=None):
    """Labels for n training columns, for a supervised fit.

    With a ``collective`` over several processes, each passes the labels of its own columns:
    the classes are agreed across processes (the union of the known labels, sorted by the
    same rule), so that codes mean the same everywhere.

    Returns
    -------
    classes : ndarray
        The sorted distinct known labels (at least two).
    codes : ndarray of int, shape (n,)
        Index into ``classes`` of each column's label, -1 where unknown or masked.
    known : ndarray of bool, shape (n,)
    """
    error = None
    try:
        if np.ndim(y) != 1:
            raise ValueError(f"{name} must be 1-D (one label per column of X), got shape "
                             f"{np.shape(y)}")
        if len(y) != n:
            raise ValueError(f"{name} has {len(y)} labels but X has {n} columns (documents)")
        classes, codes = encode_labels(y, name=name)
        known = codes >= 0
        if label_mask is not None:
            mask = np.asarray(label_mask)
            if mask.dtype != bool:
                raise ValueError(f"label_mask must be a boolean array, got dtype {mask.dtype}")
            if mask.shape != (n,):
                raise ValueError(f"label_mask has shape {mask.shape}, expected ({n},) (one "
                                 "flag per column of X)")
            known &= mask
    except (TypeError, ValueError) as exc:
        error = exc
    if collective is not None:
        collective.agree(error)
    elif error is not None:
        raise error
    used = classes[np.unique(codes[known])]
    if collective is not None and collective.distributed:
        # the union of every process's known labels, ordered by encode_labels's rule
        merged = [v for part in collective.allgather(used.tolist()) for v in part]
        used = encode_labels(merged, name=name)[0] if merged else used[:0]
    if used.size == 0:
        raise ValueError(
            "no known labels: supervision needs at least one labelled column "
            "(label_mask and -1 entries mark every label unknown)")
    if used.size < 2:
        raise ValueError(
            f"the known labels hold only one class ({used[0]!r}); classification "
            "needs at least two")
    # codes into the classes of this fit (classes seen only on masked-out columns are not)
    index = {c: i for i, c in enumerate(used.tolist())}
    local = np.array([index.get(c, -1) for c in classes.tolist()], dtype=np.intp)
    return used, np.where(known, local[np.maximum(codes, 0)], -1), known


def one_hot(codes, n_classes, dtype=np.float64):
    """(n_classes, n) one-hot matrix of codes; all-zero columns where the code is -1."""
    Y = np.zeros((n_classes, codes.shape[0]), dtype=dtype)
    idx = np.flatnonzero(codes >= 0)
    Y[codes[idx], idx] = 1
    return Y
