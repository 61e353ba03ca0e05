"""Projected first-order optimisers for Neural NMF.

Parameters are a list of arrays (A_0, ..., A_L and possibly the classifier B), updated
together; blocks flagged ``nonneg`` are projected onto the nonnegative orthant after every
step (the A's), the others (B) are unconstrained.

Every optimiser has ``step(params, value, grads, evaluate)``: ``evaluate(params)`` returns
``(value, context)`` of the objective at a point. ``step`` returns a :class:`Step`.

References
----------
D. P. Bertsekas, "On the Goldstein-Levitin-Polyak gradient projection method", IEEE Trans.
Automatic Control 21(2), 1976. https://doi.org/10.1109/TAC.1976.1101194 (Armijo rule along
the projection arc).

D. P. Kingma and J. Ba, "Adam: a method for stochastic optimization", ICLR 2015.
https://arxiv.org/abs/1412.6980
"""

from typing import Any, List, NamedTuple, Optional

import numpy as np

from ..layer import _core

__all__ = ["ArmijoPG", "Adam", "FixedStepPG", "Step", "make_optimizer", "OPTIMIZERS"]

OPTIMIZERS = ("armijo", "adam", "pgd")


class Step(NamedTuple):
    """What one optimiser step returns.

    params : the new parameters (the old ones when ``stalled``).
    value, context : the objective and its evaluation context at ``params``, or None when
        the optimiser did not evaluate the new point itself.
    stalled : no step could decrease the objective (a stationary point to working precision).
    """
    params: List[np.ndarray]
    value: Optional[float] = None
    context: Any = None
    stalled: bool = False


def _step(p, g, step, nonneg, n_threads):
    """(P(p - step g), <g, P(p - step g) - p>) with P the projection onto the nonnegative
    orthant where nonneg (else the identity): one pass of the core's kernel
    (cpp/nnmf/kernels/step.hpp) instead of numpy's temporaries of the block's size."""
    order = "F" if p.flags.f_contiguous and not p.flags.c_contiguous else "C"
    p = np.asarray(p, order=order)
    g = np.asarray(g, dtype=p.dtype, order=order)
    out = np.empty_like(p, order=order)
    change = _core.projected_step(p.reshape(-1, order=order), g.reshape(-1, order=order),
                                  float(step), bool(nonneg), out.reshape(-1, order=order),
                                  n_threads)
    return out, change


def _norm(arrays):
    return float(np.sqrt(sum(np.vdot(a, a) for a in arrays)))


class _State:
    """``state()`` and ``restore(state)`` of an optimiser: the attributes named in
    ``_state`` (numbers, None, and lists of arrays), for training checkpoints."""

    _state = ()

    def state(self):
        return {name: getattr(self, name) for name in self._state}

    def restore(self, state):
        for name in self._state:
            setattr(self, name, state[name])


def _without_idle_blocks(caps, params, grads, share=1e-6):
    """Scales for a first step: a block whose first-order share of the decrease,
    ||p_b|| ||g_b||, is below ``share`` of the largest block's stays put (scale 0). Such a
    block starts at its optimum (the classifier B, fitted by least squares to the starting
    factors): its gradient is left at cancellation level, whose direction is rounding noise
    that the norm scaling would blow up to a full step."""
    weight = [float(np.linalg.norm(p)) * float(np.linalg.norm(g)) for p, g in zip(params, grads)]
    top = max(weight, default=0.0)
    return [c if w > share * top else 0.0 for c, w in zip(caps, weight)]


class ArmijoPG(_State):
    """Scaled projected gradient with Armijo backtracking along the projection arc.

    Each block b moves along -D_b g_b: p(eta) = P(p - eta D g). The trial is accepted when
    f(p(eta)) <= f(p) + sigma <g, p(eta) - p>, otherwise eta *= beta; since D is a positive
    multiple of the identity on every block, the projected step is a descent direction and
    the objective never increases.

    The per-block scale D_b makes the method insensitive to the very different magnitudes of
    A_0 (n_features x k_0), the small A_l and the classifier B:

    - ``scaling="bb"`` (full batches): the Barzilai-Borwein step <s, s> / <s, y> of the block
      (s, y the block's last change of parameters and of gradient), capped at
      ||p_b|| / ||g_b|| (a step of at most the block's own size), which is also the fallback
      where <s, y> <= 0 and the choice at the first iteration; trials start at eta = 1
      (eta = ``learning_rate`` or 0.01 at the first iteration).
    - ``scaling="norm"`` (mini-batches, where gradient differences mix batches):
      D_b = ||p_b|| / ||g_b||, so eta is the relative change of every block; after an
      accepted step the next trial starts at ``grow`` * eta. On mini-batches the search
      runs on each batch's loss: the full loss is not monotone then.
    """

    _state = ("eta", "last_eta", "last_steps", "_prev")

    def __init__(self, nonneg, *, learning_rate=None, scaling="bb", sigma=1e-4, beta=0.5,
                 grow=2.0, max_backtracks=30, n_threads=1):
        self.nonneg = list(nonneg)
        self.n_threads = n_threads
        self.eta = 1e-2 if learning_rate is None else float(learning_rate)
        self.scaling = scaling
        self.sigma, self.beta, self.grow = sigma, beta, grow
        self.max_backtracks = max_backtracks
        self.last_eta = self.last_steps = None
        self._prev = None

    @staticmethod
    def _norm_ratio(p, g):
        gn, pn = float(np.linalg.norm(g)), float(np.linalg.norm(p))
        if gn == 0:
            return 0.0
        return pn / gn if pn > 0 else 1.0 / gn

    def _scales(self, params, grads):
        caps = [self._norm_ratio(p, g) for p, g in zip(params, grads)]
        if self.scaling != "bb" or self._prev is None:
            if self._prev is None:
                caps = _without_idle_blocks(caps, params, grads)
            return caps, self.eta
        D = []
        for p, g, (p0, g0), cap in zip(params, grads, zip(*self._prev), caps):
            s, y = p - p0, g - g0
            sy, ss = float(np.vdot(s, y)), float(np.vdot(s, s))
            D.append(min(ss / sy, cap) if sy > 0 and ss > 0 else cap)
        return D, 1.0

    def step(self, params, value, grads, evaluate):
        D, eta = self._scales(params, grads)
        for _ in range(self.max_backtracks):
            trial, decrease = [], 0.0
            for p, g, d, nn in zip(params, grads, D, self.nonneg):
                t, change = _step(p, g, eta * d, nn, self.n_threads)
                trial.append(t)
                decrease += change
            if not decrease < 0:
                break  # the projected gradient vanishes: stationary
            new_value, ctx = evaluate(trial)
            if np.isfinite(new_value) and new_value <= value + self.sigma * decrease:
                self.last_eta = eta
                self.last_steps = [eta * d for d in D]
                self.eta = eta * self.grow
                self._prev = (params, grads)
                return Step(trial, new_value, ctx)
            eta *= self.beta
        return Step(params, value, None, stalled=True)


