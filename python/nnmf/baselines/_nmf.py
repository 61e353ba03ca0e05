"""Flat (one-layer) NMF: X ≈ A S with A, S >= 0, by ANLS on the compiled core or by Lee–Seung
multiplicative updates."""

import warnings

import numpy as np

from .._utils.collective import Local, abort_on_error, agreed, column_random
from .._utils.estimator import BaseEstimator, check_is_fitted, check_random_state
from .._utils.params import Interval, Options, check_ranks_fit
from ..exceptions import ConvergenceWarning
from .._utils.linalg import chain, square_safe_exponent
from ..layer import (Operand, blas_threads_for, check_matrix, fortran, resolve_n_threads,
                     solve_layer)
from ..multilayer import (INITS, check_data, check_rows, data_scale, fit_data, nmf_anls, nndsvd,
                          random_factor, reconstruction_error)
from ._mu import nmf_mu

__all__ = ["NMF"]

SOLVERS = ("anls", "mu")

#: Constraints of the parameters every baseline shares.
COMMON_CONSTRAINTS = {
    "init": [Options(*INITS)],
    "max_iter": [Interval("int", 1, None)],
    "tol": [Interval("real", 0, None)],
    "random_state": [None, "random_state"],
    "verbose": ["verbose"],
    "n_threads": [None, "n_threads"],
}


def positive_fill(M, scale):
    """M with its zero entries raised to ``1e-2 * scale`` (multiplicative updates can never
    move an exact zero)."""
    M = np.array(M, dtype=np.float64)
    M[M <= 0] = 1e-2 * scale
    return M


def mu_init(Xop, k, init, rng, n_threads, collective):
    """Strictly positive (A, S) to start multiplicative updates from.

    "nndsvd": A from NNDSVD, S = q(X, A) (the exact NNLS solution); "random": both uniform
    with the scale of X (S drawn per column block, the same for any split of the columns
    across the ``collective``'s processes). Zeros are then raised to 1% of the mean entry of
    each factor so that no entry is locked at zero."""
    if init == "nndsvd":
        A = nndsvd(Xop, k, rng, collective)
        if not (A > 0).any():
            A = random_factor(Xop, k, rng, collective)
        S = solve_layer(fortran(A, Xop.dtype), Xop, n_threads=n_threads)[0]
    else:
        A = random_factor(Xop, k, rng, collective)
        start, stop, _ = collective.block(Xop.shape[1])
        scale = np.sqrt(max(data_scale(Xop, collective), np.finfo(float).tiny) / k)
        S = column_random(int(rng.integers(2**63)), start, stop, k).T * scale
    total, count = collective.sum(float(np.sum(S)), float(S.size))
    tiny = np.finfo(float).tiny
    return (positive_fill(A, max(float(np.mean(A)), tiny)),
            positive_fill(S, max(total / max(count, 1.0), tiny)))


def _anls_converged(history, max_iter, tol):
    if len(history) < max_iter:
        return True
    return len(history) >= 2 and abs(history[-2] - history[-1]) <= tol * history[-2]


def fit_nmf(Xop, k, *, solver, init, max_iter, tol, rng, n_threads, verbose=0,
            collective=None):
    """One NMF, as the estimators run it. Returns (A, S, history, converged) with history the
    relative error after every iteration. With a ``collective``, X and S are this process's
    columns."""
    collective = Local() if collective is None else collective
    callback = None
    if solver == "anls":
        if verbose:
            def callback(it, state):
                print(f"NMF(anls) iteration {it}: relative error {state['error']:.6g}")
        A, S, history = nmf_anls(Xop, k, init=init, max_iter=max_iter, tol=tol,
                                 random_state=rng, n_threads=n_threads, callback=callback,
                                 warn=False, comm=collective)
        return A, S, np.asarray(history), _anls_converged(history, max_iter, tol)
    # the start and the norms are BLAS work too, whose rounding follows BLAS's thread count
    with blas_threads_for(Xop, k):
        A0, S0 = mu_init(Xop, k, init, rng, n_threads, collective)
        (xsq,) = collective.sum(Xop.sqnorm())
        scale = 2.0 / xsq if xsq > 0 else 0.0
        if verbose:
            def callback(it, A, S, obj):
                print(f"NMF(mu) iteration {it}: relative error {np.sqrt(obj * scale):.6g}")
        A, S, history, converged = nmf_mu(Xop, k, A_init=A0, S_init=S0, max_iter=max_iter,
                                          tol=tol, n_threads=n_threads, callback=callback,
                                          collective=collective)
    return A, S, np.sqrt(np.asarray(history[1:]) * scale), converged


