"""Class labels for the supervised and semi-supervised estimators.

Labels are integers or strings, one per column (document) of X. A label is unknown where
``label_mask`` is False, or where it is -1 (numeric labels) or None (object labels).
"""

import numpy as np

__all__ = ["encode_labels", "one_hot"]


def _unknown_marks(y):
    if y.dtype.kind in "iuf":
        return y == -1
    if y.dtype.kind == "O":
        return np.array([v is None or (isinstance(v, (int, np.integer)) and v == -1)
                         for v in y], dtype=bool)
    return np.zeros(y.shape, dtype=bool)


def encode_labels(y, n, label_mask=None, *, name="y"):
    """Validate labels for n columns.

    Returns
    -------
    classes : ndarray
        The sorted distinct known labels.
    codes : ndarray of int, shape (n,)
        Index into ``classes`` of each column's label, -1 where unknown.
    known : ndarray of bool, shape (n,)
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one label per column of X), got shape {y.shape}")
    if y.shape[0] != n:
        raise ValueError(f"{name} has {y.shape[0]} labels but X has {n} columns (documents)")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"{name} contains NaN or infinity; mark unknown labels with -1")
    if y.dtype.kind not in "iufUSO":
        raise TypeError(f"{name} must hold integers or strings, got dtype {y.dtype}")
    known = ~_unknown_marks(y)
    if label_mask is not None:
        mask = np.asarray(label_mask)
        if mask.dtype != bool:
            raise ValueError(f"label_mask must be a boolean array, got dtype {mask.dtype}")
        if mask.shape != (n,):
            raise ValueError(
                f"label_mask has shape {mask.shape}, expected ({n},) (one flag per column of X)")
        known &= mask
    if not known.any():
        raise ValueError(
            "no known labels: supervision needs at least one labelled column "
            "(label_mask and -1 entries mark every label unknown)")
    if y.dtype.kind == "f" and not np.array_equal(y[known], np.round(y[known])):
        raise ValueError(f"{name} must hold class labels (integers or strings), got fractions")
    classes, inverse = np.unique(y[known], return_inverse=True)
    if classes.size < 2:
        raise ValueError(
            f"the known labels hold only one class ({classes[0]!r}); classification needs "
            "at least two")
    codes = np.full(n, -1, dtype=np.intp)
    codes[known] = inverse.ravel()
    return classes, codes, known


def one_hot(codes, n_classes, dtype=np.float64):
    """(n_classes, n) one-hot matrix of codes; all-zero columns where the code is -1."""
    Y = np.zeros((n_classes, codes.shape[0]), dtype=dtype)
    idx = np.flatnonzero(codes >= 0)
    Y[codes[idx], idx] = 1
    return Y
