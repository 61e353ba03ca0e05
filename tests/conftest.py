"""Shared test settings. The paper's data sets come from nnmf.datasets (shipped with the
package), so the suite needs nothing beside the project."""

import os


def pytest_configure(config):
    # `pytest -m fuzz` selects tests/test_fuzz.py's long run; the plain run keeps its default
    # example count (NNMF_FUZZ_EXAMPLES, when set, wins in both)
    if config.getoption("markexpr", "").strip() == "fuzz":
        os.environ.setdefault("NNMF_FUZZ_EXAMPLES", "50000")