def _data_exponent(Xop, collective):
    """square_safe_exponent of X's entries over every process (0 near unit scale)."""
    e = square_safe_exponent(Xop.matrix.data if Xop.is_sparse else Xop.matrix)
    return max(collective.allgather(e), key=abs) if collective is not None else e


def _scaled_data(Xop, e):
    """X * 2^-e (exact), in X's format."""
    if Xop.is_sparse:
        X = Xop.matrix.copy()
        X.data = np.ldexp(X.data, -e)
        return X
    return np.ldexp(Xop.matrix, -e)


def unit_scaled(Xop, collective=None):
    """(the data a baseline fits, e): X * 2^-e as an Operand, with e = 0 (and X itself, not
    a copy) unless X's squares would under- or overflow double. Every baseline's objective is
    homogeneous of degree 2 in (X, S) (their label terms are normalised by ||X||^2 or
    ||S_{L-1}||^2), and a power of two scales exactly, so the fit of the scaled data is the fit
    of X with S scaled by 2^-e (and B by 2^e): the caller scales them back."""
    e = _data_exponent(Xop, collective)
    return (Xop, 0) if e == 0 else (Operand(_scaled_data(Xop, e), dtype=Xop.dtype), e)


def data_error(Xop, As, S, n_threads, collective=None):
    """reconstruction_error, also for data whose squared norm under- or overflows double:
    X and S are first scaled by the same power of two (square_safe_exponent, agreed over
    the collective), and then the columns of P = A_0 ... A_L and the rows of S by opposite
    powers of two, none of which changes the relative error or P S."""
    e = _data_exponent(Xop, collective)
    if e == 0:
        return reconstruction_error(Xop, As, S, n_threads, collective=collective)
    X = _scaled_data(Xop, e)
    P = chain([np.asarray(A, dtype=np.float64) for A in As])
    f = np.frexp(np.abs(P).max(axis=0, initial=0.0))[1]
    if collective is not None:  # P is the same on every process
        f = collective.bcast(f)
    P = np.ldexp(P, -f[None, :])
    S = np.ldexp(np.asarray(S, dtype=np.float64), (f - e)[:, None])
    return reconstruction_error(Operand(X, dtype=Xop.dtype), [P.astype(Xop.dtype)],
                                S.astype(Xop.dtype), n_threads, collective=collective)


def warn_not_converged(what, max_iter, tol, stacklevel=3):
    warnings.warn(f"{what} reached max_iter={max_iter} before meeting tol={tol}; increase "
                  "max_iter", ConvergenceWarning, stacklevel=stacklevel)


class FixedBasisTransformMixin:
    """``transform`` for the one-layer estimators: NNLS coefficients on the fitted ``A_``."""

    def transform(self, X):
        """Coefficients of new data with A fixed: S = argmin_{S >= 0} ``||X - A_ S||_F^2`` (a label
        term, where the model has one, plays no part: the labels of new data are unknown).

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (m, n_new)

        Returns
        -------
        S : ndarray of shape (k, n_new)
        """
        check_is_fitted(self, "A_")
        Xop = check_data(X)
        check_rows(Xop, self.n_features_in_)
        return solve_layer(fortran(self.A_, Xop.dtype), Xop,
                           n_threads=resolve_n_threads(self.n_threads))[0]


