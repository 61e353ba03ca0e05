"""Row 1: a Neural NMF training epoch (forward + backward + projected step) against the
reference implementation, PyPI ``NeuralNMF`` 1.0.0 (PyTorch + a scipy.optimize.nnls column
loop + a per-column pseudo-inverse backward), on synthetic_noise (9, 4, 2), the 20 Newsgroups
subsample (10, 6) and a dense 2000 x 2000 (40, 10).

Both start from the same A's (a short layer-wise NMF) and take the same projected gradient
steps A <- max(0, A - eta * grad) for the same number of epochs, so their errors must agree;
the gradients at the starting A's are compared (reference scaled to nnmf's normalisation).
nnmf's default optimiser (Armijo) is timed too. The reference runs in a subprocess, so that
torch's thread pool does not share a process with nnmf's; without it installed
(``pip install -e '.[bench]'``) the row is skipped and the results files keep its last run.

The reference's reconstruction loss is mean((X - A_0...A_L S_L)^2) = ||X - P S_L||^2 / (m n);
nnmf's is 1/2 ||X - P S_L||^2 / ||X||^2. So grad_nnmf = grad_ref * m n / (2 ||X||^2), and the
reference's learning rate is eta * m n / (2 ||X||^2) for nnmf's eta.
"""

import importlib.util
import tempfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

import nnmf
from _common import dense_uniform, fmt_e, fmt_t, fmt_x, now, passfail
from training.fits import (TARGET_FLOOR, a0_work_time, floor_time, load_20news, load_synthetic,
                           our_gradient, rel_error, run_ours, start_child, start_factors,
                           step_size)

KEY = "1"
TARGET_REF_DENSE = 200.0    # epoch >= 200x faster than the reference on dense 2000 x 2000
TARGET_GRAD = 1e-8          # gradients agree to 1e-8 relative
REFERENCE_MODULES = ("torch", "NeuralNMF")


def missing_reference():
    """The reference's modules that are not installed (found without importing them)."""
    return [m for m in REFERENCE_MODULES if importlib.util.find_spec(m) is None]


def run_reference(X, ranks, As, epochs, lr, args):
    """The reference's training loop, run in a subprocess: see child()."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if sp.issparse(X):
            sp.save_npz(tmp / "X.npz", sp.csc_matrix(X))
        else:
            np.save(tmp / "X.npy", np.asarray(X))
        np.savez(tmp / "A.npz", *As)
        params = {"dir": str(tmp), "ranks": list(ranks), "epochs": epochs, "lr": lr,
                  "n_layers": len(As)}
        res = start_child("--_reference-child", params, args)
        g = np.load(tmp / "grads.npz")
        grads = [g[f"arr_{i}"] for i in range(len(As))]
    return res["times"], grads, res["err"], res["threads"]


def child(params):
    """The reference's training loop (NeuralNMF.train_unsupervised's body) for `epochs`
    epochs: zero_grad, forward (scipy nnls per column), Recon_Loss_Func, backward (pinv per
    column), A <- A - lr * grad, plus the projection clamp(min=0) of its supervised loop (its
    unsupervised loop omits it). Saves the gradients at the starting A's; reports per-epoch
    times and the relative error at the final A's (one more, untimed, forward)."""
    import torch
    import NeuralNMF as ref
    tmp = Path(params["dir"])
    if (tmp / "X.npz").exists():
        Xd = sp.load_npz(tmp / "X.npz").toarray()   # the reference takes a dense tensor
    else:
        Xd = np.load(tmp / "X.npy")
    a = np.load(tmp / "A.npz")
    As = [a[f"arr_{i}"] for i in range(params["n_layers"])]
    ranks, epochs, lr = params["ranks"], params["epochs"], params["lr"]
    m, n = Xd.shape
    Xt = torch.from_numpy(np.ascontiguousarray(Xd, dtype=np.float64))
    net = ref.Neural_NMF([m, *ranks])
    for l, A in enumerate(As):
        net.lsqnonneglst[l].A.data = torch.from_numpy(np.array(A, dtype=np.float64))
    loss_fn = ref.Recon_Loss_Func()
    times = []
    for i in range(epochs):
        t0 = now()
        net.zero_grad()
        S_lst = net(Xt)
        loss = loss_fn(net, Xt, S_lst)
        loss.backward()
        if i == 0:
            np.savez(tmp / "grads.npz", *[net.lsqnonneglst[l].A.grad.numpy().copy()
                                          for l in range(len(ranks))])
        for l in range(len(ranks)):
            A = net.lsqnonneglst[l].A
            A.data = A.data.sub_(lr * A.grad.data)
            A.data = A.data.clamp(min=0)
        times.append(now() - t0)
    with torch.no_grad():
        S_lst = net(Xt)
        loss = float(loss_fn(net, Xt, S_lst))
    Xsq = float(np.vdot(Xd, Xd))
    err = float(np.sqrt(max(loss, 0.0) * m * n / Xsq))
    return {"times": times, "err": err, "threads": torch.get_num_threads()}


