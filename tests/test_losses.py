"""Neural NMF losses and the whole network's gradient.

The gradient of the objective through every NNLS layer is checked against central finite
differences on small, well-conditioned problems (planted low-rank data, random positive A's)
where the supports of the S's do not change inside the difference stencil.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import logsumexp

from nnmf import nnls
from nnmf.neural import _losses
from nnmf.layer import as_operand
from nnmf.multilayer import reconstruction_error
from nnmf.neural._network import Batch, Network
from nnmf.neural._optim import Adam, ArmijoPG, FixedStepPG, make_optimizer


def _problem(loss, n_layers, *, sparse=False, supervision=None, mask=False, seed=0,
             m=24, n=18):
    rng = np.random.default_rng(seed)
    ranks = (6, 4, 3)[:n_layers]
    X = rng.random((m, 6)) @ rng.random((6, n)) + 0.05 * rng.random((m, n))
    if sparse:
        X = sp.random(m, n, density=0.4, random_state=seed, format="csc") + sp.csc_matrix(
            (X > np.quantile(X, 0.8)) * X)
        X = sp.csc_matrix(X)
    Xop = as_operand(X)
    As, prev = [], m
    for k in ranks:
        As.append(rng.random((prev, k)) + 0.1)
        prev = k
    net = Network(n_layers, loss=loss, classification_loss=supervision or "l2", n_threads=1,
                  dtype=np.float64)
    Xd = X.toarray() if sparse else X
    batch = Batch(Xop, None, Xop.sqnorm(), 1.0 / Xop.sqnorm(), 0.0)
    if mask:
        batch.mask = (rng.random((m, n)) > 0.2).astype(float)
        batch.X = Xd
    params = list(As)
    if supervision:
        c = 3
        y = rng.integers(0, c, n)
        batch.Y = np.eye(c)[:, y]
        batch.weights = (rng.random(n) > 0.3).astype(float)
        batch.sup_scale = 0.8 / batch.weights.sum()
        params.append(rng.standard_normal((c, ranks[-1])))
    return net, batch, params, Xd


def _supports(net, params, batch):
    _, ctx = net.evaluate(params, batch)
    return [S > 0 for S in ctx.Ss]


def _fd_check(net, batch, params, seed=1, h=1e-6, n_dirs=2):
    value, ctx = net.evaluate(params, batch)
    grads = net.gradient(ctx)
    assert [g.shape for g in grads] == [p.shape for p in params]
    rng = np.random.default_rng(seed)
    base = _supports(net, params, batch)
    for _ in range(n_dirs):
        D = [rng.standard_normal(p.shape) for p in params]
        plus = [p + h * d for p, d in zip(params, D)]
        minus = [p - h * d for p, d in zip(params, D)]
        # the check is valid only where the supports stay put inside the stencil
        for P in (plus, minus):
            assert all(np.array_equal(a, b) for a, b in zip(_supports(net, P, batch), base))
        fd = (net.evaluate(plus, batch)[0] - net.evaluate(minus, batch)[0]) / (2 * h)
        analytic = sum(float(np.vdot(g, d)) for g, d in zip(grads, D))
        assert analytic == pytest.approx(fd, rel=2e-5, abs=1e-9)


@pytest.mark.parametrize("loss", ["energy", "reconstruction"])
@pytest.mark.parametrize("supervision", [None, "l2", "cross_entropy"])
@pytest.mark.parametrize("n_layers", [1, 2, 3])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_network_gradient_matches_finite_differences(loss, supervision, n_layers, sparse):
    net, batch, params, _ = _problem(loss, n_layers, sparse=sparse, supervision=supervision)
    _fd_check(net, batch, params)


@pytest.mark.parametrize("loss", ["energy", "reconstruction"])
@pytest.mark.parametrize("n_layers", [1, 3])
def test_network_gradient_with_missing_entry_mask(loss, n_layers):
    net, batch, params, _ = _problem(loss, n_layers, mask=True, supervision="cross_entropy")
    _fd_check(net, batch, params)


def test_gradient_of_mini_batch_scaling():
    """A batch's scale factors multiply value and gradient alike."""
    net, batch, params, _ = _problem("reconstruction", 2, supervision="l2")
    v1, c1 = net.evaluate(params, batch)
    g1 = net.gradient(c1)
    batch.data_scale *= 3.0
    batch.sup_scale *= 3.0
    v3, c3 = net.evaluate(params, batch)
    g3 = net.gradient(c3)
    assert v3 == pytest.approx(3 * v1, rel=1e-12)
    for a, b in zip(g1, g3):
        np.testing.assert_allclose(b, 3 * a, rtol=1e-10, atol=1e-14)


def _forward(As, X):
    Ss, Z = [], X
    for A in As:
        Z = nnls(A, Z, n_threads=1)
        Ss.append(Z)
    return Ss


