"""Reading corpora: text folders, CSV, JSON Lines and pre-vectorised matrices; the synthetic
demo corpus."""

import json

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

import nnmf
from nnmf.topics import label_codes, vectorize

from nnmf.datasets import load_20news_subsampled, load_synthetic_noise

DOCS = {
    "sports/a.txt": "The striker scored a goal; the keeper missed the penalty.",
    "sports/b.txt": "Goal after goal: the striker and the midfield dominated the match.",
    "food/c.txt": "Knead the dough, let the yeast work, bake the bread in the oven.",
    "food/d.txt": "Bread dough with butter and yeast, baked in a hot oven.",
    "loose.txt": "A goal and some bread.",
}


@pytest.fixture
def text_folder(tmp_path):
    root = tmp_path / "corpus"
    for name, text in DOCS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def write_csv(path, rows, header=("id", "text", "label"), delimiter=","):
    import csv

    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return path


CSV_ROWS = [("d1", "striker goal penalty keeper", "sports"),
            ("d2", "goal striker midfield match", "sports"),
            ("d3", "dough yeast bread oven", "food"),
            ("d4", "bread butter yeast oven", "")]


# -- text ------------------------------------------------------------------------------------

def test_text_folder_with_folder_labels(text_folder):
    c = nnmf.load_corpus(text_folder, labels="folders")
    assert c.doc_ids == sorted(DOCS)  # sorted, relative posix paths
    assert sp.issparse(c.X) and c.X.format == "csc"
    assert c.X.shape == (len(c.vocabulary), len(DOCS))  # words x documents
    assert "the" not in c.vocabulary and "goal" in c.vocabulary  # English stop words dropped
    norms = np.sqrt(np.asarray(c.X.multiply(c.X).sum(axis=0))).ravel()
    np.testing.assert_allclose(norms, 1.0)  # tf-idf columns are l2-normalised
    assert c.label_names == ["food", "sports"]
    expected = {"food/c.txt": 0, "food/d.txt": 0, "loose.txt": -1, "sports/a.txt": 1,
                "sports/b.txt": 1}
    assert dict(zip(c.doc_ids, c.labels.tolist())) == expected
    assert c.label_mask.tolist() == [True, True, False, True, True]
    assert c.vectorizer["kind"] == "tfidf" and c.idf.shape == (len(c.vocabulary),)


def test_text_matches_scikit_learn(text_folder):
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    texts = [(text_folder / d).read_text() for d in sorted(DOCS)]
    c = nnmf.load_corpus(text_folder)
    ref = TfidfVectorizer(stop_words="english").fit(texts)
    assert c.vocabulary == list(ref.get_feature_names_out())
    np.testing.assert_allclose(c.X.toarray(), ref.transform(texts).toarray().T, atol=1e-12)
    c = nnmf.load_corpus(text_folder, vectorizer="count", stop_words=None, ngram_range=(1, 2),
                         min_df=2)
    ref = CountVectorizer(ngram_range=(1, 2), min_df=2).fit(texts)
    assert c.vocabulary == list(ref.get_feature_names_out()) and c.idf is None
    np.testing.assert_array_equal(c.X.toarray(), ref.transform(texts).toarray().T)
    assert len(nnmf.load_corpus(text_folder, max_features=3).vocabulary) == 3


def test_fixed_vocabulary_reproduces_training_vectors(text_folder):
    c = nnmf.load_corpus(text_folder)
    again = nnmf.load_corpus(text_folder, vocabulary=c.vocabulary, idf=c.idf)
    np.testing.assert_allclose(again.X.toarray(), c.X.toarray(), atol=1e-12)
    X, vocab, _ = vectorize(["goal goal unknownword"], c.vectorizer, vocabulary=c.vocabulary,
                            idf=c.idf)
    assert X.shape == (len(c.vocabulary), 1) and X[vocab.index("goal"), 0] == pytest.approx(1.0)


