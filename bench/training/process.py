"""Row `process`: training epochs with and without ``nnmf.tune_process()``, side by side.

``import nnmf`` changes nothing process-wide; ``nnmf.tune_process()`` opts in to two settings
(idle OpenMP threads sleep, ``OMP_WAIT_POLICY=PASSIVE``; glibc's malloc keeps freed memory
for reuse). OpenMP reads its policy once, when it loads, so each configuration runs in a
process of its own: every child starts from this process's environment stripped of every
OpenMP wait and malloc variable (``_common.clean_environment``), and the *tuned* child calls
``nnmf.tune_process()`` before anything loads OpenMP, the *untuned* one does not. Each child
reports the settings it had in effect, and the parent refuses a child whose settings are not
the ones its configuration names.

One child per (data, configuration, round), so that every child's first fit meets a fresh
heap: the first fit (5 iterations) gives the *first epoch* (between its first two
callbacks, the cost of a cold heap) and the time from ``fit()`` to its first callback
(setup, the forward pass at the start, the first step); a second fit gives the *epoch*
(median of its epochs, as the other rows time them after their warm-up fit). The rounds
alternate which configuration runs first; the tables give medians over the rounds.
"""

import tempfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

# Nothing here may load nnmf's core or an OpenMP runtime at import: the child imports this
# module before it decides whether to call nnmf.tune_process(). training.fits (which loads
# the core) is imported inside the functions.
from _common import (LoadMeter, clean_environment, corpus, dense_uniform, fmt_t, fmt_x,
                     openmp_loaded, page_faults, peak_rss_mb, process_variables, threadpools,
                     tune)

KEY = "process"
CONFIGS = ("untuned", "tuned")
FIRST_FIT = 5    # iterations of each child's first fit


def cases(quick):
    """(name, loader, ranks, start, epochs timed) for each data set, and the rounds. Start
    "anls" is the 20-iteration layer-wise NMF of rows 1, 3 and 5; "random" the random A's of
    row 4 (the large corpus is row 4's at a quarter of its rows and columns)."""
    from training.fits import load_20news, load_synthetic
    d = 300 if quick else 2000
    mid = (4000, 1000, 20000, 10, 0) if quick else (20000, 5000, 500_000, 20, 0)
    large = (20000, 20000, 400_000, 30, 0) if quick else (50_000, 50_000, 2_500_000, 50, 0)
    epochs = (10, 10, 20, 10, 4) if quick else (30, 50, 100, 30, 8)
    data = [("dense uniform", lambda: dense_uniform(d, d, 0), (40, 10), "anls"),
            ("20News", load_20news, (10, 6), "anls"),
            ("synthetic_noise", load_synthetic, (9, 4, 2), "anls"),
            ("sparse corpus", lambda: corpus(*mid), (10, 5) if quick else (20, 10), "anls"),
            ("sparse corpus", lambda: corpus(*large), (30, 10) if quick else (50, 10), "random")]
    return [c + (e,) for c, e in zip(data, epochs)], 1 if quick else 3


def _save(path, X, As):
    path.mkdir()
    if sp.issparse(X):
        sp.save_npz(path / "X.npz", sp.csc_matrix(X), compressed=False)
    else:
        np.save(path / "X.npy", np.asfortranarray(X))
    np.savez(path / "A.npz", *As)


def _load(path, n_layers):
    path = Path(path)
    if (path / "X.npz").exists():
        X = sp.load_npz(path / "X.npz").tocsc()
    else:
        X = np.load(path / "X.npy")
    a = np.load(path / "A.npz")
    return X, [np.asfortranarray(a[f"arr_{i}"]) for i in range(n_layers)]


def child(params):
    """One configuration on one data set, in a fresh process: opt in (or not), then the
    first fit and the timed fit."""
    settings = tune(params["tune"])  # first: before anything loads OpenMP
    from training.fits import fit_stamped  # loads nnmf's core

    X, As = _load(params["dir"], len(params["ranks"]))
    ranks, eta, threads = params["ranks"], params["eta"], params["threads"]
    meter = LoadMeter().start()
    start, stamps, faults, _ = fit_stamped(X, ranks, As, FIRST_FIT, threads, "pgd", eta)
    first = np.diff([start] + stamps)
    _, stamps2, faults2, model = fit_stamped(X, ranks, As, params["epochs"] + 1, threads,
                                             "pgd", eta)
    epochs = np.diff(stamps2)
    return {"settings": settings, "openmp_after": openmp_loaded(),
            "threadpools": threadpools(("internal_api", "num_threads", "threading_layer")),
            "t_to_first_callback": float(first[0]), "first_fit_epochs": first[1:].tolist(),
            "t_first_epoch": float(first[1]), "faults_first_epoch": faults[1] - faults[0],
            "epoch_times": epochs.tolist(), "t_epoch": float(np.median(epochs)),
            "faults_per_epoch": float(np.median(np.diff(faults2))),
            "faults_total": page_faults()[0], "peak_rss_mb": peak_rss_mb(),
            "err": float(model.history_["reconstruction_err"][-1]),
            "other_load": meter.stop()}


def _check(config, res):
    """Refuse a child whose process-wide settings are not its configuration's."""
    s = res["settings"]
    if config == "untuned":
        ok = not s["called"] and not s["variables"]
    else:  # keep_freed_memory is recorded: it is False where malloc is not glibc's
        ok = s["called"] and s["openmp_loaded_before"] == [] and s["applied"]["passive_wait"]
    if not ok:
        raise RuntimeError(f"the {config} child ran with other process settings: {s}")


