"""Topic quality measures (nnmf.topics._metrics) against independent oracles: gensim's c_npmi
coherence, scikit-learn's NMI, sliding windows enumerated one by one, and small cases worked
out by hand."""

import itertools
import json
import math

import numpy as np
import pytest
import scipy.sparse as sp

import nnmf
from nnmf.cli import main
from nnmf.topics import (TopicQualityWarning, hierarchy_measures, label_alignment,
                         largest_share, npmi_coherence, top_words, topic_diversity,
                         topic_hierarchy)

EPS = 1e-12


@pytest.fixture(scope="module")
def news():
    """The shipped 20 Newsgroups subsample, each document also as a token list (its words in
    a fixed random order, each once), and the top words of each newsgroup's centroid."""
    d = nnmf.datasets.load_20news_subsampled()
    X = d.X.tocsc()
    rng = np.random.default_rng(0)
    texts = []
    for j in range(X.shape[1]):
        rows = X.indices[X.indptr[j]:X.indptr[j + 1]]
        texts.append([d.vocabulary[i] for i in rng.permutation(rows)])
    groups = d.labels["sub"]
    centroids = np.column_stack([np.asarray(X[:, groups == g].mean(axis=1)).ravel()
                                 for g in range(groups.max() + 1)])
    return d, X, texts, top_words(centroids, 10)


def gensim_npmi(topics, texts, window):
    pytest.importorskip("gensim")
    from gensim.corpora import Dictionary
    from gensim.models import CoherenceModel

    cm = CoherenceModel(topics=topics, texts=texts, dictionary=Dictionary(texts),
                        coherence="c_npmi", window_size=window, processes=1)
    return np.array(cm.get_coherence_per_topic())


def brute_npmi(topics, texts, window):
    """NPMI from the definition: every window enumerated, counted as a set of words."""
    windows = []
    for text in texts:
        n_win = 1 if window is None or len(text) < window else len(text) - window + 1
        size = len(text) if window is None else window
        windows += [set(text[s:s + size]) for s in range(n_win)]
    n = len(windows)
    out = []
    for topic in topics:
        values = []
        for a, b in itertools.permutations(topic, 2):
            pa = sum(a in w for w in windows) / n
            pb = sum(b in w for w in windows) / n
            pab = sum(a in w and b in w for w in windows) / n
            values.append(-1.0 if pa * pb == 0 else 0.0 if pab == 1 else
                          math.log((pab + EPS) / (pa * pb)) / -math.log(pab + EPS))
        out.append(np.mean(values))
    return np.array(out)


# -- NPMI ------------------------------------------------------------------------------------

