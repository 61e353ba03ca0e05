"""scikit-learn wrappers: nnmf's estimators with rows as samples.

nnmf's estimators take ``X`` of shape (n_features, n_samples), columns as samples (the
paper's convention). The estimators here take scikit-learn's (n_samples, n_features), so
that they work in a :class:`~sklearn.pipeline.Pipeline` (after a
:class:`~sklearn.feature_extraction.text.TfidfVectorizer`, before a classifier), in
:class:`~sklearn.model_selection.GridSearchCV` and with :func:`~sklearn.base.clone`, and pass
scikit-learn's ``check_estimator``:

- :class:`NeuralNMFTransformer`: :class:`nnmf.NeuralNMF` (unsupervised); ``transform``
  returns the top layer's (or a chosen layer's) coefficients, shape (n_samples, k).
- :class:`NMFTransformer`: :class:`nnmf.NMF`; ``transform`` returns the coefficients,
  shape (n_samples, n_components).
- :class:`NeuralNMFClassifier`: :class:`nnmf.NeuralNMF` with labels, supervised or
  semi-supervised (-1 or None marks an unlabelled sample); ``predict``, ``predict_proba``,
  ``decision_function``, and ``transform`` (the top layer's coefficients).

Each fits the nnmf estimator on ``X.T`` and keeps it as ``model_``. ``import nnmf`` does not
import scikit-learn; ``import nnmf.sklearn`` does (scikit-learn 1.6 or later). The guide page
"Use with scikit-learn" (docs/guide/sklearn.md) has examples.
"""

try:
    from sklearn.utils.validation import validate_data
except ImportError as exc:  # not installed, or older than 1.6 (no validate_data, no tags)
    raise ImportError(
        "nnmf.sklearn needs scikit-learn 1.6 or later: pip install -U scikit-learn "
        f"(or pip install 'nnmf[text]'); {exc}") from exc

from ._estimators import NeuralNMFClassifier, NeuralNMFTransformer, NMFTransformer

__all__ = ["NeuralNMFTransformer", "NMFTransformer", "NeuralNMFClassifier"]

del validate_data
