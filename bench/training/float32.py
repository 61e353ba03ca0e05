"""Row 5: float32 vs float64: epoch time and the error difference after the same epochs
from the same start."""

import numpy as np

from _common import corpus, dense_uniform, fmt_e, fmt_t, fmt_x
from training.fits import floor_time, run_ours, start_factors, step_size

KEY = "5"


def run(args):
    threads = args.threads
    if args.quick:
        cases = [("dense 300x300 (40, 10)", lambda: dense_uniform(300, 300, 0), (40, 10)),
                 ("sparse corpus 4000x1000 (10, 5)", lambda: corpus(4000, 1000, 20000, 10, 0),
                  (10, 5))]
        epochs = 5
    else:
        cases = [("dense 2000x2000 (40, 10)", lambda: dense_uniform(2000, 2000, 0), (40, 10)),
                 ("sparse corpus 20000x5000 (20, 10)",
                  lambda: corpus(20000, 5000, 500_000, 20, 0), (20, 10))]
        epochs = 20
    out = []
    for name, loader, ranks in cases:
        X64 = loader()
        X32 = X64.astype(np.float32)
        As = start_factors(X64, ranks, threads)
        eta = step_size(X64, As, threads)
        res = {"case": name, "ranks": list(ranks), "epochs": epochs}
        for tag, X in (("f64", X64), ("f32", X32)):
            t, _, hist, model = run_ours(X, ranks, As, epochs, threads, "pgd", eta)
            res[f"t_{tag}"] = t
            res[f"err_{tag}"] = float(hist[-1])
            res[f"dtype_{tag}"] = str(model.A_[0].dtype)
            res[f"floor_{tag}"] = floor_time(X, As[0], ranks[0], threads)[0]
        res["speedup"] = res["t_f64"] / res["t_f32"]
        res["floor_speedup"] = res["floor_f64"] / res["floor_f32"]
        res["err_diff"] = abs(res["err_f32"] - res["err_f64"])
        print(f"[row 5] {name}: f64 {fmt_t(res['t_f64'])}, f32 {fmt_t(res['t_f32'])} "
              f"({fmt_x(res['speedup'])}), err f64 {res['err_f64']:.8g} f32 "
              f"{res['err_f32']:.8g}", flush=True)
        out.append(res)
    return out


def render(rows):
    lines = ["## 5. float32 vs float64 (same start, same pgd steps)", "",
             "| data | epochs | f64 / epoch | f32 / epoch | speedup | floor speedup | "
             "rel. error f64 | rel. error f32 | |difference| | fitted dtype |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['epochs']} | {fmt_t(r['t_f64'])} | "
                     f"{fmt_t(r['t_f32'])} | {fmt_x(r['speedup'])} | "
                     f"{fmt_x(r['floor_speedup'])} | {fmt_e(r['err_f64'])} | "
                     f"{fmt_e(r['err_f32'])} | {r['err_diff']:.2e} | {r['dtype_f32']} |")
    lines.append("")
    return lines
