#!/usr/bin/env python
"""nnmf.torch benchmarks (issue 19), side by side in one run, in one process:

1. ``reference``: the reference implementation's own training loop (PyPI ``NeuralNMF``
   1.0.0, ``NeuralNMF.train``) run on its own ``Neural_NMF`` and on ``nnmf.torch.Neural_NMF``
   (same ``torch.manual_seed``, so the same starting factors; same loss, steps and epochs):
   time per epoch and the largest relative difference of the two loss histories. Dense
   2000 x 2000 with ranks (40, 10), and the 20 Newsgroups subsample (37693 x 200) with ranks
   (10, 6), given to both as the reference takes it (a dense tensor), plus nnmf's layer on the
   sparse tensor with ``nnmf.torch.Recon_Loss_Func`` (the reference's loss values, no
   m x n matrix).
2. ``overhead``: ``nnmf.torch.nnls`` forward + backward against ``nnmf.nnls`` +
   ``nnmf.nnls_vjp`` called directly, at (m, k, n) = (2000, 40, 2000): rounds that alternate
   the two, medians.
3. ``batch``: 128 problems of 24 variables, forward + backward: one A (128 x 24) shared by
   the 128 right-hand sides (one call), and one A per problem (128 calls of 128 x 24 each),
   beside the published cvxpylayers figure (~330 ms forward for such a batch, issue 19; not
   run here).

    python bench/bench_torch.py              # full run (a few minutes on 2 cores), writes
                                             #   bench/RESULTS_torch.md and bench/results_torch.json
    python bench/bench_torch.py --quick      # small sizes, a smoke test, writes
                                             #   /tmp/nnmf_bench_torch_quick.{md,json}
    python bench/bench_torch.py --parts overhead,batch

Like the other scripts it opts in to ``nnmf.tune_process()`` before anything loads OpenMP
(``--no-tune``: not): PyTorch and nnmf's core share one OpenMP runtime in this process, and
its idle threads sleep instead of spinning (docs/guide/torch.md, Threads). Needs torch and,
for part 1, the reference (``pip install -e '.[bench]'``; without it part 1 is skipped).
"""

import argparse
import datetime
import importlib.util
import json
import shlex
import statistics
import sys
import warnings
from pathlib import Path

import _common  # bench/ is on sys.path; loads no OpenMP runtime
from _common import LoadMeter, fmt_t, fmt_x, now, passfail, wait_for_idle

HERE = Path(__file__).resolve().parent
PARTS = ("reference", "overhead", "batch")
TARGET_SPEEDUP = 100.0      # reference train loop, per epoch
TARGET_HISTORY = 1e-8       # loss histories agree to 1e-8 relative
TARGET_OVERHEAD = 1.05      # torch wrapper within 5 % of the direct calls
CVXPYLAYERS_FORWARD = 0.330  # s, published: batch of 128 problems of 24 variables (issue 19)


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    p.add_argument("--parts", default=",".join(PARTS),
                   help=f"comma-separated parts, of {', '.join(PARTS)} (default all)")
    p.add_argument("--threads", type=int, default=None,
                   help="nnmf's and torch's threads (default: all cores)")
    p.add_argument("--ref-epochs-dense", type=int, default=2,
                   help="epochs of the reference on dense 2000 x 2000 (~8 s each on 2 cores)")
    p.add_argument("--ref-epochs-20news", type=int, default=3,
                   help="epochs of the reference on 20News (~2 s each)")
    p.add_argument("--our-epochs", type=int, default=20,
                   help="epochs of nnmf's layer in the same loop (history compared on the "
                        "reference's epochs)")
    p.add_argument("--rounds", type=int, default=15, help="alternating rounds, part 2 and 3")
    p.add_argument("--wait-idle", type=float, default=0.0,
                   help="before each part wait up to this many seconds for other load to end")
    p.add_argument("--no-tune", action="store_true", help="do not call nnmf.tune_process()")
    p.add_argument("--out", default=None,
                   help="output stem (default bench/RESULTS_torch.md + bench/results_torch.json; "
                        "/tmp/nnmf_bench_torch_quick with --quick)")
    return p.parse_args(argv)


# --------------------------------------------------------------------------------- helpers