def test_text_folder_labels_from_file(text_folder, tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("x\ny\n\nx\ny\n")
    c = nnmf.load_corpus(text_folder, labels=labels)
    assert c.label_names == ["x", "y"] and c.labels.tolist() == [0, 1, -1, 0, 1]
    with pytest.raises(FileNotFoundError, match="labels file not found"):
        nnmf.load_corpus(text_folder, labels="nolabels.txt")


def test_csv_tsv_and_jsonl(tmp_path):
    c = nnmf.load_corpus(write_csv(tmp_path / "d.csv", CSV_ROWS), labels="label",
                         id_column="id")
    assert c.doc_ids == ["d1", "d2", "d3", "d4"] and c.X.shape[1] == 4
    assert c.labels.tolist() == [1, 1, 0, -1]  # empty label = unknown
    t = nnmf.load_corpus(write_csv(tmp_path / "d.tsv", CSV_ROWS, delimiter="\t"),
                         labels="label")
    np.testing.assert_allclose(t.X.toarray(), c.X.toarray())
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(json.dumps({"body": text, "y": label or None, "n": i})
                              for i, (_, text, label) in enumerate(CSV_ROWS)) + "\n\n")
    j = nnmf.load_corpus(path, text_column="body", labels="y")
    np.testing.assert_allclose(j.X.toarray(), c.X.toarray())
    assert j.labels.tolist() == [1, 1, 0, -1] and j.doc_ids == ["0", "1", "2", "3"]


