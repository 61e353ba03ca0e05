"""The methods Neural NMF is compared with: flat NMF (ANLS or multiplicative updates),
hierarchical (layer-wise) NMF, deep NMF (layer-wise, then fine-tuned jointly) and
semi-supervised NMF."""

from ._deep import DeepNMF
from ._hierarchical import HierarchicalNMF
from ._nmf import NMF
from ._ssnmf import SSNMF

__all__ = ["NMF", "HierarchicalNMF", "DeepNMF", "SSNMF"]
