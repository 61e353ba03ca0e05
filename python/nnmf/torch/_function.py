"""``nnmf.torch.nnls``: the NNLS layer S = argmin_{S >= 0} ||X - A S||_F^2 as a
``torch.autograd.Function`` (the ``forward`` + ``setup_context`` form, so that ``torch.func``
can transform it), with the core's exact VJP as ``backward`` and its JVP as ``jvp``.

The tensors go to the core without a copy where their layout allows
(``Tensor.detach().numpy()`` shares memory): A contiguous in either order, X dense in any
order or sparse (COO, CSR or CSC), and S comes back column-ordered as the core makes it (a
k x n tensor with strides (1, k)). Everything the backward pass needs from the forward pass
(the operand X, A^T A, S) is kept with the autograd node, so that backward forms no Gram
matrix and converts no sparse matrix again.
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass
from typing import Optional

import numpy as np
import scipy.sparse as sp
import torch

from .._utils.linalg import times
from .._utils.params import Interval, check_param
from ..exceptions import ConvergenceWarning
from ..layer import (Operand, fortran, gram, nnls_jvp, resolve_n_threads, solve_layer,
                     support_solve, tall, vjp_layer)

__all__ = ["nnls", "SECOND_DERIVATIVE_MESSAGE"]

_FLOATS = (torch.float32, torch.float64)
_SPARSE_LAYOUTS = (torch.sparse_coo, torch.sparse_csr, torch.sparse_csc)

SECOND_DERIVATIVE_MESSAGE = (
    "nnmf.torch.nnls is once differentiable: its backward and jvp are exact first "
    "derivatives computed by nnmf's compiled core, which are not themselves differentiable "
    "by PyTorch. Second derivatives (double backward, create_graph=True followed by another "
    "grad, Hessians, jacfwd(jacrev(...)), grad(grad(...))) are not supported")


# --------------------------------------------------------------------------------- checks

def _check_tensor(T, name, *, matrix=True):
    if not isinstance(T, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(T).__name__} (for numpy "
                        "arrays and scipy sparse matrices use nnmf.nnls)")
    if T.device.type != "cpu":
        raise ValueError(
            f"{name} is on the {T.device} device, but nnmf's NNLS layer runs on the CPU only "
            f"(its compiled core has no GPU kernels): move it with {name}.cpu() (and the "
            "result back with .to(device))")
    if matrix and T.dim() != 2:
        raise ValueError(f"{name} must be 2-D, got a {T.dim()}-D tensor of shape "
                         f"{tuple(T.shape)}")
    if T.is_complex() or T.dtype in (torch.float16, torch.bfloat16) or (
            T.is_floating_point() and T.dtype not in _FLOATS):
        raise TypeError(f"{name} has dtype {T.dtype}: nnmf.torch.nnls computes in float32 "
                        "or float64; convert it with .float() or .double()")


def _working_dtype(*tensors):
    """float32 when every tensor is float32, otherwise float64 (nnmf's rule, which is also
    torch's type promotion for these two)."""
    if all(T.dtype == torch.float32 for T in tensors):
        return torch.float32
    return torch.float64


def _np_dtype(dtype):
    return np.dtype(np.float32) if dtype == torch.float32 else np.dtype(np.float64)


def _numpy(T):
    """The tensor's memory as a numpy array (no copy)."""
    try:
        return T.detach().numpy()
    except RuntimeError as exc:  # a tensor without memory of its own (a transform's, fake)
        raise RuntimeError(f"nnmf.torch.nnls cannot hand this tensor to nnmf's core: {exc}. "
                           "Under a transform other than torch.func.grad/vjp/jvp (vmap, "
                           "a second derivative) the layer is not supported") from None


def _sparse_to_scipy(X):
    """A torch sparse COO, CSR or CSC tensor as the scipy matrix of the same arrays (no
    copy of the values for CSR and CSC; a coalesced COO is row-sorted, so it becomes a CSR
    matrix from its column indices and values)."""
    shape = tuple(X.shape)
    if X.layout == torch.sparse_csr:
        return sp.csr_matrix((_numpy(X.values()), _numpy(X.col_indices()),
                              _numpy(X.crow_indices())), shape=shape)
    if X.layout == torch.sparse_csc:
        return sp.csc_matrix((_numpy(X.values()), _numpy(X.row_indices()),
                              _numpy(X.ccol_indices())), shape=shape)
    X = X if X.is_coalesced() else X.coalesce()
    rows, cols = _numpy(X.indices())
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    return sp.csr_matrix((_numpy(X.values()), cols, indptr), shape=shape)


def _operand(X, dtype):
    """X as an nnmf.layer.Operand in the working dtype (numpy dtype)."""
    if X.layout in _SPARSE_LAYOUTS:
        return Operand(_sparse_to_scipy(X), "X", dtype=dtype)
    # defer_check: a NaN or infinity in X is caught from A^T X, without a pass over X
    return Operand(_numpy(X), "X", defer_check=True).astype(dtype)


# ------------------------------------------------------------------------------- function

@dataclass
class _Options:
    """The non-tensor arguments of one call."""
    n_threads: int
    max_iter: int
    tol: float
    dtype: torch.dtype                  # the working dtype


@dataclass
class _State:
    """What backward and jvp need from the forward pass (numpy views, no copies)."""
    A: np.ndarray                       # A in the working dtype, contiguous
    Xop: Operand
    S: np.ndarray                       # k x n, column-ordered
    gram: np.ndarray                    # A^T A, float64
    n_threads: int
    converged: Optional[np.ndarray] = None


class NNLSFunction(torch.autograd.Function):
    """S = argmin_{S >= 0} ||X - A S||_F^2 with the core's exact derivatives.
    ``NNLSFunction.apply(A, X, init, options)``; use ``nnmf.torch.nnls``, which checks the
    arguments."""

    @staticmethod
    def forward(A, X, init, options):
        dtype = _np_dtype(options.dtype)
        A_np = tall(_numpy(A), dtype)
        Xop = _operand(X, dtype)
        start = None if init is None else fortran(_numpy(init), dtype)
        G = gram(A_np, options.n_threads)
        S, _, _, converged = solve_layer(A_np, Xop, start, n_threads=options.n_threads,
                                         max_iter=options.max_iter, tol=options.tol, G=G)
        state = _State(A_np, Xop, S, G, options.n_threads, converged)
        return torch.from_numpy(S), state

    @staticmethod
    def setup_context(ctx, inputs, output):
        A, X, _, _ = inputs
        S, state = output
        ctx.state = state
        ctx.dtypes = (A.dtype, X.dtype)
        X = None if X.layout in _SPARSE_LAYOUTS else X
        # Saved so that autograd refuses a backward after an in-place change of any of them
        # (the state holds views of the same memory), and so that a second derivative
        # meets the derivative Functions below, which refuse it
        ctx.save_for_backward(A, X, S)
        ctx.save_for_forward(A, X)
        ctx.set_materialize_grads(False)  # no tangent or gradient: None, not zeros

    @staticmethod
    def backward(ctx, gS, _gstate=None):
        A, X, _ = ctx.saved_tensors
        if gS is None:
            return None, None, None, None
        need = ctx.needs_input_grad[:2]
        dA, dX = _VJPFunction.apply(gS, ctx.state, need, ctx.dtypes, A, X)
        return dA, dX, None, None

    @staticmethod
    def jvp(ctx, dA, dX, _dinit=None, _doptions=None):
        A, X = ctx.saved_tensors
        if dA is None and dX is None:
            return None, None
        return _JVPFunction.apply(dA, dX, ctx.state, A, X), None


# The derivatives run as Functions of their own: under torch.func the incoming gradient or
# tangent is that transform's tensor, which has no memory to hand to the core, and a
# Function's forward gets it unwrapped. Their inputs A and X (unused) tie the results to the
# point of evaluation, so that differentiating them once more reaches backward/jvp below and
# raises, rather than giving a number that misses the dependence of the core's solve on A.

class _FirstDerivative(torch.autograd.Function):
    """A derivative of the layer, computed by the core: differentiating it again raises."""

    @staticmethod
    def setup_context(ctx, inputs, output):
        pass

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(SECOND_DERIVATIVE_MESSAGE)

    @staticmethod
    def jvp(ctx, *tangents):
        raise RuntimeError(SECOND_DERIVATIVE_MESSAGE)


class _VJPFunction(_FirstDerivative):
    """(dA, dX) = nnls_vjp(A, X, S, gS) at the point of the forward pass."""

    @staticmethod
    def forward(gS, state, need, dtypes, A, X):
        g = fortran(_numpy(gS), state.S.dtype)
        need_A, need_X = need
        n_threads = state.n_threads
        dA = dX = None
        if need_X:
            # nnmf.layer.vjp_layer's steps, with dX = A W laid out like X, so that autograd
            # accumulates it into X.grad without a copy into X's memory order
            W = support_solve(state.gram, state.S, g, n_threads=n_threads)
            dX = state.A @ W if X.is_contiguous() else times(state.A, W)
            if need_A:
                M = state.S @ W.T
                dA, finite = state.Xop.dot_t_minus(W, state.A, M + M.T, n_threads)
                state.Xop.ensure_finite(dA, "the solve's W", finite=finite)
        elif need_A:
            dA, _ = vjp_layer(state.A, state.Xop, state.S, g, n_threads=n_threads,
                              need_dX=False, gram_A=state.gram)
        return (None if dA is None else torch.from_numpy(dA).to(dtypes[0]),
                None if dX is None else torch.from_numpy(dX).to(dtypes[1]))



class _JVPFunction(_FirstDerivative):
    """dS = nnls_jvp(A, X, S, dA, dX) at the point of the forward pass."""

    @staticmethod
    def forward(dA, dX, state, A, X):
        dA = None if dA is None else _numpy(dA)
        if dX is not None:
            dX = _sparse_to_scipy(dX) if dX.layout in _SPARSE_LAYOUTS else _numpy(dX)
        dS = nnls_jvp(state.A, state.Xop, state.S, dA, dX, n_threads=state.n_threads)
        return torch.from_numpy(fortran(dS, state.S.dtype))



# torch's Function.apply binds the arguments of the setup_context form with
# inspect.signature(forward) on every call, a good part of the layer's fixed cost; a
# precomputed __signature__ (PEP 362) makes that a lookup
for _function in (NNLSFunction, _VJPFunction, _JVPFunction):
    _function.forward.__signature__ = inspect.signature(_function.forward)
del _function


@torch.compiler.disable  # torch.compile: a graph break here, compiled code around it
def nnls(A, X, *, init=None, n_threads=None, max_iter=None, tol=None):
    """Nonnegative least squares S = argmin_{S >= 0} ||X - A S||_F^2 for every column of X,
    differentiable with respect to A and X (first derivatives, exact on the support of S).

    The forward pass is :func:`nnmf.nnls`; ``backward`` is :func:`nnmf.nnls_vjp` and the
    forward-mode ``jvp`` is :func:`nnmf.nnls_jvp`, so ``loss.backward()``,
    ``torch.autograd.grad``, ``torch.autograd.forward_ad``, ``torch.func.vjp`` /
    ``jvp`` / ``grad`` and ``torch.autograd.gradcheck`` all work through it.

    Parameters
    ----------
    A : torch.Tensor of shape (m, k)
        float32 or float64, on the CPU. Passed to the core without a copy when it is
        contiguous in either memory order (a transposed view is fine).
    X : torch.Tensor of shape (m, n)
        Dense (any strides; no copy) or sparse: ``torch.sparse_coo``, ``sparse_csr`` or
        ``sparse_csc``, never densified. A sparse X gets no gradient (it must not require
        grad).
    init : torch.Tensor of shape (k, n), default=None
        A warm start, e.g. the S of the same columns at the previous step: the positive
        entries of each column seed the active set. The minimiser, and so the result and its
        gradient, do not depend on it; only the work does. Not differentiated.
    n_threads : int, default=None
        OpenMP threads of nnmf's core (independent of ``torch.get_num_threads()``); None =
        OpenMP's maximum, -1 = all, -2 = all but one. Results are identical for any count.
    max_iter, tol : as in :func:`nnmf.nnls`.

    Returns
    -------
    S : torch.Tensor of shape (k, n)
        float32 when A and X are both float32, float64 otherwise; column-ordered (strides
        (1, k)), sharing memory with the core's result. The gradients come back in the dtype
        of A and of X.

    Notes
    -----
    Gradients are exact where the support of S (its positive entries) is locally constant,
    that is almost everywhere: per column, w_P = (A_P^T A_P)^{-1} g_P on the support P and 0
    off it, dL/dX = A W and dL/dA = X W^T - A (S W^T + W S^T). An entry of S at 0 gets no
    gradient, as in the reference implementation.

    Not supported: tensors on a GPU (a ValueError asks to move them to the CPU), float16 and
    bfloat16 (a TypeError), second derivatives (a RuntimeError when one is taken), and
    ``torch.vmap`` / ``jacrev`` / ``jacfwd`` (the core solves a whole matrix of columns in
    one call; batch the columns instead). Under ``torch.compile`` the call is a graph break:
    compiled code runs around it.

    Examples
    --------
    >>> import torch, nnmf.torch
    >>> A = torch.rand(50, 4, dtype=torch.float64, requires_grad=True)
    >>> X = torch.rand(50, 6, dtype=torch.float64)
    >>> S = nnmf.torch.nnls(A, X)
    >>> S.pow(2).sum().backward()
    >>> S.shape, A.grad.shape
    (torch.Size([4, 6]), torch.Size([50, 4]))
    """
    _check_tensor(A, "A")
    _check_tensor(X, "X")
    if A.layout != torch.strided:
        raise TypeError(f"A must be a dense tensor, got layout {A.layout}")
    if X.layout != torch.strided and X.layout not in _SPARSE_LAYOUTS:
        raise TypeError(f"X has layout {X.layout}: use a dense, sparse COO, CSR or CSC tensor")
    if X.layout in _SPARSE_LAYOUTS and X.requires_grad:
        raise ValueError("a sparse X gets no gradient: pass X.detach() (the gradient with "
                         "respect to X is a dense m x n matrix; use a dense X for it)")
    if A.shape[0] != X.shape[0]:
        raise ValueError(f"A has shape {tuple(A.shape)} and X has shape {tuple(X.shape)}: "
                         "they must have the same number of rows")
    k, n = A.shape[1], X.shape[1]
    if init is not None:
        _check_tensor(init, "init")
        if tuple(init.shape) != (k, n):
            raise ValueError(f"init has shape {tuple(init.shape)}, expected {(k, n)} "
                             "(k x n, like S)")
        init = init.detach()
    options = _Options(
        resolve_n_threads(n_threads),  # 0 for max_iter and tol selects the core's defaults
        0 if max_iter is None else check_param(max_iter, "max_iter", [Interval("int", 1, None)]),
        0.0 if tol is None else check_param(tol, "tol",
                                            [Interval("real", 0, None, closed="neither")]),
        _working_dtype(A, X))
    S, state = NNLSFunction.apply(A, X, init, options)
    if state.converged is not None and not state.converged.all():
        warnings.warn(
            f"nnmf.torch.nnls: {int((~state.converged).sum())} of {n} columns reached "
            "max_iter before meeting the KKT tolerance; increase max_iter",
            ConvergenceWarning, stacklevel=3)  # the caller's line, past torch.compiler's
    return S
