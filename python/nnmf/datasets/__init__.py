"""Data sets: the two small data sets of the Neural NMF paper, shipped inside the package,
and a generator of synthetic corpora with a planted two-level topic hierarchy."""

from ._paper import Dataset, load_20news_subsampled, load_synthetic_noise
from ._planted import PLANTED_HIERARCHY, SyntheticCorpus, make_topic_corpus, match_hierarchy

__all__ = ["Dataset", "load_synthetic_noise", "load_20news_subsampled", "make_topic_corpus",
           "match_hierarchy", "SyntheticCorpus", "PLANTED_HIERARCHY"]