def alternate(fns, rounds, calls=1):
    """Median wall time per call of each function in fns (a dict), over `rounds` rounds that
    run every function in turn (`calls` calls each; every other round in reverse order, so
    that going first or second favours none), after one warm-up call each."""
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for i in range(rounds):
        for name, fn in (list(fns.items()) if i % 2 == 0 else list(fns.items())[::-1]):
            t0 = now()
            for _ in range(calls):
                fn()
            times[name].append((now() - t0) / calls)
    return {name: statistics.median(t) for name, t in times.items()}, times


def rel_history(a, b):
    import numpy as np

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.abs(b)))


# ----------------------------------------------------------------- 1. the reference's loop

def reference_part(args):
    if any(importlib.util.find_spec(m) is None for m in ("NeuralNMF",)):
        print("[reference] skipped: the reference implementation (NeuralNMF 1.0.0) is not "
              "installed (pip install -e '.[bench]')", flush=True)
        return None
    import numpy as np
    import scipy.sparse as sp
    import torch
    import NeuralNMF as ref
    import nnmf
    import nnmf.torch as nt

    if args.quick:
        rng = np.random.default_rng(0)
        cases = [("dense uniform", rng.random((300, 300)), (40, 10), 1),
                 ("20News", None, (10, 6), 1)]
    else:
        rng = np.random.default_rng(0)
        cases = [("dense uniform", rng.random((2000, 2000)), (40, 10), args.ref_epochs_dense),
                 ("20News", None, (10, 6), args.ref_epochs_20news)]
    out = []
    for name, X, ranks, ref_epochs in cases:
        if X is None:
            X = sp.csc_matrix(nnmf.datasets.load_20news_subsampled().X, dtype=np.float64)
        Xs = sp.csc_matrix(X) if sp.issparse(X) else None
        Xd = torch.from_numpy(np.ascontiguousarray(X.toarray() if Xs is not None else X))
        m, n = Xd.shape
        lr = _step(nt, torch, Xd, ranks)
        our_epochs = max(ref_epochs, 3 if args.quick else args.our_epochs)
        print(f"[reference] {name} {m}x{n} ranks {ranks}: reference {ref_epochs} epoch(s), "
              f"nnmf {our_epochs}; lr {lr:.3g}", flush=True)
        runs = {}
        plan = [("reference", ref.Neural_NMF, Xd, "Recon Loss", ref_epochs),
                ("nnmf", nt.Neural_NMF, Xd, "Recon Loss", our_epochs),
                ("nnmf + its loss", nt.Neural_NMF, Xd, nt.Recon_Loss_Func(), our_epochs)]
        if Xs is not None:
            coo = Xs.tocoo()
            Xt = torch.sparse_coo_tensor(np.vstack([coo.row, coo.col]), coo.data, coo.shape,
                                         check_invariants=True).coalesce()
            plan.append(("nnmf + its loss, sparse X", nt.Neural_NMF, Xt,
                         nt.Recon_Loss_Func(), our_epochs))
        for label, cls, Xin, loss, epochs in plan:
            torch.manual_seed(0)
            net = cls([m, *ranks])
            meter = LoadMeter().start()
            t0 = now()
            history = ref.train(net, Xin, loss_func=loss, epoch=epochs, lr=lr, verbose=False,
                                full_history=True)
            elapsed = now() - t0
            runs[label] = {"epochs": epochs, "seconds": elapsed, "per_epoch": elapsed / epochs,
                           "loss": [float(v) for v in history.get("loss")],
                           "load": meter.stop()}
            print(f"   {label}: {fmt_t(elapsed / epochs)}/epoch over {epochs}", flush=True)
        # what the loss takes of an epoch: its forward and backward pass to the A's and the
        # S's (held fixed, as leaves), the same work inside the loop whichever layer runs
        for label, cls, Xin, loss, epochs in plan[1:]:
            torch.manual_seed(0)
            net = cls([m, *ranks])
            S_lst = [S.detach().requires_grad_() for S in net(Xin)]
            fn = ref.Recon_Loss_Func() if isinstance(loss, str) else loss

            def loss_only():
                net.zero_grad()
                fn(net, Xin, S_lst).backward()

            runs[label]["loss_alone"] = _common.timeit(loss_only, repeats=5)
        base = runs["reference"]
        r = {"case": name, "shape": [m, n], "sparse": Xs is not None, "ranks": list(ranks),
             "lr": lr, "runs": runs, "torch_threads": torch.get_num_threads()}
        for label in runs:
            if label == "reference":
                continue
            run = runs[label]
            run["speedup"] = base["per_epoch"] / run["per_epoch"]
            run["history_rel_diff"] = rel_history(run["loss"][:ref_epochs], base["loss"])
            # the most any layer could gain in this loop with this loss module
            run["ceiling"] = base["per_epoch"] / run["loss_alone"]
        out.append(r)
    return out