class NMF(FixedBasisTransformMixin, BaseEstimator):
    """Nonnegative matrix factorisation X ≈ A S (one layer), columns of X as samples.

    Minimises ½||X - A S||_F^2 over A >= 0 (m x k) and S >= 0 (k x n).

    Parameters
    ----------
    n_components : int
        The rank k.
    solver : {"anls", "mu"}, default="anls"
        "anls": alternating nonnegative least squares, each factor solved exactly by the
        compiled active-set NNLS (:func:`nnmf.nnls`); few, exact iterations. "mu": Lee &
        Seung's multiplicative updates, whose objective never increases; many cheap
        iterations.
    init : {"nndsvd", "random"}, default="nndsvd"
        "nndsvd": A from the nonnegative double SVD of Boutsidis & Gallopoulos (with "mu",
        S = nnls(A, X) and zero entries of both raised to 1% of the factor's mean, since a
        multiplicative update never moves a zero); "random": uniform entries scaled to the
        mean of X, from ``random_state``.
    max_iter : int, default=200
        Maximum number of iterations.
    tol : float, default=1e-4
        Stop when the relative error ||X - A S||_F / ||X||_F changes by at most ``tol`` times
        its value in one iteration. 0 runs all ``max_iter`` iterations.
    random_state : None, int or numpy.random.Generator, default=None
        Seeds "random" init and the randomized SVD of "nndsvd" (on more than 2048 rows).
    verbose : int, default=0
        Print the relative error after every iteration when positive.
    n_threads : int, default=None
        Threads of the compiled core; None = OpenMP's maximum, negative counts down from it.
    comm : mpi4py communicator, default=None
        Data-parallel over MPI: each rank fits its own block of columns; ``A_``,
        ``history_``, ``n_iter_`` and ``reconstruction_err_`` are then global and the same on
        every rank, ``S_`` the rank's block. None: one process.

    Attributes
    ----------
    A_ : ndarray of shape (m, k)
        The basis (topics): column i is topic i over the m features.
    S_ : ndarray of shape (k, n)
        The coefficients of the training columns.
    components_ : ndarray of shape (k, m)
        ``A_.T``, scikit-learn's name and orientation (rows are components over features).
    history_ : ndarray of shape (``n_iter_``,)
        The relative error after every iteration (non-increasing for "mu").
    reconstruction_err_ : float
        The final relative error ``||X - A_ S_||_F / ||X||_F``.
    n_iter_ : int
        Iterations run.
    n_features_in_ : int
        m, the number of rows of the training X.

    See Also
    --------
    HierarchicalNMF : this NMF applied layer after layer.
    SSNMF : NMF with a label term (semi-supervised).

    References
    ----------
    D. D. Lee and H. S. Seung, "Algorithms for non-negative matrix factorization", Advances in
    Neural Information Processing Systems 13, 2001.

    H. Kim and H. Park, "Nonnegative matrix factorization based on alternating nonnegativity
    constrained least squares and active set method", SIAM J. Matrix Anal. Appl. 30(2), 2008.
    https://doi.org/10.1137/07069239X

    C. Boutsidis and E. Gallopoulos, "SVD based initialization: A head start for nonnegative
    matrix factorization", Pattern Recognition 41(4), 2008.
    https://doi.org/10.1016/j.patcog.2007.09.010

    Examples
    --------
    >>> import numpy as np, nnmf
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((30, 4)) @ rng.random((4, 50)) + 0.01 * rng.random((30, 50))
    >>> model = nnmf.NMF(4, init="random", random_state=0).fit(X)
    >>> model.A_.shape, model.S_.shape, bool(model.reconstruction_err_ < 0.01)
    ((30, 4), (4, 50), True)
    """

    _parameter_constraints = {"n_components": [Interval("int", 1, None)],
                              "solver": [Options(*SOLVERS)], "comm": [None, "comm"],
                              **COMMON_CONSTRAINTS}

    def __init__(self, n_components, *, solver="anls", init="nndsvd", max_iter=200, tol=1e-4,
                 random_state=None, verbose=0, n_threads=None, comm=None):
        self.n_components = n_components
        self.solver = solver
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.n_threads = n_threads
        self.comm = comm

    def fit(self, X, y=None):
        """Fit the factorisation to X.

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (m, n)
            Nonnegative data, columns are samples. Sparse X is never densified.
        y : None
            Ignored.

        Returns
        -------
        self
        """
        self.fit_transform(X)
        return self

    def fit_transform(self, X, y=None):
        """Fit to X and return the coefficients ``S_`` (k x n)."""
        collective, Xop, n = fit_data(X, self.comm)
        p = agreed(collective, self._validate_params)
        k = check_ranks_fit((p["n_components"],), (Xop.shape[0], n), "n_components")[0]
        Xop, e = unit_scaled(Xop, collective)
        n_threads = resolve_n_threads(p["n_threads"])
        with abort_on_error(collective):
            A, S, history, converged = fit_nmf(
                Xop, k, solver=p["solver"], init=p["init"], max_iter=p["max_iter"],
                tol=p["tol"], rng=check_random_state(p["random_state"]), n_threads=n_threads,
                verbose=p["verbose"], collective=collective)
        if not converged and p["tol"] > 0:
            warn_not_converged(f"NMF(solver={p['solver']!r})", p["max_iter"], p["tol"])
        self.A_ = np.asarray(A)
        self.history_ = history
        self.n_iter_ = len(history)
        self.reconstruction_err_ = data_error(Xop, [self.A_], S, n_threads,
                                              collective=collective)
        self.S_ = np.ldexp(np.asarray(S), e) if e else np.asarray(S)
        self.n_features_in_ = Xop.shape[0]
        return self.S_

    @property
    def components_(self):
        """``A_.T`` (k x m), scikit-learn's orientation."""
        check_is_fitted(self, "A_")
        return self.A_.T

    def inverse_transform(self, S):
        """The reconstruction ``A_ S`` (m x n) of coefficients S (k x n)."""
        check_is_fitted(self, "A_")
        S = check_matrix(S, "S")
        if S.shape[0] != self.A_.shape[1]:
            raise ValueError(f"S has {S.shape[0]} rows, expected n_components="
                             f"{self.A_.shape[1]}")
        return self.A_ @ S
