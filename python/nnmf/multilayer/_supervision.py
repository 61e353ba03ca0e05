"""What the supervised estimators share: label handling at fit time and the linear classifier
B S on the last layer's coefficients at predict time."""

import numpy as np

from .._utils.estimator import check_is_fitted
from .._utils.labels import check_labels, encode_labels, one_hot
from ..layer import as_operand, resolve_n_threads
from ._forward import reconstruction_error

__all__ = ["LabelTermMixin", "prepare_labels", "prepare_optional_labels"]


def prepare_labels(y, n, label_mask, collective=None):
    """Labels for n training columns -> (classes, codes, Y (c x n one-hot, zero columns where
    unknown), weights (n,), 1.0 where known). With a ``collective``, the classes are agreed
    across its processes (each passing its own columns' labels)."""
    classes, codes, known = check_labels(y, n, label_mask, collective=collective)
    return classes, codes, one_hot(codes, classes.size), known.astype(np.float64)


def prepare_optional_labels(y, n, label_mask, collective=None):
    """:func:`prepare_labels` for an estimator whose labels are optional: None when y is None
    (a ``label_mask`` without y is an error); every process of a ``collective`` must give
    labels, or none."""
    with_labels = y is not None
    if collective is not None and collective.distributed:
        given = collective.allgather(with_labels)
        if len(set(given)) > 1:
            raise ValueError(f"labels y were given on ranks {[r for r, g in enumerate(given) if g]}"
                             " only: give every rank its columns' labels (-1 where unknown)")
    if not with_labels:
        if label_mask is not None:
            raise ValueError("label_mask was given without labels y")
        return None
    return prepare_labels(y, n, label_mask, collective)


def class_scores_to_proba(Z):
    """Columns of B S (c x n) as probabilities (n x c): clipped at zero and normalised, uniform
    where a column is all zero."""
    P = np.maximum(np.asarray(Z, dtype=np.float64), 0.0).T
    total = P.sum(axis=1, keepdims=True)
    uniform = np.full_like(P, 1.0 / P.shape[1])
    return np.where(total > 0, P / np.where(total > 0, total, 1.0), uniform)


class LabelTermMixin:
    """predict / predict_proba / decision_function / score for an estimator with a fitted
    classifier ``B_`` (c x k_L) acting on ``transform(X)`` (k_L x n), and ``classes_``."""

    def _check_supervised(self):
        check_is_fitted(self, "A_")
        if getattr(self, "B_", None) is None:
            raise ValueError(f"this {type(self).__name__} was fitted without labels (y=None); "
                             "prediction needs a supervised or semi-supervised fit")

    def decision_function(self, X):
        """Class scores ``B_ S`` of new data, S from :meth:`transform`.

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (m, n_new)

        Returns
        -------
        scores : ndarray of shape (n_new, n_classes)
        """
        self._check_supervised()
        return (self.B_ @ self.transform(X)).T

    def predict(self, X):
        """Class labels of new data: ``classes_[argmax B_ S]``, S from :meth:`transform`.

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (m, n_new)

        Returns
        -------
        labels : ndarray of shape (n_new,)
        """
        scores = self.decision_function(X)  # checks that the fit was supervised
        return self.classes_[np.argmax(scores, axis=1)]

    def predict_proba(self, X):
        """Class probabilities of new data: the scores ``B_ S`` clipped at zero and normalised to
        sum to one (uniform where every score is zero). The least-squares label term fits
        B S to one-hot columns, so the scores are already close to probabilities.

        Returns
        -------
        proba : ndarray of shape (n_new, n_classes)
        """
        self._check_supervised()
        return class_scores_to_proba(self.B_ @ self.transform(X))

    def score(self, X, y=None):
        """With y: the accuracy of :meth:`predict` on the columns of X whose label in y is
        known (not -1). Without: minus the relative reconstruction error
        ||X - A_0 ... A_L S_L||_F / ||X||_F of X through :meth:`transform` (higher is better).

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (m, n)
        y : array-like of shape (n,), default=None

        Returns
        -------
        float
        """
        if y is None:
            return -self._transform_error(X)
        self._check_supervised()
        pred = self.predict(X)
        if np.shape(y) != pred.shape:
            raise ValueError(f"y has shape {np.shape(y)}, expected ({pred.shape[0]},)")
        classes, codes = encode_labels(y)   # the labels as the fit read them
        known = codes >= 0
        if not known.any():
            raise ValueError("y has no known labels to score against")
        return float(np.mean(pred[known] == classes[codes[known]]))

    def _transform_error(self, X):
        """||X - A_0 ... A_L S_L||_F / ||X||_F with S_L = transform(X), without an m x n
        matrix."""
        check_is_fitted(self, "A_")
        Xop = as_operand(X, "X", nonnegative=True)
        As = self.A_ if isinstance(self.A_, list) else [self.A_]
        return reconstruction_error(Xop, As, np.asarray(self.transform(Xop)),
                                    resolve_n_threads(getattr(self, "n_threads", None)))

    def _set_transduction(self, S_last):
        """``transduction_``: the labels the fitted classifier gives the training columns (from
        the fitted coefficients, which the label term shaped on the labelled columns)."""
        self.transduction_ = self.classes_[np.argmax(self.B_ @ S_last, axis=0)]
