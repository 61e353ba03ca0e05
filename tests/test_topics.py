"""Topic hierarchies (words, shares, mixtures, tree; JSON/Markdown/text export), the match
score of the demo, and the figures."""

import json
import sys
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import nnmf
from nnmf.datasets import SyntheticCorpus

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
WORDS = ["goal", "striker", "racket", "serve", "dough", "oven", "grape", "cellar"]


@pytest.fixture
def planted():
    """Exact two-layer factors: 4 subtopics (2 words each) under 2 themes, 6 documents."""
    A0 = np.kron(np.eye(4), np.array([[2.0], [1.0]]))            # 8 words x 4 subtopics
    A1 = np.array([[1.0, 0], [1, 0], [0, 1], [0, 1]])              # 4 subtopics x 2 themes
    S1 = np.array([[3.0, 1, 0, 0, 0, 0], [0, 0, 0, 2, 2, 0]])      # theme of each document
    S0 = np.array([[3.0, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0],       # subtopic of each document
                   [0, 0, 0, 2, 0, 0], [0, 0, 0, 0, 2, 0]])
    return [A0, A1], [S0, S1]


def test_words_shares_mixtures_and_tree(planted):
    h = nnmf.topic_hierarchy(planted, WORDS, n_words=3, doc_ids=list("abcdef"))
    assert h.ranks == (4, 2) and h.n_layers == 2
    t = h.topic(0, 1)
    assert t.name == "0.1" and [w for w, _ in t.words] == ["racket", "serve"]
    np.testing.assert_allclose([x for _, x in t.words], [2 / 3, 1 / 3])
    # Shares: the mass each topic explains, normalised (layer 0: 9, 3, 6, 6 of 24).
    np.testing.assert_allclose(h.shares[0], np.array([9, 3, 6, 6]) / 24)
    np.testing.assert_allclose(h.shares[1], np.array([12, 12]) / 24)
    # Mixtures: columns sum to 1; the empty documents c and f have none.
    np.testing.assert_allclose(h.mixtures[0].sum(axis=0), [1, 1, 0, 1, 1, 0])
    assert h.dominant_topics(0).tolist() == [0, 1, -1, 2, 3, -1]
    assert h.document_topics(1).shape == (6, 2)
    # Tree: subtopics 0, 1 under theme 0; 2, 3 under theme 1, with weight 1.
    assert [h.topic(0, i).parent for i in range(4)] == [0, 0, 1, 1]
    assert h.topic(1, 0).children == [0, 1] and h.topic(1, 1).children == [2, 3]
    np.testing.assert_allclose(h.links[0].sum(axis=1), 1.0)
    assert h.topic(1, 0).parent is None and h.topic(1, 0).words[0][0] == "goal"


def test_scale_invariance(planted):
    """Rescaling a topic (column of A_l up, row of S_l down) changes nothing reported."""
    (A0, A1), (S0, S1) = planted
    d0, d1 = np.array([0.1, 5.0, 2.0, 7.0]), np.array([3.0, 0.5])
    scaled = ([A0 * d0, (A1 / d0[:, None]) * d1], [S0 / d0[:, None], S1 / d1[:, None]])
    h, g = nnmf.topic_hierarchy(planted, WORDS), nnmf.topic_hierarchy(scaled, WORDS)
    for l in range(2):
        np.testing.assert_allclose(g.shares[l], h.shares[l])
        np.testing.assert_allclose(g.mixtures[l], h.mixtures[l])
        np.testing.assert_allclose(g.profiles[l], h.profiles[l])
    np.testing.assert_allclose(g.links[0], h.links[0])
    np.testing.assert_allclose(g.composition[0], h.composition[0])


def test_composition():
    """A parent's word profile is its children's profiles mixed by its composition."""
    rng = np.random.default_rng(0)
    A = [rng.random((12, 5)), rng.random((5, 3)) * (rng.random((5, 3)) < 0.6), rng.random((3, 2))]
    A[1][:, 2] = 0  # a dead topic: no composition
    S = [rng.random((5, 7)), rng.random((3, 7)), rng.random((2, 7))]
    h = nnmf.topic_hierarchy((A, S))
    for l in (1, 2):
        live = h.profiles[l].sum(axis=0) > 0
        np.testing.assert_allclose(h.profiles[l - 1] @ h.composition[l - 1][:, live],
                                   h.profiles[l][:, live])
        np.testing.assert_allclose(h.composition[l - 1].sum(axis=0), live.astype(float))


