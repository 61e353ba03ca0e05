"""The documentation cannot rot: every Python example of README.md and of the pages under docs/
runs, the ``nnmf`` commands of their console examples exit with 0, the Sphinx build is free of
warnings, and the README stays a front door.

Examples run in file order in a temporary working directory; the blocks of one page share one
namespace (a page reads as one session). A block right after the line
``<!-- docs-test: skip: why -->`` is not run (for commands that take minutes, or that change
the test process's settings). In console blocks,
the lines ``$ nnmf ...``, ``$ python -m nnmf ...`` and ``$ python -m nnmf.experiments ...`` run
in this process (through ``nnmf.cli.main`` and ``nnmf.experiments.main``); every other command
(pip, pytest, shell tools) is left alone, as are pipes and redirections after a command.
"""

import importlib.util
import re
import shlex
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
README_MAX_LINES = 150
QUICK_START = ('pip install . && nnmf demo', 'pip install ".[test]" && python -m pytest -q')
SKIP_MARKER = "<!-- docs-test: skip"

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")


@dataclass
class Block:
    path: Path
    language: str
    line: int        # 1-based line of the block's first line of code
    code: str
    skip: bool

    @property
    def where(self):
        return f"{self.path.relative_to(ROOT)}, line {self.line}"


def code_blocks(path):
    """The fenced code blocks of a Markdown file, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, info = match["fence"], match["info"].strip()
        previous = next((s.strip() for s in reversed(lines[:i]) if s.strip()), "")
        body, j = [], i + 1
        while j < len(lines):
            closing = _FENCE.match(lines[j])
            if (closing and closing["fence"][0] == fence[0] and len(closing["fence"]) >= len(fence)
                    and not closing["info"].strip()):
                break
            body.append(lines[j])
            j += 1
        language = info.split()[0].lower() if info else ""
        blocks.append(Block(path, language, i + 2, "\n".join(body) + "\n",
                            previous.startswith(SKIP_MARKER)))
        i = j + 1
    return blocks


def pages():
    found = [README] if README.exists() else []
    if DOCS.is_dir():
        found += sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts)
    return found


def _pages_with(language):
    return [pytest.param(p, id=str(p.relative_to(ROOT))) for p in pages()
            if any(b.language == language for b in code_blocks(p))]


@pytest.fixture
def in_tmp_dir(tmp_path, monkeypatch):
    """Run in an empty directory, with matplotlib (if present) on its Agg backend."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    if importlib.util.find_spec("matplotlib") is not None:
        import matplotlib

        matplotlib.use("Agg")
    return tmp_path


def _failure_line(exc, block):
    """The line of the page where the example raised (the deepest frame in the block)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(block.path)]
    return frames[-1].lineno if frames else block.line


@pytest.mark.parametrize("page", _pages_with("python"))
def test_python_examples(page, in_tmp_dir):
    namespace = {"__name__": "__main__"}
    for block in code_blocks(page):
        if block.language != "python" or block.skip:
            continue
        # Padded with empty lines so that tracebacks give the page's own line numbers
        code = compile("\n" * (block.line - 1) + block.code, str(page), "exec")
        try:
            exec(code, namespace)
        except Exception as exc:  # noqa: BLE001 - reported with the page and line
            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            pytest.fail(f"the example at {block.where} raised at line "
                        f"{_failure_line(exc, block)} of the page:\n{tb}", pytrace=False)


def _commands(line):
    """The commands of one console line (split at &&, ; and pipes/redirections dropped)."""
    tokens = shlex.split(line, comments=True)
    commands, current, cut = [], [], False
    for token in tokens:
        if token in ("&&", ";", "||"):
            commands.append(current)
            current, cut = [], False
        elif token in ("|", ">", ">>", "2>", "&>", "2>&1") or token.startswith((">", "2>")):
            cut = True
        elif not cut:
            current.append(token)
    commands.append(current)
    return [c for c in commands if c]


def _runner(argv):
    """How to run a command in this process: (function, its arguments), or None to leave it."""
    if argv[0] == "nnmf":
        from nnmf.cli import main

        return main, argv[1:]
    if argv[:2] == ["python", "-m"] and len(argv) > 2:
        if argv[2] == "nnmf":
            from nnmf.cli import main

            return main, argv[3:]
        if argv[2] == "nnmf.experiments":
            from nnmf.experiments import main

            return main, argv[3:]
    return None


@pytest.mark.parametrize("page", _pages_with("console"))
def test_console_examples(page, in_tmp_dir, capsys):
    ran = 0
    for block in code_blocks(page):
        if block.language != "console" or block.skip:
            continue
        for offset, line in enumerate(block.code.splitlines()):
            if not line.startswith("$ "):
                continue
            for argv in _commands(line[2:]):
                runner = _runner(argv)
                if runner is None:
                    continue
                function, args = runner
                code = function(args)
                out, err = capsys.readouterr()
                assert code == 0, (f"`{' '.join(argv)}` at {block.path.relative_to(ROOT)}, "
                                   f"line {block.line + offset} exited with {code}:\n{err}")
                ran += 1
    if ran == 0:
        pytest.skip("no nnmf command to run on this page")


def test_sphinx_build_has_no_warnings(tmp_path):
    for module in ("sphinx", "numpydoc", "pydata_sphinx_theme", "myst_parser"):
        pytest.importorskip(module)
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, f"sphinx -W failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    assert (tmp_path / "html" / "index.html").exists()


def test_readme_is_a_front_door():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= README_MAX_LINES
    for command in QUICK_START:
        assert command in text, f"the README's quick start must keep `{command}`"
    for target in re.findall(r"\]\((?!https?://|#)([^)#\s]+)", text):
        assert (ROOT / target).exists(), f"README.md links to {target}, which does not exist"


def test_every_top_level_name_is_in_the_api_reference():
    import nnmf

    text = "\n".join(p.read_text(encoding="utf-8") for p in (DOCS / "api").glob("*.*"))
    missing = [name for name in nnmf.__all__ if not re.search(rf"\bnnmf\.{re.escape(name)}\b",
                                                               text)]
    assert not missing, f"docs/api lists no nnmf.{missing[0]} (and {len(missing) - 1} more)"


def test_cli_reference_lists_every_option():
    from nnmf.cli import build_parser

    text = (DOCS / "guide" / "cli.md").read_text(encoding="utf-8")
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    missing = []
    for name, sub in subparsers.items():
        if f"nnmf {name}" not in text:
            missing.append(f"nnmf {name}")
        for action in sub._actions:
            missing += [f"nnmf {name} {opt}" for opt in action.option_strings
                        if opt.startswith("--") and opt != "--help" and opt not in text]
    assert not missing, f"docs/guide/cli.md does not mention: {', '.join(missing)}"
