"""The rows of bench_training.py, one module each (reference, anls, threads, scale, float32,
process), and what several of them share (fits). Each row module has ``run(args)`` and
``render(rows)``, and ``child(params)`` where part of it runs in a subprocess.

Importing this package loads nothing: the rows are imported after bench_training.py has
decided whether the process opts in to ``nnmf.tune_process()``."""