def test_mixed_parents():
    """A subtopic shared by two themes links to both, heaviest first."""
    A = [np.eye(3), np.array([[1.0, 0], [0.25, 0.75], [0, 1]])]
    S = [np.ones((3, 4)), np.array([[1.0, 1, 1, 1], [1, 1, 1, 1]])]
    h = nnmf.topic_hierarchy((A, S), ["a", "b", "c"])
    assert h.topic(0, 1).parents == [(1, 0.75), (0, 0.25)] and h.topic(0, 1).parent == 1


def test_exports(planted, tmp_path, capsys):
    h = nnmf.topic_hierarchy(planted, WORDS, n_words=2)
    data = json.loads(h.to_json(tmp_path / "t.json"))
    assert json.loads((tmp_path / "t.json").read_text()) == data
    assert data["format"] == "nnmf-topics" and data["ranks"] == [4, 2]
    top0 = data["layers"][0]["topics"][0]
    assert top0["id"] == "0.0" and top0["parent"] == "1.0"
    assert top0["words"] == [{"word": "goal", "weight": pytest.approx(2 / 3, abs=1e-6)},
                             {"word": "striker", "weight": pytest.approx(1 / 3, abs=1e-6)}]
    assert data["layers"][1]["topics"][1]["children"] == ["0.2", "0.3"]
    assert data["documents"][0] == {"id": "0", "topics": [[1.0, 0, 0, 0], [1.0, 0.0]]}
    assert "documents" not in h.to_dict(documents=False)
    md = h.to_markdown(tmp_path / "t.md")
    assert (tmp_path / "t.md").read_text() == md
    assert "## Layer 1 (2 topics)" in md and "| 0.0 | 37.5% | goal striker | 1.0 (1.00) |" in md
    assert "| 1.0 | 50.0% | goal racket | 0.0, 0.1 |" in md and "## Tree" in md
    h.print_topics()
    out = capsys.readouterr().out
    assert out.splitlines()[:2] == ["[1.0]  50.0%  goal racket",
                                    "  [0.0]  37.5%  goal striker  (1.00)"]
    assert "goal 0.667, striker 0.333" in h.format_tree(weights=True)
    assert str(h) == h.format_tree() and "ranks=(4, 2)" in repr(h)


def test_hierarchy_errors(planted):
    A, S = planted
    with pytest.raises(ValueError, match="the vocabulary has 3 words but the model has 8 rows"):
        nnmf.topic_hierarchy(planted, WORDS[:3])
    with pytest.raises(ValueError, match=r"S\[1\] has shape \(2, 5\), expected \(2, 6\)"):
        nnmf.topic_hierarchy((A, [S[0], S[1][:, :5]]))
    with pytest.raises(ValueError, match=r"A\[1\] has 3 rows but layer 0 has 4 topics"):
        nnmf.topic_hierarchy(([A[0], A[1][:3]], S))
    with pytest.raises(ValueError, match="2 document ids for 6 documents"):
        nnmf.topic_hierarchy(planted, doc_ids=["a", "b"])
    with pytest.raises(nnmf.NotFittedError):
        nnmf.topic_hierarchy(nnmf.NeuralNMF((2,)))


def test_from_fitted_estimators():
    from nnmf import NMF

    rng = np.random.default_rng(0)
    X = rng.random((20, 4)) @ rng.random((4, 2)) @ rng.random((2, 30))
    with warnings.catch_warnings():  # a short fit: convergence is not the point here
        warnings.simplefilter("ignore", nnmf.ConvergenceWarning)
        neural = nnmf.NeuralNMF((4, 2), max_iter=20, random_state=0).fit(X)
        flat = NMF(3, random_state=0, max_iter=20).fit(X)  # one layer, A_ is a matrix
    h = nnmf.topic_hierarchy(neural)
    assert h.ranks == (4, 2) and h.vocabulary[0] == "w0"
    np.testing.assert_allclose(h.profiles[1] * (neural.topic_matrices()[1].sum(axis=0)),
                               neural.topic_matrices()[1])
    assert nnmf.topic_hierarchy(flat).ranks == (3,)


