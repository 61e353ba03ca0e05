"""The forward pass through a stack of NNLS layers, and what the multilayer estimators build
on it: ``transform``, ``topic_matrices`` and the reconstruction error."""

import numbers

from .._utils.collective import agreed, as_collective
from .._utils.estimator import check_is_fitted
from .._utils.params import check_param
from .._utils.linalg import chain, fit_sq, prefix_chains, relative_error
from ..layer import Operand, as_operand, gram, resolve_n_threads, solve_layer
from ..layer._validation import fortran, tall

__all__ = ["forward", "reconstruction_error", "check_data", "fit_data", "check_rows",
           "check_layer",
           "MultilayerMixin"]


def forward(As, Xop, n_threads, *, init=None, dtype=None):
    """S_0 = q(X, A_0), S_l = q(S_{l-1}, A_l) for every A in ``As``.

    ``init``: a list of previous S's to warm-start each layer from (None: cold starts).
    ``dtype``: the working dtype (None: X's). Each A is used in the memory order it has.
    Returns (Ss, C0, Gs): C0 = A_0^T X and Gs the Gram matrices A_l^T A_l (float64),
    which a loss evaluated at this point reuses."""
    dtype = Xop.dtype if dtype is None else dtype
    Ss, Gs, C0 = [], [], None
    Z = Xop
    for l, A in enumerate(As):
        A = tall(A, dtype)
        G = gram(A, n_threads)
        start = None if init is None else fortran(init[l], dtype)
        S, C, _, _ = solve_layer(A, Z, start, n_threads=n_threads, G=G)
        if l == 0:
            C0 = C
        Ss.append(S)
        Gs.append(G)
        Z = Operand.trusted(S)
    return Ss, C0, Gs


def reconstruction_error(Xop, As, S, n_threads, *, C0=None, G0=None, collective=None):
    """||X - A_0 ... A_L S||_F / ||X||_F without an m x n matrix; C0 = A_0^T X and
    G0 = A_0^T A_0 when the caller has them (from :func:`forward`). With a ``collective``,
    X and S are this process's columns and the error is over every process's."""
    A0 = As[0]
    if C0 is None:
        C0 = Xop.tdot(tall(A0, Xop.dtype), n_threads)
    if G0 is None:
        G0 = gram(tall(A0, Xop.dtype), n_threads)
    f64 = [M.astype("float64", copy=False) for M in (C0, S)]
    Q = chain([A.astype("float64", copy=False) for A in As[1:]])
    Xsq = Xop.sqnorm()
    fit = fit_sq(Xsq, f64[0], G0, Q, f64[1])[0]
    if collective is not None:
        fit, Xsq = collective.sum(fit, Xsq)
    return relative_error(fit, Xsq)


def check_data(X):
    """X as a nonnegative Operand (dense or sparse, never densified)."""
    return as_operand(X, "X", nonnegative=True)


def fit_data(X, comm):
    """What a fit starts from: (collective, Xop, n) with the fit's collective for ``comm``
    (an mpi4py communicator or None), this process's columns of X as a nonnegative Operand
    (checked on every process; a bad block on one raises on all) and the number of columns
    of all processes."""
    collective = as_collective(check_param(comm, "comm", [None, "comm"]))
    Xop = agreed(collective, lambda: check_data(X))
    return collective, Xop, collective.block(Xop.shape[1])[2]


def check_rows(Xop, m):
    """The new data's rows must be the training data's features."""
    if Xop.shape[0] != m:
        raise ValueError(
            f"X has {Xop.shape[0]} rows (features) but the model was fitted on the training "
            f"data with {m}")


def check_layer(layer, n_layers):
    """``layer`` of transform: an int in [-L-1, L] or "all"; an int is returned in [0, L]."""
    if layer == "all" or (isinstance(layer, numbers.Integral) and not isinstance(layer, bool)
                          and -n_layers <= layer < n_layers):
        return layer if layer == "all" else int(layer) % n_layers
    raise ValueError(f"layer must be an int in [{-n_layers}, {n_layers - 1}] or 'all', got "
                     f"{layer!r}")


class MultilayerMixin:
    """``transform`` and ``topic_matrices`` of an estimator with a fitted list ``A_``.

    ``transform`` runs :meth:`_coefficients`, by default the forward pass through the
    fitted layers (an estimator whose coefficients come otherwise overrides it)."""

    def topic_matrices(self):
        """The word profiles of every layer's topics: [A_0, A_0 A_1, ..., A_0 ... A_L].

        Returns
        -------
        list of ndarray
            Entry l has shape (m, k_l); its columns are layer l's topics over the features.
        """
        check_is_fitted(self, "A_")
        return prefix_chains(self.A_)

    def transform(self, X, *, layer=-1):
        """The coefficients of new data with the fitted factors.

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (n_features, n_new)
        layer : int or "all", default=-1
            Which layer's S to return (negative counts from the top); "all" returns the
            list S_0, ..., S_L.

        Returns
        -------
        S : ndarray of shape (k_layer, n_new), or a list of them for ``layer="all"``
        """
        check_is_fitted(self, "A_")
        layer = check_layer(layer, len(self.A_))
        Xop = check_data(X)
        check_rows(Xop, self.n_features_in_)
        top = len(self.A_) - 1 if layer == "all" else layer
        Ss = self._coefficients(Xop, top, resolve_n_threads(self.n_threads))
        return Ss if layer == "all" else Ss[top]

    def _coefficients(self, Xop, top, n_threads):
        """S_0, ..., S_top of new data: the forward pass through the fitted layers."""
        return forward(self.A_[:top + 1], Xop, n_threads)[0]
