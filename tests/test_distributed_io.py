"""nnmf.distributed.load_columns and load_corpus on P MPI ranks: each rank's block is exactly
its columns of the single-process result (nnmf.topics.load_corpus), with the vocabulary, idf
and label names of the whole corpus; and a failure on any rank ends the job on every rank with
the same error, never a hang.

The reads run under ``mpiexec`` (tests/mpi/load_io.py on the inputs of tests/mpi/io_cases.py),
a few launches in all; the comparisons run here. One process (comm=None) is checked in
process."""

import importlib.util
import json
import os
import pickle
import shutil
import subprocess
import warnings
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import nnmf
import nnmf.distributed
from nnmf._utils.collective import column_range
from nnmf.topics import load_corpus

HERE = Path(__file__).parent / "mpi"
sys.path.insert(0, str(HERE))
import io_cases  # noqa: E402

MPIEXEC = shutil.which("mpiexec")
needs_mpi = pytest.mark.skipif(
    importlib.util.find_spec("mpi4py") is None or MPIEXEC is None,
    reason="mpi4py is not installed (the 'mpi' extra)" if importlib.util.find_spec("mpi4py")
    is None else "mpiexec is not on PATH")
TIMEOUT = 120


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    io_cases.write_inputs(root)
    return root


def _launch(n_ranks, inputs, out, fail=False):
    command = [MPIEXEC, "-n", str(n_ranks), sys.executable, str(HERE / "load_io.py"),
               str(inputs), str(out)] + (["--fail"] if fail else [])
    begin = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT,
                          env=dict(os.environ), check=False)
    return done, time.monotonic() - begin


@pytest.fixture(scope="module")
def reads(inputs, tmp_path_factory):
    """One job of 4 ranks reads every case on 1, 2, 3 (and some on 4) ranks."""
    out = tmp_path_factory.mktemp("reads")
    done, _ = _launch(4, inputs, out)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def _ranks(out, name, n_ranks):
    results = []
    for r in range(n_ranks):
        with open(out / name / f"rank{r}.pkl", "rb") as fh:
            results.append(pickle.load(fh))
    return results


def _dense(X):
    return X.toarray() if sp.issparse(X) else np.asarray(X)


def _reference(inputs, name):
    """The single-process result: nnmf.topics.load_corpus, of each shard for a folder."""
    _, rel, options = io_cases.CASES[name]
    options = io_cases.resolve(options, inputs)
    path = inputs / rel
    if not path.is_dir() or rel in ("text", "cp1252_text"):
        dtype = options.pop("dtype", None)
        with warnings.catch_warnings():   # a case holds a file that is not valid UTF-8
            warnings.simplefilter("ignore", UserWarning)
            corpus = load_corpus(path, **options)
        if dtype is not None:
            corpus.X = corpus.X.astype(dtype)
        return corpus
    shard_options = {k: v for k, v in options.items() if k in ("transpose", "variable")}
    if "labels" in options:
        shard_options["labels"] = options["labels"]
    parts = [load_corpus(p, **shard_options) for p in sorted(path.iterdir())
             if p.suffix in (".npz", ".npy", ".mat")]
    X = (sp.hstack([p.X for p in parts], format="csc") if sp.issparse(parts[0].X)
         else np.hstack([p.X for p in parts]))
    labels = None
    if "labels" in options:  # codes of every shard's labels, over the union of their names
        names = sorted({n for p in parts for n in p.label_names}, key=int)
        labels = np.concatenate([[names.index(p.label_names[c]) for c in p.labels]
                                 for p in parts])
        return nnmf.Corpus(X, vocabulary=io_cases.WORDS, labels=labels, label_names=names,
                           doc_ids=[str(j) for j in range(X.shape[1])])
    return nnmf.Corpus(X, doc_ids=[str(j) for j in range(X.shape[1])])


def _check_case(inputs, out, name, n_ranks):
    ref = _reference(inputs, name)
    n = ref.X.shape[1]
    got = _ranks(out, name, n_ranks)
    blocks = []
    for r, result in enumerate(got):
        start, stop = column_range(n, r, n_ranks)
        X = result["X"]
        assert X.shape == (ref.X.shape[0], stop - start), (name, r)
        assert sp.issparse(X) == sp.issparse(ref.X), (name, r)
        assert X.dtype == ref.X.dtype, (name, r)
        if sp.issparse(X):
            assert X.format == "csc"
        # bitwise: the same columns as one process
        assert np.array_equal(_dense(X), _dense(ref.X)[:, start:stop]), (name, r)
        blocks.append(X)
        if io_cases.CASES[name][0] == "columns":
            assert (result["start"], result["stop"]) == (start, stop)
            assert result["shape"] == ref.X.shape
            continue
        assert result["vocabulary"] == ref.vocabulary, (name, r)
        assert result["doc_ids"] == ref.doc_ids[start:stop], (name, r)
        assert result["label_names"] == ref.label_names, (name, r)
        if ref.labels is None:
            assert result["labels"] is None
        else:
            assert np.array_equal(result["labels"], ref.labels[start:stop]), (name, r)
        assert result["vectorizer"] == ref.vectorizer
        if ref.idf is None:
            assert result["idf"] is None
        else:
            assert np.array_equal(result["idf"], ref.idf), (name, r)
    return blocks


@needs_mpi
@pytest.mark.parametrize("tag", ["P1", "P2g0", "P2g1", "P3", "P4"])
def test_every_rank_reads_its_columns(inputs, reads, tag):
    n_ranks = int(tag[1])
    names = io_cases.FOUR if n_ranks == 4 else list(io_cases.CASES)
    for name in names:
        blocks = _check_case(inputs, reads / tag, name, n_ranks)
        if name == "tiny" and n_ranks == 4:  # 3 documents: the last rank has none
            assert [b.shape[1] for b in blocks] == [1, 1, 1, 0]


