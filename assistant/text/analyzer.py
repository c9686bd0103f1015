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
character pairs (as Lucene's CJK analyzer makes them) in every language's rules
(Japanese is first cut where its script changes, its hiragana runs, particles and endings,
left out); so do runs of Thai, Lao, Khmer and Burmese, also written without spaces between
words, as pairs of characters each with its vowel signs and tone marks. A word keeps its combining marks (Devanagari vowel signs and
viramas, Arabic harakat, accents of decomposed Latin text: `\\w` alone would cut "हिन्दी"
at each of them), and digits of every script are read as ASCII digits ("१९४७" and "١٩٤٧"
are "1947").
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
# The blocks of Thai, Lao, Burmese and Khmer: no spaces between words either.
_SEA_BLOCKS = ((0x0E00, 0x0F00), (0x1000, 0x10A0), (0x1780, 0x1800), (0x19E0, 0x1A00))
# Blocks whose combining marks (Unicode Mn, Mc, Me) are kept inside a word: from the
# combining diacritics to Mongolian (Greek, Cyrillic, Hebrew, Arabic, the scripts of India,
# Sinhala, Tibetan, Georgian ...), the extended and supplementary diacritics, Cyrillic and
# Devanagari extensions and the half marks.
_MARK_BLOCKS = ((0x0300, 0x1900), (0x1AB0, 0x1B00), (0x1DC0, 0x1E00), (0x20D0, 0x2100),
                (0xA670, 0xA700), (0xA8E0, 0xA900), (0xFE20, 0xFE30))


def _char_class(blocks: Sequence[tuple[int, int]], categories: str,
                skip: Sequence[tuple[int, int]] = ()) -> str:
    """The characters of `blocks` (less `skip`) whose Unicode category starts with one of
    `categories`, as the inside of a regex character class (ranges)."""
    import unicodedata

    chars = [c for a, b in blocks for c in range(a, b)
             if unicodedata.category(chr(c))[0] in categories
             and not any(x <= c < y for x, y in skip)]
    ranges: list[list[int]] = []
    for c in chars:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    return "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
                   for a, b in ranges)


# Letters and marks of the scripts without spaces (their digits and stops are not words).
_SEA = _char_class(_SEA_BLOCKS, "LM")
# Marks inside a word, and the zero-width (non-)joiners of Persian and the scripts of India.
MARKS = _char_class(_MARK_BLOCKS, "M", _SEA_BLOCKS) + "\u200c\u200d"
# A run of CJK characters, a run of Thai, Lao, Khmer or Burmese, or a word of other word
# characters with its combining marks (`\w+` on text with neither).
_WORD = re.compile(rf"[{_CJK}]+|[{_SEA}]+|[^\W{_CJK}{_SEA}](?:[^\W{_CJK}{_SEA}]|[{MARKS}])*")
_CJK_RUN = re.compile(rf"[{_CJK}]")
_SEA_RUN = re.compile(rf"[{_SEA}]")
# A character of those scripts with the marks that follow it (a vowel sign, a tone mark).
_CLUSTER = re.compile(r".[\u0e31\u0e34-\u0e3a\u0e47-\u0e4e\u0eb1\u0eb4-\u0ebc\u0ec8-\u0ecd"
                      r"\u102b-\u103e\u1056-\u1059\u105e-\u1060\u1062-\u1064\u1067-\u106d"
                      r"\u1071-\u1074\u1082-\u108d\u108f\u109a-\u109d\u17b4-\u17d3\u17dd]*")
# Decimal digits of other scripts (Arabic-Indic, Persian, Devanagari and the other scripts of
# India, Thai, Lao, Tibetan, Burmese, Khmer, Mongolian, full-width) -> ASCII digits.
_DIGITS = str.maketrans({chr(zero + d): str(d) for zero in (
    0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
    0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0xFF10)
    for d in range(10)})
_HIRAGANA = re.compile(r"[\u3040-\u309f]+")
_SCRIPT_RUN = re.compile(r"[\u3040-\u309f]+|[\u30a0-\u30ff\uff66-\uff9f]+|"
                         r"[^\u3040-\u30ff\uff66-\uff9f]+")  # hiragana, katakana, the rest
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
    "ur": ("", ""), "mr": ("", ""), "hy": ("armenian", ""),
    "zh": ("", "zh"),
}

# ISO 639-1 code -> the language's English name, as Sources and the language filter show it.
NAMES = {"ar": "Arabic", "ca": "Catalan", "cs": "Czech", "da": "Danish", "de": "German",
         "el": "Greek", "en": "English", "es": "Spanish", "fa": "Persian", "fi": "Finnish",
         "fr": "French", "hi": "Hindi", "hu": "Hungarian", "hy": "Armenian", "id": "Indonesian",
         "it": "Italian", "ja": "Japanese", "ko": "Korean", "mr": "Marathi", "nb": "Norwegian",
         "nl": "Dutch", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian",
         "sv": "Swedish", "th": "Thai", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu",
         "zh": "Chinese"}


