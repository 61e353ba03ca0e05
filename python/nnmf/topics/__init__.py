"""Topic modeling: corpora (text folders, CSV, JSON Lines, matrices), topic hierarchies read
from a fitted model, measures of their quality, and figures. scikit-learn (vectorising text)
and matplotlib (figures) load only when used."""

from ._corpus import (FORMATS, Corpus, count_tokens, detect_format, label_codes, load_corpus,
                      vectorize, weigh_counts)
from ._hierarchy import (Topic, TopicHierarchy, dump_json, model_factors, topic_hierarchy,
                         word_profiles)
from ._metrics import (CATCH_ALL_SHARE, DEGENERATE_WEIGHT, TopicQuality, TopicQualityWarning,
                       hierarchy_measures, label_alignment, largest_share, npmi_coherence,
                       top_words, topic_diversity)
from ._plots import plot_factors, plot_mixtures, plot_topic_tree, save_figures
from ._ranks import RankSuggestion, suggest_ranks

__all__ = ["Corpus", "FORMATS", "load_corpus", "detect_format", "vectorize", "count_tokens",
           "weigh_counts", "label_codes", "Topic", "TopicHierarchy", "topic_hierarchy",
           "model_factors", "word_profiles", "dump_json", "plot_factors", "plot_mixtures",
           "plot_topic_tree", "save_figures", "top_words", "npmi_coherence", "topic_diversity",
           "largest_share", "hierarchy_measures", "label_alignment", "TopicQuality",
           "TopicQualityWarning", "DEGENERATE_WEIGHT", "CATCH_ALL_SHARE",
           "RankSuggestion", "suggest_ranks"]