def _summary(children):
    keys = ("t_epoch", "t_first_epoch", "t_to_first_callback", "faults_per_epoch",
            "faults_first_epoch", "peak_rss_mb")
    out = {k: float(np.median([c[k] for c in children])) for k in keys}
    out["settings"] = children[0]["settings"]
    out["children"] = children
    return out


def measure(case, path, args):
    """Both configurations on one data set, in alternating rounds of fresh children."""
    from training.fits import random_start, start_child, start_factors, step_size

    name, loader, ranks, start, epochs = case
    X = loader()
    As = start_factors(X, ranks, args.threads) if start == "anls" else random_start(X, ranks)
    eta = step_size(X, As, args.threads)
    _save(path, X, As)
    params = {"dir": str(path), "ranks": list(ranks), "eta": eta, "epochs": epochs,
              "threads": args.threads}
    rounds = cases(args.quick)[1]
    runs = {c: [] for c in CONFIGS}
    env = clean_environment()
    for r in range(rounds):
        for config in (CONFIGS if r % 2 == 0 else CONFIGS[::-1]):
            child_res = start_child("--_process-child", dict(params, tune=config == "tuned"),
                                    args, env)
            _check(config, child_res)
            runs[config].append(child_res)
    res = {"case": name, "shape": list(X.shape), "sparse": sp.issparse(X),
           "nnz": int(X.nnz) if sp.issparse(X) else int(X.size), "ranks": list(ranks),
           "start": start, "eta": eta, "epochs": epochs, "first_fit": FIRST_FIT,
           "rounds": rounds, "threads": args.threads}
    res.update({config: _summary(runs[config]) for config in CONFIGS})
    u, t = res["untuned"], res["tuned"]
    res["ratio_epoch"] = u["t_epoch"] / t["t_epoch"]
    res["ratio_first_epoch"] = u["t_first_epoch"] / t["t_first_epoch"]
    res["ratio_first_callback"] = u["t_to_first_callback"] / t["t_to_first_callback"]
    errs = [c["err"] for config in CONFIGS for c in runs[config]]
    res["err"], res["err_spread"] = errs[0], max(errs) - min(errs)
    return res


def run(args):
    data, rounds = cases(args.quick)
    print(f"[process] children's environment without "
          f"{sorted(process_variables()) or 'any'} process-wide OpenMP/malloc variables; "
          f"{rounds} round(s)", flush=True)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, case in enumerate(data):
            res = measure(case, Path(tmp) / f"case{i}", args)
            u, t = res["untuned"], res["tuned"]
            print(f"[process] {res['case']} {res['shape'][0]}x{res['shape'][1]} "
                  f"{tuple(res['ranks'])}: epoch untuned {fmt_t(u['t_epoch'])}, tuned "
                  f"{fmt_t(t['t_epoch'])} ({fmt_x(res['ratio_epoch'])}); first epoch "
                  f"{fmt_t(u['t_first_epoch'])} / {fmt_t(t['t_first_epoch'])} "
                  f"({fmt_x(res['ratio_first_epoch'])}); page faults per epoch "
                  f"{u['faults_per_epoch']:.0f} / {t['faults_per_epoch']:.0f}", flush=True)
            out.append(res)
    return out


def _settings_line(rows):
    t = rows[0]["tuned"]["settings"]
    return ("*untuned*: no OpenMP wait or malloc variable set (libgomp's and glibc's defaults); "
            f"*tuned*: `nnmf.tune_process()` → {t['applied']}, variables then "
            + ", ".join(f"{k}={v}" for k, v in t["variables"].items())
            + " (the JSON holds what every child had in effect).")


def render(rows):
    r0 = rows[0]
    lines = ["## Process settings: epochs with and without `nnmf.tune_process()`", "",
             "Each configuration in processes of its own, one per data set and round "
             f"({r0['rounds']} round(s), alternating which runs first; medians over them), "
             f"{r0['threads']} threads, projected gradient steps from the start of rows 1, 3 "
             "and 5 (20 ANLS iterations of layer-wise NMF; the large corpus: random A's as in "
             "row 4). " + _settings_line(rows) + " *epoch*: median over the epochs of a fit "
             f"that follows a {r0['first_fit']}-iteration first fit; *first epoch*: the "
             "first fit's first epoch (between its first two callbacks) on the child's fresh "
             "heap; *fit → 1st callback*: the first fit's setup, forward pass at the start and "
             "first step. *faults*: minor page faults per epoch (median) in the timed fit.", "",
             "| data | ranks | epochs | epoch untuned | epoch tuned | untuned / tuned | "
             "first epoch untuned | first epoch tuned | untuned / tuned | "
             "fit → 1st callback untuned / tuned | faults / epoch untuned / tuned | "
             "peak RSS untuned / tuned | error spread |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        u, t = r["untuned"], r["tuned"]
        shape = f"{r['shape'][0]}x{r['shape'][1]}{' sparse' if r['sparse'] else ''}"
        lines.append(
            f"| {r['case']} {shape} | {tuple(r['ranks'])} | {r['epochs']} | "
            f"{fmt_t(u['t_epoch'])} | {fmt_t(t['t_epoch'])} | {fmt_x(r['ratio_epoch'])} | "
            f"{fmt_t(u['t_first_epoch'])} | {fmt_t(t['t_first_epoch'])} | "
            f"{fmt_x(r['ratio_first_epoch'])} | {fmt_t(u['t_to_first_callback'])} / "
            f"{fmt_t(t['t_to_first_callback'])} | {u['faults_per_epoch']:.0f} / "
            f"{t['faults_per_epoch']:.0f} | {u['peak_rss_mb']:.0f} / {t['peak_rss_mb']:.0f} MB "
            f"| {r['err_spread']:.1e} |")
    lines.append("")
    return lines
