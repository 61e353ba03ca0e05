"""The package's architecture holds: subpackages import one way (the import-linter contract in
pyproject.toml), no module imports itself back through others, and importing nnmf loads no
compiled code."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_layers_contract_is_kept():
    cli = pytest.importorskip("importlinter.cli", reason="import-linter is not installed")
    status = cli.lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)
    assert status == 0, "lint-imports found an import against the layers (run lint-imports)"


def test_no_import_cycles():
    grimp = pytest.importorskip("grimp", reason="import-linter (grimp) is not installed")
    graph = grimp.build_graph("nnmf")
    state, stack, cycles = {}, [], []

    def visit(module):
        state[module] = "open"
        stack.append(module)
        for other in sorted(graph.find_modules_directly_imported_by(module)):
            if state.get(other) == "open":
                cycles.append(" -> ".join(stack[stack.index(other):] + [other]))
            elif other not in state:
                visit(other)
        stack.pop()
        state[module] = "done"

    for module in sorted(graph.modules):
        if module not in state:
            visit(module)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_import_is_light():
    """``import nnmf`` (what ``nnmf --help`` pays for) loads neither the core nor scipy."""
    code = ("import sys, nnmf, nnmf.cli; "
            "print(sorted(m for m in sys.modules if m.startswith(('nnmf.layer', 'scipy'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