def _top(X, As):
    """(P, S_L) with P = A_0...A_L and S_L the forward pass at As (for the start error)."""
    Z = X
    for A in As:
        Z = nnmf.nnls(A, Z)
    P = As[0]
    for A in As[1:]:
        P = P @ A
    return P, Z


def run(args):
    """The row's results, or None (skipped) when the reference is not installed."""
    missing = missing_reference()
    if missing:
        print(f"[row 1] skipped: the reference implementation is not installed (no "
              f"{', '.join(missing)}; pip install -e '.[bench]'); the results files keep "
              f"row 1's last run", flush=True)
        return None
    if args.quick:
        cases = [("synthetic_noise", load_synthetic, (9, 4, 2), 5),
                 ("20News", load_20news, (10, 6), 1),
                 ("dense uniform", lambda: dense_uniform(300, 300, 0), (40, 10), 1)]
    else:
        cases = [("synthetic_noise", load_synthetic, (9, 4, 2), 20),
                 ("20News", load_20news, (10, 6), 3),
                 ("dense uniform", lambda: dense_uniform(2000, 2000, 0), (40, 10), 1)]
    return [measure(*case, args) for case in cases]


def measure(name, loader, ranks, ref_epochs, args):
    """One data set: the reference's epochs, ours, the gradient check and the floor."""
    threads = args.threads
    print(f"[row 1] {name} ranks {ranks}: reference {ref_epochs} epoch(s)", flush=True)
    X = loader()
    m, n = X.shape
    Xsq = float(X.multiply(X).sum()) if sp.issparse(X) else float(np.vdot(X, X))
    As = start_factors(X, ranks, threads)
    eta = step_size(X, As, threads)
    scale = m * n / (2 * Xsq)            # grad_nnmf = scale * grad_ref
    lr_ref = eta * scale
    t_ref, g_ref, err_ref, ref_threads = run_reference(X, ranks, As, ref_epochs, lr_ref, args)
    _, g_ours = our_gradient(X, As, threads)
    rel = [float(np.linalg.norm(scale * gr - go) / max(np.linalg.norm(scale * gr), 1e-300))
           for gr, go in zip(g_ref, g_ours)]
    our_epochs = max(ref_epochs, 10 if args.quick else 30)
    t_med, t_mean, hist, _ = run_ours(X, ranks, As, our_epochs, threads, "pgd", eta)
    err_ours = float(hist[ref_epochs - 1])
    t_arm, _, hist_arm, _ = run_ours(X, ranks, As, our_epochs, threads, "armijo")
    floor, fdet = floor_time(X, As[0], ranks[0], threads, repeats=21)
    a0_work = a0_work_time(As[0], threads, repeats=21)
    t_ref_epoch = float(np.median(t_ref))
    r = {"case": name, "shape": [m, n], "sparse": sp.issparse(X), "ranks": list(ranks),
         "ref_epochs": ref_epochs, "our_epochs": our_epochs, "eta": eta, "lr_ref": lr_ref,
         "grad_scale": scale, "t_ref_epoch": t_ref_epoch, "t_ref_all": t_ref,
         "ref_torch_threads": ref_threads,
         "t_ours_epoch": t_med, "t_ours_epoch_mean": t_mean, "t_armijo_epoch": t_arm,
         "speedup": t_ref_epoch / t_med, "floor": floor, "floor_detail": fdet,
         "floor_ratio": t_med / floor, "floor_ratio_armijo": t_arm / floor,
         "a0_work": a0_work, "floor_a0_ratio": t_med / (floor + a0_work),
         "err_ref": err_ref, "err_ours": err_ours,
         "err_armijo_same_epochs": float(hist_arm[ref_epochs - 1]),
         "err_armijo_final": float(hist_arm[-1]),
         "grad_rel_diff_per_layer": rel, "grad_rel_diff": max(rel),
         "err_start": rel_error(X, *_top(X, As))}
    r["pass_speed"] = bool(r["speedup"] > (TARGET_REF_DENSE if "dense" in name else 1.0))
    r["pass_grad"] = bool(r["grad_rel_diff"] <= TARGET_GRAD)
    r["pass_floor"] = bool(r["floor_ratio"] <= TARGET_FLOOR)
    print(f"   ref {fmt_t(t_ref_epoch)}/epoch, ours {fmt_t(t_med)}/epoch "
          f"({fmt_x(r['speedup'])}), armijo {fmt_t(t_arm)}, floor {fmt_t(floor)} "
          f"({fmt_x(r['floor_ratio'])}), with A_0 work {fmt_t(floor + a0_work)} "
          f"({fmt_x(r['floor_a0_ratio'])}), grad diff {r['grad_rel_diff']:.2e}, "
          f"err ref {err_ref:.6g} ours {err_ours:.6g}", flush=True)
    return r