class FixedStepPG(_State):
    """Projected gradient with fixed steps: p_b <- P(p_b - eta_b g_b). With a
    ``learning_rate`` every block uses it (an absolute step); with None each block keeps the
    step eta * D_b that an Armijo search with ``scaling="norm"`` accepts at the first
    iteration."""

    _state = ("steps",)

    def __init__(self, nonneg, *, learning_rate=None, n_threads=1):
        self.nonneg = list(nonneg)
        self.n_threads = n_threads
        self.steps = None if learning_rate is None else [float(learning_rate)] * len(nonneg)

    def step(self, params, value, grads, evaluate):
        if self.steps is None:
            search = ArmijoPG(self.nonneg, scaling="norm", n_threads=self.n_threads)
            step = search.step(params, value, grads, evaluate)
            if not step.stalled:
                self.steps = search.last_steps
            return step
        new = [_step(p, g, eta, nn, self.n_threads)[0]
               for p, g, eta, nn in zip(params, grads, self.steps, self.nonneg)]
        return Step(new)


class Adam(_State):
    """Projected Adam: Adam's update of every block, then the projection.

    The learning rate is relative: each block's step is ``learning_rate`` times the root mean
    square of that block's entries at the first step, so one value suits data of any scale.
    """

    _state = ("t", "m", "v", "scale")

    def __init__(self, nonneg, *, learning_rate=None, beta1=0.9, beta2=0.999, eps=1e-8,
                 n_threads=1):
        self.nonneg = list(nonneg)
        self.n_threads = n_threads
        self.lr = 1e-2 if learning_rate is None else learning_rate
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.t = 0
        self.m = self.v = self.scale = None

    def step(self, params, value, grads, evaluate):
        if self.m is None:
            self.m = [np.zeros_like(g, dtype=np.float64) for g in grads]
            self.v = [np.zeros_like(g, dtype=np.float64) for g in grads]
            self.scale = []
            for p in params:
                rms = float(np.sqrt(np.mean(np.square(p)))) if p.size else 0.0
                self.scale.append(rms if rms > 0 else 1.0)
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        new = []
        for i, (p, g, nn) in enumerate(zip(params, grads, self.nonneg)):
            self.m[i] = b1 * self.m[i] + (1 - b1) * g
            self.v[i] = b2 * self.v[i] + (1 - b2) * np.square(g)
            mhat = self.m[i] / (1 - b1 ** self.t)
            vhat = self.v[i] / (1 - b2 ** self.t)
            denom = np.sqrt(vhat) + self.eps * max(float(np.sqrt(vhat.max())), 1e-300)
            new.append(_step(p, mhat / denom, self.lr * self.scale[i], nn, self.n_threads)[0])
        return Step(new)


def make_optimizer(name, nonneg, learning_rate, *, batch_fraction=1.0, n_threads=1):
    """The optimiser ``name`` for parameter blocks flagged ``nonneg``, whose steps run on
    ``n_threads`` of the core's threads (the result is the same for any count). ``batch_fraction``
    < 1 (mini-batches) makes "armijo" a stochastic line search: norm scaling, and the trial
    step grows by 2**batch_fraction per batch (at most doubling per epoch), as in Vaswani et
    al., "Painless stochastic gradient", NeurIPS 2019, https://arxiv.org/abs/1905.09997."""
    if name == "armijo":
        if batch_fraction < 1.0:
            return ArmijoPG(nonneg, learning_rate=learning_rate, scaling="norm",
                            grow=2.0 ** batch_fraction, n_threads=n_threads)
        return ArmijoPG(nonneg, learning_rate=learning_rate, scaling="bb", n_threads=n_threads)
    cls = {"adam": Adam, "pgd": FixedStepPG}[name]
    return cls(nonneg, learning_rate=learning_rate, n_threads=n_threads)
