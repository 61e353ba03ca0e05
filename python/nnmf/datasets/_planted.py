"""A synthetic corpus with a planted two-level topic hierarchy, for the demo and for tests.

Three themes (supertopics), each with three subtopics. Every document is about one subtopic:
its words come from the subtopic's own words, from its theme's shared words, and from a list
of everyday words common to all documents. Nothing is downloaded; the word lists live here and
the generator is deterministic for a seed.
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["PLANTED_HIERARCHY", "SyntheticCorpus", "make_topic_corpus", "match_hierarchy"]

#: theme -> (the theme's shared words, {subtopic: its own words})
PLANTED_HIERARCHY = {
    "sports": (
        "team season coach victory championship fans training athlete tournament stadium "
        "league trophy medal rival",
        {
            "football": "goal striker penalty midfield keeper tackle offside referee header "
                        "corner dribble defender",
            "tennis": "serve racket volley wimbledon baseline backhand forehand deuce tiebreak "
                      "ace lob clay",
            "cycling": "peloton saddle sprint climb stage jersey gears pedal breakaway "
                       "descent helmet velodrome",
        },
    ),
    "science": (
        "research study experiment scientists data theory laboratory evidence measurement "
        "university hypothesis journal discovery analysis",
        {
            "astronomy": "telescope galaxy orbit planet nebula comet supernova asteroid "
                         "eclipse cosmic solar stellar",
            "genetics": "gene dna genome mutation protein chromosome sequencing allele "
                        "heredity enzyme cell rna",
            "chemistry": "molecule reaction catalyst acid bond compound electron solvent "
                         "oxidation polymer crystal isotope",
        },
    ),
    "food": (
        "taste recipe flavor kitchen chef restaurant delicious cook dish ingredients meal "
        "menu aroma dinner",
        {
            "baking": "flour dough oven bread yeast pastry butter croissant knead crust "
                      "sourdough cake",
            "wine": "grape vineyard vintage cellar tannin bottle merlot harvest barrel "
                    "sommelier cork riesling",
            "coffee": "espresso roast bean barista brew latte grinder crema cappuccino "
                      "arabica mug caffeine",
        },
    ),
}

#: words every document uses, whatever its topic
COMMON_WORDS = (
    "people time year day week world city friends family morning evening weekend news story "
    "local today yesterday experience favorite idea place home years moment life").split()


@dataclass
class SyntheticCorpus:
    """Documents with the planted hierarchy they were drawn from.

    Attributes
    ----------
    documents : list of str
    tokens : list of list of str
        Each document's words, lower case, in order (what ``documents`` spells out).
    subtopics : list of str
        The subtopic of each document (e.g. "tennis").
    themes : list of str
        The theme (supertopic) of each document (e.g. "sports").
    hierarchy : dict
        theme -> list of its subtopics.
    words : dict
        topic name (theme or subtopic) -> its characteristic words.
    """

    documents: list
    tokens: list
    subtopics: list
    themes: list
    hierarchy: dict
    words: dict

    @property
    def parent(self):
        """subtopic -> theme."""
        return {sub: theme for theme, subs in self.hierarchy.items() for sub in subs}


def make_topic_corpus(n_documents=450, *, doc_length=(40, 80), mix=(0.45, 0.15, 0.25, 0.15),
                      random_state=0):
    """Generate a corpus with a planted two-level topic hierarchy (3 themes x 3 subtopics).

    Parameters
    ----------
    n_documents : int, default=450
        Documents, spread evenly over the nine subtopics.
    doc_length : (int, int), default=(40, 80)
        Each document's length in words is drawn uniformly from this range.
    mix : (float, float, float, float), default=(0.45, 0.15, 0.25, 0.15)
        Probability that a word comes from the subtopic's own words, from the words of the
        other subtopics of its theme (an article on tennis mentions football now and then),
        from its theme's shared words, and from the common words.
    random_state : int, default=0
        Seed: the same seed gives the same corpus.

    Returns
    -------
    SyntheticCorpus

    Examples
    --------
    >>> corpus = make_topic_corpus(90, random_state=1)
    >>> len(corpus.documents), corpus.subtopics[0], corpus.themes[0]
    (90, 'football', 'sports')
    """
    if int(n_documents) < 9:
        raise ValueError(f"n_documents must be at least 9 (one per subtopic), got {n_documents}")
    lo, hi = doc_length
    if not 1 <= lo <= hi:
        raise ValueError(f"doc_length must be (min, max) with 1 <= min <= max, got {doc_length}")
    mix = np.asarray(mix, dtype=float)
    if mix.shape != (4,) or (mix < 0).any() or mix.sum() <= 0:
        raise ValueError(f"mix must be four nonnegative weights, got {tuple(mix)}")
    mix = mix / mix.sum()
    rng = np.random.default_rng(random_state)
    hierarchy, words, pairs = {}, {}, []
    for theme, (shared, subs) in PLANTED_HIERARCHY.items():
        hierarchy[theme] = list(subs)
        words[theme] = shared.split()
        for sub, own in subs.items():
            words[sub] = own.split()
            pairs.append((theme, sub))
    documents, token_lists, subtopics, themes = [], [], [], []
    for i in range(int(n_documents)):
        theme, sub = pairs[i % len(pairs)]
        length = int(rng.integers(lo, hi + 1))
        source = rng.choice(4, size=length, p=mix)
        siblings = [s for s in hierarchy[theme] if s != sub]
        pools = (words[sub], None, words[theme], COMMON_WORDS)
        # Zipf-like word frequencies inside each list: a few words carry a topic.
        tokens = []
        for s in source:
            pool = pools[s] if s != 1 else words[siblings[rng.integers(len(siblings))]]
            weights = 1.0 / np.arange(1, len(pool) + 1) ** 0.5
            tokens.append(pool[rng.choice(len(pool), p=weights / weights.sum())])
        sentences = [" ".join(tokens[j:j + 12]).capitalize() + "." for j in range(0, length, 12)]
        documents.append(" ".join(sentences))
        token_lists.append(tokens)
        subtopics.append(sub)
        themes.append(theme)
    return SyntheticCorpus(documents, token_lists, subtopics, themes, hierarchy, words)


def _matching(truth, predicted):
    """Best one-to-one matching of predicted clusters to true classes (Hungarian method).
    Returns ({predicted cluster: true class}, accuracy)."""
    classes = sorted(set(truth))
    clusters = sorted(set(int(p) for p in predicted))
    table = np.zeros((len(clusters), len(classes)))
    ci = {c: i for i, c in enumerate(clusters)}
    ti = {t: i for i, t in enumerate(classes)}
    for t, p in zip(truth, predicted):
        table[ci[int(p)], ti[t]] += 1
    rows, cols = linear_sum_assignment(-table)
    mapping = {clusters[r]: classes[c] for r, c in zip(rows, cols)}
    accuracy = table[rows, cols].sum() / max(1, len(truth))
    return mapping, float(accuracy)


def match_hierarchy(hierarchy, corpus):
    """How well a fitted two-layer topic hierarchy recovers a synthetic corpus's planted one.

    Documents are assigned to their dominant topic at each layer and the topics matched to the
    planted subtopics and themes one to one (Hungarian method); the tree is checked by whether
    each matched subtopic's recovered parent is matched to its planted theme.

    Parameters
    ----------
    hierarchy : TopicHierarchy
        From :func:`nnmf.topic_hierarchy` on a model fitted to ``corpus`` (two layers).
    corpus : SyntheticCorpus

    Returns
    -------
    dict
        ``subtopics`` and ``themes``: the fraction of documents whose dominant topic matches
        their planted one; ``tree``: the fraction of planted subtopics whose matched topic's
        parent is matched to the right theme; ``score``: the mean of the three;
        ``sub_match`` / ``theme_match``: recovered topic index -> planted name.
    """
    if hierarchy.n_layers < 2:
        raise ValueError("match_hierarchy needs a topic hierarchy with at least two layers")
    sub_pred = hierarchy.dominant_topics(0)
    theme_pred = hierarchy.dominant_topics(1)
    sub_match, sub_acc = _matching(corpus.subtopics, sub_pred)
    theme_match, theme_acc = _matching(corpus.themes, theme_pred)
    parent = corpus.parent
    correct = 0
    for topic, sub in sub_match.items():
        recovered_parent = hierarchy.topic(0, topic).parent
        if theme_match.get(recovered_parent) == parent[sub]:
            correct += 1
    tree = correct / len(parent)
    return {"score": (sub_acc + theme_acc + tree) / 3, "subtopics": sub_acc, "themes": theme_acc,
            "tree": tree, "sub_match": sub_match, "theme_match": theme_match}