@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_loss_values_match_dense_formulas(n_layers):
    _, _, params, X = _problem("energy", n_layers)
    As = params
    Ss = _forward(As, X)
    C0 = As[0].T @ X
    Xsq = float(np.vdot(X, X))
    energy = _losses.energy(Xsq, As, Ss, C0)
    expected = 0.5 * sum(np.linalg.norm((Ss[l - 1] if l else X) - As[l] @ Ss[l]) ** 2
                         for l in range(n_layers))
    assert energy.value == pytest.approx(expected, rel=1e-10)
    # the coefficient form of the layer-0 term's dE/dA_0: X U^T + A_0 K = -(X - A_0 S_0) S_0^T
    assert energy.gA[0] is None
    np.testing.assert_allclose(X @ energy.U.T + As[0] @ energy.K,
                               -(X - As[0] @ Ss[0]) @ Ss[0].T, rtol=1e-9, atol=1e-9)
    P = np.linalg.multi_dot(As) if n_layers > 1 else As[0]
    rec = _losses.reconstruction(Xsq, As, Ss, C0)
    assert rec.value == pytest.approx(0.5 * np.linalg.norm(X - P @ Ss[-1]) ** 2, rel=1e-10)
    assert reconstruction_error(as_operand(X), As, Ss[-1], 1) == pytest.approx(
        np.linalg.norm(X - P @ Ss[-1]) / np.linalg.norm(X), rel=1e-10)
    # the coefficient form of dR/dA_0: X U^T + A_0 K = -(X - P S_L) (Q S_L)^T
    Q = np.linalg.multi_dot(As[1:]) if n_layers > 2 else (As[1] if n_layers == 2 else np.eye(6))
    assert rec.gA[0] is None
    dA0 = X @ rec.U.T + As[0] @ rec.K
    np.testing.assert_allclose(dA0, -(X - P @ Ss[-1]) @ (Q @ Ss[-1]).T, rtol=1e-9, atol=1e-9)


def test_masked_loss_counts_observed_entries_only():
    _, batch, params, X = _problem("energy", 2, mask=True)
    As, W = params, batch.mask
    Ss = _forward(As, X)
    C0 = As[0].T @ X
    Xsq = float(np.vdot(X, X))
    e = _losses.energy(Xsq, As, Ss, C0, X=X, mask=W)
    expected = (0.5 * np.linalg.norm(W * (X - As[0] @ Ss[0])) ** 2
                + 0.5 * np.linalg.norm(Ss[0] - As[1] @ Ss[1]) ** 2)
    assert e.value == pytest.approx(expected, rel=1e-10)
    r = _losses.reconstruction(Xsq, As, Ss, C0, X=X, mask=W)
    assert r.value == pytest.approx(
        0.5 * np.linalg.norm(W * (X - As[0] @ As[1] @ Ss[1])) ** 2, rel=1e-10)
    # changing a missing entry changes nothing in the masked term
    X2 = X.copy()
    i, j = np.argwhere(W == 0)[0]
    X2[i, j] += 5.0
    r2 = _losses.reconstruction(Xsq, As, Ss, C0, X=X2, mask=W)
    assert r2.value == pytest.approx(r.value, rel=1e-12)


def test_sparse_and_dense_losses_agree():
    _, _, params, X = _problem("energy", 2, sparse=True)
    Xs = sp.csc_matrix(X)
    Ss = _forward(params, X)
    C0d, C0s = params[0].T @ X, as_operand(Xs).tdot(params[0], 1)
    for fn in (_losses.energy, _losses.reconstruction):
        a = fn(float(np.vdot(X, X)), params, Ss, C0d)
        b = fn(as_operand(Xs).sqnorm(), params, Ss, C0s)
        assert a.value == pytest.approx(b.value, rel=1e-10)


def test_supervision_terms():
    rng = np.random.default_rng(3)
    B, S = rng.standard_normal((4, 3)), rng.random((3, 10))
    y = rng.integers(0, 4, 10)
    Y = np.eye(4)[:, y]
    w = (rng.random(10) > 0.4).astype(float)
    v, gS, gB = _losses.supervision_cross_entropy(B, S, Y, w)
    Z = B @ S
    expected = -np.sum(w * (Z[y, np.arange(10)] - logsumexp(Z, axis=0)))
    assert v == pytest.approx(expected, rel=1e-12)
    v2, gS2, gB2 = _losses.supervision_l2(B, S, Y, w)
    assert v2 == pytest.approx(0.5 * np.linalg.norm((Y - B @ S) * w) ** 2, rel=1e-12)
    # unknown columns contribute nothing
    assert np.all(gS[:, w == 0] == 0) and np.all(gS2[:, w == 0] == 0)
    P = _losses.softmax(np.array([[1000.0, 0.0], [0.0, 0.0]]))
    np.testing.assert_allclose(P.sum(axis=0), 1.0)
    assert np.isfinite(P).all()


