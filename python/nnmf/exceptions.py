"""Warnings and errors raised by nnmf."""

__all__ = ["ConvergenceWarning", "InvalidParameterError", "ModelFileError", "NotFittedError",
           "Terminated"]


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped at its iteration limit before meeting its tolerance.

    The result is still returned and usable; raise the limit (``max_iter``) or loosen ``tol``.
    """


class NotFittedError(ValueError, AttributeError):
    """An estimator was used (transform, predict, ...) before ``fit``.

    Subclasses both ``ValueError`` and ``AttributeError``, like scikit-learn's.
    """


class InvalidParameterError(ValueError, TypeError):
    """A parameter of the wrong type or out of range; the message names it and what it takes.

    Subclasses both ``ValueError`` and ``TypeError``, like scikit-learn's.
    """


class ModelFileError(ValueError):
    """A model file that :func:`nnmf.load_model` cannot load: not an nnmf model file, damaged
    (truncated, a bad checksum), written in a newer format version, or holding invalid
    content (metadata of the wrong shape, arrays that a fit cannot produce). The message
    starts with the file's path and says what is wrong.

    Subclasses ``ValueError``.
    """


class Terminated(Exception):
    """A fit stopped by SIGTERM, the signal a batch scheduler (Slurm) sends before it kills a
    job. The fit ends at the end of its current iteration: the model holds the best
    parameters met so far, and a fit with ``checkpoint=`` has written its last checkpoint,
    from which ``fit(..., resume=...)`` continues.
    """
