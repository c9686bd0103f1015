"""Words for BM25, answers and verification: lower-cased, stop words dropped, stemmed."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Sequence
from typing import Any

_WORD = re.compile(r"\w+", re.UNICODE)


_LOCAL = threading.local()


def _stemmer(language: str) -> Any:
    """A stemmer of this thread: PyStemmer's objects must not be shared between threads."""
    if not language:
        return None
    cache = _LOCAL.__dict__.setdefault("stemmers", {})
    if language not in cache:
        import Stemmer

        cache[language] = Stemmer.Stemmer(language)
    return cache[language]


# config.Stopwords code -> the name of bm25s' list (bm25s.stopwords).
_STOPWORD_LISTS = {"en": "EN", "en_plus": "EN_PLUS", "da": "DANISH", "de": "GERMAN",
                   "es": "SPANISH", "fr": "FRENCH", "it": "ITALIAN", "ko": "KOREAN", "nl": "DUTCH",
                   "no": "NORWEGIAN", "pt": "PORTUGUESE", "ru": "RUSSIAN", "sv": "SWEDISH",
                   "tr": "TURKISH", "zh": "CHINESE"}


@functools.lru_cache(maxsize=4)
def _stopwords(name: str) -> frozenset[str]:
    """bm25s' stop-word list for a language code (Settings checks the code); "" for none."""
    if not name:
        return frozenset()
    from bm25s import stopwords

    return frozenset(getattr(stopwords, f"STOPWORDS_{_STOPWORD_LISTS[name]}"))


def tokenize(texts: Sequence[str], stemmer: str = "english", stopwords: str = "en") -> list[list[str]]:
    """Lower-cased word tokens, stop words dropped, stemmed: the BM25 vocabulary."""
    stop = _stopwords(stopwords)
    stem = _stemmer(stemmer)
    out = []
    for text in texts:
        words = [w for w in _WORD.findall(text.lower()) if w not in stop]
        out.append(stem.stemWords(words) if stem is not None else words)
    return out


def stop_words(name: str) -> frozenset[str]:
    """The stop words that `tokenize` drops for the list `name` ("" for none)."""
    return _stopwords(name)