@needs_mpi
def test_a_failing_rank_fails_every_rank(inputs, tmp_path):
    names = list(io_cases.FAILURES)
    done, seconds = _launch(3, inputs, tmp_path, fail=True)
    assert done.returncode != 0, "the last, uncaught failure must end the job non-zero"
    assert seconds < 60
    errors = {}
    for name in names:
        errors[name] = [json.loads((tmp_path / "fail" / name / f"rank{r}.json").read_text())
                        for r in range(3)]
        assert all(e["type"] is not None for e in errors[name]), (name, errors[name])

    def same(name, kind, *words):
        assert [e["type"] for e in errors[name]] == [kind] * 3, errors[name]
        assert len({e["message"] for e in errors[name]}) == 1, errors[name]
        for w in words:
            assert w in errors[name][0]["message"]

    # a fault of the input as a whole: the same exception on every rank
    same("bad_rows", "ValueError", "shard part-1.npy has 8 rows", "part-0.npy has 7")
    same("missing", "FileNotFoundError", "no such file or folder")
    same("pruned_away", "ValueError", "After pruning, no terms remain")
    same("different_args", "ValueError", "called with different min_df on different ranks")
    same("utf16", "ValueError", "utf16.csv is utf-16-le text", "convert it to UTF-8")
    # a fault of one rank's part: that rank's exception, the others name it
    for name, bad, words in [("bad_shard", 1, ["cannot read shard part-0001.npz"]),
                             ("bad_jsonl", 2, ["bad.jsonl line 6 is not valid JSON"])]:
        own = errors[name][bad]
        assert own["type"] == "ValueError" and all(w in own["message"] for w in words), own
        for r in set(range(3)) - {bad}:
            assert errors[name][r]["type"] == "CollectiveError", errors[name]
            assert errors[name][r]["message"] == (
                f"rank {bad} of 3 failed: ValueError: {own['message']}")
    assert "CollectiveError: rank 1 of 3 failed" in done.stderr


def test_one_process_without_mpi(inputs):
    """comm=None reads everything in this process, as nnmf.topics.load_corpus."""
    for name in ("npy", "shards_npz", "csv", "text_pruned"):
        loader, rel, options = io_cases.CASES[name]
        options = io_cases.resolve(options, inputs)
        read = nnmf.distributed.load_columns if loader == "columns" else (
            nnmf.distributed.load_corpus)
        with warnings.catch_warnings():  # the text folder holds a file that is not UTF-8
            warnings.simplefilter("ignore", UserWarning)
            got = read(inputs / rel, None, **options)
        ref = _reference(inputs, name)
        assert np.array_equal(_dense(got.X), _dense(ref.X))
        if loader == "corpus":
            assert got.vocabulary == ref.vocabulary and got.doc_ids == ref.doc_ids
    block = nnmf.distributed.load_columns(inputs / "shards_npz", None)
    assert (block.start, block.stop, block.shape) == (0, 15, (7, 15))
    assert [Path(f).name for f in block.files] == [f"part-{i:04d}.npz" for i in range(5)]
    with pytest.raises(ValueError, match="is a folder of .txt files"):
        nnmf.distributed.load_columns(inputs / "text", None)
    with pytest.raises(ValueError, match="dtype must be"):
        nnmf.distributed.load_columns(inputs / "dense.npy", None, dtype=np.int32)
    with pytest.raises(ValueError, match="negative"):
        np.save(inputs / "negative.npy", -np.ones((3, 3)))
        nnmf.distributed.load_columns(inputs / "negative.npy", None)


def test_decoding_warnings_as_one_process(inputs):
    """Text that is not valid in its encoding: one process and nnmf.distributed (comm=None
    here; the MPI runs above read the same files) warn alike, naming the file and line."""
    for rel, options in [("bom.jsonl", {}), ("cp1252.csv", {}), ("text", {})]:
        got = []
        for read in (load_corpus, lambda path, **o: nnmf.distributed.load_corpus(path, None, **o)):
            with pytest.warns(UserWarning) as record:
                read(inputs / rel, **options)
            got.append([str(w.message) for w in record])
        assert got[0] == got[1], rel
        assert len(got[0]) == 1 and "not valid utf-8" in got[0][0]
    assert "bom.jsonl: not valid utf-8 (byte 0xff on line 7)" in got_first(inputs)


def got_first(inputs):
    with pytest.warns(UserWarning) as record:
        nnmf.distributed.load_corpus(inputs / "bom.jsonl", None)
    return str(record[0].message)


def test_lines_split_and_decode_as_text_mode(tmp_path):
    """The byte-offset reader behind CSV and JSON Lines sees the lines that open() does."""
    from nnmf.distributed._io import _Lines

    path = tmp_path / "mixed.txt"
    data = (b"one\r\ntwo\rthree\n\n \r\nf\xc3\xbcnf \xff\xe2\x82\r\n\"q\rq\"\r"
            b"\xe2\x82\xac end")
    path.write_bytes(data)
    for newline, universal in (("", False), (None, True)):
        with open(path, newline=newline, encoding="utf-8", errors="replace") as fh:
            expected = list(fh)
        with _Lines(path, universal=universal) as lines:
            got = list(lines)
            assert lines.offset == len(data)
        assert got == expected
        # from the byte offset of any line on, the rest
        offset = len(b"one\r\ntwo\r")
        with _Lines(path, offset, universal=universal) as lines:
            assert list(lines) == expected[2:]
