"""Sample-major estimators: scikit-learn's (n_samples, n_features) in, the nnmf estimator
fitted on the transpose."""

import math

import numpy as np
from sklearn.base import (BaseEstimator, ClassifierMixin, ClassNamePrefixFeaturesOutMixin,
                          TransformerMixin)
from sklearn.utils.validation import (check_array, check_consistent_length, check_is_fitted,
                                      check_non_negative, column_or_1d, validate_data)

from .._utils.labels import encode_labels
from .._utils.params import RANKS, Interval, check_param
from ..baselines import NMF
from ..multilayer import check_layer
from ..neural import NeuralNMF

__all__ = ["NeuralNMFTransformer", "NMFTransformer", "NeuralNMFClassifier"]

_DTYPES = (np.float64, np.float32)


def _labels_1d(y, warn=False):
    """Labels as a 1-D array, each keeping its type: a list becomes an object array (numpy
    would turn ``["a", 1]`` into two strings, hiding the mix that nnmf refuses); a column
    vector is flattened (with scikit-learn's DataConversionWarning when ``warn``)."""
    if not hasattr(y, "dtype") and not hasattr(y, "__array__"):
        y = np.asarray(y, dtype=object)
    return column_or_1d(y, warn=warn)


class _SampleMajor(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """What the wrappers share: input validation (rows as samples), the transposes,
    ``inverse_transform``, the output feature names and the tags. A subclass defines
    ``_fit_model(Xt)`` (fits on the (n_features, n_samples) transpose; returns the model and
    the training coefficients, k x n_samples), ``_topics(model)`` (n_features x k: what
    ``components_`` transposes) and ``_coefficients(Xt)`` (k x n_new of new data)."""

    def _check_X(self, X, *, reset):
        X = validate_data(self, X, accept_sparse=("csr", "csc"), dtype=_DTYPES, reset=reset)
        check_non_negative(X, f"{type(self).__name__} (input X)")
        return X

    def _check_ranks_fit(self, ranks, X, name):
        n_samples, n_features = X.shape
        limit = min(n_samples, n_features)
        if max(ranks) > limit:
            given = ranks[0] if name == "n_components" else tuple(ranks)
            raise ValueError(
                f"{name}={given} exceeds min(n_samples, n_features) = {limit} of X with "
                f"n_samples = {n_samples}, n_features = {n_features}; every rank must be at "
                "most that")

    def fit(self, X, y=None):
        """Fit the model to X.

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (n_samples, n_features)
            Nonnegative data, one row per sample. float32 stays float32.
        y : None
            Ignored.

        Returns
        -------
        self
        """
        self._fit(X)
        return self

    def fit_transform(self, X, y=None):
        """Fit the model to X and return the coefficients of its rows.

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_out)
        """
        return np.ascontiguousarray(self._fit(X).T)

    def _fit(self, X):
        X = self._check_X(X, reset=True)
        model, S = self._fit_model(X.T)
        self.model_ = model
        self.components_ = np.ascontiguousarray(self._topics(model).T)
        self.n_iter_ = int(model.n_iter_)
        self.reconstruction_err_ = float(model.reconstruction_err_)
        return S

    def transform(self, X):
        """The coefficients of new rows with the fitted factors fixed (nonnegative least
        squares through the fitted layers).

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_out)
        """
        check_is_fitted(self, "model_")
        X = self._check_X(X, reset=False)
        return np.ascontiguousarray(self._coefficients(X.T).T)

    def inverse_transform(self, X):
        """The data that coefficients stand for: ``X @ components_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components_out)
            Coefficients, as :meth:`transform` returns them.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self, "model_")
        X = check_array(X, accept_sparse=("csr", "csc"), dtype=_DTYPES)
        k = self.components_.shape[0]
        if X.shape[1] != k:
            raise ValueError(f"X has {X.shape[1]} columns, expected {k} (the number of "
                             "components that transform returns)")
        return np.asarray(X @ self.components_)

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True      # NMF of negative data is not defined
        tags.input_tags.sparse = True             # sparse X is never densified
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


# The training parameters both Neural NMF wrappers document (inserted in their docstrings)
_TRAINING_PARAMETERS = """\
    loss : {"reconstruction", "energy"}, default="reconstruction"
        The data term: the fit of the whole hierarchy, or the sum of every layer's fit.
    optimizer : {"armijo", "adam", "pgd"}, default="armijo"
        Projected gradient with Armijo backtracking, projected Adam, or fixed steps.
    learning_rate : float, default=None
        The optimiser's (first) step; None: its default.
    max_iter : int, default=500
        Iterations (epochs with mini-batches).
    tol : float, default=1e-5
        Stop when the loss changes by less than ``tol`` times its value in one iteration.
    batch_size : int, default=None
        Samples per mini-batch (None: full batch).
    init : {"hierarchical", "random"} or list of arrays, default="hierarchical"
        Layer-wise NMF, random factors, or the starting A's (A_0 of shape (n_features, k_0)).
    random_state : None or int, default=None
        Seeds random init and the mini-batch order: a fixed seed gives the same fit.
    verbose : bool or int, default=False
        Show a progress bar (needs tqdm).
    n_threads : int, default=None
        Threads of the compiled core (None: OpenMP's maximum); results do not depend on it.
"""


def _with_training_parameters(cls):
    cls.__doc__ = cls.__doc__.replace("    <training parameters>\n", _TRAINING_PARAMETERS)
    return cls


@_with_training_parameters
class NeuralNMFTransformer(_SampleMajor):
    """Neural NMF (:class:`nnmf.NeuralNMF`, unsupervised) with rows as samples, for
    scikit-learn pipelines.

    ``fit(X)`` fits ``NeuralNMF`` on ``X.T``; ``transform(X)`` returns the coefficients of
    the rows of X in one layer of the fitted hierarchy, ``S_layer.T`` of shape (n_samples,
    k_layer), the top layer by default. Labels ``y`` are ignored (as by any unsupervised
    transformer): put a classifier after it in a pipeline.

    The parameters other than ``layer`` are :class:`nnmf.NeuralNMF`'s, whose docstring
    describes them in full.

    Parameters
    ----------
    ranks : int or sequence of int
        (k_0, ..., k_L): layer l has k_l topics. Each rank must be at most
        min(n_samples, n_features) of the training X.
    layer : int, default=-1
        The layer whose coefficients ``transform`` returns (negative counts from the top).
    <training parameters>

    Attributes
    ----------
    model_ : nnmf.NeuralNMF
        The fitted model (columns as samples: its ``S_`` are (k_l, n_samples)).
    components_ : ndarray of shape (k_layer, n_features)
        The layer's topics over the features, ``(A_0 ... A_layer).T``: ``inverse_transform``
        is ``X_new @ components_``.
    n_iter_ : int
        Iterations run.
    reconstruction_err_ : float
        ||X - A_0 ... A_L S_L||_F / ||X||_F on the training data.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X had column names (a pandas DataFrame).

    See Also
    --------
    NMFTransformer : one-layer NMF.

    Examples
    --------
    >>> import numpy as np
    >>> from nnmf.sklearn import NeuralNMFTransformer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((60, 3)) @ rng.random((3, 6)) @ rng.random((6, 40))  # 60 samples
    >>> X += 0.1 * rng.random((60, 6)) @ rng.random((6, 40))
    >>> t = NeuralNMFTransformer((6, 3), random_state=0)
    >>> t.fit_transform(X).shape, t.components_.shape
    ((60, 3), (3, 40))
    """

    def __init__(self, ranks, *, layer=-1, loss="reconstruction", optimizer="armijo",
                 learning_rate=None, max_iter=500, tol=1e-5, batch_size=None,
                 init="hierarchical", random_state=None, verbose=False, n_threads=None):
        self.ranks = ranks
        self.layer = layer
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.batch_size = batch_size
        self.init = init
        self.random_state = random_state
        self.verbose = verbose
        self.n_threads = n_threads

    def _fit_model(self, Xt):
        ranks = check_param(self.ranks, "ranks", [RANKS])
        self._layer = check_layer(self.layer, len(ranks))
        self._check_ranks_fit(ranks, Xt.T, "ranks")
        model = NeuralNMF(
            self.ranks, loss=self.loss, optimizer=self.optimizer,
            learning_rate=self.learning_rate, max_iter=self.max_iter, tol=self.tol,
            batch_size=self.batch_size, init=self.init, random_state=self.random_state,
            verbose=self.verbose, n_threads=self.n_threads)
        model.fit(Xt)
        return model, model.S_[self._layer]

    def _topics(self, model):
        return model.topic_matrices()[self._layer]

    def _coefficients(self, Xt):
        return self.model_.transform(Xt, layer=self._layer)


class NMFTransformer(_SampleMajor):
    """NMF (:class:`nnmf.NMF`) with rows as samples, for scikit-learn pipelines.

    Factorises X ≈ W H with W >= 0 (n_samples x n_components) and H >= 0 (n_components x
    n_features), as :class:`sklearn.decomposition.NMF` does (nnmf's ``S_.T`` and ``A_.T``),
    solved by nnmf's compiled alternating NNLS or multiplicative updates. ``transform``
    returns W of new rows: the exact nonnegative least-squares coefficients on H.

    The parameters are :class:`nnmf.NMF`'s, whose docstring describes them in full.

    Parameters
    ----------
    n_components : int
        The rank, at most min(n_samples, n_features) of the training X.
    solver : {"anls", "mu"}, default="anls"
        Alternating nonnegative least squares, or multiplicative updates.
    init : {"nndsvd", "random"}, default="nndsvd"
        The starting factors: nonnegative double SVD, or random.
    max_iter : int, default=200
        Maximum number of iterations.
    tol : float, default=1e-4
        Stop when the relative error changes by at most ``tol`` times its value.
    random_state : None or int, default=None
        Seeds "random" init (and the randomized SVD of "nndsvd" on many features).
    verbose : int, default=0
        Print the relative error after every iteration when positive.
    n_threads : int, default=None
        Threads of the compiled core (None: OpenMP's maximum); results do not depend on it.

    Attributes
    ----------
    model_ : nnmf.NMF
        The fitted model (columns as samples).
    components_ : ndarray of shape (n_components, n_features)
        H, the topics over the features (``model_.A_.T``).
    n_iter_ : int
        Iterations run.
    reconstruction_err_ : float
        ||X - W H||_F / ||X||_F on the training data (relative, unlike scikit-learn's).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X had column names (a pandas DataFrame).

    See Also
    --------
    NeuralNMFTransformer : hierarchical NMF trained by backpropagation.

    Examples
    --------
    >>> import numpy as np
    >>> from nnmf.sklearn import NMFTransformer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((50, 4)) @ rng.random((4, 30)) + 0.1 * rng.random((50, 30))  # 50 samples
    >>> nmf = NMFTransformer(4, random_state=0)
    >>> W = nmf.fit_transform(X)
    >>> W.shape, nmf.components_.shape, bool(nmf.reconstruction_err_ < 0.05)
    ((50, 4), (4, 30), True)
    """

    def __init__(self, n_components, *, solver="anls", init="nndsvd", max_iter=200, tol=1e-4,
                 random_state=None, verbose=0, n_threads=None):
        self.n_components = n_components
        self.solver = solver
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.n_threads = n_threads

    def _fit_model(self, Xt):
        k = check_param(self.n_components, "n_components", [Interval("int", 1, None)])
        self._check_ranks_fit((k,), Xt.T, "n_components")
        model = NMF(self.n_components, solver=self.solver, init=self.init,
                    max_iter=self.max_iter, tol=self.tol, random_state=self.random_state,
                    verbose=self.verbose, n_threads=self.n_threads)
        model.fit(Xt)
        # the coefficients of the final A (mu's S_ is one update behind it)
        return model, model.S_ if self.solver == "anls" else model.transform(Xt)

    def _topics(self, model):
        return model.A_

    def _coefficients(self, Xt):
        return self.model_.transform(Xt)


@_with_training_parameters
class NeuralNMFClassifier(ClassifierMixin, _SampleMajor):
    """Supervised and semi-supervised Neural NMF (:class:`nnmf.NeuralNMF` with labels) with
    rows as samples: a scikit-learn classifier.

    ``fit(X, y)`` fits ``NeuralNMF`` on ``X.T`` with the labels ``y``, training the topics
    and a linear classifier on the top layer's coefficients together. Unknown labels follow
    nnmf's rule (as scikit-learn's semi-supervised estimators, -1 marks an unlabelled
    sample): None, NaN, -1, "-1" and "" are unknown, so a fit with some of them is
    semi-supervised. ``predict`` gives labels, ``predict_proba`` the softmax of the class
    scores, ``transform`` the top layer's coefficients and ``transduction_`` the labels the
    fitted model gives the training rows.

    The classifier ``B S_L`` has no intercept (as in the paper), so on data with very few
    features it can score below a classifier with one. The parameters are
    :class:`nnmf.NeuralNMF`'s, whose docstring describes them in full.

    Parameters
    ----------
    ranks : int or sequence of int
        (k_0, ..., k_L); give the top layer at least as many topics as there are classes.
        Each rank must be at most min(n_samples, n_features) of the training X.
    lam : float, default=1.0
        Weight of the classification term (scale-free: averaged over the labelled samples).
    classification_loss : {"cross_entropy", "l2"}, default="cross_entropy"
        "cross_entropy": ``predict_proba`` is the softmax of the scores. "l2" (the paper's,
        and :class:`nnmf.NeuralNMF`'s default, which generalises better from few known
        labels): ``predict_proba`` normalises the scores clipped at zero, which need not rank
        samples as ``decision_function`` does. The default here is "cross_entropy" because
        scikit-learn's classifiers promise that consistency.
    <training parameters>

    Attributes
    ----------
    model_ : nnmf.NeuralNMF
        The fitted model (columns as samples).
    classes_ : ndarray
        The known class labels, sorted.
    transduction_ : ndarray of shape (n_samples,)
        The labels the fitted model gives the training rows (the unlabelled ones included).
    components_ : ndarray of shape (k_L, n_features)
        The top layer's topics over the features, ``(A_0 ... A_L).T``.
    n_iter_ : int
        Iterations run.
    reconstruction_err_ : float
        ||X - A_0 ... A_L S_L||_F / ||X||_F on the training data.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X had column names (a pandas DataFrame).

    See Also
    --------
    NeuralNMFTransformer : the unsupervised topics, for a pipeline.

    Examples
    --------
    >>> import numpy as np
    >>> from nnmf.sklearn import NeuralNMFClassifier
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(["a", "b", "c"], 20)
    >>> X = np.kron(np.eye(3), np.ones((1, 8)))[np.repeat([0, 1, 2], 20)]   # 60 x 24
    >>> X += 0.1 * rng.random(X.shape)
    >>> y_semi = [label if i % 4 == 0 else -1 for i, label in enumerate(y)]  # 1 in 4 known
    >>> clf = NeuralNMFClassifier(3, random_state=0).fit(X, y_semi)
    >>> clf.classes_.tolist(), float(np.mean(clf.transduction_ == y))
    (['a', 'b', 'c'], 1.0)
    """

    def __init__(self, ranks, *, lam=1.0, classification_loss="cross_entropy",
                 loss="reconstruction", optimizer="armijo", learning_rate=None, max_iter=500,
                 tol=1e-5, batch_size=None, init="hierarchical", random_state=None,
                 verbose=False, n_threads=None):
        self.ranks = ranks
        self.lam = lam
        self.classification_loss = classification_loss
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.batch_size = batch_size
        self.init = init
        self.random_state = random_state
        self.verbose = verbose
        self.n_threads = n_threads

    def fit(self, X, y):
        """Fit the model to X and the labels y (None, NaN, -1, "-1" or "": unknown).

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (n_samples, n_features)
            Nonnegative data, one row per sample.
        y : array-like of shape (n_samples,)
            Class labels, integers or strings; at least two classes among the known ones.

        Returns
        -------
        self
        """
        self._fit(X, y)
        return self

    def fit_transform(self, X, y):
        """Fit to X and y, and return the top layer's coefficients of the rows of X.

        Returns
        -------
        X_new : ndarray of shape (n_samples, k_L)
        """
        return np.ascontiguousarray(self._fit(X, y).T)

    def _fit(self, X, y=None):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y "
                             "is None (unknown labels: -1 or None; topics without labels: "
                             "NeuralNMFTransformer)")
        X = self._check_X(X, reset=True)
        y = _labels_1d(y, warn=True)
        check_consistent_length(X, y)
        if any(isinstance(v, float) and math.isfinite(v) and v != int(v) for v in y.tolist()):
            raise ValueError("Unknown label type: continuous; a classifier needs class labels "
                             "(integers or strings)")
        ranks = check_param(self.ranks, "ranks", [RANKS])
        self._check_ranks_fit(ranks, X, "ranks")
        model = NeuralNMF(
            self.ranks, lam=self.lam, classification_loss=self.classification_loss,
            loss=self.loss, optimizer=self.optimizer, learning_rate=self.learning_rate,
            max_iter=self.max_iter, tol=self.tol, batch_size=self.batch_size, init=self.init,
            random_state=self.random_state, verbose=self.verbose, n_threads=self.n_threads)
        model.fit(X.T, y)
        self.model_ = model
        self.classes_ = model.classes_
        self.transduction_ = model.transduction_
        self.components_ = np.ascontiguousarray(model.topic_matrices()[-1].T)
        self.n_iter_ = int(model.n_iter_)
        self.reconstruction_err_ = float(model.reconstruction_err_)
        return model.S_[-1]

    def _coefficients(self, Xt):
        return self.model_.transform(Xt)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # The classifier B S_L has no intercept: on scikit-learn's reference problem (3 blobs
        # in 2 features, shifted to be nonnegative) no linear classifier through the origin
        # reaches its 0.83 accuracy, so by the tag's definition the score is poor.
        tags.classifier_tags.poor_score = True
        return tags

    def decision_function(self, X):
        """Class scores ``B S`` of the rows of X; with two classes, the second's score minus
        the first's (positive: ``classes_[1]``).

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes), or (n_samples,) with two classes
        """
        check_is_fitted(self, "model_")
        X = self._check_X(X, reset=False)
        scores = self.model_.decision_function(X.T)
        return scores[:, 1] - scores[:, 0] if scores.shape[1] == 2 else scores

    def predict(self, X):
        """Class labels of the rows of X.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "model_")
        X = self._check_X(X, reset=False)
        return self.model_.predict(X.T)

    def predict_proba(self, X):
        """Class probabilities of the rows of X.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self, "model_")
        X = self._check_X(X, reset=False)
        return self.model_.predict_proba(X.T)

    def score(self, X, y, sample_weight=None):
        """Accuracy on the rows whose label in y is known (unknown labels are left out).

        Parameters
        ----------
        X : array-like or scipy sparse matrix of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        float
        """
        from sklearn.metrics import accuracy_score

        y = _labels_1d(y)
        known = encode_labels(y)[1] >= 0
        weights = None if sample_weight is None else np.asarray(sample_weight)[known]
        return float(accuracy_score(y[known], self.predict(X)[known], sample_weight=weights))
