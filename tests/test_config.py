"""Settings precedence and documentation: pure logic, no model."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.cli import parser, settings_from
from assistant.config import Settings, describe
from assistant.errors import AssistantError

README = Path(__file__).resolve().parent.parent / "README.md"


def test_defaults_then_environment_then_flags():
    assert Settings.load(env={}).top_k == 5
    env = {"ASSISTANT_TOP_K": "7", "ASSISTANT_EMBED_TITLES": "false", "ASSISTANT_INDEX_DIR": "/x"}
    s = Settings.load(env=env)
    assert (s.top_k, s.embed_titles, s.index_dir) == (7, False, Path("/x"))
    assert Settings.load(env=env, top_k=3).top_k == 3


def test_bad_values_name_the_variable():
    with pytest.raises(AssistantError, match="ASSISTANT_TOP_K"):
        Settings.load(env={"ASSISTANT_TOP_K": "many"})
    with pytest.raises(AssistantError, match="hybrid, dense or lexical"):
        Settings.load(env={"ASSISTANT_MODE": "magic"})
    with pytest.raises(AssistantError, match="user:password"):
        Settings.load(env={"ASSISTANT_AUTH": "nocolon"})


def test_cli_flags_override(monkeypatch):
    monkeypatch.setenv("ASSISTANT_TOP_K", "9")
    args = parser().parse_args(["ask", "q", "-k", "2", "--index", "elsewhere"])
    s = settings_from(args)
    assert (s.top_k, s.index_dir) == (2, Path("elsewhere"))


def test_readme_lists_every_setting_with_its_default():
    readme = README.read_text(encoding="utf-8")
    missing = [var for var, _, _ in describe() if f"`{var}`" not in readme]
    assert not missing, f"README.md does not document {missing}"
    for var, default, _ in describe():
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{var}` |"))
        shown = row.split("|")[2].strip()
        expected = "unset" if default == "None" else f"`{default}`"
        assert shown == expected, f"README shows {shown} for {var}; the default is {default}"
