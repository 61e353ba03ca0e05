"""PyTorch interop: nnmf's NNLS layer as a ``torch.autograd.Function`` and Neural NMF as
``torch.nn`` modules (the ``torch`` extra: ``pip install "nnmf[torch]"``).

- :func:`nnmf.torch.nnls`: S = argmin_{S >= 0} ||X - A S||_F^2, differentiable in A and X
  (the core's exact VJP as ``backward``, its JVP as ``jvp``; ``torch.func`` transforms work
  through it).
- :class:`NNLSLayer`: the layer as a module holding A; :class:`nnmf.torch.NeuralNMF`: the
  stacked network, with :func:`reconstruction_loss`, :func:`energy_loss`,
  :func:`classification_loss` and :func:`objective`, the objective of
  :class:`nnmf.NeuralNMF` (``nnmf.neural``'s normalisation).
- :class:`LsqNonneg`, :class:`Neural_NMF`, :class:`LsqNonnegF`, :class:`Recon_Loss_Func` and
  :class:`Energy_Loss_Func`: drop-in replacements for the reference implementation's classes
  (PyPI ``NeuralNMF`` 1.0.0), with its signatures and loss semantics.

Tensors must be on the CPU, float32 or float64; ``import nnmf`` does not import torch, this
subpackage does. The guide page "Use with PyTorch" (docs/guide/torch.md) has examples.
"""

try:
    import torch as _torch  # noqa: F401 - the real PyTorch (absolute import)
except ImportError as exc:  # pragma: no cover - exercised without torch
    raise ImportError("nnmf.torch needs PyTorch (the torch extra): pip install 'nnmf[torch]' "
                      f"({exc})") from exc

from ._function import nnls
from ._modules import (NeuralNMF, NNLSLayer, classification_loss, energy_loss, objective,
                       reconstruction_loss)
from ._reference import Energy_Loss_Func, LsqNonneg, LsqNonnegF, Neural_NMF, Recon_Loss_Func

__all__ = ["nnls", "NNLSLayer", "NeuralNMF", "reconstruction_loss", "energy_loss",
           "classification_loss", "objective", "LsqNonneg", "LsqNonnegF", "Neural_NMF",
           "Recon_Loss_Func", "Energy_Loss_Func"]
