"""The layout is a checked contract: import-linter's contracts hold, and would fail on the
circles and climbs the package once had; the package stays small enough to read."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "assistant"
LINT = Path(sys.executable).parent / "lint-imports"


def lint(cwd: Path, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    args = [str(LINT), "--no-cache"] + (["--config", str(config)] if config else [])
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_the_contracts_hold():
    done = lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 kept, 0 broken" in done.stdout


# (file, text added at its end, the contract that must break): the shapes of the three
# circles of the flat package, and a stage that climbs to one above it.
BREAKS = [
    ("store/bm25.py", "from .local import LocalStore  # noqa\n",  # BM25 reading the store
     "No import cycle among the modules of any package"),
    ("types.py", "from .cite.text import plain  # noqa\n",  # Span.to_dict needing cite
     "Stages in the order data moves"),
    ("indexing/ray.py", "from ..pipeline import Assistant  # noqa\n",  # a worker building it
     "Stages in the order data moves"),
    ("store/records.py", "from ..ingest import discover  # noqa\n",
     "Reading files, embedding and storing know nothing of each other"),
    ("text/facts.py", "import gradio  # noqa\n", "Gradio belongs to the web chat"),
]


@pytest.mark.parametrize(("path", "line", "contract"), BREAKS, ids=[b[0] for b in BREAKS])
def test_the_contracts_break_on_a_circle_or_a_climb(tmp_path: Path, path: str, line: str,
                                                    contract: str):
    """A copy of the package under another name (the installed one would be found first),
    with one import added, checked with the project's own contracts."""
    copy = tmp_path / "assistant_copy"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.json",
                                                                 "*.csl"))
    with (copy / path).open("a", encoding="utf-8") as f:
        f.write("\n" + line)
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lines = ["[importlinter]", "root_package = assistant_copy",
             "include_external_packages = True"]
    for i, c in enumerate(config["tool"]["importlinter"]["contracts"]):
        lines.append(f"[importlinter:contract:{i}]")
        for key, value in c.items():
            if isinstance(value, list):
                value = "\n    " + "\n    ".join(
                    re.sub(r"\bassistant\b", "assistant_copy", v) for v in value)
            elif isinstance(value, bool):
                value = str(value)
            lines.append(f"{key} = {value}")
    ini = tmp_path / "contracts.ini"
    ini.write_text("\n".join(lines) + "\n", encoding="utf-8")
    clean = lint(tmp_path, ini)
    assert clean.returncode != 0, clean.stdout  # the added import breaks a contract ...
    broken = clean.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, clean.stdout  # ... the one meant for it
    (copy / path).write_text((PACKAGE / path).read_text(encoding="utf-8"), encoding="utf-8")
    assert lint(tmp_path, ini).returncode == 0  # and without it the copy keeps them all


def test_the_package_stays_small_and_its_imports_visible():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 8, top
    sizes = {str(p.relative_to(PACKAGE)): len(p.read_text(encoding="utf-8").splitlines())
             for p in PACKAGE.rglob("*.py")}
    assert max(sizes.values()) <= 350, max(sizes.items(), key=lambda kv: kv[1])
    # Imports of the package's own modules sit at the top of each module, where a reader
    # sees them; the exceptions are the edges that load late on purpose: each CLI command
    # imports the stages it runs (so `assistant --help` loads only the settings), and the
    # page loads Gradio's handlers late so that start-up overlaps loading the index.
    hidden = set()
    for p in PACKAGE.rglob("*.py"):
        for fn in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                hidden |= {f"{p.relative_to(PACKAGE)}:{fn.name}" for n in ast.walk(fn)
                           if isinstance(n, ast.ImportFrom) and n.level > 0}
    assert hidden == {"cli/__init__.py:cmd_index", "cli/__init__.py:_collections",
                      "cli/__init__.py:cmd_ask", "cli/__init__.py:cmd_serve",
                      "cli/__init__.py:cmd_mcp", "cli/evaluate.py:run", "cli/team.py:run",
                      "web/page.py:build", "web/server.py:__init__"}, sorted(hidden)