def language_name(code: str) -> str:
    """'German' for 'de'; the code itself for one without a name here; "" for unknown."""
    return NAMES.get(code, code)


def _stemmer(language: str) -> Any:
    """A stemmer of this thread: PyStemmer's objects must not be shared between threads."""
    if not language:
        return None
    cache = _LOCAL.__dict__.setdefault("stemmers", {})
    if language not in cache:
        import Stemmer

        cache[language] = Stemmer.Stemmer(language)
    return cache[language]


def stop_words(language: str) -> frozenset[str]:
    """bm25s' stop words of a language (ISO 639-1; English's longer list for "" and "en");
    none for a language without a list."""
    if language in ("", "en"):
        return english_function_words()
    return _stopwords(RULES.get(language, ("", ""))[1])


# the languages whose questions `question_language` tells by their function words
_LISTED = ("en", *sorted(code for code, (_, words) in RULES.items() if words))


@functools.lru_cache(maxsize=1)
def english_function_words() -> frozenset[str]:
    """English function words (bm25s' longer list): what tells an English line or question."""
    from bm25s import stopwords

    return frozenset(stopwords.STOPWORDS_EN_PLUS)


_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_ELISION = re.compile(r"['\u2019](?=\w)")  # "l'archive", "d'une", "don't": two words
_PUNCT = ("\"'`()[]{}<>,.;:!?\u00bf\u00a1\u00ab\u00bb\u201c\u201d\u201e\u2018\u2019"
          "\u3001\u3002\u300c\u300d")


def letter_words(text: str) -> list[str]:
    """The words of `text` made of letters alone, lower-cased, the punctuation around them
    and elisions cut off: what tells its language ("IL-6", "Ly6C", `--depth`, paths say
    nothing of it)."""
    return [w.lower() for t in _ELISION.sub(" ", text).split()
            if (w := t.strip(_PUNCT)).isalpha()]


@functools.lru_cache(maxsize=1024)  # the retriever and the answer both ask it of one question
def question_language(question: str) -> str:
    """The language a question is written in, or "" when unsure: Japanese for kana, Korean
    for hangul, Chinese for Han characters alone; else the language with a stop-word list
    whose function words it holds most, at least two and more than any other's (lingua
    misreads phrases this short). Tells the languages of the development set's questions
    with no error, and says "" for about one in ten ("Welchen Port verwendet SMTPS?")."""
    for script, code in ((_KANA, "ja"), (_HANGUL, "ko"), (_HAN, "zh")):
        if script.search(question):
            return code
    words = letter_words(question)
    counts = sorted(((sum(w in stop_words(code) for w in words), code) for code in _LISTED),
                    reverse=True)
    (best, code), (second, _) = counts[0], counts[1]
    return code if best >= 2 and best > second else ""


@functools.lru_cache(maxsize=16)
def _stopwords(name: str) -> frozenset[str]:
    """bm25s' stop-word list for a language code (Settings checks the code); "" for none."""
    if not name:
        return frozenset()
    from bm25s import stopwords

    return frozenset(getattr(stopwords, f"STOPWORDS_{_STOPWORD_LISTS[name]}"))


def ascii_digits(text: str) -> str:
    """The text with the decimal digits of every script written as ASCII digits."""
    return text.translate(_DIGITS)


_UNSPACED = re.compile(rf"[{_CJK}{_SEA}]")


def word_count(text: str) -> int:
    """Words as a reader counts them: those between spaces, and in scripts written without
    spaces (CJK, Thai, Lao, Khmer, Burmese) one more for every two of their characters."""
    return len(text.split()) + len(_UNSPACED.findall(text)) // 2


def split_words(text: str) -> list[str]:
    """Lower-cased words of a text; a run of CJK characters as its overlapping pairs, a run of
    Thai, Lao, Khmer or Burmese as its overlapping pairs of characters with their marks."""
    out: list[str] = []
    for w in _WORD.findall(ascii_digits(text.lower())):
        if len(w) > 1 and _CJK_RUN.match(w):
            # Japanese changes script where a word ends: kanji and katakana runs are read as
            # pairs (a single kanji as itself), hiragana runs are grammar (particles, endings:
            # "は", "ますか") and left out, and no pair spans two scripts ("のコ", "ドは" would
            # match every sentence with a particle before a katakana word). Chinese is one run.
            for run in _SCRIPT_RUN.findall(w):
                if not _HIRAGANA.fullmatch(run):
                    out.extend([run] if len(run) == 1 else
                               [run[i:i + 2] for i in range(len(run) - 1)])
        elif _SEA_RUN.match(w) and len(chars := _CLUSTER.findall(w)) > 1:
            out.extend(chars[i] + chars[i + 1] for i in range(len(chars) - 1))
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