def _step(nt, torch, X, ranks):
    """A learning rate for the reference's loop: its first step moves no layer's A by more
    than 1 % (of the factor's norm), measured with nnmf's layer from the seeded start."""
    torch.manual_seed(0)
    net = nt.Neural_NMF([X.shape[0], *ranks])
    loss = nt.Recon_Loss_Func()(net, X, net(X))
    loss.backward()
    return min(0.01 * (l.A.norm() / l.A.grad.norm()).item() for l in net.lsqnonneglst)


# ------------------------------------------------------------------ 2. wrapper overhead

def overhead_part(args):
    import numpy as np
    import scipy.sparse as sp
    import torch
    import nnmf
    import nnmf.torch as nt

    shapes = [(500, 20, 500)] if args.quick else [(2000, 40, 2000)]
    rng = np.random.default_rng(0)
    out = []
    for (m, k, n) in shapes:
        for dtype, need_X, sparse in [(np.float64, False, False), (np.float64, True, False),
                                      (np.float32, False, False), (np.float64, False, True)]:
            A = rng.random((m, k)).astype(dtype)
            X = rng.random((m, n)).astype(dtype)
            if sparse:
                X = sp.random(m, n, density=0.05, random_state=0, format="csc", dtype=dtype)
            G = np.asfortranarray(rng.standard_normal((k, n)).astype(dtype))
            At = torch.from_numpy(A).requires_grad_()
            if sparse:  # CSC: the layout the core reads, so no conversion on either side
                Xt = torch.sparse_csc_tensor(torch.from_numpy(X.indptr.astype(np.int64)),
                                             torch.from_numpy(X.indices.astype(np.int64)),
                                             torch.from_numpy(X.data), X.shape,
                                             check_invariants=True)
            else:
                Xt = torch.from_numpy(X).requires_grad_(need_X)
            Gt = torch.from_numpy(G)

            def direct():
                S = nnmf.nnls(A, X)
                nnmf.nnls_vjp(A, X, S, G, need_dX=need_X)

            def wrapped():
                At.grad = None
                if need_X:
                    Xt.grad = None
                nt.nnls(At, Xt).backward(Gt)

            meter = LoadMeter().start()
            med, allt = alternate({"direct": direct, "torch": wrapped}, args.rounds)
            what = (f"{'sparse 5 %' if sparse else 'dense'} {np.dtype(dtype).name}, grad A"
                    + (" and X" if need_X else ""))
            r = {"shape": [m, k, n], "what": what, "direct": med["direct"],
                 "torch": med["torch"], "ratio": med["torch"] / med["direct"],
                 "paired_ratio": statistics.median(
                     t / d for t, d in zip(allt["torch"], allt["direct"])),
                 "min_ratio": min(allt["torch"]) / min(allt["direct"]),
                 "times": allt, "load": meter.stop()}
            r["target"] = dtype == np.float64 and not need_X and not sparse
            out.append(r)
            print(f"[overhead] ({m}, {k}, {n}) {what}: direct {fmt_t(r['direct'])}, "
                  f"torch {fmt_t(r['torch'])}, ratio {r['ratio']:.3f} (paired "
                  f"{r['paired_ratio']:.3f}, of minima {r['min_ratio']:.3f}, other load "
                  f"{_common.pct(r['load'])})", flush=True)
    return out


# ----------------------------------------------------------------- 3. a batch of problems

def batch_part(args):
    import numpy as np
    import torch
    import nnmf.torch as nt

    b, m, k = 128, 128, 24
    rng = np.random.default_rng(0)
    out = []
    for dtype in (torch.float64, torch.float32):
        A = torch.from_numpy(rng.random((m, k))).to(dtype).requires_grad_()
        X = torch.from_numpy(rng.random((m, b))).to(dtype).requires_grad_()
        # one A per problem: independent leaves (slices of one batched tensor would cost
        # torch a full-size gradient per slice in backward)
        As = [torch.from_numpy(rng.random((m, k))).to(dtype).requires_grad_()
              for _ in range(b)]
        xs = [torch.from_numpy(rng.random((m, 1))).to(dtype).requires_grad_()
              for _ in range(b)]

        def shared_fwd():
            with torch.no_grad():
                nt.nnls(A, X)

        def shared_fb():
            A.grad = X.grad = None
            (nt.nnls(A, X) ** 2).sum().backward()

        def each_fwd():
            with torch.no_grad():
                for i in range(b):
                    nt.nnls(As[i], xs[i])

        def each_fb():
            for t in (*As, *xs):
                t.grad = None
            sum((nt.nnls(As[i], xs[i]) ** 2).sum() for i in range(b)).backward()

        med, _ = alternate({"shared forward": shared_fwd, "shared forward+backward": shared_fb,
                            "per-problem forward": each_fwd,
                            "per-problem forward+backward": each_fb},
                           args.rounds, calls=1)
        r = {"dtype": str(dtype).replace("torch.", ""), "batch": b, "m": m, "k": k, **med}
        out.append(r)
        print(f"[batch] {r['dtype']}: " + ", ".join(f"{key} {fmt_t(v)}" for key, v in
                                                      med.items()), flush=True)
    return out


