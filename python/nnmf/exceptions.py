"""Warnings and errors raised by nnmf."""

__all__ = ["ConvergenceWarning"]


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped at its iteration limit before meeting its tolerance.

    The result is still returned and usable; raise the limit (``max_iter``) or loosen ``tol``.
    """
