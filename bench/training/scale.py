"""Row 4: scale. A synthetic sparse 100,000 x 100,000 corpus with 10^7 nonzeros, ranks
(100, 20), trained from random A's with the default optimiser: time per epoch and peak
resident memory, measured inside a subprocess (whose peak holds nothing else)."""

import resource

import numpy as np

from nnmf.layer import as_operand
from nnmf.multilayer import forward
from _common import (corpus, fmt_t, fmt_x, now, passfail, peak_rss_mb, reset_peak_rss,
                     rss_now_mb)
from training.fits import TARGET_FLOOR, fit_stamped, floor_time, random_start, start_child

KEY = "4"
TARGET_RSS_GB = 2.0         # 10^5 x 10^5 peak RSS


def child(params):
    """Runs in a subprocess: build the matrix, reset the peak RSS, train, report. The
    forward pass from the start A's (cold NNLS), which the fit runs before its first epoch,
    is timed apart after the fit (nnmf.multilayer.forward from the same A's)."""
    m, n, nnz, ranks, epochs, threads = (params[k] for k in
                                         ("m", "n", "nnz", "ranks", "epochs", "threads"))
    t0 = now()
    X = corpus(m, n, nnz, params["topics"], 0)
    t_gen = now() - t0
    rss_after_data = rss_now_mb()
    peak_during_gen = peak_rss_mb()
    reset_ok = reset_peak_rss()
    As = random_start(X, ranks)
    t_fit0, stamps, _, model = fit_stamped(X, ranks, As, epochs, threads, "armijo")
    t_fit = now() - t_fit0
    peak_train = peak_rss_mb()
    Xop = as_operand(X)
    t = now()
    forward(As, Xop, threads)
    t_init = now() - t
    floor, fdet = floor_time(X, model.A_[0], ranks[0], threads, repeats=3)
    epochs_t = np.diff([t_fit0] + stamps).tolist()
    return {"m": m, "n": n, "nnz": int(X.nnz), "ranks": ranks, "epochs": epochs,
            "t_init_forward": t_init, "init_forward_timed": "after the fit",
            "t_generate": t_gen, "rss_after_data_mb": rss_after_data,
            "peak_rss_generation_mb": peak_during_gen, "peak_reset": reset_ok,
            "peak_rss_training_mb": peak_train, "t_fit": t_fit, "epoch_times": epochs_t,
            "errors": model.history_["reconstruction_err"].tolist(), "floor": floor,
            "floor_detail": fdet, "x_bytes_mb": (X.data.nbytes + X.indices.nbytes
                                                 + X.indptr.nbytes) / 2 ** 20}


def run(args):
    if args.quick:
        params = {"m": 20000, "n": 20000, "nnz": 400_000, "ranks": [30, 10], "epochs": 3,
                  "topics": 30}
    else:
        params = {"m": 100_000, "n": 100_000, "nnz": 10_000_000, "ranks": [100, 20],
                  "epochs": args.scale_epochs, "topics": 100}
    params["threads"] = args.threads
    print(f"[row 4] sparse {params['m']}x{params['n']}, {params['nnz']} nonzeros, ranks "
          f"{params['ranks']}, {params['epochs']} epochs (subprocess)", flush=True)
    t0 = now()
    res = start_child("--_scale-child", params, args)
    wall = now() - t0
    res["ru_maxrss_children_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    res["wall"] = wall
    et = res["epoch_times"]
    # the time to the first callback holds the setup and the cold forward pass from the
    # given A's (t_init_forward) before epoch 1
    res["t_epoch_first"] = et[0] - (res.get("t_init_forward") or 0.0)
    res["t_epoch_later"] = float(np.median(et[1:])) if len(et) > 1 else et[0]
    res["floor_ratio"] = res["t_epoch_later"] / res["floor"]
    res["pass_rss"] = bool(res["peak_rss_training_mb"] < TARGET_RSS_GB * 1024
                           and res["ru_maxrss_children_mb"] < TARGET_RSS_GB * 1024)
    res["pass_floor"] = bool(res["floor_ratio"] <= TARGET_FLOOR)
    print(f"   epochs {[fmt_t(t) for t in et]}, floor {fmt_t(res['floor'])}, peak RSS "
          f"training {res['peak_rss_training_mb']:.0f} MB, whole child "
          f"{res['ru_maxrss_children_mb']:.0f} MB", flush=True)
    return [res]


def render(rows):
    r = rows[0]
    if r.get("init_forward_timed") == "after the fit":
        init = ("The initial forward pass (cold NNLS from those A's) is timed apart, after the "
                "fit, from the same A's; the first epoch is the time to the first callback "
                "less it. ")
    else:  # runs that timed it inside the fit
        init = "The initial forward pass (cold NNLS from those A's) is timed apart. "
    return ["## 4. Scale: sparse corpus 10^5 × 10^5 (subprocess)", "",
            f"{r['m']} × {r['n']}, {r['nnz']:,} nonzeros (X itself {r['x_bytes_mb']:.0f} MB "
            f"as CSC), ranks {tuple(r['ranks'])}, default optimiser (Armijo), start: "
            f"random A's, {r['epochs']} epochs timed (fewer than a real fit: each takes seconds). "
            + init + "Peak RSS is VmHWM inside the child after building X (reset via "
            "/proc/self/clear_refs), and the child's whole ru_maxrss (data generation "
            "included).", "",
            "| initial forward (cold NNLS) | first epoch | later epochs (median) | floor | "
            "later / floor | ≤ 4x | peak RSS training | peak RSS whole child | < 2 GB | "
            "rel. error after epochs |",
            "|---|---|---|---|---|---|---|---|---|---|",
            f"| {fmt_t(r.get('t_init_forward'))} | {fmt_t(r['t_epoch_first'])} | "
            f"{fmt_t(r['t_epoch_later'])} | "
            f"{fmt_t(r['floor'])} | {fmt_x(r['floor_ratio'])} | "
            f"{passfail(r['pass_floor'])} | {r['peak_rss_training_mb']:.0f} MB | "
            f"{r['ru_maxrss_children_mb']:.0f} MB | {passfail(r['pass_rss'])} | "
            f"{' → '.join(f'{e:.4f}' for e in r['errors'])} |", ""]
