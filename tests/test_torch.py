"""nnmf.torch: the NNLS layer as a torch.autograd.Function, Neural NMF as torch modules, the
drop-in classes for the reference implementation, and the examples of docs/guide/torch.md.

Skipped when PyTorch is not installed (the ``torch`` extra); the comparisons with the
reference implementation (PyPI ``NeuralNMF`` 1.0.0) are skipped when it is not installed.
Finite-difference checks (gradcheck) run on instances whose supports are stable: every
positive entry of S and every multiplier of a zero entry is far from 0 relative to the
perturbation (``_stable_case`` checks it).
"""

import importlib.util
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

torch = pytest.importorskip("torch", reason="PyTorch is not installed (the torch extra: "
                                            "pip install 'nnmf[torch]')")

import nnmf  # noqa: E402
import nnmf.torch as nt  # noqa: E402
from nnmf.layer import as_operand  # noqa: E402
from nnmf.neural._network import Batch, Network  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "guide" / "torch.md"
f64 = torch.float64

# PyTorch's own warnings, raised inside torch: gradcheck's forward-mode check loads
# decompositions that call torch.jit.script
pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning")


def _needs_reference():
    return pytest.importorskip("NeuralNMF", reason="the reference implementation (PyPI "
                                                   "NeuralNMF 1.0.0) is not installed")


def _rel(a, b):
    a, b = (torch.as_tensor(np.asarray(v)) if not isinstance(v, torch.Tensor) else v
            for v in (a, b))
    a, b = a.detach().double(), b.detach().double()
    return float((a - b).norm() / b.norm())


def _csr(X):
    with warnings.catch_warnings():  # torch: "Sparse CSR tensor support is in beta state"
        warnings.simplefilter("ignore", UserWarning)
        return X.to_sparse_csr(), X.to_sparse_csc()


# ------------------------------------------------------------------------ test instances

def _margins(A, X, S):
    """(smallest positive entry of S, smallest multiplier A^T (A S - X) off the support,
    smallest singular value of A_P over the columns' supports), relative to the problem's
    scale."""
    lam = A.T @ (A @ S - X)
    scale = max(np.abs(A.T @ X).max(), 1e-300)
    pos = S[S > 0]
    off = lam[S == 0]
    sv = min((np.linalg.svd(A[:, S[:, j] > 0], compute_uv=False).min()
              for j in range(S.shape[1]) if (S[:, j] > 0).any()), default=1.0)
    return (pos.min() / np.abs(S).max() if pos.size else 1.0,
            off.min() / scale if off.size else 1.0, sv / np.linalg.norm(A, 2))


def _draw(kind, rng):
    if kind == "tall":
        return rng.random((12, 4)) + 0.1, rng.random((12, 5))
    if kind == "wide":  # k > m: A^T A is singular; a pointed cone, x outside it
        return rng.random((4, 7)), rng.standard_normal((4, 5))
    if kind == "sparse-support":  # most entries of S at 0
        return rng.random((15, 6)), rng.standard_normal((15, 6))
    if kind == "rank-deficient":  # column 3 = column 0 + column 1
        B = rng.random((12, 3))
        return np.column_stack([B, B[:, 0] + B[:, 1]]), rng.standard_normal((12, 6)) + 0.3
    raise ValueError(kind)


def _stable_case(kind, margin=1e-3):
    """The first seeded draw of ``kind`` whose supports are stable (see the module
    docstring), as float64 tensors A, X and S."""
    for seed in range(200):
        A, X = _draw(kind, np.random.default_rng(seed))
        S = nnmf.nnls(A, X)
        if min(_margins(A, X, S)) > margin and (kind != "sparse-support" or
                                                (S > 0).mean() < 0.5):
            return torch.from_numpy(A), torch.from_numpy(X), torch.from_numpy(S)
    raise AssertionError(f"no stable {kind} instance found")


KINDS = ["tall", "wide", "sparse-support", "rank-deficient"]


# ------------------------------------------------------------------------------- import

