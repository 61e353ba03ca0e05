"""A minimal scikit-learn-style estimator base (no scikit-learn dependency).

``__init__`` of a subclass only stores its keyword parameters under the same names;
validation happens in ``fit``, against the class's ``_parameter_constraints``. Fitted
attributes end in ``_``. Every public subclass is registered by name, so that model files
find their class without importing the package that defines it.
"""

import inspect

import numpy as np

from ..exceptions import NotFittedError
from .params import check_param, validate_params

__all__ = ["BaseEstimator", "check_is_fitted", "check_random_state", "estimator_class"]

_REGISTRY = {}


def estimator_class(name):
    """The registered estimator class called ``name``, or None."""
    return _REGISTRY.get(name)


class BaseEstimator:
    """Parameters from ``__init__``'s signature, ``get_params``/``set_params``, a ``repr``
    showing the parameters that differ from their defaults."""

    _parameter_constraints = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            _REGISTRY[cls.__name__] = cls

    def _validate_params(self):
        """The constructor parameters checked against ``_parameter_constraints``, as a dict
        of normalised values."""
        return validate_params(self)

    @classmethod
    def _param_names(cls):
        init = cls.__init__
        if init is object.__init__:
            return []
        params = inspect.signature(init).parameters.values()
        for p in params:
            if p.kind == p.VAR_POSITIONAL:
                raise RuntimeError(
                    f"{cls.__name__}.__init__ must not take *args: parameters are keywords")
        return sorted(p.name for p in params if p.name != "self" and p.kind != p.VAR_KEYWORD)

    def get_params(self, deep=True):
        """The estimator's parameters as a dict ``{name: value}``.

        Parameters
        ----------
        deep : bool, default=True
            Accepted for scikit-learn compatibility; nnmf estimators hold no sub-estimators.

        Returns
        -------
        dict
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set parameters by keyword; unknown names raise ``ValueError``. Returns ``self``.

        The new values are validated at the next ``fit``.
        """
        valid = set(self._param_names())
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"invalid parameter {name!r} for {type(self).__name__}; "
                    f"valid parameters: {sorted(valid)}")
            setattr(self, name, value)
        return self

    def _fitted_attributes(self):
        """Names of the fitted attributes set on this instance (public, ending in ``_``)."""
        return sorted(name for name in vars(self)
                      if name.endswith("_") and not name.startswith("_"))

    def __repr__(self):
        defaults = {p.name: p.default
                    for p in inspect.signature(type(self).__init__).parameters.values()}
        shown = []
        for name, value in self.get_params().items():
            default = defaults.get(name, inspect.Parameter.empty)
            try:
                same = default is not inspect.Parameter.empty and bool(value == default)
            except Exception:  # e.g. arrays compared elementwise
                same = False
            if not same:
                text = repr(value)
                if len(text) > 60:
                    text = text[:57] + "..."
                shown.append(f"{name}={text}")
        return f"{type(self).__name__}({', '.join(shown)})"


def check_is_fitted(estimator, attributes=None):
    """Raise :class:`~nnmf.exceptions.NotFittedError` unless ``estimator`` has been fitted.

    Parameters
    ----------
    estimator : BaseEstimator
    attributes : str or list of str, default=None
        Attributes that must exist; None means any public attribute ending in ``_``.
    """
    if attributes is None:
        fitted = bool(estimator._fitted_attributes())
    else:
        if isinstance(attributes, str):
            attributes = [attributes]
        fitted = all(hasattr(estimator, a) for a in attributes)
    if not fitted:
        raise NotFittedError(
            f"this {type(estimator).__name__} instance is not fitted yet; call 'fit' with "
            "appropriate arguments before using this estimator")


def check_random_state(random_state):
    """A :class:`numpy.random.Generator` from None (fresh entropy), an int seed, or a
    Generator (returned as is)."""
    random_state = check_param(random_state, "random_state", [None, "random_state"])
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(random_state)