def test_npmi_matches_gensim_per_document(news):
    d, X, texts, tw = news
    words = [[d.vocabulary[i] for i in t] for t in tw]
    longest = max(map(len, texts))
    # a window as long as the longest document: each document is one window
    expected = gensim_npmi(words, texts, longest)
    np.testing.assert_allclose(npmi_coherence(X, tw), expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(npmi_coherence(None, words, texts=texts), expected, atol=1e-6)
    assert expected.std() > 0.02  # the topics differ: a real check, not a constant


@pytest.mark.parametrize("window", [10, 40])
def test_npmi_matches_gensim_sliding_window(news, window):
    d, X, texts, tw = news
    words = [[d.vocabulary[i] for i in t] for t in tw]
    expected = gensim_npmi(words, texts, window)
    got = npmi_coherence(None, tw, texts=texts, window=window, vocabulary=d.vocabulary)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    assert not np.allclose(got, npmi_coherence(X, tw), atol=1e-3)  # windows matter


def test_npmi_sliding_window_with_repeated_words():
    # Repeats inside a window: gensim 4 loses the repeated word when its window slides, so
    # the oracle here is the definition itself.
    rng = np.random.default_rng(1)
    vocab = list("abcdefgh")
    texts = [list(rng.choice(vocab, size=rng.integers(0, 15))) for _ in range(40)]
    topics = [["a", "b", "c"], ["d", "e"], ["f", "g", "h", "a"]]
    for window in (None, 1, 3, 6):
        np.testing.assert_allclose(npmi_coherence(None, topics, texts=texts, window=window),
                                   brute_npmi(topics, texts, window), rtol=0, atol=1e-12)


def test_npmi_by_hand():
    # words 0, 1 always together (documents 0, 1); word 2 alone (document 2); word 3 never
    X = sp.csr_matrix(np.array([[1., 2, 0, 0], [3, 1, 0, 0], [0, 0, 5, 0], [0, 0, 0, 0]]))
    got = npmi_coherence(X, [[0, 1], [0, 2], [1, 3], [2]])
    assert got[0] == pytest.approx(1.0, abs=1e-9)
    # never together: -1 + log(p_0 p_2) / log(eps), gensim's smoothing
    assert got[1] == pytest.approx(-1 + math.log(0.5 * 0.25) / math.log(EPS), abs=1e-12)
    assert got[2] == -1.0 and np.isnan(got[3])
    np.testing.assert_array_equal(npmi_coherence(X.toarray(), [[0, 1], [0, 2], [1, 3], [2]]), got)
    # words in every document are independent (gensim's smoothing would give -1)
    assert npmi_coherence(np.ones((3, 4)), [[0, 1, 2]]) == [0.0]
    # tf-idf or counts: only presence counts
    assert np.array_equal(got[:3], npmi_coherence(X * 7.5, [[0, 1], [0, 2], [1, 3]]))


def test_top_words():
    W = np.array([[0.1, 0, 2], [0.5, 0, 2], [0.3, 0, 1], [0.5, 0, 0]])
    got = top_words(W, 3)
    assert [t.tolist() for t in got] == [[1, 3, 2], [], [0, 1, 2]]
    assert [t.tolist() for t in top_words(sp.csc_matrix(W), 1)] == [[1], [], [0]]


# -- the other measures ----------------------------------------------------------------------

def test_topic_diversity():
    assert topic_diversity([[0, 1, 2], [2, 3, 4]]) == 5 / 6
    assert topic_diversity([["x", "y"], ["y", "x"], ["x", "y"]]) == 1 / 3
    assert topic_diversity([[0, 1], []]) == 1.0


def test_largest_share():
    mixtures = np.array([[1.0, 0.5, 0.0, 0.0, 0.2],
                         [0.0, 0.5, 1.0, 0.0, 0.8]])  # document 3 is empty: left out
    assert largest_share(mixtures) == pytest.approx((0.5 + 1.0 + 0.8) / 4)
    assert largest_share(np.eye(3)) == pytest.approx(1 / 3)


def test_hierarchy_measures():
    children = np.array([[1., 0, 0, 0], [1, 0, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]])
    parents = np.array([[1., 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 0]])
    # parent 0 is 0.97 child 0; parent 1 half child 1, half child 2; parent 2 is 0.95 child 3
    # (a copy, though child 3 counts no parent as its own)
    parts = np.array([[0.97, 0, 0], [0.03, 0.5, 0], [0, 0.5, 0.05], [0, 0, 0.95]])
    got = hierarchy_measures(children, parents, [0, 1, 1, -1], composition=parts)
    s = 1 / math.sqrt(2)
    own = [s, s, 0.5]  # cosines of p0-c0, p1-c1, p1-c2
    others = [0, 0, 0, 0.5, 0, 0, 0, 0, 0]  # p0 x c1, c2, c3; p1 x c0, c3; p2 (zero) x all
    assert got["affinity_children"] == pytest.approx(np.mean(own))
    assert got["affinity_others"] == pytest.approx(np.mean(others))
    assert got["n_children"] == [1, 2, 0]
    assert (got["single_child_parents"], got["childless_parents"]) == (1, 1)
    assert got["degenerate_parents"] == [0, 2] and got["copy_weight"] == [0.97, 0.5, 0.95]
    parts[:, 0] = [0.9, 0.1, 0, 0]
    assert hierarchy_measures(children, parents, [0, 1, 1, -1],
                              composition=parts)["degenerate_parents"] == [2]
    assert "degenerate_parents" not in hierarchy_measures(children, parents, [0, 1, 1, 2])


def test_label_alignment_against_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    for k, n_classes in ((4, 3), (1, 3), (3, 1), (1, 1), (6, 6)):
        M = rng.random((k, 60)) ** 4
        M /= M.sum(axis=0)
        labels = rng.integers(0, n_classes, 60)
        labels[:5] = -1  # unknown: left out
        got = label_alignment(M, labels)
        dominant = M.argmax(axis=0)[5:]
        assert got["nmi"] == pytest.approx(
            metrics.normalized_mutual_info_score(labels[5:], dominant), abs=1e-12)
        table = np.zeros((k, n_classes))
        np.add.at(table, (dominant, labels[5:]), 1)
        assert got["purity"] == pytest.approx(table.max(axis=1).sum() / 55)
        assert got["n_documents"] == 55
    names = np.array(["x", "y", None, "x"], dtype=object)
    got = label_alignment(np.array([[1, 0, 1, 0], [0, 1, 0, 1.]]), names)
    assert got == {"nmi": pytest.approx(metrics.normalized_mutual_info_score(
        ["x", "y", "x"], [0, 1, 1])), "purity": pytest.approx(2 / 3), "n_documents": 3}


# -- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("call, message", [
    (lambda: npmi_coherence(np.ones((3, 4)), [[0, 5]]), "outside X's 3 rows"),
    (lambda: npmi_coherence(np.ones((3, 4)), [[0, 0]]), "repeats a word"),
    (lambda: npmi_coherence(None, [[0, 1]]), "give X"),
    (lambda: npmi_coherence(np.ones((3, 4)), [[0, 1]], texts=[["a"]]), "not both"),
    (lambda: npmi_coherence(None, [[0, 1]], texts=[["a"]]), "vocabulary"),
    (lambda: npmi_coherence(np.ones((3, 4)), [[0, 1]], window=5), "window goes with texts"),
    (lambda: npmi_coherence(None, [["a", "b"]], texts=[["a"]], window=0), "window"),
    (lambda: npmi_coherence(np.full((3, 4), np.nan), [[0, 1]]), "NaN"),
    (lambda: npmi_coherence(np.ones((3, 0)), [[0, 1]]), "no documents"),
    (lambda: topic_diversity([]), "empty"),
    (lambda: topic_diversity([[], []]), "no words"),
    (lambda: top_words(np.ones(3)), "2-D"),
    (lambda: top_words(np.ones((3, 2)), 0), "n_words"),
    (lambda: largest_share(np.array([[0.5, 1], [0.2, 0]])), "sum to 1"),
    (lambda: largest_share(-np.eye(2)), "negative"),
    (lambda: largest_share(np.zeros((2, 3))), "every document is empty"),
    (lambda: hierarchy_measures(np.eye(3), np.eye(4), [0, 1, 2]), "rows"),
    (lambda: hierarchy_measures(np.eye(3), np.eye(3)[:, :2], [0, 1, 2]), "parent indices"),
    (lambda: hierarchy_measures(np.eye(3), np.eye(3), [0, 1]), "one integer per child"),
    (lambda: hierarchy_measures(np.eye(3), np.eye(3), [0, 1, 2], composition=np.eye(2)),
     "composition must be children x parents"),
    (lambda: label_alignment(np.eye(3), [0, 1]), "2 labels for 3 documents"),
    (lambda: label_alignment(np.eye(3), [-1, None, -1]), "no document has a known label"),
])
def test_bad_input(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_bad_input_types():
    with pytest.raises(TypeError, match="texts must be lists of tokens"):
        npmi_coherence(None, [["a", "b"]], texts=["a b"])
    with pytest.raises(TypeError, match="mixes word indices and words"):
        npmi_coherence(None, [["a", "b"], [0, 1]], texts=[["a"]])
    with pytest.raises(TypeError, match="sequence of word indices"):
        topic_diversity([3, 4])


# -- TopicHierarchy.quality ------------------------------------------------------------------

def degenerate_hierarchy():
    """Five words, four subtopics, three topics: topic 1.0 groups subtopics 0 and 1, topic
    1.1 copies subtopic 2, topic 1.2 copies subtopic 3; topic 1.0 carries 70% of the
    documents, subtopic 0.0 two thirds of that (under the catch-all line 2/4 at layer 0)."""
    A0 = np.array([[1., 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    A1 = np.array([[1., 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    n = 20
    S1 = np.zeros((3, n))
    S1[0, :14] = 1
    S1[1, 14:17] = 1
    S1[2, 17:] = 1
    S0 = A1 @ S1
    vocab = ["apple", "pear", "kiwi", "plum", "fig"]
    return topic_hierarchy(([A0, A1], [S0, S1]), vocab, n_words=2), A0 @ S0


def test_quality_warns_and_reports():
    h, X = degenerate_hierarchy()
    with pytest.warns(TopicQualityWarning) as record:
        q = h.quality(X, labels={"fine": np.repeat([0, 1, 2, 3], 5),
                                 "coarse": np.repeat([0, 1], 10)})
    texts = sorted(str(w.message) for w in record)
    assert len(texts) == 3
    assert texts[0].startswith("topic 1.0 is a catch-all: it holds 70% of the corpus")
    assert texts[1] == ("topic 1.1 is a copy of subtopic 0.2, which makes up 1.00 of it: a "
                        "degenerate parent")
    assert texts[2].startswith("topic 1.2 is a copy of subtopic 0.3,")
    assert sorted(q.warnings()) == texts
    top, bottom = q.layers[1], q.layers[0]
    assert top["single_child_parents"] == 2 and top["degenerate_parents"] == ["1.1", "1.2"]
    assert top["copy_weight"] == pytest.approx([2 / 3, 1, 1])
    np.testing.assert_allclose(h.composition[0], [[2 / 3, 0, 0], [1 / 3, 0, 0], [0, 1, 0],
                                                  [0, 0, 1]])
    assert top["catch_all"] == ["1.0"] and top["largest_share"] == pytest.approx(0.7)
    assert top["shares"] == pytest.approx([0.7, 0.15, 0.15]) and bottom["catch_all"] == []
    # NPMI of each layer is npmi_coherence over its top words
    np.testing.assert_allclose(top["npmi_topics"],
                               npmi_coherence(X, top_words(h.profiles[1], 2)), atol=0)
    assert bottom["diversity"] == topic_diversity(top_words(h.profiles[0], 2))
    assert top["labels"]["coarse"]["nmi"] == pytest.approx(
        label_alignment(h.mixtures[1], np.repeat([0, 1], 10))["nmi"])
    assert q.summary_lines() == [
        f"layer 1 (k=3): NPMI {top['npmi']:.3f}, diversity 1.00, largest share 0.70, "
        f"single-child parents 2, degenerate parents 2, NMI (coarse) "
        f"{top['labels']['coarse']['nmi']:.2f}",
        f"layer 0 (k=4): NPMI {bottom['npmi']:.3f}, diversity 1.00, largest share "
        f"{bottom['largest_share']:.2f}, NMI (fine) {bottom['labels']['fine']['nmi']:.2f}"]
    d = json.loads(json.dumps(q.to_dict(), allow_nan=False))
    assert d["layers"][1]["degenerate_parents"] == ["1.1", "1.2"] and len(d["warnings"]) == 3
    # into the topic files
    assert json.loads(h.to_json(quality=q))["quality"] == d
    md = h.to_markdown(quality=q)
    assert "## Quality" in md and "| 1 | 3 |" in md and "- topic 1.0 is a catch-all" in md
    assert d["layers"][1]["copies"][0] == {"parent": "1.1", "child": "0.2", "weight": 1.0}


def test_quality_options():
    h, X = degenerate_hierarchy()
    q = h.quality(warn=False)  # no corpus: no NPMI; no labels: no NMI
    assert "npmi" not in q.layers[0] and "labels" not in q.layers[0]
    assert q.summary_lines()[1] == "layer 0 (k=4): diversity 1.00, largest share 0.47"
    # one labelling: every layer against it; a list: finest first
    y = np.repeat([0, 1], 10)
    one = h.quality(labels=y, warn=False)
    nmi = [label_alignment(mix, y)["nmi"] for mix in h.mixtures]
    assert one.label_levels == ["labels"]
    assert [line.split(", ")[-1] for line in one.summary_lines()] == [
        f"NMI {nmi[1]:.2f}", f"NMI {nmi[0]:.2f}"]
    two = h.quality(labels=[np.repeat([0, 1, 2, 3], 5), np.repeat([0, 1], 10)], warn=False)
    assert two.label_levels == ["level 0", "level 1"]
    assert two.summary_lines()[0].endswith(f"NMI (level 1) "
                                           f"{two.layers[1]['labels']['level 1']['nmi']:.2f}")
    texts = [["apple", "pear", "kiwi"], ["plum", "fig"], ["apple", "pear"]]
    q = h.quality(texts=texts, n_words=2, warn=False)
    np.testing.assert_allclose(q.layers[0]["npmi_topics"][:1], npmi_coherence(
        None, [["apple", "pear"]], texts=texts))
    with pytest.raises(ValueError, match="one row per word"):
        h.quality(X[:3])
    with pytest.raises(ValueError, match="not both"):
        h.quality(X, texts=texts)


def test_cli_prints_quality_and_warnings(tmp_path, capsys):
    h, X = degenerate_hierarchy()
    sp.save_npz(tmp_path / "x.npz", sp.csc_matrix(X))
    (tmp_path / "vocab.txt").write_text("\n".join(h.vocabulary))
    (tmp_path / "labels.txt").write_text("\n".join(map(str, np.repeat([0, 1], 10))))
    code = main(["fit", str(tmp_path / "x.npz"), "--vocab", str(tmp_path / "vocab.txt"),
                 "--ranks", "4,3", "--labels", str(tmp_path / "labels.txt"),
                 "--known-fraction", "0", "--max-iter", "5", "--out", str(tmp_path / "run"),
                 "--figures", "none"])
    err = capsys.readouterr().err
    assert code == 0, err
    lines = err.splitlines()
    head = lines.index("Topic quality (top 10 words):")
    assert lines[head + 1].startswith("  layer 1 (k=3): NPMI ")
    assert lines[head + 2].startswith("  layer 0 (k=4): NPMI ")
    assert "NMI" in lines[head + 1]
    written = json.loads((tmp_path / "run" / "topics.json").read_text())["quality"]
    assert [q["k"] for q in written["layers"]] == [4, 3]
    for text in written["warnings"]:
        assert f"nnmf fit: warning: {text}" in err
