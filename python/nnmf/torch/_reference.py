"""Drop-in replacements for the reference implementation's PyTorch classes (PyPI
``NeuralNMF`` 1.0.0, github.com/jvendrow/NeuralNMF): ``LsqNonnegF``, ``LsqNonneg`` and
``Neural_NMF`` with the reference's signatures and attributes, so that the reference's own
``train`` loop and loss modules run on nnmf's layer, and ``Recon_Loss_Func`` /
``Energy_Loss_Func`` with the reference's loss semantics (mean squared errors, not
nnmf.neural's halved sums over ||X||^2), for code that should not depend on the reference
package.

The layer is :func:`nnmf.torch.nnls`: the same minimiser as the reference's
``scipy.optimize.nnls`` column loop and the same gradient as its pseudo-inverse formulas
(``calc_grad_A``, ``calc_grad_X``), up to rounding. Its ``last_S`` warm start, which the
reference accepts and ignores, is used.
"""

from __future__ import annotations

import torch
from torch import nn

from ._function import nnls
from ._modules import NNLSLayer, _chain, _fit_sq

__all__ = ["LsqNonnegF", "LsqNonneg", "Neural_NMF", "Recon_Loss_Func", "Energy_Loss_Func"]


class LsqNonnegF:
    """The reference's autograd function, as ``LsqNonnegF.apply(input, A, last_S=None)``
    (note the order: X first): :func:`nnmf.torch.nnls` ``(A, input, init=last_S)``."""

    @staticmethod
    def apply(input, A, last_S=None):
        return nnls(A, input, init=last_S)


class LsqNonneg(NNLSLayer):
    """The reference's ``LsqNonneg(m, k, initial_A=None)`` module: a float64 A (m x k) as
    the parameter ``A``, uniform [0, 1) entries by default (the same draws from torch's
    generator as the reference), ``forward(input, last_S=None)``.

    ``initial_A`` is used as it is (not copied), as in the reference."""

    def __init__(self, m, k, initial_A=None):
        # with initial_A, no draw from torch's generator (as in the reference)
        super().__init__(m, k, init=initial_A, dtype=torch.float64)
        if initial_A is not None:
            self.A.data = initial_A

    def forward(self, input, last_S=None):
        return nnls(self.A, input, init=last_S, n_threads=self.n_threads)


class Neural_NMF(nn.Module):
    """The reference's ``Neural_NMF(depth_info, c=None)`` network: ``depth_info`` =
    [m, k_0, ..., k_L], ``c`` classes; attributes ``depth_info``, ``depth``, ``c``,
    ``lsqnonneglst`` (a ModuleList of :class:`LsqNonneg`) and ``linear`` (a float64
    ``nn.Linear(k_L, c, bias=False)``). Built from the same draws of torch's random
    generator as the reference, so that after the same ``torch.manual_seed`` both networks
    start from the same factors.

    ``forward(X, Y=None, L=None, last_S_lst=None)`` returns the list [S_0, ..., S_L], and the
    class scores ``B S_L`` (c x n) as a second value when ``c`` is given. X may also be a
    sparse tensor (the reference's is dense).
    """

    def __init__(self, depth_info, c=None):
        super().__init__()
        self.depth_info = depth_info
        self.depth = len(depth_info)
        self.c = c
        self.lsqnonneglst = nn.ModuleList(
            [LsqNonneg(depth_info[i], depth_info[i + 1]) for i in range(self.depth - 1)])
        if c is not None:
            self.linear = nn.Linear(depth_info[-1], c, bias=False).double()

    def forward(self, X, Y=None, L=None, last_S_lst=None):
        if len(X.shape) != 2:
            raise ValueError(f"Expected a two-dimensional Tensor, but X is of shape {X.shape}")
        if X.shape[0] != self.depth_info[0]:
            raise ValueError(f"Dimension 0 of X should match entry 0 of depth_info, but "
                             f"values were {X.shape[0]} and {self.depth_info[0]}")
        S_lst = []
        for i, layer in enumerate(self.lsqnonneglst):
            X = layer(X, None if last_S_lst is None else last_S_lst[i])
            S_lst.append(X)
        if self.c is None:
            return S_lst
        return S_lst, self.linear(X.T).T


# -------------------------------------------------------------------- reference's losses

def _mse(X, A0, Q, Z):
    """mean((X - A0 Q Z)^2) over X's entries (the reference's Fro_Norm of X and A0 Q Z),
    computed without an m x n matrix (float64, or a sparse X) as nnmf's losses are."""
    return _fit_sq(X, A0, Q, Z) / (X.shape[0] * X.shape[1])


class _ClassificationTerm(nn.Module):
    def __init__(self, lambd, classification_type):
        super().__init__()
        self.lambd = lambd
        self.classification_type = classification_type

    def classification(self, pred, label, L):
        """The reference's ClassificationLossL2 / ClassificationLossCrossEntropy."""
        if self.classification_type == "L2":
            if L is not None:
                pred, label = L * pred, L * label
            return torch.mean((pred - label) ** 2)
        if L is None:
            return nn.functional.cross_entropy(pred.T, label)
        known = L[0, :].long()
        return nn.functional.cross_entropy((L * pred).T, known * label)

    def _total(self, data, pred, label, L):
        if pred is None:
            if label is not None or L is not None:
                raise ValueError("label and L are for a supervised loss: pass pred as well")
            return data
        return data + self.lambd * self.classification(pred, label, L)


class Recon_Loss_Func(_ClassificationTerm):
    """The reference's reconstruction loss: mean((X - A_0 ... A_L S_L)^2) over the entries
    of X, plus ``lambd`` times the classification loss (``'CrossEntropy'``, the mean over
    the columns, or ``'L2'``, the mean squared error) when ``pred`` is given.

    ``forward(net, X, S_lst, pred=None, label=None, L=None)``; ``net`` is a
    :class:`Neural_NMF` (or the reference's). The value is computed from products with X
    (||X||^2 - 2 <P^T X, S> + <P^T P, S S^T>, with no m x n residual; a sparse X is not
    densified), which is faster than the reference's own loss module; a dense float32 X
    forms the residual."""

    def __init__(self, lambd=0, classification_type="CrossEntropy"):
        super().__init__(lambd, classification_type)

    def forward(self, net, X, S_lst, pred=None, label=None, L=None):
        As = [layer.A for layer in net.lsqnonneglst]
        return self._total(_mse(X, As[0], _chain(As), S_lst[-1]), pred, label, L)


class Energy_Loss_Func(_ClassificationTerm):
    """The reference's energy loss: the sum over layers of mean((S_{l-1} - A_l S_l)^2),
    each over its own entries (S_{-1} = X), plus the classification term as in
    :class:`Recon_Loss_Func`."""

    def __init__(self, lambd=0, classification_type="CrossEntropy"):
        super().__init__(lambd, classification_type)

    def forward(self, net, X, S_lst, pred=None, label=None, L=None):
        layers = list(net.lsqnonneglst)
        total = _mse(X, layers[0].A, None, S_lst[0])
        for i in range(1, len(layers)):
            total = total + _mse(S_lst[i - 1], layers[i].A, None, S_lst[i])
        return self._total(total, pred, label, L)