# -- optimisers -------------------------------------------------------------------------

def _quadratic(target, scales):
    """f(p) = 1/2 sum_b scale_b ||p_b - target_b||^2 (badly scaled blocks)."""
    def evaluate(params):
        value = 0.5 * sum(s * np.sum((p - t) ** 2) for p, t, s in zip(params, target, scales))
        return value, params

    def gradient(params):
        return [s * (p - t) for p, t, s in zip(params, target, scales)]
    return evaluate, gradient


@pytest.mark.parametrize("name", ["armijo", "adam", "pgd"])
def test_optimisers_project_and_decrease(name):
    rng = np.random.default_rng(0)
    target = [rng.standard_normal((30, 4)), rng.standard_normal((4, 2)),
              rng.standard_normal((3, 2))]
    scales = [1e-3, 1.0, 1e2]
    evaluate, gradient = _quadratic(target, scales)
    params = [np.abs(rng.standard_normal(t.shape)) for t in target]
    opt = make_optimizer(name, [True, True, False], None)
    value = evaluate(params)[0]
    values = [value]
    for _ in range(300):
        step = opt.step(params, value, gradient(params), evaluate)
        if step.stalled:
            break
        params = step.params
        value = evaluate(params)[0] if step.value is None else step.value
        values.append(value)
    assert all(np.all(p >= 0) for p in params[:2])
    assert np.any(params[2] < 0)  # the unconstrained block is not projected
    optimum = evaluate([np.maximum(target[0], 0), np.maximum(target[1], 0), target[2]])[0]
    assert values[-1] - optimum < 0.05 * (values[0] - optimum)
    if name == "armijo":
        assert np.all(np.diff(values) <= 0)


def test_armijo_stalls_at_a_stationary_point():
    evaluate, gradient = _quadratic([np.full((2, 2), -1.0)], [1.0])
    params = [np.zeros((2, 2))]
    opt = ArmijoPG([True])
    step = opt.step(params, evaluate(params)[0], gradient(params), evaluate)
    assert step.stalled and step.params is params and step.context is None


def test_fixed_step_with_learning_rate_and_adam_relative_step():
    evaluate, gradient = _quadratic([np.ones((2, 2))], [1.0])
    opt = FixedStepPG([True], learning_rate=0.5)
    step = opt.step([np.zeros((2, 2))], 2.0, gradient([np.zeros((2, 2))]), evaluate)
    np.testing.assert_allclose(step.params[0], 0.5)
    adam = Adam([False], learning_rate=0.1)
    p = [np.full((2, 2), 10.0)]
    new = adam.step(p, None, [np.ones((2, 2))], evaluate)[0]
    np.testing.assert_allclose(new[0], 10.0 - 0.1 * 10.0, rtol=1e-6)  # lr x block RMS


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("nonneg", [True, False])
def test_projected_step_kernel_matches_numpy(order, dtype, nonneg):
    from nnmf.neural._optim import _step
    rng = np.random.default_rng(9)
    shape = (70000, 3)  # several of the kernel's blocks, a partial last one
    p = np.asarray(np.abs(rng.standard_normal(shape)), dtype=dtype, order=order)
    g = rng.standard_normal(shape)  # float64 gradient for a float32 block: cast to the block's
    p[0, 0], g[1, 1] = np.nan, np.inf  # non-finite entries propagate, as with numpy
    with np.errstate(invalid="ignore"):
        ref = p - dtype(0.3) * g.astype(dtype)
        if nonneg:
            ref = np.maximum(ref, 0)
    out1, change1 = _step(p, g, 0.3, nonneg, 1)
    out2, change2 = _step(p, g, 0.3, nonneg, 2)
    assert out1.dtype == dtype and out1.flags[order + "_CONTIGUOUS"]
    # equal up to rounding (the AVX2 build may fuse the multiply-add): 2 eps of the terms
    bound = 2 * np.finfo(dtype).eps * (np.abs(p) + np.abs(dtype(0.3) * g.astype(dtype)))
    assert (np.isnan(out1) == np.isnan(ref)).all()
    finite = np.isfinite(ref)
    assert (np.abs(out1[finite] - ref[finite]) <= bound[finite]).all()
    np.testing.assert_array_equal(out2, out1)
    assert np.isnan(change1) and np.isnan(change2)  # the NaN reaches the inner product too
    p[0, 0], g[1, 1] = 1.0, 0.0
    out, change = _step(p, g, 0.3, nonneg, 2)
    expected = np.vdot(g.astype(dtype).astype(np.float64), out.astype(np.float64) - p)
    # (the kernel sums in double, by blocks: agreement to roundoff of the sum)
    assert change == pytest.approx(expected, rel=1e-12)
    assert change == _step(p, g, 0.3, nonneg, 1)[1]  # bitwise the same for any thread count