def render(rows):
    lines = ["## 1. Neural NMF epoch vs the reference (PyPI NeuralNMF 1.0.0)", "",
             "Same start (20 ANLS iterations of layer-wise NMF), same projected steps "
             "A ← max(0, A − η∇) (η: no layer moves > 1 %; reference lr = η·mn/(2‖X‖²)), "
             "same epochs. Gradient check: reconstruction loss, reference gradient × "
             "mn/(2‖X‖²) (its loss is mean((X−PS)²), ours ½‖X−PS‖²/‖X‖²), "
             "max over layers of ‖g_ref − g_ours‖_F/‖g_ref‖_F at the starting A's. "
             "*floor*: the products with X a step cannot avoid (A₀ᵀX, X·Wᵀ; the faster "
             "of nnmf's and scipy's kernels). *A₀ work*: numpy's time for the work on A₀ "
             "alone a step cannot avoid either (A₀ᵀA₀, A₀M, one pass for the step).", "",
             "| data | ranks | reference / epoch | nnmf / epoch (pgd) | speedup | target | "
             "floor | epoch / floor | ≤ 4x | A₀ work | epoch / (floor + A₀ work) | "
             "nnmf armijo / epoch | grad rel. diff | "
             "≤ 1e-8 | epochs compared | rel. error ref | rel. error nnmf | "
             "nnmf armijo error (same epochs / after more) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        tgt = f">{TARGET_REF_DENSE:.0f}x" if "dense" in r["case"] else ">1x"
        lines.append(
            f"| {r['case']} {r['shape'][0]}x{r['shape'][1]}{' sparse' if r['sparse'] else ''}"
            f" | {tuple(r['ranks'])} | {fmt_t(r['t_ref_epoch'])} | {fmt_t(r['t_ours_epoch'])}"
            f" | {fmt_x(r['speedup'])} | {tgt} {passfail(r['pass_speed'])} | "
            f"{fmt_t(r['floor'])} | {fmt_x(r['floor_ratio'])} | {passfail(r['pass_floor'])}"
            f" | {fmt_t(r['a0_work'])} | {fmt_x(r['floor_a0_ratio'])}"
            f" | {fmt_t(r['t_armijo_epoch'])} | {r['grad_rel_diff']:.1e} | "
            f"{passfail(r['pass_grad'])} | {r['ref_epochs']} | {fmt_e(r['err_ref'])} | "
            f"{fmt_e(r['err_ours'])} | {fmt_e(r['err_armijo_same_epochs'])} / "
            f"{fmt_e(r['err_armijo_final'])} ({r['our_epochs'] + 1}) |")
    lines.append("")
    return lines
