#!/usr/bin/env python
"""End-to-end training benchmarks (issue 6): every row times nnmf and its competitor side by
side, in one run, on the same data, and writes a results table.

Rows (``--rows``), one module each in bench/training/:

1. ``reference.py``: a Neural NMF epoch against the reference implementation (PyPI
   ``NeuralNMF`` 1.0.0, in a subprocess), plus the gradient check.
2. ``anls.py``: one-layer NMF by ANLS against scikit-learn's cd and mu.
3. ``threads.py``: 1 vs 2 threads (core and BLAS), and OMP_WAIT_POLICY=active.
4. ``scale.py``: a sparse 10^5 x 10^5 corpus (subprocess): epoch times, peak RSS.
5. ``float32.py``: float32 vs float64.
process. ``process.py``: epochs with and without ``nnmf.tune_process()``, each in processes
   of its own.

Where the issue defines one, a row also reports the floor: the products with X one training
step cannot avoid (A_0^T X forward, X W^T backward with W k_0 x n), timed in the same run.

This process (and every child but the `process` row's) opts in to ``nnmf.tune_process()``
before anything loads OpenMP, as the ``nnmf`` command does (``--no-tune``: not).

    python bench/bench_training.py                 # all rows, writes bench/RESULTS.md and
                                                   #   bench/results_training.json
    python bench/bench_training.py --quick         # small sizes, a smoke test,
                                                   #   writes /tmp/nnmf_bench_quick.{md,json}
    python bench/bench_training.py --rows 1,3      # only some rows (merged into the JSON;
                                                   #   the table is rebuilt from all rows)

On the shared 2-core machines run timings under ``flock /tmp/nnmf-bench.lock``.
"""

import argparse
import datetime
import importlib
import json
import shlex
import sys
from pathlib import Path

# Nothing imported here loads nnmf's core or an OpenMP runtime: main() first decides whether
# this process opts in to nnmf.tune_process(), then imports the rows.
import _common  # bench/ is on sys.path
from _common import LoadMeter, now, wait_for_idle

HERE = Path(__file__).resolve().parent

ROWS = {"1": "reference", "2": "anls", "3": "threads", "4": "scale", "5": "float32",
        "process": "process"}
CHILDREN = {"reference_child": "reference", "row3_child": "threads",
            "scale_child": "scale", "process_child": "process"}


def row_module(key):
    return importlib.import_module(f"training.{ROWS[key]}")


def machine_info(args, settings):
    from importlib import metadata

    info = _common.machine_info()
    info["threads"] = args.threads
    info["process_settings"] = settings
    for mod, dist in (("torch", "torch"), ("sklearn", "scikit-learn"),
                      ("NeuralNMF", "NeuralNMF")):
        try:  # versions without importing (torch would load its own OpenMP runtime here)
            info[mod] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            info[mod] = "not installed"
    pools = _common.threadpools()
    info["threadpools"] = [{k: d[k] for k in ("internal_api", "version", "num_threads",
                                              "architecture")} for d in pools]
    info["threadpool_files"] = [d["filepath"] for d in pools]
    return info


def blas_line(info):
    pools = info.get("threadpools", [])
    return ", ".join(f"{p['internal_api']} {p.get('version') or ''} "
                     f"({p.get('architecture') or '?'}, {p['num_threads']} threads)"
                     for p in pools) or "unknown"


def settings_line(info):
    s = info.get("process_settings")
    if s is None:  # runs before the opt-in existed: importing nnmf applied both settings
        return []
    if not s["called"]:
        return ["- Process settings: nnmf.tune_process() not called (--no-tune); variables "
                f"{s['variables'] or 'none'}"]
    return [f"- Process settings: nnmf.tune_process() → {s['applied']}; "
            + ", ".join(f"{k}={v}" for k, v in s["variables"].items())]


