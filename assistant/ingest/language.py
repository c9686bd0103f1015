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
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ..text.analyzer import RULES

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
