"""The Analyzer: how text becomes words, one definition for BM25, answers and verification.

Lower-cased word tokens (`\\w+`), stop words dropped, stemmed. It is built once
from the settings (ASSISTANT_STEMMER, ASSISTANT_STOPWORDS) at the edge and
handed to every stage that compares words, so that the index, the sentence and
short-answer rankers and the verifier always agree on what a word is.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

_WORD = re.compile(r"\w+", re.UNICODE)
_LOCAL = threading.local()

# config.Stopwords code -> the name of bm25s' list (bm25s.stopwords).
_STOPWORD_LISTS = {"en": "EN", "en_plus": "EN_PLUS", "da": "DANISH", "de": "GERMAN",
                   "es": "SPANISH", "fr": "FRENCH", "it": "ITALIAN", "ko": "KOREAN", "nl": "DUTCH",
                   "no": "NORWEGIAN", "pt": "PORTUGUESE", "ru": "RUSSIAN", "sv": "SWEDISH",
                   "tr": "TURKISH", "zh": "CHINESE"}


def _stemmer(language: str) -> Any:
    """A stemmer of this thread: PyStemmer's objects must not be shared between threads."""
    if not language:
        return None
    cache = _LOCAL.__dict__.setdefault("stemmers", {})
    if language not in cache:
        import Stemmer

        cache[language] = Stemmer.Stemmer(language)
    return cache[language]


@functools.lru_cache(maxsize=16)
def _stopwords(name: str) -> frozenset[str]:
    """bm25s' stop-word list for a language code (Settings checks the code); "" for none."""
    if not name:
        return frozenset()
    from bm25s import stopwords

    return frozenset(getattr(stopwords, f"STOPWORDS_{_STOPWORD_LISTS[name]}"))


class _Lexical(Protocol):
    """Anything that names a stemmer and a stop-word list (the Settings)."""

    @property
    def stemmer(self) -> str: ...

    @property
    def stopwords(self) -> str: ...


@dataclass(frozen=True)
class Analyzer:
    """Words of a text: lower-cased, stop words of `stopwords` dropped, stemmed by `stemmer`.

    `stemmer` is a PyStemmer language ("" for none), `stopwords` a bm25s list code
    ("" for none). Frozen and cheap to share between threads.
    """

    stemmer: str = "english"
    stopwords: str = "en"

    @classmethod
    def of(cls, settings: _Lexical) -> Analyzer:
        """The analyzer the settings name (ASSISTANT_STEMMER, ASSISTANT_STOPWORDS)."""
        return cls(settings.stemmer, settings.stopwords)

    @property
    def stop_words(self) -> frozenset[str]:
        """The stop words this analyzer drops."""
        return _stopwords(self.stopwords)

    def tokenize(self, texts: Sequence[str]) -> list[list[str]]:
        """The words of each text, in order."""
        stop = _stopwords(self.stopwords)
        stem = _stemmer(self.stemmer)
        out = []
        for text in texts:
            words = [w for w in _WORD.findall(text.lower()) if w not in stop]
            out.append(stem.stemWords(words) if stem is not None else words)
        return out

    def tokens(self, text: str) -> list[str]:
        """The words of one text, in order."""
        return self.tokenize([text])[0]

    def manifest(self) -> dict[str, str]:
        """What an index records of it: another analyzer needs a rebuild."""
        return {"stemmer": self.stemmer, "stopwords": self.stopwords}


ENGLISH = Analyzer()  # the default settings' analyzer: English stemmer and stop words