# ---------------------------------------------------------------------------------- table

def render(results):
    info = results["machine"]
    lines = ["# nnmf.torch benchmarks (issue 19)", "",
             f"`{results['command']}` ({results['date']})", "",
             f"- Machine: {info['cpu']}, {info['logical_cores']} logical cores; "
             f"{info['platform']}",
             f"- Versions: Python {info['python']}, numpy {info['numpy']}, scipy "
             f"{info['scipy']}, torch {info['torch']}, reference NeuralNMF "
             f"{info['NeuralNMF']}, nnmf {info['nnmf']} ({info['nnmf_build']})",
             f"- Threads: torch {info['torch_threads']}, nnmf's core {info['nnmf_threads']} "
             f"(one OpenMP runtime shared by both); OMP_NUM_THREADS "
             f"{info['OMP_NUM_THREADS']}; process settings: {info['process_settings']}",
             "- Everything runs in this one process, side by side; times are medians.", ""]
    parts = results["parts"]
    if parts.get("reference"):
        lines += ["## 1. The reference's training loop with its layer and with nnmf's", "",
                  "`NeuralNMF.train(net, X, loss_func, epoch, lr, verbose=False, "
                  "full_history=True)` (its unsupervised loop: fixed steps A ← A − lr·∇, "
                  "every epoch a cold forward pass, its loss mean((X − A₀⋯A_L S_L)²)), on "
                  "`NeuralNMF.Neural_NMF` and on `nnmf.torch.Neural_NMF` built after the same "
                  "`torch.manual_seed(0)` (the same starting factors). lr: the first step "
                  "moves no A by more than 1 %. The history difference is the largest "
                  "relative difference of the per-epoch losses over the reference's epochs. "
                  "", "",
                  "*nnmf*: nnmf's layer with the reference's loss module (`'Recon Loss'`): "
                  "the issue's comparison. *nnmf + its loss*: also the loss swapped for "
                  "`nnmf.torch.Recon_Loss_Func` (the reference's loss values, computed from "
                  "products with X with no m × n residual); *sparse X*: on the sparse tensor. "
                  "*loss alone*: the loss's forward and backward pass (to the A's and to the "
                  "S's, held fixed), part of every epoch whichever layer runs; *ceiling*: "
                  "the reference's epoch over that time, the most a layer taking no time at "
                  "all would gain in this loop with this loss module.", "",
                  "| data | ranks | layer | epochs | per epoch | speed-up | ≥ 100x | "
                  "loss alone | ceiling | history rel. diff | ≤ 1e-8 | "
                  "first → last loss |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in parts["reference"]:
            data = f"{r['case']} {r['shape'][0]}x{r['shape'][1]}"
            for label, run in r["runs"].items():
                speed = run.get("speedup")
                diff = run.get("history_rel_diff")
                lines.append(
                    f"| {data} | {tuple(r['ranks'])} | {label} | {run['epochs']} | "
                    f"{fmt_t(run['per_epoch'])} | {fmt_x(speed) if speed else '1x'} | "
                    f"{passfail(None if speed is None else speed >= TARGET_SPEEDUP)} | "
                    f"{fmt_t(run.get('loss_alone'))} | "
                    f"{fmt_x(run.get('ceiling'))} | "
                    f"{'–' if diff is None else f'{diff:.1e}'} | "
                    f"{passfail(None if diff is None else diff <= TARGET_HISTORY)} | "
                    f"{run['loss'][0]:.6g} → {run['loss'][-1]:.6g} |")
        lines.append("")
    if parts.get("overhead"):
        lines += ["## 2. The torch wrapper against the direct calls", "",
                  "`nnmf.torch.nnls(A, X).backward(G)` against `nnmf.nnls(A, X)` + "
                  "`nnmf.nnls_vjp(A, X, S, G)` on the same arrays (the tensors share their "
                  "memory; a sparse X as a CSC tensor and a scipy CSC matrix), G "
                  "column-ordered, in rounds that run the two one after the other. *ratio*: "
                  "the median over rounds of torch / direct within a round (the target's); "
                  "also the ratio of the medians and of the minima, and the CPU share other "
                  "processes used meanwhile.", "",
                  "| (m, k, n) | case | direct | torch | ratio | ≤ 1.05 | ratio of medians "
                  "| ratio of minima | other load |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in parts["overhead"]:
            ok = passfail(r["paired_ratio"] <= TARGET_OVERHEAD) if r["target"] else "–"
            lines.append(f"| {tuple(r['shape'])} | {r['what']} | {fmt_t(r['direct'])} | "
                         f"{fmt_t(r['torch'])} | {r['paired_ratio']:.3f} | {ok} | "
                         f"{r['ratio']:.3f} | {r['min_ratio']:.3f} | "
                         f"{_common.pct(r['load'])} |")
        lines.append("")
    if parts.get("batch"):
        lines += ["## 3. A batch of 128 problems of 24 variables", "",
                  "Forward, and forward + backward (gradients for A and X, loss ‖S‖²). "
                  "*shared A*: one A of 128 × 24 and X of 128 × 128, one call. "
                  "*one A per problem*: 128 calls, each A 128 × 24 and x 128 × 1. "
                  "cvxpylayers: the published ~330 ms forward for a batch of 128 problems of "
                  "24 variables (issue 19; not run here); qpth has float32 accuracy issues.",
                  "", "| dtype | A | forward | forward + backward | cvxpylayers forward / "
                  "ours |", "|---|---|---|---|---|"]
        for r in parts["batch"]:
            for label, key in (("shared A (128 x 24)", "shared"),
                               ("one A per problem", "per-problem")):
                fwd = r[f"{key} forward"]
                lines.append(f"| {r['dtype']} | {label} | {fmt_t(fwd)} | "
                             f"{fmt_t(r[f'{key} forward+backward'])} | "
                             f"{fmt_x(CVXPYLAYERS_FORWARD / fwd)} |")
        lines.append("")
    return "\n".join(lines)


def machine_info(args, settings):
    from importlib import metadata

    import torch
    import nnmf

    info = _common.machine_info()
    info["torch"] = torch.__version__
    try:
        info["NeuralNMF"] = metadata.version("NeuralNMF")
    except metadata.PackageNotFoundError:
        info["NeuralNMF"] = "not installed"
    info["torch_threads"] = torch.get_num_threads()
    info["nnmf_threads"] = nnmf.build_info()["max_threads"]
    info["process_settings"] = settings
    info["threadpools"] = _common.threadpools()
    return info


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    settings = _common.tune(not args.no_tune)   # before torch or nnmf's core load OpenMP
    import torch

    warnings.filterwarnings("ignore", "Sparse CS[RC] tensor support is in beta")  # torch's

    if args.threads:
        torch.set_num_threads(args.threads)     # also OpenMP's maximum: nnmf's default
    parts = [p for p in args.parts.split(",") if p]
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise SystemExit(f"unknown parts: {', '.join(sorted(unknown))}")
    stem = Path(args.out) if args.out else (
        Path("/tmp/nnmf_bench_torch_quick") if args.quick else HERE / "RESULTS_torch")
    results = {"command": "python bench/bench_torch.py " + " ".join(map(shlex.quote,
                                                                      sys.argv[1:])),
               "date": datetime.datetime.now().isoformat(timespec="seconds"),
               "machine": machine_info(args, settings), "parts": {}, "seconds": {}}
    functions = {"reference": reference_part, "overhead": overhead_part, "batch": batch_part}
    for part in parts:
        if args.wait_idle:
            wait_for_idle(args.wait_idle)
        t0 = now()
        results["parts"][part] = functions[part](args)
        results["seconds"][part] = now() - t0
    json_path = stem.with_name(("results_torch" if not args.out and not args.quick
                                else stem.name) + ".json")
    json_path.write_text(json.dumps(results, indent=1, default=str))
    md = stem.with_suffix(".md")
    md.write_text(render(results))
    print(f"wrote {md} and {json_path}")


if __name__ == "__main__":
    main()
