"""The Analyzer: how text becomes words, one definition for BM25, answers and verification.

Lower-cased word tokens (`\\w+`), stop words dropped, stemmed. It is built once
from the settings (ASSISTANT_STEMMER, ASSISTANT_STOPWORDS) at the edge and
handed to every stage that compares words, so that the index, the sentence and
short-answer rankers and the verifier always agree on what a word is.

Languages (issue 24): a document is indexed with the rules of its language
(`for_language`: PyStemmer's stemmer and bm25s' stop words where they exist, no
stemming where none does, e.g. Japanese); English, and a language with no rules
here, keep the settings' rules, so an English collection is analysed exactly as
before. A question is analysed for every language of the index (`for_languages`):
its words are the union of each language's words, each word counted as often as the
language that counts it most does (BM25 weighs a query word by its count). Runs of
Chinese and Japanese characters, written without spaces, become overlapping
character pairs (as Lucene's CJK analyzer makes them) in every language's rules, less the
pairs of hiragana alone (Japanese particles and endings).
"""

from __future__ import annotations

import functools
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# Han, kana (with the long-vowel mark) and half-width kana: written without spaces.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
# A run of CJK characters, or a word of other word characters (`\w+` on text without CJK).
_WORD = re.compile(rf"[{_CJK}]+|[^\W{_CJK}]+", re.UNICODE)
_CJK_RUN = re.compile(rf"[{_CJK}]")
_HIRAGANA = re.compile(r"[\u3040-\u309f]+")
_LOCAL = threading.local()

# config.Stopwords code -> the name of bm25s' list (bm25s.stopwords).
_STOPWORD_LISTS = {"en": "EN", "en_plus": "EN_PLUS", "da": "DANISH", "de": "GERMAN",
                   "es": "SPANISH", "fr": "FRENCH", "it": "ITALIAN", "ko": "KOREAN", "nl": "DUTCH",
                   "no": "NORWEGIAN", "pt": "PORTUGUESE", "ru": "RUSSIAN", "sv": "SWEDISH",
                   "tr": "TURKISH", "zh": "CHINESE"}

# ISO 639-1 code -> (PyStemmer language, bm25s stop-word list); "" where there is none.
RULES: dict[str, tuple[str, str]] = {
    "ar": ("arabic", ""), "ca": ("catalan", ""), "cs": ("czech", ""), "da": ("danish", "da"),
    "de": ("german", "de"), "el": ("greek", ""), "es": ("spanish", "es"), "fa": ("persian", ""),
    "fi": ("finnish", ""), "fr": ("french", "fr"), "hi": ("hindi", ""), "hu": ("hungarian", ""),
    "id": ("indonesian", ""), "it": ("italian", "it"), "ja": ("", ""), "ko": ("", "ko"),
    "nb": ("norwegian", "no"), "nl": ("dutch", "nl"), "pl": ("polish", ""),
    "pt": ("portuguese", "pt"), "ro": ("romanian", ""), "ru": ("russian", "ru"),
    "sv": ("swedish", "sv"), "th": ("", ""), "tr": ("turkish", "tr"), "uk": ("", ""),
    "zh": ("", "zh"),
}


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


def split_words(text: str) -> list[str]:
    """Lower-cased words of a text; a run of CJK characters as its overlapping pairs."""
    out: list[str] = []
    for w in _WORD.findall(text.lower()):
        if len(w) > 1 and _CJK_RUN.match(w):
            # A pair of hiragana only is grammar (particles, endings: "はど", "ますか"), not a
            # word: it would match every Japanese sentence.
            out.extend(p for p in (w[i:i + 2] for i in range(len(w) - 1))
                       if not _HIRAGANA.fullmatch(p))
        else:
            out.append(w)
    return out


def _analysed(words: list[str], stemmer: str, stopwords: str) -> list[str]:
    stop = _stopwords(stopwords)
    kept = [w for w in words if w not in stop]
    stem = _stemmer(stemmer)
    return stem.stemWords(kept) if stem is not None else kept


class _Lexical(Protocol):
    """Anything that names a stemmer and a stop-word list (the Settings)."""

    @property
    def stemmer(self) -> str: ...

    @property
    def stopwords(self) -> str: ...

    @property
    def analyze_by_language(self) -> bool: ...


@dataclass(frozen=True)
class Analyzer:
    """Words of a text: lower-cased, stop words of `stopwords` dropped, stemmed by `stemmer`.

    `stemmer` is a PyStemmer language ("" for none), `stopwords` a bm25s list code
    ("" for none). `by_language`: documents in another language than English get their
    language's rules (`for_language`). `also`: further (stemmer, stopwords) rules whose
    words are added (a question's analyzer for several languages). Frozen and cheap to
    share between threads.
    """

    stemmer: str = "english"
    stopwords: str = "en"
    by_language: bool = True
    also: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, settings: _Lexical) -> Analyzer:
        """The analyzer the settings name (ASSISTANT_STEMMER, ASSISTANT_STOPWORDS,
        ASSISTANT_ANALYZE_BY_LANGUAGE)."""
        return cls(settings.stemmer, settings.stopwords, settings.analyze_by_language)

    @property
    def stop_words(self) -> frozenset[str]:
        """The stop words this analyzer drops (of its first rules)."""
        return _stopwords(self.stopwords)

    def for_language(self, language: str) -> Analyzer:
        """The analyzer of a document in `language` (ISO 639-1; "" when unknown)."""
        base = Analyzer(self.stemmer, self.stopwords, self.by_language)
        if not self.by_language or language in ("", "en") or language not in RULES:
            return base
        stemmer, stopwords = RULES[language]
        return Analyzer(stemmer, stopwords, True)

    def for_languages(self, languages: Sequence[str]) -> Analyzer:
        """The analyzer of a question asked of documents in these languages: each language's
        words together (the settings' rules alone when there is no language)."""
        rules = list(dict.fromkeys((a.stemmer, a.stopwords) for a in
                                   (self.for_language(x) for x in sorted(set(languages) or {""},
                                                                         key=_english_first))))
        return Analyzer(*rules[0], self.by_language, tuple(rules[1:]))

    def tokenize(self, texts: Sequence[str]) -> list[list[str]]:
        """The words of each text, in order (a further language's extra words after them)."""
        out = []
        for text in texts:
            words = split_words(text)
            first = _analysed(words, self.stemmer, self.stopwords)
            if self.also:
                have = Counter(first)
                for stemmer, stopwords in self.also:
                    for w, n in Counter(_analysed(words, stemmer, stopwords)).items():
                        if n > have[w]:
                            first.extend([w] * (n - have[w]))
                            have[w] = n
            out.append(first)
        return out

    def tokens(self, text: str) -> list[str]:
        """The words of one text, in order."""
        return self.tokenize([text])[0]

    def manifest(self) -> dict[str, Any]:
        """What an index records of it: another analyzer needs a rebuild."""
        return {"stemmer": self.stemmer, "stopwords": self.stopwords,
                "by_language": self.by_language}


def _english_first(language: str) -> tuple[bool, str]:
    return language not in ("", "en"), language


ENGLISH = Analyzer()  # the default settings' analyzer: English stemmer and stop words
