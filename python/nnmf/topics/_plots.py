"""Pictures of a topic hierarchy with matplotlib (the ``plot`` extra, imported only here).

Figures are built on matplotlib's object API with the non-interactive Agg canvas: nothing
touches pyplot or the global backend, so this works on servers and inside notebooks alike.
"""

from pathlib import Path

import numpy as np

from .._utils.files import atomic_open

__all__ = ["plot_factors", "plot_mixtures", "plot_topic_tree", "save_figures"]

_FORMATS = ("png", "svg")


def _figure(width, height, layout=None):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'nnmf[plot]'") from None
    fig = Figure(figsize=(width, height), dpi=100, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _hierarchy(source, vocabulary=None, n_words=10):
    from ._hierarchy import TopicHierarchy, topic_hierarchy

    if isinstance(source, TopicHierarchy):
        return source
    return topic_hierarchy(source, vocabulary, n_words=n_words)


def _factors(source):
    from ._hierarchy import TopicHierarchy, model_factors

    if isinstance(source, TopicHierarchy):
        raise TypeError("plot_factors needs the model (or its A's), not a TopicHierarchy")
    A, _ = model_factors(source) if not _is_matrix_list(source) else (source, None)
    return [np.asarray(a.toarray() if hasattr(a, "toarray") else a, dtype=float) for a in A]


def _is_matrix_list(obj):
    return isinstance(obj, (list, tuple)) and len(obj) > 0 and all(
        hasattr(a, "shape") and len(a.shape) == 2 for a in obj)


def _normalise_columns(M):
    total = M.sum(axis=0, keepdims=True)
    return M / np.where(total > 0, total, 1.0)


def plot_factors(model, vocabulary=None, *, n_words=5):
    """Heatmaps of every A_l, columns normalised to sum to 1.

    A_0 (words x k_0) is shown on the union of each topic's ``n_words`` top words only, with
    the words as row labels; A_l for l >= 1 (k_{l-1} x k_l) shows how each layer-l topic is
    built from the topics below.

    Parameters
    ----------
    model : fitted estimator, (A, S) pair or list of A's
    vocabulary : sequence of str, default=None
    n_words : int, default=5

    Returns
    -------
    matplotlib.figure.Figure
    """
    A = _factors(model)
    A0 = _normalise_columns(A[0])
    rows = []
    for i in range(A0.shape[1]):
        for r in np.argsort(-A0[:, i], kind="stable")[:n_words]:
            if A0[r, i] > 0 and r not in rows:
                rows.append(int(r))
    rows = rows or [0]
    words = ([str(vocabulary[r]) for r in rows] if vocabulary is not None
             else [f"w{r}" for r in rows])
    panels = [(A0[rows], "A_0: top words x layer-0 topics", words, "layer 0 topic")]
    for l in range(1, len(A)):
        panels.append((_normalise_columns(A[l]), f"A_{l}: layer-{l - 1} x layer-{l} topics",
                       [f"{l - 1}.{i}" for i in range(A[l].shape[0])], f"layer {l} topic"))
    widths = [max(2.0, 0.35 * p[0].shape[1] + 1.5) for p in panels]
    height = max(4.0, min(0.18 * len(rows) + 1.5, 24.0))
    fig = _figure(sum(widths) + 1.5 * len(panels), height, "constrained")
    grid = fig.add_gridspec(1, len(panels), width_ratios=widths)
    for p, (M, title, ylabels, xlabel) in enumerate(panels):
        ax = fig.add_subplot(grid[0, p])
        im = ax.imshow(M, aspect="auto", cmap="viridis", interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_xticks(range(M.shape[1]))
        ax.set_xticklabels([str(i) for i in range(M.shape[1])], fontsize=7)
        ax.set_yticks(range(M.shape[0]))
        ax.set_yticklabels(ylabels, fontsize=7 if len(ylabels) <= 60 else 5)
        fig.colorbar(im, ax=ax, fraction=0.08, pad=0.02)
    return fig


def plot_mixtures(hierarchy, labels=None, label_names=None):
    """Heatmaps of each layer's document mixtures (normalised S_l), documents grouped by label.

    Parameters
    ----------
    hierarchy : TopicHierarchy or fitted estimator
    labels : array-like of int, default=None
        Each document's label (index into ``label_names``; -1 unknown). Documents are sorted
        by label, with a line between groups and the label under each group.
    label_names : sequence of str, default=None

    Returns
    -------
    matplotlib.figure.Figure
    """
    h = _hierarchy(hierarchy)
    n = len(h.doc_ids)
    order = np.arange(n)
    groups = []
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (n,):
            raise ValueError(f"{labels.shape[0] if labels.ndim else 0} labels for {n} documents")
        key = np.where(labels < 0, labels.max(initial=0) + 1, labels)  # unknown last
        order = np.argsort(key, kind="stable")
        sorted_labels = labels[order]
        start = 0
        for j in range(1, n + 1):
            if j == n or sorted_labels[j] != sorted_labels[start]:
                code = int(sorted_labels[start])
                name = "unknown" if code < 0 else (
                    str(label_names[code]) if label_names is not None else str(code))
                groups.append((start, j, name))
                start = j
    L = h.n_layers
    fig = _figure(max(6.0, min(0.02 * n + 4.0, 18.0)),
                  1.0 + sum(0.25 * k + 0.8 for k in h.ranks), "constrained")
    grid = fig.add_gridspec(L, 1, height_ratios=[k + 2 for k in reversed(h.ranks)])
    for p, l in enumerate(reversed(range(L))):
        ax = fig.add_subplot(grid[p, 0])
        M = h.mixtures[l][:, order]
        im = ax.imshow(M, aspect="auto", cmap="magma_r", interpolation="nearest",
                       vmin=0.0, vmax=1.0)
        ax.set_title(f"S_{l}: layer-{l} topic mixture of each document", fontsize=9)
        ax.set_yticks(range(h.ranks[l]))
        ax.set_yticklabels([f"{l}.{i}" for i in range(h.ranks[l])], fontsize=7)
        if groups:
            for start, _, _ in groups[1:]:
                ax.axvline(start - 0.5, color="tab:cyan", linewidth=1.0)
            ax.set_xticks([(s + e - 1) / 2 for s, e, _ in groups])
            ax.set_xticklabels([name for _, _, name in groups], fontsize=7,
                               rotation=30 if len(groups) > 6 else 0, ha="right"
                               if len(groups) > 6 else "center")
        else:
            ax.set_xlabel("document", fontsize=8)
        fig.colorbar(im, ax=ax, fraction=0.03, pad=0.01)
    return fig


def _tree_order(h):
    """Per layer, the topics left to right: children under their parents, largest first."""
    order = [[] for _ in range(h.n_layers)]

    def visit(t):
        order[t.layer].append(t.index)
        if t.layer > 0:
            for c in t.children:
                visit(h.layers[t.layer - 1][c])

    for t in sorted(h.layers[-1], key=lambda t: -t.share):
        visit(t)
    for l in range(h.n_layers - 1):  # topics without a parent go last
        for t in h.layers[l]:
            if t.index not in order[l]:
                visit(t)
    return order


def plot_topic_tree(hierarchy, *, n_words=4, min_link=0.1):
    """The topic tree: a row of boxes per layer (top layer at the top) with each topic's name,
    share and top words, joined to its parents by lines as thick as the link weights.

    Parameters
    ----------
    hierarchy : TopicHierarchy or fitted estimator
    n_words : int, default=4
        Words shown in each box.
    min_link : float, default=0.1
        Links lighter than this are not drawn.

    Returns
    -------
    matplotlib.figure.Figure
    """
    h = _hierarchy(hierarchy)
    order = _tree_order(h)
    widest = max(h.ranks)
    fig = _figure(max(6.0, 1.3 * widest), 0.6 + 1.6 * h.n_layers)
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.98))
    ax.set_axis_off()
    ax.set_xlim(0, widest)
    ax.set_ylim(-0.45, h.n_layers - 0.45)
    pos = {}
    for l, topics in enumerate(order):
        step = widest / max(1, len(topics))
        for slot, i in enumerate(topics):
            pos[(l, i)] = ((slot + 0.5) * step, l)
    for l in range(h.n_layers - 1):
        for t in h.layers[l]:
            x0, y0 = pos[(l, t.index)]
            for j, w in t.parents:
                if w < min_link:
                    continue
                x1, y1 = pos[(l + 1, j)]
                ax.plot([x0, x1], [y0 + 0.25, y1 - 0.25], color="0.45", alpha=0.35 + 0.6 * w,
                        linewidth=0.5 + 3.5 * w, zorder=1, solid_capstyle="round")
    cmap_colors = ["#dbe9f6", "#fde2c8", "#d9f0d3", "#eadcf0", "#f6d5d5"]
    for (l, i), (x, y) in pos.items():
        t = h.layers[l][i]
        words = [w for w, _ in t.words[:n_words]]
        text = f"{t.name}  {100 * t.share:.0f}%\n" + "\n".join(words)
        ax.text(x, y, text, ha="center", va="center", fontsize=8, zorder=2,
                bbox=dict(boxstyle="round,pad=0.35", facecolor=cmap_colors[l % len(cmap_colors)],
                          edgecolor="0.35", linewidth=0.6))
    for l in range(h.n_layers):
        ax.text(0.02, l + 0.5, f"layer {l}", fontsize=9, color="0.3", ha="left", va="top")
    return fig