def render(results):
    lines = ["# Training benchmarks (issue 6)", ""]
    runs = results.get("runs", {})
    torch_threads = "?"
    if results.get("rows", {}).get("1"):
        torch_threads = results["rows"]["1"][0].get("ref_torch_threads", "?")
    for key in sorted(runs):
        run = runs[key]
        info = run["machine"]
        lines += [f"Rows {', '.join(run['rows'])} — `{run['command']}` ({run['date']})", "",
                  f"- Machine: {info['cpu']}, {info['logical_cores']} logical cores; "
                  f"{info['platform']}",
                  f"- Versions: Python {info['python']}, numpy {info['numpy']}, scipy "
                  f"{info['scipy']}, torch {info.get('torch')} (in a subprocess, "
                  f"{torch_threads} threads), scikit-learn {info.get('sklearn')}, reference "
                  f"NeuralNMF {info.get('NeuralNMF')}, nnmf {info['nnmf']} ({info['nnmf_build']})",
                  f"- Thread pools: {blas_line(info)}; nnmf/BLAS threads used: "
                  f"{info['threads']} (except row 3); OMP_NUM_THREADS "
                  f"{info['OMP_NUM_THREADS']}", *settings_line(info),
                  "- dtype float64 (except row 5). Times are medians; an epoch is a backward "
                  "pass, a projected step and the forward pass at the new point.", ""]
    rows = results.get("rows", {})
    load = results.get("load", {})
    secs = results.get("row_seconds", {})
    if load:
        lines += ["CPU used by other processes while each row ran (skews 2-core timings): "
                  + ", ".join(f"row {r}: {100 * (load[r] or 0):.0f} % ({secs.get(r, 0):.0f} s)"
                              for r in sorted(load)), ""]
    for key in ROWS:
        if rows.get(key):
            lines += row_module(key).render(rows[key])
    notes = HERE / "RESULTS_notes.md"
    if notes.exists():
        lines += [notes.read_text().strip(), ""]
    return "\n".join(lines)


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    p.add_argument("--rows", default=",".join(ROWS),
                   help=f"comma-separated rows to run, of {', '.join(ROWS)} (default all)")
    p.add_argument("--threads", type=int, default=2, help="threads for nnmf and BLAS")
    p.add_argument("--scale-epochs", type=int, default=4,
                   help="epochs timed in row 4 (the 10^5 x 10^5 run)")
    p.add_argument("--out", default=None,
                   help="output prefix: writes PREFIX.md and PREFIX.json (default: "
                        "bench/RESULTS.md + bench/results_training.json; with --quick "
                        "/tmp/nnmf_bench_quick)")
    p.add_argument("--wait-idle", type=float, default=0.0,
                   help="before each row wait up to this many seconds for other load to end")
    p.add_argument("--render", action="store_true",
                   help="only rebuild the markdown table from the JSON (runs nothing)")
    p.add_argument("--fresh", action="store_true",
                   help="do not merge into the existing JSON (start a new table)")
    p.add_argument("--no-tune", action="store_true",
                   help="do not opt in to nnmf.tune_process() (rows 1-5 and their children "
                        "then run with the libraries' default OpenMP and malloc behaviour)")
    for name in CHILDREN:
        p.add_argument(f"--_{name.replace('_', '-')}", dest=name, default=None,
                       help=argparse.SUPPRESS)
    return p, p.parse_args(argv)


def main(argv=None):
    p, args = parse(argv)
    if args.process_child is not None:  # decides on tune_process itself
        print(json.dumps(row_module("process").child(json.loads(args.process_child))))
        return 0
    settings = None if args.render else _common.tune(not args.no_tune)
    for name, module in CHILDREN.items():
        if getattr(args, name) is not None:
            params = json.loads(getattr(args, name))
            print(json.dumps(importlib.import_module(f"training.{module}").child(params)))
            return 0

    if args.out:
        md, js = Path(args.out + ".md"), Path(args.out + ".json")
    elif args.quick:
        md, js = Path("/tmp/nnmf_bench_quick.md"), Path("/tmp/nnmf_bench_quick.json")
    else:
        md, js = HERE / "RESULTS.md", HERE / "results_training.json"
    if args.render:
        md.write_text(render(json.loads(js.read_text())))
        print(f"wrote {md}")
        return 0
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    for r in rows:
        if r not in ROWS:
            p.error(f"unknown row {r!r}: choose from {', '.join(ROWS)}")

    results = {"rows": {}, "runs": {}}
    if js.exists() and not args.fresh:
        results = json.loads(js.read_text())
    command = "python bench/bench_training.py " + " ".join(shlex.quote(a) for a in
                                                           (argv or sys.argv[1:]))
    run_key = datetime.datetime.now().strftime("%Y-%m-%dT%H:%M:%S")
    info = machine_info(args, settings)
    written = False
    for r in rows:
        if args.wait_idle:
            wait_for_idle(args.wait_idle)
        t0 = now()
        meter = LoadMeter().start()
        out = row_module(r).run(args)
        if out is None:  # skipped (row 1 without the reference): keep its last results
            continue
        results["rows"][r] = out
        load = meter.stop()
        results.setdefault("load", {})[r] = load
        results.setdefault("row_seconds", {})[r] = now() - t0
        print(f"  row {r}: {now() - t0:.1f} s, other load {100 * (load or 0):.0f} %",
              flush=True)
        # drop older runs whose rows were all re-run
        for key in list(results["runs"]):
            results["runs"][key]["rows"] = [x for x in results["runs"][key]["rows"] if x != r]
            if not results["runs"][key]["rows"]:
                del results["runs"][key]
        results["runs"].setdefault(run_key, {"command": command, "date": run_key,
                                             "machine": info, "rows": []})["rows"].append(r)
        js.write_text(json.dumps(results, indent=1, default=float))
        md.write_text(render(results))
        written = True
    print(f"wrote {md} and {js}" if written else "no row ran: nothing written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