def test_text_errors(tmp_path, text_folder):
    path = write_csv(tmp_path / "d.csv", CSV_ROWS)
    with pytest.raises(ValueError, match=r"text column 'body' not found in d.csv; it has: id, "
                                         r"text, label"):
        nnmf.load_corpus(path, text_column="body")
    with pytest.raises(ValueError, match="label column 'stars' not found in d.csv"):
        nnmf.load_corpus(path, labels="stars")
    with pytest.raises(ValueError, match="id column 'key' not found"):
        nnmf.load_corpus(path, id_column="key")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "goal"}\n{oops\n')
    with pytest.raises(ValueError, match="bad.jsonl line 2 is not valid JSON"):
        nnmf.load_corpus(bad)
    with pytest.raises(ValueError, match="label key 'y' not found in bad2.jsonl"):
        (tmp_path / "bad2.jsonl").write_text('{"text": "goal"}\n')
        nnmf.load_corpus(tmp_path / "bad2.jsonl", labels="y")
    with pytest.raises(ValueError, match="labels='folders' but every .txt file sits directly"):
        flat = tmp_path / "flat"
        flat.mkdir()
        (flat / "a.txt").write_text("goal striker")
        nnmf.load_corpus(flat, labels="folders")
    with pytest.raises(ValueError, match="4 labels for 5 documents"):
        nnmf.load_corpus(text_folder, labels=["a", "b", "c", "d"])


# -- encodings -------------------------------------------------------------------------------

LATIN = "Un café crème délicieux, servi très chaud."


def test_undecodable_text_is_reported_and_encoding_reads_it(tmp_path):
    root = tmp_path / "latin"
    root.mkdir()
    (root / "a.txt").write_bytes(LATIN.encode("latin-1"))
    (root / "b.txt").write_bytes("Plain ascii text here.".encode("latin-1"))
    (root / "c.txt").write_bytes("Encore un café.".encode("latin-1"))
    with pytest.warns(UserWarning) as caught:
        c = nnmf.load_corpus(root, vectorizer="count", stop_words=None)
    assert len(caught) == 1
    assert str(caught[0].message).startswith(
        f"2 of 3 .txt files: not valid utf-8 (the first: {root / 'a.txt'}, byte 0xe9 on line "
        "1); the undecodable bytes were replaced")
    assert "encoding=" in str(caught[0].message) and "--encoding" in str(caught[0].message)
    assert "café" not in c.vocabulary and "caf" in c.vocabulary  # what the warning is about
    c = nnmf.load_corpus(root, vectorizer="count", stop_words=None, encoding="latin-1")
    assert {"café", "crème", "délicieux", "très"} <= set(c.vocabulary)
    with pytest.raises(ValueError, match="unknown encoding 'klingon'"):
        nnmf.load_corpus(root, encoding="klingon")
    with pytest.raises(ValueError, match="'rot13' is not a text encoding"):
        nnmf.load_corpus(root, encoding="rot13")


@pytest.mark.parametrize("codec, bom", [("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"),
                                        ("utf-16-be", b"\xfe\xff"),
                                        ("utf-32-le", b"\xff\xfe\x00\x00")])
def test_byte_order_marks_choose_the_encoding(tmp_path, codec, bom):
    root = tmp_path / "marked"
    root.mkdir()
    (root / "a.txt").write_bytes(bom + LATIN.encode(codec))
    (root / "b.txt").write_text("Un thé, pas de café.", encoding="utf-8")
    c = nnmf.load_corpus(root, vectorizer="count", stop_words=None)  # no warning (an error)
    assert {"café", "crème", "délicieux", "thé"} <= set(c.vocabulary)
    assert c.X[:, 0].nnz == 7  # not an empty document
    csv_path = tmp_path / "d.csv"
    csv_path.write_bytes(bom + f'text,label\n"{LATIN}",x\nthé,y\n'.encode(codec))
    c = nnmf.load_corpus(csv_path, labels="label", stop_words=None)  # the header is "text"
    assert "crème" in c.vocabulary and c.label_names == ["x", "y"]
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_bytes(bom + (json.dumps({"text": LATIN}, ensure_ascii=False) + "\n").encode(codec))
    assert "délicieux" in nnmf.load_corpus(jsonl, stop_words=None).vocabulary


def test_utf16_without_a_mark_is_reported(tmp_path):
    root = tmp_path / "u16"
    root.mkdir()
    (root / "a.txt").write_bytes(LATIN.encode("utf-16-le"))
    (root / "b.txt").write_text("goal striker", encoding="utf-8")
    with pytest.warns(UserWarning, match=r"1 of 2 .txt files: NUL characters \(the first: .*a.txt"
                                         r"\), as in UTF-16 or UTF-32 text without a byte-order "
                                         r"mark: .*'utf-16-le'"):
        nnmf.load_corpus(root)
    c = nnmf.load_corpus(root, encoding="utf-16-le", stop_words=None)  # b.txt is ascii
    assert "délicieux" in c.vocabulary


def test_csv_and_jsonl_encodings(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(f'text,label\ngoal striker,a\n"{LATIN}",b\n'.encode("cp1252"))
    with pytest.warns(UserWarning, match=r"d.csv: not valid utf-8 \(byte 0xe9 on line 3\)"):
        nnmf.load_corpus(path)
    assert "crème" in nnmf.load_corpus(path, encoding="cp1252").vocabulary
    path = tmp_path / "d.jsonl"
    path.write_bytes(("\n".join(json.dumps({"text": t}, ensure_ascii=False)
                                for t in ("goal striker", LATIN)) + "\n").encode("latin-1"))
    with pytest.warns(UserWarning, match=r"d.jsonl: not valid utf-8 \(byte 0xe9 on line 2\)"):
        nnmf.load_corpus(path)
    assert "crème" in nnmf.load_corpus(path, encoding="latin-1").vocabulary
    labels = tmp_path / "labels.txt"
    labels.write_bytes("café\nthé\n".encode("latin-1"))
    c = nnmf.load_corpus(write_csv(tmp_path / "e.csv", CSV_ROWS[:2]), labels=labels,
                         encoding="latin-1")
    assert c.label_names == ["café", "thé"]
    with pytest.warns(UserWarning, match="labels.txt: not valid utf-8"):
        nnmf.load_corpus(tmp_path / "e.csv", labels=labels)


def test_csv_fields_longer_than_the_csv_modules_default_limit(tmp_path):
    long_text = "goal striker " * 20_000  # 260,000 characters in one field
    path = write_csv(tmp_path / "long.csv", [("1", long_text, "a"), ("2", "bread oven", "b")])
    c = nnmf.load_corpus(path, vectorizer="count")
    assert c.X[c.vocabulary.index("goal"), 0] == 20_000
    path.write_text('text\n"an unterminated quote\n', encoding="utf-8")
    nnmf.load_corpus(path)  # the csv module reads it as one field to the end of the file


def test_hostile_records_give_named_errors(tmp_path):
    deep = tmp_path / "deep.jsonl"
    deep.write_text('{"text": "goal"}\n' + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(ValueError, match="deep.jsonl line 2 nests JSON too deeply"):
        nnmf.load_corpus(deep)
    big = tmp_path / "big.jsonl"
    big.write_text('{"text": 1' + "0" * 5000 + "}\n")
    with pytest.raises(ValueError, match="big.jsonl line 1 is not valid JSON: Exceeds the limit"):
        nnmf.load_corpus(big)
    twice = tmp_path / "twice.csv"
    twice.write_text("text,text\ngoal striker,x\nbread oven,y\n")
    with pytest.raises(ValueError, match="twice.csv has 2 columns named 'text': rename all but"):
        nnmf.load_corpus(twice)
    np.save(tmp_path / "labels.npy", np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(ValueError, match="cannot read labels.npy as a .npy file"):
        nnmf.load_corpus(write_csv(tmp_path / "d.csv", CSV_ROWS[:2]),
                         labels=tmp_path / "labels.npy")


def test_document_frequency_bounds_name_the_option_at_fault(text_folder):
    with pytest.raises(ValueError, match=r"min_df=500 keeps only words in at least 500 "
                                         r"documents, but the corpus has 5: lower min_df"):
        nnmf.load_corpus(text_folder, min_df=500)
    with pytest.raises(ValueError, match=r"max_df=2 \(words in at most 2 documents\) and "
                                         r"min_df=3 \(in at least 3\) leave no word"):
        nnmf.load_corpus(text_folder, min_df=3, max_df=2)
    with pytest.raises(ValueError, match=r"max_df=0.2 \(words in at most 1 documents\)"):
        nnmf.load_corpus(text_folder, min_df=0.4, max_df=0.2)
    assert nnmf.load_corpus(text_folder, min_df=2, max_df=4).vocabulary[:2] == ["bread", "dough"]


def test_empty_corpora(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty corpus: no .txt files in"):
        nnmf.load_corpus(tmp_path / "empty")
    with pytest.raises(ValueError, match="empty corpus: no documents in"):
        nnmf.load_corpus(write_csv(tmp_path / "h.csv", []))
    (tmp_path / "blank.jsonl").write_text("\n\n")
    with pytest.raises(ValueError, match="empty corpus: no records in"):
        nnmf.load_corpus(tmp_path / "blank.jsonl")
    (tmp_path / "none.csv").write_text("")
    with pytest.raises(ValueError, match="empty corpus: none.csv has no header row"):
        nnmf.load_corpus(tmp_path / "none.csv")
    stop = write_csv(tmp_path / "stop.csv", [("1", "the and of", ""), ("2", "it is", "")])
    with pytest.raises(ValueError, match=r"empty corpus: the documents contain no words "
                                         r"\(after removing stop words\)"):
        nnmf.load_corpus(stop)


def test_missing_path_and_unknown_format(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file or folder: .*nothing.csv"):
        nnmf.load_corpus(tmp_path / "nothing.csv")
    (tmp_path / "data.xlsx").write_text("x")
    with pytest.raises(ValueError, match="cannot tell the format of 'data.xlsx' from its "
                                         "extension"):
        nnmf.load_corpus(tmp_path / "data.xlsx")
    with pytest.raises(ValueError, match="unknown format 'xls'; choose one of: text, csv"):
        nnmf.load_corpus(tmp_path / "data.xlsx", format="xls")
    with pytest.raises(ValueError, match="cannot read data.xlsx as a npz file"):
        nnmf.load_corpus(tmp_path / "data.xlsx", format="npz")


# -- matrices --------------------------------------------------------------------------------

@pytest.fixture
def matrix():
    rng = np.random.default_rng(0)
    X = sp.random(12, 7, density=0.4, random_state=1, format="csc") * 3
    return X, [f"w{i}" for i in range(12)], rng


def test_npz_mtx_npy_and_vocabulary_files(tmp_path, matrix):
    X, words, _ = matrix
    sp.save_npz(tmp_path / "x.npz", X)
    scipy.io.mmwrite(str(tmp_path / "x.mtx"), X)
    np.save(tmp_path / "x.npy", X.toarray())
    (tmp_path / "vocab.txt").write_text("\n".join(words))
    np.save(tmp_path / "vocab.npy", np.array(words))
    (tmp_path / "vocab.json").write_text(json.dumps(words))
    for name, vocab in (("x.npz", "vocab.txt"), ("x.mtx", "vocab.npy"), ("x.npy", "vocab.json")):
        c = nnmf.load_corpus(tmp_path / name, vocabulary=tmp_path / vocab)
        np.testing.assert_allclose(c.X.toarray() if sp.issparse(c.X) else c.X, X.toarray())
        assert c.vocabulary == words and c.doc_ids == [str(j) for j in range(7)]
    np.savez(tmp_path / "arch.npz", counts=X.toarray().T, words=np.array(words),
             y=np.arange(7) % 2)
    c = nnmf.load_corpus(tmp_path / "arch.npz", variable="counts", transpose=True,
                         vocabulary="words", labels="y")
    np.testing.assert_allclose(c.X, X.toarray())
    assert c.label_names == ["0", "1"] and c.labels.tolist() == [0, 1, 0, 1, 0, 1, 0]


def test_mat_files(tmp_path, matrix):
    X, words, _ = matrix
    scipy.io.savemat(tmp_path / "x.mat", {"docs": X, "vocab": np.array(words, dtype=object),
                                          "cls": np.array([[1, 2, 1, 2, 1, 2, -1]]),
                                          "other": np.ones((3, 3))})
    c = nnmf.load_corpus(tmp_path / "x.mat", variable="docs", vocabulary="vocab", labels="cls")
    np.testing.assert_allclose(c.X.toarray(), X.toarray())
    assert c.vocabulary == words
    assert c.label_names == ["1", "2"] and c.labels.tolist() == [0, 1, 0, 1, 0, 1, -1]
    with pytest.raises(ValueError, match=r"which variable of x.mat holds the data\? name one "
                                         r"of: docs, other"):
        nnmf.load_corpus(tmp_path / "x.mat")
    with pytest.raises(ValueError, match="no variable 'X' in x.mat; it has: cls, docs"):
        nnmf.load_corpus(tmp_path / "x.mat", variable="X")
    with pytest.raises(ValueError, match="no labels 'labels9' in x.mat"):
        nnmf.load_corpus(tmp_path / "x.mat", variable="docs", labels="labels9")


def test_mat_files_laid_out_as_the_papers(tmp_path):
    """MATLAB files with the fields and layouts of the paper's data sets."""
    d = load_20news_subsampled()
    vocab = np.array(d.vocabulary, dtype=object).reshape(-1, 1)
    scipy.io.savemat(tmp_path / "news.mat", {"X_subsampled": d.X, "vocab": vocab,
                                             "super_cats": d.labels["super"][None] + 1})
    news = nnmf.load_corpus(tmp_path / "news.mat", variable="X_subsampled",
                            vocabulary="vocab", labels="super_cats")
    assert news.X.shape == (37693, 200) and sp.issparse(news.X)
    assert news.vocabulary[:3] == ["0_0", "0a", "0f"] and len(news.label_names) == 6
    noise = load_synthetic_noise()
    y4 = np.eye(4, dtype=np.uint8)[:, noise.labels["middle"]]       # one-hot, classes x docs
    scipy.io.savemat(tmp_path / "noise.mat", {"X": noise.X, "Y4": y4})
    corpus = nnmf.load_corpus(tmp_path / "noise.mat", variable="X", labels="Y4")
    assert corpus.X.shape == (87, 90) and corpus.label_names == ["0", "1", "2", "3"]
    np.testing.assert_array_equal(corpus.labels, noise.labels["middle"])
    rng = np.random.default_rng(0)
    bow = tmp_path / "bow.mat"        # documents x words, as the paper's bag-of-words file
    words = np.array([f"w{i}" for i in range(300)], dtype=object).reshape(1, -1)
    scipy.io.savemat(bow, {"bag_of_words": rng.poisson(0.2, (40, 300)).astype(float),
                           "word_list": words})
    with pytest.raises(ValueError, match=r"the vocabulary has 300 words but the matrix has 40 "
                                         r"rows .* looks like documents x words: transpose it"):
        nnmf.load_corpus(bow, vocabulary="word_list")
    assert nnmf.load_corpus(bow, vocabulary="word_list", transpose=True).X.shape == (300, 40)


def test_matrix_errors(tmp_path, matrix):
    X, words, _ = matrix
    np.save(tmp_path / "x.npy", X.toarray())
    (tmp_path / "short.txt").write_text("\n".join(words[:5]))
    with pytest.raises(ValueError, match=r"the vocabulary has 5 words but the matrix has 12 "
                                         r"rows \(words\) and 7 columns"):
        nnmf.load_corpus(tmp_path / "x.npy", vocabulary=tmp_path / "short.txt")
    with pytest.raises(FileNotFoundError, match="vocabulary file not found: nope.txt"):
        nnmf.load_corpus(tmp_path / "x.npy", vocabulary="nope.txt")
    np.save(tmp_path / "neg.npy", -np.ones((3, 3)))
    with pytest.raises(ValueError, match="has negative entries; NMF needs nonnegative data"):
        nnmf.load_corpus(tmp_path / "neg.npy")
    np.save(tmp_path / "nan.npy", np.full((3, 3), np.nan))
    with pytest.raises(ValueError, match="contains NaN or infinity"):
        nnmf.load_corpus(tmp_path / "nan.npy")
    np.save(tmp_path / "empty.npy", np.zeros((4, 0)))
    with pytest.raises(ValueError, match=r"empty corpus: the matrix in .* has shape \(4, 0\)"):
        nnmf.load_corpus(tmp_path / "empty.npy")
    with pytest.raises(ValueError, match="a vocabulary file goes with a pre-vectorised matrix"):
        write_csv(tmp_path / "d.csv", CSV_ROWS)
        nnmf.load_corpus(tmp_path / "d.csv", vocabulary=tmp_path / "short.txt")


def test_label_codes_follow_the_unknown_label_rule():
    codes, names = label_codes(["10", "2", " 2 ", None, "", float("nan"), -1, "-1", "9"])
    assert names == ["2", "9", "10"]  # numeric order when every name is an integer
    assert codes.tolist() == [2, 0, 0, -1, -1, -1, -1, -1, 1]
    codes, names = label_codes([10, 2, 2.0, None, float("nan"), -1, 9])
    assert names == ["2", "9", "10"] and codes.tolist() == [2, 0, 0, -1, -1, -1, 1]
    codes, names = label_codes(["b", "a", " b "])
    assert names == ["a", "b"] and codes.tolist() == [1, 0, 1]
    with pytest.raises(ValueError, match="mixes numbers and strings"):
        label_codes(["10", 2])


# -- synthetic corpus ------------------------------------------------------------------------

def test_synthetic_corpus_is_deterministic_and_planted():
    a = nnmf.make_topic_corpus(90, random_state=3)
    b = nnmf.make_topic_corpus(90, random_state=3)
    c = nnmf.make_topic_corpus(90, random_state=4)
    assert a.documents == b.documents and a.documents != c.documents
    assert len(a.documents) == 90 and set(a.themes) == {"sports", "science", "food"}
    assert {s: a.subtopics.count(s) for s in set(a.subtopics)} == dict.fromkeys(a.parent, 10)
    assert all(a.parent[s] == t for s, t in zip(a.subtopics, a.themes))
    tennis = a.documents[a.subtopics.index("tennis")].lower()
    assert any(w in tennis for w in a.words["tennis"])
    with pytest.raises(ValueError, match="n_documents must be at least 9"):
        nnmf.make_topic_corpus(5)
    with pytest.raises(ValueError, match="mix must be four nonnegative weights"):
        nnmf.make_topic_corpus(mix=(1, 0, 0))