def synthetic_from_planted():
    return SyntheticCorpus(documents=[""] * 6, tokens=[[]] * 6, subtopics=["p", "q", "q", "r", "s", "s"],
                           themes=["T", "T", "T", "U", "U", "U"],
                           hierarchy={"T": ["p", "q"], "U": ["r", "s"]}, words={})


def test_match_hierarchy():
    A = [np.eye(4), np.array([[1.0, 0], [1, 0], [0, 1], [0, 1]])]
    S0 = np.array([[1.0, 0, 0, 0, 0, 0], [0, 1, 1, 0, 0, 0], [0, 0, 0, 1, 0, 0],
                   [0, 0, 0, 0, 1, 1]])
    perm = [2, 0, 3, 1]  # topic order is arbitrary
    A_perm = [np.eye(4), A[1][perm][:, ::-1]]
    S_perm = [S0[perm], (A[1].T @ S0)[::-1]]
    corpus = synthetic_from_planted()
    m = nnmf.match_hierarchy(nnmf.topic_hierarchy((A_perm, S_perm)), corpus)
    assert m["score"] == 1.0 and m["sub_match"] == {1: "p", 3: "q", 0: "r", 2: "s"}
    wrong = [np.eye(4), np.array([[1.0, 0], [0, 1], [0, 1], [1, 0]])]  # p, q split up
    m = nnmf.match_hierarchy(nnmf.topic_hierarchy((wrong, [S0, wrong[1].T @ S0])), corpus)
    assert m["tree"] < 1 and m["subtopics"] == 1.0 and m["score"] < 1
    with pytest.raises(ValueError, match="needs a topic hierarchy with at least two layers"):
        nnmf.match_hierarchy(nnmf.topic_hierarchy(([np.eye(4)], [S0])), corpus)


# -- figures ---------------------------------------------------------------------------------

def check_png(path):
    import matplotlib.image

    assert path.read_bytes()[:8] == PNG_MAGIC
    image = matplotlib.image.imread(str(path))
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert image[..., :3].std() > 0.01  # not blank


def check_svg(path):
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    assert len(list(root.iter())) > 20


def test_figures(planted, tmp_path):
    labels = np.array([0, 0, -1, 1, 1, 1])
    written = nnmf.save_figures(planted, tmp_path / "figs", vocabulary=WORDS, labels=labels,
                                label_names=["sport", "food"], formats=("png", "svg"))
    names = sorted(p.name for p in written)
    assert names == ["factors.png", "factors.svg", "mixtures.png", "mixtures.svg",
                     "topic_tree.png", "topic_tree.svg"]
    for p in written:
        (check_png if p.suffix == ".png" else check_svg)(p)
    svg = (tmp_path / "figs" / "topic_tree.svg").read_text()
    assert "goal" in svg and "1.0" in svg  # the tree's node labels are text


def test_figure_objects(planted):
    from matplotlib.figure import Figure

    h = nnmf.topic_hierarchy(planted, WORDS)
    assert isinstance(nnmf.plot_topic_tree(h), Figure)
    assert isinstance(nnmf.plot_mixtures(planted), Figure)
    fig = nnmf.plot_factors(planted[0], WORDS, n_words=1)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["goal", "racket", "dough",
                                                                   "grape"]
    with pytest.raises(ValueError, match="5 labels for 6 documents"):
        nnmf.plot_mixtures(h, labels=np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match="unknown figure format 'pdf'"):
        nnmf.save_figures(planted, "unused", formats=("pdf",))


def test_plotting_without_matplotlib(planted, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    with pytest.raises(ImportError, match=r"plotting needs matplotlib: pip install 'nnmf\[plot\]'"):
        nnmf.plot_topic_tree(nnmf.topic_hierarchy(planted))
