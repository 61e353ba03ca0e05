"""Sphinx configuration of the nnmf documentation.

Build: ``python -m sphinx -W -b html docs <out>`` from the repository root, with the ``docs``
extra installed (Sphinx, pydata-sphinx-theme, numpydoc, myst-parser). When nnmf is not
installed the package is imported from ``python/``, which needs its compiled core in place.
The build reads nothing from the network.
"""

import importlib.util
import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if importlib.util.find_spec("nnmf") is None:
    sys.path.insert(0, os.path.join(_ROOT, "python"))

import nnmf  # noqa: E402

project = "nnmf"
author = "the nnmf developers"
copyright = "the nnmf developers"
release = nnmf.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "numpydoc",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# MyST: $...$ math, ::: fences, anchors for headings down to ###
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3

# autodoc + numpydoc. The API pages list their objects; no autosummary stub pages.
autodoc_typehints = "none"
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

html_theme = "pydata_sphinx_theme"
html_title = f"nnmf {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}


def _public_name(app, env, node, contnode):
    """Resolve the names users write to the one place each object is documented:
    ``nnmf.NeuralNMF`` (a top-level alias) to ``nnmf.neural.NeuralNMF``, and a bare
    ``ConvergenceWarning`` in a docstring of another module to ``nnmf.exceptions``'s. A
    top-level name goes to the subpackage it is exported from; any other name resolves only
    where exactly one documented object has it."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    name = target[len("nnmf."):] if target.startswith("nnmf.") else target
    if not name or name.startswith("_"):
        return None
    domain = env.get_domain("py")
    matches = [full for full in domain.objects
               if full.startswith("nnmf.") and full.endswith("." + name)
               and not any(part.startswith("_") for part in full.split("."))]
    if len(matches) > 1 and name in nnmf._EXPORTS:   # a top-level name: its home subpackage
        home = f"nnmf.{nnmf._EXPORTS[name]}.{name}"
        matches = [home] if home in matches else matches
    if len(matches) != 1:
        return None
    return domain.resolve_xref(env, node.get("refdoc"), app.builder, node.get("reftype"),
                               matches[0], node, contnode)


def setup(app):
    app.connect("missing-reference", _public_name)
