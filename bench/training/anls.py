"""Row 2: one-layer NMF by ANLS (``nnmf.multilayer.nmf_anls``, what
``nnmf.NMF(solver="anls")`` runs) against scikit-learn's NMF (cd and mu): the time nnmf needs
to reach each scikit-learn solver's final relative error, on a dense 5000 x 5000 rank 50 and
a sparse corpus-like matrix."""

import warnings

import numpy as np
import scipy.sparse as sp

from nnmf.multilayer import nmf_anls
from _common import (corpus, dense_planted, fmt_e, fmt_t, fmt_x, now, passfail,
                     threadpool_limits)
from training.fits import rel_error

KEY = "2"


def sk_fit(X, k, solver, init, max_iter, tol):
    """scikit-learn NMF on X^T (samples x features). Returns (time, relative error, n_iter)."""
    from sklearn.decomposition import NMF as SKNMF
    Xs = X.T.tocsr() if sp.issparse(X) else np.ascontiguousarray(X.T)
    model = SKNMF(n_components=k, solver=solver, init=init, max_iter=max_iter, tol=tol,
                  random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = now()
        W = model.fit_transform(Xs)
        t = now() - t0
    H = model.components_
    # sklearn: X^T ~= W H  <=>  X ~= H^T W^T (A = H^T, S = W^T)
    return t, rel_error(X, H.T, W.T), int(model.n_iter_)


def ours_trajectory(X, k, threads, max_iter, stop_err, time_cap):
    """nmf_anls (nnmf.NMF(solver="anls")'s engine, NNDSVD init) with a timestamp and the
    relative error after every iteration; stops once the error reaches stop_err or after
    time_cap seconds. Times count from the call (the init's SVD included)."""
    traj = []
    t0 = now()

    def cb(it, state):
        traj.append((now() - t0, float(state["error"])))
        if state["error"] <= stop_err or traj[-1][0] > time_cap:
            return False
        return None

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nmf_anls(X, k, init="nndsvd", max_iter=max_iter, tol=0.0, random_state=0,
                 n_threads=threads, callback=cb, warn=False)
    return traj


def time_to_reach(traj, err):
    for t, e in traj:
        if e <= err * (1 + 1e-9):
            return t
    return None


def run(args):
    threads = args.threads
    if args.quick:
        cases = [("dense planted 800x800", lambda: dense_planted(800, 800, 20, 0), 20),
                 ("sparse corpus 4000x1000", lambda: corpus(4000, 1000, 20000, 10, 0), 10)]
        max_iter = 100
    else:
        cases = [("dense planted 5000x5000", lambda: dense_planted(5000, 5000, 50, 0), 50),
                 ("sparse corpus 20000x5000", lambda: corpus(20000, 5000, 500_000, 20, 0), 20)]
        max_iter = 200
    out = []
    for name, loader, k in cases:
        X = loader()
        dens = X.nnz / (X.shape[0] * X.shape[1]) if sp.issparse(X) else 1.0
        print(f"[row 2] {name} rank {k} (density {dens:.4g})", flush=True)
        sk = {}
        with threadpool_limits(limits=threads, user_api="blas"):
            for solver, init in (("cd", "nndsvd"), ("mu", "nndsvda")):
                t, e, it = sk_fit(X, k, solver, init, max_iter, 1e-4)
                sk[solver] = {"time": t, "err": e, "n_iter": it, "init": init}
                print(f"   sklearn {solver}: {fmt_t(t)}, err {e:.6g}, {it} iterations",
                      flush=True)
            fastest = min(sk.values(), key=lambda d: d["time"])
            target = min(d["err"] for d in sk.values())
            traj = ours_trajectory(X, k, threads, 500, target,
                                   time_cap=max(d["time"] for d in sk.values()) * 2 + 5)
        r = {"case": name, "shape": list(X.shape), "k": k, "density": dens, "sklearn": sk,
             "ours_final_err": traj[-1][1], "ours_time": traj[-1][0], "ours_iters": len(traj),
             "trajectory": traj}
        for solver, d in sk.items():
            t = time_to_reach(traj, d["err"])
            d["ours_time_to_reach"] = t
            d["ratio"] = None if t is None else d["time"] / t
            d["pass"] = t is not None and t < fastest["time"]
            print(f"   nnmf reaches sklearn-{solver}'s error {d['err']:.6g} in "
                  f"{fmt_t(t) if t is not None else 'never'}", flush=True)
        r["pass"] = all(d["pass"] for d in sk.values())
        out.append(r)
    return out


def render(rows):
    lines = ["## 2. One-layer NMF: nnmf ANLS vs scikit-learn", "",
             "scikit-learn fits Xᵀ (samples × features) with max_iter=200, tol=1e-4 "
             "(cd: init nndsvd, mu: init nndsvda); nnmf fits X (features × samples) by "
             "ANLS from NNDSVD and is timed from the call (its SVD included) until its "
             "relative error ‖X − AS‖_F/‖X‖_F reaches each scikit-learn solver's final "
             "error. Pass: nnmf reaches it sooner than the fastest scikit-learn solver "
             "finishes.", "",
             "| data | k | solver | sklearn time | sklearn iters | sklearn rel. error | "
             "nnmf time to that error | speedup | pass | nnmf final error (iters, time) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        dens = "" if r["density"] == 1.0 else f", density {r['density']:.3%}"
        for solver, d in r["sklearn"].items():
            lines.append(
                f"| {r['case']}{dens} | {r['k']} | {solver} | {fmt_t(d['time'])} | "
                f"{d['n_iter']} | {fmt_e(d['err'])} | "
                f"{fmt_t(d['ours_time_to_reach']) if d['ours_time_to_reach'] else 'never'}"
                f" | {fmt_x(d['ratio'])} | {passfail(d['pass'])} | "
                f"{fmt_e(r['ours_final_err'])} ({r['ours_iters']}, {fmt_t(r['ours_time'])}) |")
    lines.append("")
    return lines
