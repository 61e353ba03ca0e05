"""What every multilayer model shares: NMF by alternating NNLS and its layer-wise form (the
initialisation), the forward pass through NNLS layers, and the supervised head (a linear
classifier on the top layer's coefficients)."""

from ._anls import INITS, data_scale, layerwise_nmf, nmf_anls, nndsvd, random_factor
from ._forward import (MultilayerMixin, check_data, check_layer, check_rows, fit_data, forward,
                       reconstruction_error)
from ._supervision import (LabelTermMixin, class_scores_to_proba, prepare_labels,
                           prepare_optional_labels)

__all__ = ["INITS", "data_scale", "nmf_anls", "layerwise_nmf", "nndsvd", "random_factor", "forward", "reconstruction_error", "check_data", "fit_data",
           "check_layer", "check_rows", "MultilayerMixin", "LabelTermMixin",
           "class_scores_to_proba", "prepare_labels", "prepare_optional_labels"]
