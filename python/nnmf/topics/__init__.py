"""Topic modeling: corpora (text folders, CSV, JSON Lines, matrices), topic hierarchies read
from a fitted model, and figures. scikit-learn (vectorising text) and matplotlib (figures)
load only when used."""

from ._corpus import (FORMATS, Corpus, count_tokens, detect_format, label_codes, load_corpus,
                      vectorize, weigh_counts)
from ._hierarchy import (Topic, TopicHierarchy, dump_json, model_factors, topic_hierarchy,
                         word_profiles)
from ._plots import plot_factors, plot_mixtures, plot_topic_tree, save_figures

__all__ = ["Corpus", "FORMATS", "load_corpus", "detect_format", "vectorize", "count_tokens",
           "weigh_counts", "label_codes", "Topic", "TopicHierarchy", "topic_hierarchy",
           "model_factors", "word_profiles", "dump_json", "plot_factors", "plot_mixtures",
           "plot_topic_tree", "save_figures"]
