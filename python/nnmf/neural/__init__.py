"""Neural NMF: the estimator, the network it trains (forward pass, objective, gradient by
reverse mode through the NNLS layers), the losses and the projected optimisers."""

from ._estimator import NeuralNMF

__all__ = ["NeuralNMF"]
