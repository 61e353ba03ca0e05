"""The ``nnmf`` command end to end through ``nnmf.cli.main(argv)``: fit / topics / transform /
plot / demo on temporary corpora in every input format, the files written, exit codes and
error messages."""

import csv
import json
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

import nnmf
from nnmf.cli import main

from nnmf.datasets import load_synthetic_noise

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FAST = ["--max-iter", "8", "--figures", "none"]


def run(capsys, *argv):
    """(exit code, stdout, stderr) of ``nnmf argv``."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def synthetic():
    return nnmf.make_topic_corpus(90, random_state=1)


@pytest.fixture(scope="module")
def text_folder(tmp_path_factory, synthetic):
    root = tmp_path_factory.mktemp("corpus")
    for j, (sub, text) in enumerate(zip(synthetic.subtopics, synthetic.documents)):
        (root / sub).mkdir(exist_ok=True)
        (root / sub / f"{j:03d}.txt").write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, text_folder):
    """A model fitted by ``nnmf fit`` on the text folder, with every output file."""
    out = tmp_path_factory.mktemp("fit")
    code = main(["fit", str(text_folder), "--ranks", "9,3", "--labels", "folders",
                 "--known-fraction", "0", "--max-iter", "40", "--out", str(out), "-q"])
    assert code == 0
    return out


def tree_lines(text):
    return [line for line in text.splitlines() if re.match(r"\s*\[\d+\.\d+\]\s+\d", line)]


# -- demo ------------------------------------------------------------------------------------

def test_demo_needs_only_the_runtime_dependencies(capsys, monkeypatch):
    # The quick start runs `pip install . && nnmf demo`: no scikit-learn, matplotlib or tqdm.
    for name in ("sklearn", "matplotlib", "tqdm"):
        monkeypatch.setitem(sys.modules, name, None)  # any import of them now fails
    code, out, err = run(capsys, "demo", "--documents", "90")
    assert code == 0, err
    assert float(re.search(r"Match score: ([\d.]+)", out).group(1)) >= 0.9, out


def test_synthetic_counts_match_scikit_learn():
    from sklearn.feature_extraction.text import TfidfVectorizer

    from nnmf.topics._corpus import count_tokens, weigh_counts

    synth = nnmf.make_topic_corpus(45, random_state=3)
    counts, vocab = count_tokens(synth.tokens)
    X, _ = weigh_counts(counts, {"kind": "tfidf"})
    ref = TfidfVectorizer().fit(synth.documents)
    assert vocab == list(ref.get_feature_names_out())
    np.testing.assert_allclose(X.toarray(), ref.transform(synth.documents).T.toarray(),
                               rtol=1e-12, atol=1e-15)


def test_demo_recovers_the_planted_hierarchy(capsys, tmp_path):
    t0 = time.perf_counter()
    code, out, err = run(capsys, "demo", "--out", tmp_path / "demo", "--save-corpus",
                         tmp_path / "docs")
    seconds = time.perf_counter() - t0
    assert code == 0, err
    assert seconds < 45, f"the demo took {seconds:.1f} s"
    score = float(re.search(r"Match score: ([\d.]+)", out).group(1))
    assert score >= 0.9, out
    assert out.startswith("Planted") and "Recovered by Neural NMF" in out
    for name in ("sports", "  football", "science", "  genetics", "food", "  coffee"):
        assert re.search(rf"^{name}\s+\| ", out, re.M), name
    assert "Synthetic corpus: 450 documents" in err and "Total time" in err
    assert (tmp_path / "demo" / "model.npz").is_file()
    assert (tmp_path / "demo" / "figures" / "topic_tree.svg").is_file()
    assert len(list((tmp_path / "docs").glob("*/*.txt"))) == 450
    assert sorted(p.name for p in (tmp_path / "docs").iterdir())[:2] == ["astronomy", "baking"]


# -- fit on every input format ---------------------------------------------------------------

def test_fit_text_folder_writes_everything(fitted, capsys):
    files = sorted(p.relative_to(fitted).as_posix() for p in fitted.rglob("*") if p.is_file())
    assert files == ["figures/factors.png", "figures/factors.svg", "figures/mixtures.png",
                     "figures/mixtures.svg", "figures/topic_tree.png", "figures/topic_tree.svg",
                     "model.npz", "topics.json", "topics.md"]
    for name in ("factors", "mixtures", "topic_tree"):
        import matplotlib.image

        png = fitted / "figures" / f"{name}.png"
        assert png.read_bytes()[:8] == PNG_MAGIC
        assert matplotlib.image.imread(str(png)).shape[0] > 100
        assert ET.parse(fitted / "figures" / f"{name}.svg").getroot().tag.endswith("svg")
    topics = json.loads((fitted / "topics.json").read_text())
    assert topics["ranks"] == [9, 3] and len(topics["documents"]) == 90
    assert topics["documents"][0]["id"] == "astronomy/003.txt"
    assert "# Topic hierarchy" in (fitted / "topics.md").read_text()
    model, info = nnmf.load_model(fitted, return_corpus=True)
    assert isinstance(model, nnmf.NeuralNMF) and model.B_ is None  # known fraction 0
    assert info.label_names[0] == "astronomy" and info.vectorizer["kind"] == "tfidf"


def test_fit_prints_the_tree_and_status(text_folder, capsys):
    code, out, err = run(capsys, "fit", text_folder, "--ranks", "6,2", "--max-iter", "5",
                         "--threads", "1", "--seed", "2")
    assert code == 0
    lines = tree_lines(out)
    assert len(lines) == 8 and sum(not line.startswith(" ") for line in lines) == 2
    assert "Read 90 documents x" in err and "(tfidf)" in err and "Fitted in" in err
    assert "nnmf fit: warning: NeuralNMF reached max_iter=5" in err
    assert "(use --out DIR to save the model, topics and figures)" in err
    # --quiet: the tree only, no status lines or warnings.
    code, quiet_out, quiet_err = run(capsys, "fit", text_folder, "--ranks", "6,2",
                                     "--max-iter", "5", "--threads", "1", "--seed", "2", "-q")
    assert code == 0 and quiet_err == "" and quiet_out == out


def test_fit_semi_supervised(text_folder, capsys):
    code, out, err = run(capsys, "fit", text_folder, "--ranks", "9", "--labels", "folders",
                         "--known-fraction", "0.5", "--lam", "1", "--loss", "energy", *FAST)
    assert code == 0, err
    assert "Labels: 9 classes, 45 of 90 documents known to the model" in err
    assert re.search(r"Accuracy on the 45 documents whose labels were hidden: [\d.]+", err)
    code, out, err = run(capsys, "fit", text_folder, "--ranks", "9,3", "--labels", "folders",
                         *FAST)
    assert code == 0
    assert "warning: 9 classes but the top layer has 3 topics" in err
    # printed when it is found, before the fit's own output, not after everything
    lines = err.splitlines()
    warned = next(i for i, line in enumerate(lines) if "9 classes but the top layer" in line)
    assert warned < next(i for i, line in enumerate(lines) if line.startswith("Fitting"))


def test_fit_csv_and_jsonl(tmp_path, synthetic, capsys):
    path = tmp_path / "docs.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["title", "body", "theme"])
        for j, (text, theme) in enumerate(zip(synthetic.documents, synthetic.themes)):
            w.writerow([f"t{j}", text, theme])
    code, out, err = run(capsys, "fit", path, "--ranks", "3", "--text-column", "body",
                         "--id-column", "title", "--labels", "theme", "--vectorizer", "count",
                         "--stop-words", "none", "--min-df", "2", "--max-df", "0.9",
                         "--max-features", "150", "--ngrams", "1,2", "--out", tmp_path / "o",
                         *FAST)
    assert code == 0, err
    assert "x 150 words (count)" in err and "Labels: 3 classes, 90 of 90" in err
    assert not (tmp_path / "o" / "figures").exists()  # --figures none
    topics = json.loads((tmp_path / "o" / "topics.json").read_text())
    assert topics["documents"][1]["id"] == "t1"
    jsonl = tmp_path / "docs.jsonl"
    jsonl.write_text("\n".join(json.dumps({"text": d}) for d in synthetic.documents))
    code, out, err = run(capsys, "fit", jsonl, "--ranks", "4,2", *FAST)
    assert code == 0 and len(tree_lines(out)) == 6


def test_fit_matrices(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = sp.csc_matrix(rng.random((30, 4)) @ rng.random((4, 50)) * (rng.random((30, 50)) < 0.6))
    words = [f"term{i}" for i in range(30)]
    (tmp_path / "vocab.txt").write_text("\n".join(words))
    sp.save_npz(tmp_path / "x.npz", X)
    scipy.io.mmwrite(str(tmp_path / "x.mtx"), X)
    np.save(tmp_path / "xt.npy", X.toarray().T)
    for name, extra in (("x.npz", []), ("x.mtx", []), ("xt.npy", ["--transpose"])):
        code, out, err = run(capsys, "fit", tmp_path / name, "--ranks", "4,2", "--vocab",
                             tmp_path / "vocab.txt", *extra, *FAST)
        assert code == 0, (name, err)
        assert "Read 50 documents x 30 words (matrix)" in err and "term" in out
    noise = load_synthetic_noise()
    y4 = np.eye(4, dtype=np.uint8)[:, noise.labels["middle"]]   # one-hot, as in the paper's file
    scipy.io.savemat(tmp_path / "noise.mat", {"X": noise.X, "Y4": y4})
    code, out, err = run(capsys, "fit", tmp_path / "noise.mat", "--variable", "X",
                         "--labels", "Y4", "--ranks", "9,4", "--out", tmp_path / "mat",
                         "--max-iter", "8", "--figures", "png")
    assert code == 0, err
    assert "Labels: 4 classes, 90 of 90 documents" in err and "w0" not in err
    assert (tmp_path / "mat" / "figures" / "mixtures.png").read_bytes()[:8] == PNG_MAGIC
    assert nnmf.load_model(tmp_path / "mat").B_.shape == (4, 4)


# -- topics / transform / plot ---------------------------------------------------------------

def test_topics(fitted, capsys, tmp_path):
    code, out, err = run(capsys, "topics", fitted, "--top-words", "3")
    # stderr: the quality of each layer (no NPMI: the model file keeps no corpus)
    assert code == 0 and err.splitlines()[0] == "Topic quality (top 3 words):"
    assert re.fullmatch(r"  layer 1 \(k=3\): diversity 1\.00, largest share 0\.\d\d, "
                        r"single-child parents \d, degenerate parents \d, NMI 0\.\d\d",
                        err.splitlines()[1])
    assert err.splitlines()[2].startswith("  layer 0 (k=9): diversity")
    lines = tree_lines(out)
    assert len(lines) == 12 and all(len(line.split("%")[1].split("(")[0].split()) == 3
                                    for line in lines)
    code, out, _ = run(capsys, "topics", fitted / "model.npz", "--weights")
    assert code == 0 and re.search(r"\w+ 0\.\d{3}, \w+ 0\.\d{3}", out)
    code, out, _ = run(capsys, "topics", fitted, "--as", "json")
    assert code == 0 and json.loads(out)["ranks"] == [9, 3]
    quality = json.loads(out)["quality"]
    assert [q["k"] for q in quality["layers"]] == [9, 3] and "npmi" not in quality["layers"][0]
    # fit wrote the same measures, with NPMI counted in its corpus
    written = json.loads((fitted / "topics.json").read_text())["quality"]
    assert -1 <= written["layers"][1]["npmi"] <= 1
    assert written["layers"][1]["diversity"] == quality["layers"][1]["diversity"]
    assert "## Quality" in (fitted / "topics.md").read_text()
    code, out, err = run(capsys, "topics", fitted, "--as", "markdown", "--out",
                         tmp_path / "t.md")
    assert code == 0 and out == "" and "Wrote" in err
    assert (tmp_path / "t.md").read_text().startswith("# Topic hierarchy")


def test_transform_text(fitted, text_folder, tmp_path, capsys):
    model = nnmf.load_model(fitted)
    code, out, err = run(capsys, "transform", fitted, text_folder, "--out", tmp_path / "s.npz")
    assert code == 0, err
    with np.load(tmp_path / "s.npz") as f:
        assert f["doc_ids"][0] == "astronomy/003.txt"
        # the same documents vectorised the same way give the training coefficients
        np.testing.assert_allclose(f["S_0"], model.S_[0], atol=1e-8)
        np.testing.assert_allclose(f["S_1"], model.S_[1], atol=1e-8)
    code, out, err = run(capsys, "transform", fitted, text_folder, "--out", tmp_path / "s.csv",
                         "-q")
    assert code == 0 and err == ""
    with open(tmp_path / "s.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["id", "topic", "1.0", "1.1", "1.2"] and len(rows) == 91
    assert abs(sum(float(x) for x in rows[1][2:]) - 1) < 1e-5
    code, _, _ = run(capsys, "transform", fitted, text_folder, "--out", tmp_path / "s.npy",
                     "--layer", "0", "-q")
    assert code == 0 and np.load(tmp_path / "s.npy").shape == (9, 90)
    new = tmp_path / "new.csv"
    new.write_text("text\nracket serve volley wimbledon\nespresso roast bean barista\n")
    code, _, _ = run(capsys, "transform", fitted, new, "--out", tmp_path / "s.json", "-q")
    docs = json.loads((tmp_path / "s.json").read_text())["documents"]
    assert code == 0 and [len(t) for t in docs[0]["topics"]] == [9, 3]
    h = nnmf.topic_hierarchy(model, nnmf.load_model(fitted, return_corpus=True)[1].vocabulary)
    tennis = int(np.argmax(docs[0]["topics"][0]))
    assert "racket" in h.topic(0, tennis).label(5)


def test_transform_matrix_aligns_words(tmp_path, capsys):
    rng = np.random.default_rng(1)
    X = rng.random((12, 3)) @ rng.random((3, 20))
    words = [f"w{i:02d}" for i in range(12)]
    np.save(tmp_path / "x.npy", X)
    (tmp_path / "v.txt").write_text("\n".join(words))
    assert run(capsys, "fit", tmp_path / "x.npy", "--vocab", tmp_path / "v.txt", "--ranks",
               "3", "--out", tmp_path / "m", *FAST)[0] == 0
    perm = rng.permutation(12)
    np.save(tmp_path / "y.npy", X[perm])
    (tmp_path / "vy.txt").write_text("\n".join(words[i] for i in perm))
    code, _, err = run(capsys, "transform", tmp_path / "m", tmp_path / "y.npy", "--vocab",
                       tmp_path / "vy.txt", "--out", tmp_path / "s.npy")
    assert code == 0, err
    np.testing.assert_allclose(np.load(tmp_path / "s.npy"),
                               nnmf.load_model(tmp_path / "m").transform(X), atol=1e-10)
    np.save(tmp_path / "short.npy", X[:5])
    code, _, err = run(capsys, "transform", tmp_path / "m", tmp_path / "short.npy", "--out",
                       tmp_path / "s.npy")
    assert code == 1 and "X has 5 rows (features) but the model was fitted on the training data with 12" in err
    (tmp_path / "d.csv").write_text("text\nhello\n")
    code, _, err = run(capsys, "transform", tmp_path / "m", tmp_path / "d.csv", "--out",
                       tmp_path / "s.npy")
    assert code == 1 and "this model was not fitted on text" in err


def test_plot(fitted, tmp_path, capsys):
    code, out, err = run(capsys, "plot", fitted, "--out", tmp_path / "p", "--formats", "svg",
                         "--top-words", "2")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == [
        "factors.svg", "mixtures.svg", "topic_tree.svg"]
    assert out.splitlines() == [str(tmp_path / "p" / f"{n}.svg")
                                for n in ("factors", "mixtures", "topic_tree")]
    svg = ET.parse(tmp_path / "p" / "topic_tree.svg").getroot()
    assert svg.tag.endswith("svg")


# -- errors and exit codes -------------------------------------------------------------------

def one_line_error(err, command):
    """The error: one line, the last one (status lines may come before it), no traceback."""
    lines = err.strip().splitlines()
    assert lines[-1].startswith(f"nnmf {command}: error: ") and "Traceback" not in err, err
    assert sum("error" in line for line in lines) == 1, err
    return lines[-1]


def test_input_errors(tmp_path, text_folder, capsys):
    cases = [
        (["fit", tmp_path / "missing", "--ranks", "3"], "no such file or folder: "),
        (["fit", tmp_path / "data.xlsx", "--ranks", "3"], "cannot tell the format of 'data.xlsx'"),
        (["fit", tmp_path / "empty", "--ranks", "3"], "empty corpus: no .txt files in"),
        (["fit", tmp_path / "x.npy", "--vocab", tmp_path / "v.txt", "--ranks", "2"],
         "the vocabulary has 2 words but the matrix has 6 rows"),
        (["fit", tmp_path / "d.csv", "--labels", "stars", "--ranks", "2"],
         "label column 'stars' not found in d.csv; it has: text, label"),
        (["fit", tmp_path / "d.csv", "--text-column", "body", "--ranks", "2"],
         "text column 'body' not found in d.csv"),
        (["fit", text_folder, "--ranks", "500"], "ranks (500,) exceed what X"),
        (["fit", text_folder, "--ranks", "3", "--labels", tmp_path / "nolabels.txt"],
         "labels file not found"),
        (["topics", tmp_path / "missing.npz"], "no such model file"),
        (["topics", tmp_path / "x.npy"], "is not an nnmf model file"),
        (["plot", tmp_path], "no model.npz in the folder"),
    ]
    (tmp_path / "data.xlsx").write_text("x")
    (tmp_path / "empty").mkdir()
    np.save(tmp_path / "x.npy", np.ones((6, 4)))
    (tmp_path / "v.txt").write_text("a\nb\n")
    (tmp_path / "d.csv").write_text("text,label\ngoal striker,a\ndough oven,b\n")
    for argv, message in cases:
        code, out, err = run(capsys, *argv)
        assert code == 1, (argv, err)
        assert message in one_line_error(err, argv[0]), (argv, err)
        assert "(--debug shows the traceback)" in err


def test_newer_model_format(fitted, tmp_path, capsys):
    with np.load(fitted / "model.npz", allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    meta = json.loads(str(arrays["__nnmf__"]))
    meta["format_version"] += 1
    arrays["__nnmf__"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "new.npz", **arrays)
    code, _, err = run(capsys, "topics", tmp_path / "new.npz")
    assert code == 1 and "upgrade nnmf to load it" in one_line_error(err, "topics")


def test_debug_shows_the_traceback(tmp_path, capsys):
    code, _, err = run(capsys, "fit", tmp_path / "missing", "--ranks", "3", "--debug")
    assert code == 1
    assert err.startswith("Traceback (most recent call last)") and "FileNotFoundError" in err
    assert err.strip().splitlines()[-1].startswith("nnmf fit: error: no such file or folder")


def test_outputs_are_checked_before_the_work(tmp_path, text_folder, fitted, capsys):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "folder").mkdir()
    cases = [
        (["fit", text_folder, "--ranks", "9,3", "--out", tmp_path / "afile"],
         f"--out: {tmp_path / 'afile'} exists and is not a folder"),
        (["fit", text_folder, "--ranks", "9,3", "--out", tmp_path / "afile" / "run"],
         f"--out: cannot create {tmp_path / 'afile' / 'run'}: {tmp_path / 'afile'} is not a "
         "folder"),
        (["fit", text_folder, "--ranks", "9,3", "--checkpoint", tmp_path / "folder"],
         f"--checkpoint: {tmp_path / 'folder'} is a folder"),
        (["transform", tmp_path / "no-model", text_folder, "--out", tmp_path / "afile" / "s.csv"],
         "is not a folder"),
        (["topics", tmp_path / "no-model", "--out", tmp_path / "folder"], "is a folder"),
        (["plot", tmp_path / "no-model", "--out", tmp_path / "afile"], "is not a folder"),
        (["demo", "--out", tmp_path / "afile"], "exists and is not a folder"),
        (["demo", "--save-corpus", tmp_path / "afile"], "exists and is not a folder"),
    ]
    for argv, message in cases:
        code, out, err = run(capsys, *argv)
        assert code == 1 and message in one_line_error(err, argv[0]), (argv, err)
        assert "Read " not in err and "Fitting" not in err and "Synthetic" not in err, err
    # Written files follow the umask like every other output (model.npz was 0600).
    modes = {p.name: p.stat().st_mode & 0o777 for p in fitted.iterdir() if p.is_file()}
    assert modes["model.npz"] == modes["topics.json"], modes
    # Missing folders on the way to an output file are created.
    code, _, err = run(capsys, "topics", fitted, "--out", tmp_path / "new" / "t.md", "-q")
    assert code == 0 and (tmp_path / "new" / "t.md").is_file(), err


def test_ranks_and_document_frequencies_are_worded_for_the_command(text_folder, capsys):
    code, _, err = run(capsys, "fit", text_folder, "--ranks", "3,9")
    assert code == 2 and "--ranks 3,9: each layer groups the topics of the layer below it" in err
    assert "e.g. --ranks 9,3" in err and "init" not in err and "A's" not in err
    code, _, err = run(capsys, "fit", text_folder, "--ranks", "9,3", "--min-df", "500")
    message = one_line_error(err, "fit")
    assert code == 1 and "min_df=500 keeps only words in at least 500 documents, but the " \
                         "corpus has 90" in message and "max_df" not in message


def test_encoding(tmp_path, capsys):
    root = tmp_path / "latin"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    for i in range(6):
        (root / "a" / f"{i}.txt").write_bytes("café crème délicieux espresso".encode("latin-1"))
        (root / "b" / f"{i}.txt").write_bytes("goal striker penalty très".encode("latin-1"))
    code, out, err = run(capsys, "fit", root, "--ranks", "2", "--out", tmp_path / "m", *FAST)
    assert code == 0, err
    lines = err.splitlines()
    warned = next(i for i, line in enumerate(lines) if "not valid utf-8" in line)
    assert lines[warned].startswith("nnmf fit: warning: 12 of 12 .txt files: not valid utf-8 "
                                    f"(the first: {root / 'a' / '0.txt'}, byte 0xe9 on line 1)")
    assert "--encoding" in lines[warned]
    assert warned < next(i for i, line in enumerate(lines) if line.startswith("Fitting"))
    code, out, err = run(capsys, "fit", root, "--ranks", "2", "--encoding", "latin-1",
                         "--out", tmp_path / "m", *FAST)
    assert code == 0 and "not valid" not in err and "délicieux" in out
    # transform reads new text in its own --encoding
    new = tmp_path / "new.csv"
    new.write_bytes("text\ncrème délicieux\n".encode("cp1252"))
    code, _, err = run(capsys, "transform", tmp_path / "m", new, "--encoding", "cp1252",
                       "--out", tmp_path / "s.csv")
    assert code == 0 and "not valid" not in err, err
    code, _, err = run(capsys, "fit", root, "--ranks", "2", "--encoding", "klingon")
    assert code == 2 and "argument --encoding: unknown encoding 'klingon'" in err


def test_damaged_model_files_give_one_line(fitted, tmp_path, capsys):
    raw = (fitted / "model.npz").read_bytes()
    (tmp_path / "half.npz").write_bytes(raw[:len(raw) // 2])
    code, _, err = run(capsys, "topics", tmp_path / "half.npz")
    assert code == 1
    assert one_line_error(err, "topics").startswith(
        f"nnmf topics: error: {tmp_path / 'half.npz'} is damaged")


@pytest.mark.parametrize("argv, message", [
    ([], "the following arguments are required: COMMAND"),
    (["fit", "x"], "the following arguments are required: --ranks"),
    (["fit", "x", "--ranks", "20,a"], "argument --ranks: expected comma-separated positive"),
    (["fit", "x", "--ranks", "0"], "argument --ranks: ranks must be positive integers"),
    (["fit", "x", "--ranks", "3", "--known-fraction", "1.5"], "expected a number in [0, 1]"),
    (["fit", "x", "--ranks", "3", "--known-fraction", "0.5"], "--known-fraction needs --labels"),
    (["fit", "x", "--ranks", "3", "--loss", "hinge"], "argument --loss: invalid choice"),
    (["fit", "x", "--ranks", "3", "--threads", "0"], "must be nonzero"),
    (["fit", "x", "--ranks", "3", "--figures", "gif"], "expected png, svg, png,svg or none"),
    (["transform", "m", "x", "--out", "s.txt"], "--out must end in .csv, .json, .npz or .npy"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_usage_errors_exit_2(argv, message, capsys):
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err, err


def test_help_and_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"nnmf {nnmf.__version__}"
    code, out, _ = run(capsys, "fit", "--help")
    assert code == 0 and "--known-fraction" in out and "--ranks" in out


def test_python_dash_m(tmp_path):
    done = subprocess.run([sys.executable, "-m", "nnmf", "topics", str(tmp_path / "none.npz")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip().startswith(
        f"nnmf topics: error: {tmp_path / 'none.npz'}: no such model file")


def test_progress_bar_on_a_terminal(text_folder, monkeypatch, capsys):
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    for quiet in ([], ["-q"]):
        term = Terminal()
        monkeypatch.setattr(sys, "stderr", term)
        assert main(["fit", str(text_folder), "--ranks", "4", "--max-iter", "3", *quiet]) == 0
        shown = "training:" in term.getvalue() and "reading:" in term.getvalue()
        assert shown == (not quiet) and (term.getvalue() == "") == bool(quiet)
    capsys.readouterr()


def test_interrupt_exits_130(monkeypatch, capsys):
    def interrupted(args, console):
        raise KeyboardInterrupt

    monkeypatch.setattr(nnmf.cli, "_cmd_topics", interrupted)
    code, out, err = run(capsys, "topics", "model.npz")
    assert code == 130 and err == "nnmf: interrupted\n"
