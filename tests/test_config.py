"""Settings precedence and documentation: pure logic, no model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.cli import parser, settings_from
from assistant.config import GENERATORS, MODES, Settings, describe
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


@pytest.mark.parametrize("env, named", [
    ({"ASSISTANT_BATCH_SIZE": "0"}, "ASSISTANT_BATCH_SIZE"),
    ({"ASSISTANT_CANDIDATES": "0"}, "ASSISTANT_CANDIDATES"),
    ({"ASSISTANT_PORT": "70000"}, "ASSISTANT_PORT / --port"),
    ({"ASSISTANT_WORKERS": "-2"}, "ASSISTANT_WORKERS"),
    ({"ASSISTANT_STEMMER": "klingon"}, "not a PyStemmer language"),
    ({"ASSISTANT_STOPWORDS": "english"}, "en, en_plus, da, de"),
    ({"ASSISTANT_GENERATOR": "gpt"}, "extractive or openai"),
    ({"ASSISTANT_BACKEND": "cuda"}, "auto, onnx or torch"),
    ({"ASSISTANT_CHUNK_OVERLAP": "250"}, "smaller than chunk_tokens"),
])
def test_each_bad_value_stops_at_load_naming_its_variable(env, named):
    with pytest.raises(AssistantError, match=re.escape(named)):
        Settings.load(env=env)


def test_flags_and_replace_are_checked_the_same_way():
    with pytest.raises(AssistantError, match=re.escape("ASSISTANT_TOP_K / -k")):
        settings_from(parser().parse_args(["ask", "q", "-k", "0"]))
    s = Settings.load(env={})
    assert s.replace(stopwords="de", stemmer="german").stopwords == "de"
    with pytest.raises(AssistantError, match="ASSISTANT_BATCH_SIZE"):
        s.replace(batch_size=0)
    with pytest.raises(TypeError, match="unknown setting"):
        s.replace(batch=1)
    with pytest.raises(ValueError, match="frozen"):
        s.top_k = 3  # type: ignore[misc]


def test_the_choices_are_read_from_the_settings_types():
    assert MODES == ("hybrid", "dense", "lexical") and GENERATORS == ("extractive", "openai")
    for mode in MODES:
        assert parser().parse_args(["ask", "q", "--mode", mode]).mode == mode
    with pytest.raises(SystemExit):
        parser().parse_args(["ask", "q", "--mode", "magic"])


def test_stop_word_lists_are_bm25s_own():
    from bm25s.stopwords import STOPWORDS_GERMAN

    from assistant.text.analyzer import Analyzer

    assert Analyzer("", "de").tokenize(["und der Hund"]) == [["hund"]]
    assert "und" in STOPWORDS_GERMAN
    assert Analyzer("", "").tokenize(["und der Hund"]) == [["und", "der", "hund"]]
