"""Neural NMF: the estimator, the network it trains (forward pass, objective, gradient by
reverse mode through the NNLS layers), the losses and the projected optimisers."""

from ._estimator import NeuralNMF
from ._losses import CLASSIFIER_LOSSES, LOSSES
from ._network import Batch, Network
from ._optim import OPTIMIZERS, make_optimizer

__all__ = ["NeuralNMF", "Network", "Batch", "make_optimizer", "OPTIMIZERS", "LOSSES",
           "CLASSIFIER_LOSSES"]
