"""The language a document is written in, detected from its text (lingua, offline).

One ISO 639-1 code per document, among the languages the analyzer has rules for
(text/analyzer.py RULES) and English; "" when the text is too short to tell. Manuals
and reports are often translated in part (a French chapter with untranslated English
sections), so the text is read in WINDOWS pieces spread over the whole document, each
piece's language weighed by its letters (a Chinese or Japanese character as CJK_WEIGHT
letters: one carries about a word), and another language than English wins when it holds
at least OTHER_SHARE of the weight: its rules must read its words, and English words
read by them still match a question read by the same rules (the question is analysed
for every language of the index). The detector is built on first use, once per
process, in lingua's low-accuracy mode (trigram models only: ~50 MB, a few ms a page;
the mode loses accuracy on short phrases, not on pieces of a document).

Passages (`passage_languages`): a translation often leaves parts in the original (a French
chapter's package tables and paragraphs still in English). Each line of a document that is
not in English is read on its own, by function words (lingua, line by line, called commands
Czech and Portuguese lines Spanish); runs of English lines are kept as (start, end, "en"),
a line too short to tell between two English lines is part of their run. `language_of`
gives a span's language: the run that covers at least half of it, else the document's. It
is what a quote is marked with in Sources, the API and `ask --json`, and what the
short-answer and verification rules look at; BM25 reads the whole document by its own
language's rules (docs/EVALUATION.md, "Passages in another language").
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ..text.analyzer import RULES, english_function_words, letter_words, stop_words
from ..types import Citation, Document

WINDOWS = 12  # pieces read per document
WINDOW_CHARS = 800
MIN_LETTERS = 20  # a piece with fewer letters than this is not read; none: unknown ("")
CJK_WEIGHT = 3
OTHER_SHARE = 0.25
_LETTER = re.compile(r"[^\W\d_]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_DETECTOR: Any = None
_LOCK = threading.Lock()

LANGUAGES: tuple[str, ...] = tuple(sorted({"en", *RULES}))


def _detector() -> Any:
    global _DETECTOR
    with _LOCK:
        if _DETECTOR is None:
            from lingua import IsoCode639_1, LanguageDetectorBuilder

            codes = [getattr(IsoCode639_1, c.upper()) for c in LANGUAGES]
            _DETECTOR = (LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
                         .with_low_accuracy_mode().build())
        return _DETECTOR


def pieces(text: str, skip: Sequence[tuple[int, int]] = ()) -> list[str]:
    """Up to WINDOWS pieces of WINDOW_CHARS of `text` outside `skip`, spread evenly."""
    body, pos = [], 0
    for a, b in [*sorted(skip), (len(text), len(text))]:
        if a > pos:
            body.append(text[pos:a])
        pos = max(pos, b)
    whole = "".join(body)
    if len(whole) <= WINDOWS * WINDOW_CHARS:
        return [whole[i:i + WINDOW_CHARS] for i in range(0, len(whole), WINDOW_CHARS)]
    step = (len(whole) - WINDOW_CHARS) / (WINDOWS - 1)
    return [whole[int(i * step):int(i * step) + WINDOW_CHARS] for i in range(WINDOWS)]


def detect_language(text: str, skip: Sequence[tuple[int, int]] = ()) -> str:
    """ISO 639-1 code of the language of `text` (outside `skip`), or "" when unknown."""
    weight: Counter[str] = Counter()
    detector = _detector()
    for piece in pieces(text, skip):
        letters = len(_LETTER.findall(piece))
        if letters < MIN_LETTERS:
            continue
        found = detector.detect_language_of(piece)
        if found is not None:
            cjk = len(_CJK.findall(piece))
            weight[found.iso_code_639_1.name.lower()] += letters + (CJK_WEIGHT - 1) * cjk
    if not weight:
        return ""
    total = sum(weight.values())
    other = [(w, lang) for lang, w in weight.items() if lang != "en"]
    if other:
        w, lang = max(other)
        if w >= OTHER_SHARE * total:
            return lang
    return "en" if "en" in weight else max(weight, key=weight.__getitem__)


_LINE = re.compile(r"[^\n]+")
MIN_STOP_WORDS = 2  # function words a line needs to be told English
# languages written in a script of their own: a line that holds it is in the language
_SCRIPTS = {"ar", "el", "fa", "hi", "hy", "ja", "ko", "mr", "ru", "th", "uk", "ur", "zh"}


def _script(word: str) -> bool:
    """Whether a word is written in a script other than Latin (Cyrillic, Greek, CJK, ...)."""
    return any(ord(ch) > 0x24F for ch in word)


def passage_languages(text: str, language: str, skip: Sequence[tuple[int, int]] = ()
                      ) -> tuple[tuple[int, int, str], ...]:
    """Runs of English lines in a document in another `language`: (start, end, "en"), in
    order. A line is English when it holds MIN_STOP_WORDS of English's function words and
    more than twice as many of the document language's words: its function words, words with
    accents, and (a language with a script of its own) words in that script. A line too short
    to tell (a command, a table cell) between two English lines is part of their run. () for
    an English document, or a language with neither a list nor a script of its own."""
    if language in ("", "en"):
        return ()
    theirs_words = stop_words(language)
    ours, own = english_function_words() - theirs_words, theirs_words - english_function_words()
    scripted = language in _SCRIPTS
    if not own and not scripted:
        return ()
    runs: list[list[Any]] = []  # [start, end, "en"], in order
    english = False  # whether the last line told apart is English
    skipped, i = sorted(skip), 0
    for m in _LINE.finditer(text):
        while i < len(skipped) and skipped[i][1] <= m.start():
            i += 1
        if i < len(skipped) and skipped[i][0] <= m.start():
            continue  # boilerplate
        words = letter_words(m.group())
        en = sum(w in ours for w in words)
        # English writes no accents: "opération", "Änderung" are the document's words
        theirs = sum(w in own or not w.isascii() for w in words) + (
            sum(map(_script, words)) if scripted else 0) * MIN_STOP_WORDS
        if en >= MIN_STOP_WORDS and en > 2 * theirs:
            if runs and english:
                runs[-1][1] = m.end()
            else:
                runs.append([m.start(), m.end(), "en"])
            english = True
        elif theirs >= 1:
            english = False
    return tuple((a, b, c) for a, b, c in runs)


def language_of(doc: Document, start: int, end: int) -> str:
    """The language of doc.text[start:end]: the run of `doc.passages` that covers most of it
    (at least half), else the document's."""
    best, cover = doc.language, 0
    for a, b, code in doc.passages:
        if b <= start:
            continue
        if a >= end:
            break
        if (n := min(b, end) - max(a, start)) > cover:
            best, cover = code, n
    return best if cover * 2 >= end - start or best == doc.language else doc.language


def quote_language(doc: Document, c: Citation) -> str:
    """The language of a citation's quote, from its first span to its last (a row's quote
    opens with its header row): what Sources, the API and the answer rules read it as."""
    return language_of(doc, c.parts[0].start, c.parts[-1].end)