def test_import_nnmf_does_not_import_torch_and_nnmf_torch_gets_the_real_one():
    code = ("import sys, nnmf, nnmf.layer; assert 'torch' not in sys.modules; "
            "import nnmf.torch as nt; import torch; "
            "assert nt._function.torch is torch and hasattr(torch, 'autograd'); "
            "assert 'torch' not in nnmf.__all__; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# ------------------------------------------------------------------------------ forward

def test_forward_is_nnmf_nnls_and_keeps_layouts_and_dtypes():
    rng = np.random.default_rng(0)
    A, X = rng.random((30, 5)), rng.random((30, 8))
    for dtype in (torch.float32, torch.float64):
        At, Xt = torch.from_numpy(A).to(dtype), torch.from_numpy(X).to(dtype)
        S = nt.nnls(At, Xt)
        assert S.dtype == dtype and S.shape == (5, 8)
        assert S.stride() == (1, 5)  # column-ordered, as the core returns it
        np.testing.assert_array_equal(S.numpy(), nnmf.nnls(At.numpy(), Xt.numpy()))
    # a transposed (column-major) A, a non-contiguous X and mixed dtypes
    At = torch.from_numpy(np.asfortranarray(A))
    Xt = torch.from_numpy(X.repeat(2, axis=1))[:, ::2]
    S = nt.nnls(At.float(), Xt)
    assert S.dtype == f64
    np.testing.assert_allclose(S.numpy(), nnmf.nnls(A.astype(np.float32), X), rtol=0,
                               atol=1e-12)


def test_forward_takes_a_views_memory_without_copying(monkeypatch):
    """A and X reach the core as views of the tensors' memory."""
    import nnmf.torch._function as fn

    seen = {}
    solve = fn.solve_layer

    def spy(A, Xop, *args, **kwargs):
        seen["A"], seen["X"] = A, Xop.matrix
        return solve(A, Xop, *args, **kwargs)

    monkeypatch.setattr(fn, "solve_layer", spy)
    A = torch.rand(40, 6, dtype=f64, requires_grad=True)
    X = torch.rand(40, 9, dtype=f64)
    nt.nnls(A, X)
    assert seen["A"].ctypes.data == A.data_ptr() and seen["X"].ctypes.data == X.data_ptr()
    nt.nnls(A.detach().T.contiguous().T, X.T.contiguous().T)  # column-major: no copy either
    assert seen["A"].flags.f_contiguous and seen["X"].flags.f_contiguous


@pytest.mark.parametrize("layout", ["coo", "csr", "csc", "coo-uncoalesced"])
def test_sparse_X_stays_sparse_and_matches_dense(layout):
    X = sp.random(40, 12, density=0.3, random_state=1, format="csr")
    Xd = torch.from_numpy(X.toarray())
    if layout == "coo-uncoalesced":
        coo = Xd.to_sparse()
        Xs = torch.sparse_coo_tensor(coo.indices().repeat(1, 2), coo.values().repeat(2) / 2,
                                     Xd.shape, check_invariants=True)
    else:
        Xs = {"coo": Xd.to_sparse(), "csr": _csr(Xd)[0], "csc": _csr(Xd)[1]}[layout]
    A = torch.rand(40, 5, dtype=f64, requires_grad=True)
    G = torch.randn(5, 12, dtype=f64)
    S = nt.nnls(A, Xd)
    (S * G).sum().backward()
    dense_grad, A.grad = A.grad, None
    S2 = nt.nnls(A, Xs)
    (S2 * G).sum().backward()
    np.testing.assert_allclose(S2.detach(), S.detach(), rtol=0, atol=1e-13)
    np.testing.assert_allclose(A.grad, dense_grad, rtol=1e-12, atol=1e-13)
    with pytest.raises(ValueError, match="sparse X gets no gradient"):
        nt.nnls(A, Xd.to_sparse().requires_grad_())


def test_clear_errors():
    A, X = torch.rand(6, 3, dtype=f64), torch.rand(6, 4, dtype=f64)
    with pytest.raises(ValueError, match=r"CPU.*\.cpu\(\)"):
        nt.nnls(A.to("meta"), X.to("meta"))   # what a CUDA tensor gets too
    with pytest.raises(TypeError, match="float32 or float64"):
        nt.nnls(A.half(), X)
    with pytest.raises(TypeError, match="torch.Tensor"):
        nt.nnls(A.numpy(), X)
    with pytest.raises(ValueError, match="same number of rows"):
        nt.nnls(A, X[:5])
    with pytest.raises(ValueError, match="init has shape"):
        nt.nnls(A, X, init=torch.zeros(3, 5, dtype=f64))
    with pytest.raises(ValueError, match="NaN or infinity"):
        nt.nnls(A, X.masked_fill(X > 0.5, float("nan")))
    with pytest.raises(nnmf.InvalidParameterError):
        nt.nnls(A, X, n_threads=0)


def test_warm_start_threads_and_convergence_warning():
    rng = np.random.default_rng(2)
    A = torch.from_numpy(rng.random((50, 8)))
    X = torch.from_numpy(rng.random((50, 30)))
    S = nt.nnls(A, X)
    A2 = A * torch.from_numpy(1 + 0.01 * rng.uniform(-1, 1, A.shape))
    np.testing.assert_allclose(nt.nnls(A2, X, init=S), nt.nnls(A2, X), rtol=1e-12,
                               atol=1e-14)
    assert torch.equal(nt.nnls(A, X, n_threads=1), nt.nnls(A, X, n_threads=2))
    hard_A = torch.from_numpy(rng.standard_normal((40, 20)))
    with pytest.warns(nnmf.ConvergenceWarning, match="max_iter") as record:
        nt.nnls(hard_A, torch.from_numpy(rng.standard_normal((40, 12))), max_iter=1)
    assert record[0].filename == __file__


# ------------------------------------------------------------------------- derivatives

@pytest.mark.parametrize("kind", KINDS)
def test_gradcheck_float64(kind):
    A, X, _ = _stable_case(kind)
    A.requires_grad_()
    X.requires_grad_()
    assert torch.autograd.gradcheck(lambda a, x: nt.nnls(a, x), (A, X), eps=1e-6,
                                    atol=1e-7, rtol=1e-5, check_forward_ad=True)


def test_gradcheck_sparse_X():
    A, X, _ = _stable_case("sparse-support")
    Xs = X.to_sparse()
    A.requires_grad_()
    assert torch.autograd.gradcheck(lambda a: nt.nnls(a, Xs), (A,), eps=1e-6, atol=1e-7,
                                    rtol=1e-5, check_forward_ad=True)


@pytest.mark.parametrize("kind", KINDS)
def test_adjoint_identity_through_torch_func(kind):
    A, X, S = _stable_case(kind)
    gen = torch.Generator().manual_seed(0)
    u = torch.randn(S.shape, generator=gen, dtype=f64)
    dA = torch.randn(A.shape, generator=gen, dtype=f64)
    dX = torch.randn(X.shape, generator=gen, dtype=f64)
    _, Jv = torch.func.jvp(nt.nnls, (A, X), (dA, dX))
    _, vjp = torch.func.vjp(nt.nnls, A, X)
    JtA, JtX = vjp(u)
    lhs = float((u * Jv).sum())
    rhs = float((JtA * dA).sum() + (JtX * dX).sum())
    assert abs(lhs - rhs) <= 1e-10 * abs(lhs)
    # and the same through torch.autograd's forward mode and backward
    import torch.autograd.forward_ad as fwAD

    with fwAD.dual_level():
        tangent = fwAD.unpack_dual(nt.nnls(fwAD.make_dual(A, dA),
                                           fwAD.make_dual(X, dX))).tangent
    np.testing.assert_allclose(tangent, Jv, rtol=0, atol=1e-14 * float(Jv.abs().max()))
    a, x = A.clone().requires_grad_(), X.clone().requires_grad_()
    nt.nnls(a, x).backward(u)
    np.testing.assert_allclose(a.grad, JtA, rtol=0, atol=1e-14 * float(JtA.abs().max()))
    # torch.func.grad, too
    g = torch.func.grad(lambda a_: (nt.nnls(a_, X) * u).sum())(A)
    np.testing.assert_allclose(g, JtA, rtol=0, atol=1e-14 * float(JtA.abs().max()))


def test_gradient_equals_nnmf_vjp_and_dtypes_follow_the_inputs():
    A, X, S = _stable_case("tall")
    G = torch.randn(S.shape, dtype=f64)
    dA, dX = nnmf.nnls_vjp(A.numpy(), X.numpy(), S.numpy(), G.numpy())
    a, x = A.clone().requires_grad_(), X.clone().requires_grad_()
    nt.nnls(a, x).backward(G)
    np.testing.assert_array_equal(a.grad, dA)
    np.testing.assert_array_equal(x.grad, dX)
    assert x.grad.is_contiguous()  # laid out like X (autograd copies it otherwise)
    xf = X.T.contiguous().T.requires_grad_()
    nt.nnls(A, xf).backward(G)
    assert xf.grad.stride() == xf.stride()
    np.testing.assert_allclose(xf.grad, dX, rtol=1e-13, atol=1e-15)
    a32 = A.float().requires_grad_()
    x64 = X.clone().requires_grad_()
    S = nt.nnls(a32, x64)   # computed in float64; each gradient in its input's dtype
    S.backward(G)
    assert S.dtype == f64 and a32.grad.dtype == torch.float32 and x64.grad.dtype == f64


def test_float32_within_1e4_of_float64():
    rng = np.random.default_rng(3)
    A = torch.from_numpy(rng.random((200, 10)))
    X = torch.from_numpy(rng.random((200, 10)) @ rng.random((10, 60))
                         + 0.1 * rng.random((200, 60)))
    G = torch.from_numpy(rng.standard_normal((10, 60)))
    out = {}
    for dtype in (torch.float32, torch.float64):
        a, x = A.to(dtype).requires_grad_(), X.to(dtype).requires_grad_()
        S = nt.nnls(a, x)
        S.backward(G.to(dtype))
        assert S.dtype == a.grad.dtype == x.grad.dtype == dtype
        out[dtype] = (S.detach(), a.grad, x.grad)
    for lo, hi in zip(out[torch.float32], out[torch.float64]):
        assert _rel(lo, hi) <= 1e-4


def test_second_derivatives_raise():
    A, X, S = _stable_case("tall")
    G = torch.randn(S.shape, dtype=f64)
    dA = torch.randn(A.shape, dtype=f64)
    a = A.clone().requires_grad_()

    def double_backward(upstream):
        g, = torch.autograd.grad(upstream(nt.nnls(a, X)), a, create_graph=True)
        torch.autograd.grad(g.sum() + (a * a).sum(), a)

    def f(b):
        return nt.nnls(b, X)

    cases = [
        lambda: double_backward(lambda S: (S * S).sum()),
        lambda: double_backward(lambda S: (S * G).sum()),   # upstream free of A
        lambda: torch.func.grad(lambda b: torch.func.grad(
            lambda c: (f(c) * G).sum())(b).sum())(A),
        lambda: torch.func.jvp(torch.func.grad(lambda b: (f(b) ** 2).sum()), (A,), (dA,)),
        lambda: torch.func.jvp(lambda b: torch.func.jvp(f, (b,), (dA,))[1], (A,), (dA,)),
        lambda: torch.func.vjp(lambda b: torch.func.jvp(f, (b,), (dA,))[1], A)[1](G),
    ]
    for case in cases:
        with pytest.raises(RuntimeError, match="once differentiable"):
            case()
    # first derivatives under create_graph=True are still right
    g, = torch.autograd.grad((nt.nnls(a, X) * G).sum(), a, create_graph=True)
    np.testing.assert_array_equal(g.detach(), torch.autograd.grad(
        (nt.nnls(a, X) * G).sum(), a)[0])


def test_in_place_changes_are_refused():
    A = torch.rand(20, 4, dtype=f64, requires_grad=True)
    X = torch.rand(20, 6, dtype=f64)
    S = nt.nnls(A, X)
    with torch.no_grad():
        A.mul_(2.0)
    with pytest.raises(RuntimeError, match="inplace"):
        S.sum().backward()


# dynamo's own UserWarnings while it wraps the tensors around the graph break
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_torch_compile_runs_around_the_layer():
    A = torch.rand(30, 4, dtype=f64, requires_grad=True)
    X = torch.rand(30, 7, dtype=f64)

    def model(a, x):
        return (torch.relu(nt.nnls(a, 2.0 * x) - 0.1) ** 2).sum()

    expected = model(A, X)
    g_expected, = torch.autograd.grad(expected, A)
    compiled = torch.compile(model, backend="eager")
    value = compiled(A, X)
    g, = torch.autograd.grad(value, A)
    torch.testing.assert_close(value, expected)
    torch.testing.assert_close(g, g_expected)


# ------------------------------------------------------------------------------ modules

def test_nnls_layer_module():
    torch.manual_seed(0)
    layer = nt.NNLSLayer(30, 4, warm_start=True, dtype=f64)
    assert isinstance(layer.A, torch.nn.Parameter) and layer.A.shape == (30, 4)
    X = torch.rand(30, 10, dtype=f64)
    S1 = layer(X, batch=0)
    assert torch.equal(layer._previous[0], S1.detach())
    with torch.no_grad():
        layer.A.sub_(0.3)
    layer.project_()
    assert (layer.A >= 0).all() and (layer.A == 0).any()
    np.testing.assert_allclose(layer(X, batch=0).detach(), nt.nnls(layer.A, X).detach(),
                               rtol=1e-12, atol=1e-14)
    init = torch.rand(30, 4)
    copy = nt.NNLSLayer(30, 4, init)
    assert copy.A.dtype == torch.float32 and copy.A.data_ptr() != init.data_ptr()
    with pytest.raises(ValueError, match="shape"):
        nt.NNLSLayer(30, 5, init)


def test_a_layer_inside_a_model_trains_with_torch_optim():
    torch.manual_seed(0)
    n, m, k = 64, 20, 5
    W = torch.rand(m, k, dtype=f64)
    X = W @ torch.rand(k, n, dtype=f64)
    y = (X[0] > X[0].median()).long()
    encoder = torch.nn.Linear(m, m, dtype=f64)
    layer = nt.NNLSLayer(m, k, dtype=f64)
    head = torch.nn.Linear(k, 2, dtype=f64)
    params = [*encoder.parameters(), *layer.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=0.02)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        S = layer(torch.nn.functional.softplus(encoder(X.T)).T)
        loss = torch.nn.functional.cross_entropy(head(S.T), y)
        loss.backward()
        opt.step()
        layer.project_()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def _network_problem(loss, supervision, sparse, seed=0):
    """The same problem for nnmf.neural's Network and for nnmf.torch."""
    rng = np.random.default_rng(seed)
    m, n, ranks = 24, 18, (6, 3)
    X = rng.random((m, 6)) @ rng.random((6, n)) + 0.05 * rng.random((m, n))
    if sparse:
        X = sp.csc_matrix(X * (rng.random((m, n)) < 0.5))
    Xop = as_operand(X)
    As = [rng.random((m, 6)) + 0.1, rng.random((6, 3)) + 0.1]
    batch = Batch(Xop, None, Xop.sqnorm(), 1.0 / Xop.sqnorm(), 0.0)
    params = list(As)
    y = known = None
    if supervision:
        y = rng.integers(0, 3, n)
        known = rng.random(n) > 0.3
        batch.Y = np.eye(3)[:, y]
        batch.weights = known.astype(float)
        batch.sup_scale = 0.7 / known.sum()
        params.append(rng.standard_normal((3, ranks[-1])))
    net = Network(2, loss=loss, classification_loss=supervision or "l2", n_threads=1,
                  dtype=np.float64)
    return X, net, batch, params, y, known


@pytest.mark.parametrize("loss", ["reconstruction", "energy"])
@pytest.mark.parametrize("supervision", [None, "l2", "cross_entropy"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_objective_and_gradient_equal_the_estimators(loss, supervision, sparse):
    X, net, batch, params, y, known = _network_problem(loss, supervision, sparse)
    value, ctx = net.evaluate(params, batch)
    grads = net.gradient(ctx)
    model = nt.NeuralNMF((6, 3), X.shape[0], 3 if supervision else None,
                         init=[torch.from_numpy(A) for A in params[:2]], dtype=f64)
    if supervision:
        with torch.no_grad():
            model.B.copy_(torch.from_numpy(params[2]))
    Xt = torch.from_numpy(X.toarray()).to_sparse() if sparse else torch.from_numpy(X)
    out = nt.objective(model, Xt, model(Xt), y, known, loss=loss, lam=0.7,
                       classification_loss=supervision or "l2")
    out.backward()
    assert out.item() == pytest.approx(value, rel=1e-12)
    ours = [layer.A.grad for layer in model.layers] + ([model.B.grad] if supervision else [])
    for g_ours, g_ref in zip(ours, grads):
        assert _rel(g_ours, g_ref) <= 1e-10


def test_losses_in_float32():
    X, net, batch, params, _, _ = _network_problem("reconstruction", None, False)
    for loss in ("reconstruction", "energy"):
        net.loss = loss
        value, _ = net.evaluate(params, batch)
        model = nt.NeuralNMF((6, 3), X.shape[0], init=params, dtype=torch.float32)
        X32 = torch.from_numpy(X).float()
        out = nt.objective(model, X32, model(X32), loss=loss)
        assert out.dtype == torch.float32 and out.item() == pytest.approx(value, rel=1e-4)


def test_estimator_round_trip():
    d = nnmf.datasets.load_synthetic_noise()
    y = d.labels["middle"]
    with pytest.warns(nnmf.ConvergenceWarning):
        est = nnmf.NeuralNMF((9, 4), max_iter=5, random_state=0).fit(d.X, y)
    model = nt.NeuralNMF.from_estimator(est)
    assert model.ranks == (9, 4) and model.n_classes == est.B_.shape[0]
    X = torch.from_numpy(np.ascontiguousarray(d.X, dtype=np.float64))
    Ss, scores = model(X)
    np.testing.assert_allclose(Ss[-1].detach(), est.S_[-1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(scores.detach(), est.B_ @ est.S_[-1], rtol=1e-10, atol=1e-12)
    back = model.to_estimator(X)
    np.testing.assert_array_equal(back.predict(d.X), est.predict(d.X))
    assert back.reconstruction_err_ == pytest.approx(est.reconstruction_err_, rel=1e-10)
    assert model.to_estimator(X.to_sparse()).reconstruction_err_ == pytest.approx(
        est.reconstruction_err_, rel=1e-10)
    with pytest.raises(ValueError, match="no classifier"):
        nt.objective(nt.NeuralNMF(3, X.shape[0], dtype=f64), X, [Ss[-1]], y)
    with pytest.raises(ValueError, match="no known label"):
        nt.classification_loss(scores, np.full(X.shape[1], -1))
    # unsupervised: fit continues from the torch factors
    with pytest.warns(nnmf.ConvergenceWarning):
        est = nnmf.NeuralNMF((9, 4), max_iter=5, random_state=0).fit(d.X)
    back = nt.NeuralNMF.from_estimator(est).to_estimator(d.X)
    assert back.B_ is None and back.classes_ is None
    with pytest.warns(nnmf.ConvergenceWarning):
        refit = back.set_params(max_iter=2).fit(d.X)
    assert refit.history_["loss"][0] <= est.history_["loss"][-1]
    with pytest.raises(ValueError, match="not fitted"):
        nt.NeuralNMF.from_estimator(nnmf.NeuralNMF(3))


# --------------------------------------------------------------------- the reference

def test_drop_in_classes_start_like_the_reference():
    ref = _needs_reference()
    torch.manual_seed(1)
    theirs = ref.Neural_NMF([30, 6, 3], c=4)
    torch.manual_seed(1)
    ours = nt.Neural_NMF([30, 6, 3], c=4)
    for a, b in zip(theirs.lsqnonneglst, ours.lsqnonneglst):
        assert torch.equal(a.A, b.A) and a.A.dtype == b.A.dtype == f64
    assert torch.equal(theirs.linear.weight, ours.linear.weight)
    X = torch.rand(30, 12, dtype=f64)
    (S_ref, pred_ref), (S_ours, pred_ours) = theirs(X), ours(X)
    for a, b in zip(S_ref, S_ours):
        assert _rel(b, a) <= 1e-12
    assert _rel(pred_ours, pred_ref) <= 1e-12
    A0 = torch.rand(30, 6, dtype=f64)
    assert nt.LsqNonneg(30, 6, initial_A=A0).A.data_ptr() == A0.data_ptr()


def test_gradients_equal_the_references():
    _needs_reference()
    from NeuralNMF.lsqnonneg_module import LsqNonnegF, calc_grad_A, calc_grad_X

    d = nnmf.datasets.load_synthetic_noise()
    X = torch.from_numpy(np.array(d.X, dtype=np.float64))
    torch.manual_seed(0)
    A = torch.rand(X.shape[0], 9, dtype=f64)
    G = torch.randn(9, X.shape[1], dtype=f64)
    a, x = A.clone().requires_grad_(), X.clone().requires_grad_()
    S_ref = LsqNonnegF.apply(x, a)
    S_ref.backward(G)
    b, z = A.clone().requires_grad_(), X.clone().requires_grad_()
    S = nt.LsqNonnegF.apply(z, b)
    S.backward(G)
    assert _rel(S.detach(), S_ref.detach()) <= 1e-10
    assert _rel(b.grad, a.grad) <= 1e-10 and _rel(z.grad, x.grad) <= 1e-10
    assert _rel(b.grad, calc_grad_A(G, A, S_ref.detach(), X)) <= 1e-10
    assert _rel(z.grad, calc_grad_X(G, A, S_ref.detach())) <= 1e-10


@pytest.mark.parametrize("loss", ["Recon Loss", "Energy Loss"])
def test_reference_train_loop_gives_the_same_history(loss):
    ref = _needs_reference()
    d = nnmf.datasets.load_synthetic_noise()
    X = torch.from_numpy(np.array(d.X, dtype=np.float64))
    histories = []
    for cls in (ref.Neural_NMF, nt.Neural_NMF):
        torch.manual_seed(0)
        net = cls([X.shape[0], 9, 4])
        history = ref.train(net, X, loss_func=loss, epoch=8, lr=1000.0, verbose=False,
                            full_history=True)
        histories.append(np.array([float(v) for v in history.get("loss")]))
    theirs, ours = histories
    assert theirs[-1] < 0.8 * theirs[0]  # it trains
    np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=0)


def test_reference_losses_are_reproduced():
    ref = _needs_reference()
    torch.manual_seed(0)
    net = nt.Neural_NMF([30, 6, 3], c=3)
    X = torch.rand(30, 20, dtype=f64)
    label = torch.randint(0, 3, (20,))
    L = (torch.rand(20) > 0.3).to(f64).expand(3, 20)
    S_lst, pred = net(X)
    onehot = torch.nn.functional.one_hot(label, 3).T.to(f64)
    for theirs, ours in [(ref.Recon_Loss_Func, nt.Recon_Loss_Func),
                         (ref.Energy_Loss_Func, nt.Energy_Loss_Func)]:
        for kind, lab in (("CrossEntropy", label), ("L2", onehot)):
            for extra in ((), (pred, lab), (pred, lab, L)):
                expected = theirs(0.4, kind)(net, X, S_lst, *extra)
                for Xin in (X, X.to_sparse()):
                    got = ours(0.4, kind)(net, Xin, S_lst, *extra)
                    assert got.item() == pytest.approx(expected.item(), rel=1e-12)


# ------------------------------------------------------------------------------ the docs

def _page_blocks():
    """The python blocks of docs/guide/torch.md that test_docs.py leaves to this file (they
    need torch): those whose skip marker names this file."""
    spec = importlib.util.spec_from_file_location("_nnmf_docs_test", ROOT / "tests" /
                                                  "test_docs.py")
    docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(docs)
    lines = PAGE.read_text(encoding="utf-8").splitlines()
    blocks = []
    for block in docs.code_blocks(PAGE):
        marker = next((s.strip() for s in reversed(lines[:block.line - 2]) if s.strip()), "")
        if block.language == "python" and (not block.skip or "tests/test_torch.py" in marker):
            blocks.append(block)
    return blocks


def test_docs_page_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = _page_blocks()
    assert len(blocks) >= 5
    namespace = {"__name__": "__main__"}
    for block in blocks:
        if re.search(r"^\s*(import|from) NeuralNMF", block.code, re.M):
            _needs_reference()  # the last block: the reference's own training loop
        code = compile("\n" * (block.line - 1) + block.code, str(PAGE), "exec")
        exec(code, namespace)