def save_figures(model, out_dir, *, vocabulary=None, labels=None, label_names=None,
                 formats=("png",), n_words=4, dpi=150):
    """Write the factor heatmaps, mixture heatmaps and topic tree of a fitted model.

    Parameters
    ----------
    model : fitted estimator or (A, S) pair
    out_dir : str or path-like
        Created when missing.
    vocabulary, labels, label_names : default=None
        As in :func:`plot_factors` and :func:`plot_mixtures`.
    formats : sequence of {"png", "svg"}, default=("png",)
    n_words : int, default=4
    dpi : int, default=150
        Resolution of the PNG files.

    Returns
    -------
    list of pathlib.Path
        The files written: ``factors``, ``mixtures`` and ``topic_tree`` in each format.
    """
    formats = [formats] if isinstance(formats, str) else list(formats)
    for f in formats:
        if f not in _FORMATS:
            raise ValueError(f"unknown figure format {f!r}; choose from: {', '.join(_FORMATS)}")
    from ._hierarchy import topic_hierarchy

    h = topic_hierarchy(model, vocabulary, n_words=max(n_words, 1))
    figures = {"factors": plot_factors(model, vocabulary, n_words=n_words),
               "mixtures": plot_mixtures(h, labels, label_names),
               "topic_tree": plot_topic_tree(h, n_words=n_words)}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fig in figures.items():
        for f in formats:
            path = out_dir / f"{name}.{f}"
            with atomic_open(path, "wb") as fh:
                fig.savefig(fh, format=f, dpi=dpi)
            written.append(path)
    return written
