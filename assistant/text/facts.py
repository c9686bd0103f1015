"""Sentence -> the facts it states that a source must hold: names, numbers, months, negation.

Rules, not a model: no NER model ships offline, and these few cover what a
generator gets wrong most (a swapped person, organisation, place, number,
amount, percentage, year or month). Facts are compared in normalised form:

- names: runs of capitalised words ("Independent Review Commission", "Bank of
  England"), titles (Mr, Dr) and a sentence's first word dropped when it is a
  common word; matched word by word with the Analyzer (stemmed, any
  case, so "ROTHERHAM's" matches "Rotherham"). A name is also found when the
  source holds its last word and the full name occurs in the same passage
  ("Mr Ashley" supports "Steve Ashley" where the passage names Steve Ashley).
- numbers: digits and number words as values: "forty-one" = 41, "1,200" =
  1200, "3.5 million" = 3500000, "41%" = 41, "£30" = 30, "21st" = 21.
  "one" alone is not a fact ("one of the reviews"); "1" is.
- months: names and abbreviations ("Sept." = September), capitalised only
  ("may" is a verb).
- negation: "not", "no", "never", "n't" ... more often on one side than the other.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from .analyzer import ENGLISH, MARKS, Analyzer

MONTHS = ("january february march april may june july august september october november "
          "december").split()
_MONTH_ABBREV = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
                 "sept": 9, "oct": 10, "nov": 11, "dec": 12}
_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
          "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_ORDINALS = ("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
             "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth").split()
_WORD_VALUE = {w: i for i, w in enumerate(_UNITS)}
_WORD_VALUE.update({w: 20 + 10 * i for i, w in enumerate(_TENS)})
_WORD_VALUE.update({w: i + 1 for i, w in enumerate(_ORDINALS)})
_WORD_VALUE.update({w[:-1] + "ieth": 20 + 10 * i for i, w in enumerate(_TENS)})  # twentieth
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000,
           "trillion": 1_000_000_000_000, "hundredth": 100, "thousandth": 1_000}
# Digits of any script (\d: "١٢٣", "१९४७"), with Arabic's thousands and decimal separators ٬ ٫.
_DIGITS = re.compile(r"(?<![\d.,\u066b\u066c])(\d{1,3}(?:[,\u066c]\d{3})+|\d+)([.\u066b]\d+)?"
                     r"(?:\s*(thousand|million|billion|"
                     r"trillion)\b)?")
_WORD = re.compile(r"(?<![\w'\u2019])[^\W\d_][\w'\u2019]*(?:-[^\W\d_][\w'\u2019]*)*")
_TITLES = frozenset("mr mrs ms miss dr prof sir dame lord lady rev st".split())
_CONNECT = frozenset("of the de da di del della du la le von van der den des y and for".split())
# Capitalised only because they open a sentence or a clause.
_STARTERS = frozenset(
    "a an the this that these those it its he she they we you i his her their our my your "
    "in on at by for from with to of as after before during since when while where if "
    "although though however according also both but and or so then there here yes no "
    "not all some many most each every one another other such what which who whom whose how "
    "why today yesterday first second finally overall instead meanwhile thus therefore".split())
_NEGATION = re.compile(r"\b(?:not|no|never|none|nobody|nothing|neither|nor|cannot)\b|n[\u2019']t\b",
                       re.I)


@dataclass(frozen=True)
class Fact:
    """One checkable fact of a sentence, as written there, with where it is."""

    kind: str  # name | number | month
    text: str
    start: int
    end: int
    words: tuple[str, ...] = ()  # name: its words as the Analyzer gives them
    value: float = 0.0  # number: its value; month: 1-12
    unit: str = ""  # number: the word after it, stemmed ("second" in "17 seconds")


@dataclass(frozen=True)
class Evidence:
    """What a piece of source text can support: its words, number values and months."""

    tokens: tuple[str, ...]  # its words as the Analyzer gives them, in order
    runs: tuple[tuple[str, ...], ...]  # the words of each name it holds
    numbers: frozenset[tuple[float, str]]  # (value, unit), with and without a scale word
    months: frozenset[int]
    negations: tuple[str, ...]  # every negation word, in order

    @property
    def words(self) -> frozenset[str]:
        return frozenset(self.tokens)


def fold(text: str) -> str:
    """Accents dropped ("Zürich" = "Zurich"), so that spelling variants match."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def numbers(text: str) -> list[tuple[float, int, int]]:
    """(value, start, end) of every number written in digits or words."""
    out = []
    for m in _DIGITS.finditer(text):
        value = _value(m.group(1), m.group(2))
        out.append((value * _SCALES.get(m.group(3) or "", 1), m.start(), m.end()))
    taken = {i for _, s, e in out for i in range(s, e)}  # "3 million": its word is taken
    run: list[tuple[str, int, int]] = []
    words: list[re.Match[str] | None] = [*_WORD.finditer(text), None]
    for wm in words:
        parts = wm.group().lower().split("-") if wm and wm.start() not in taken else []
        lead = next((i for i, p in enumerate(parts) if p not in _WORD_VALUE and p not in _SCALES),
                    len(parts))
        if wm and parts and lead == len(parts):
            run.append((wm.group().lower(), wm.start(), wm.end()))
            continue
        if wm and run and wm.group().lower() == "and" and text[wm.end():wm.end() + 1] == " ":
            nxt = _WORD.match(text, wm.end() + 1)
            if nxt and all(p in _WORD_VALUE for p in nxt.group().lower().split("-")):
                continue  # "two hundred and fifty"
        if lead and not run and wm:  # "three-time", "five-day"
            run = [("-".join(parts[:lead]), wm.start(), wm.start() + len("-".join(parts[:lead])))]
        if run and not (len(run) == 1 and run[0][0] == "one"):
            out.append((_word_value([w for w, _, _ in run]), run[0][1], run[-1][2]))
        run = []
    return out


def _value(whole: str, fraction: str | None) -> float:
    """The value of digits (of any script) with their thousands separators and fraction."""
    return float(re.sub("[,\u066c]", "", whole) + (fraction or "").replace("\u066b", "."))


def unit(text: str, end: int, analyzer: Analyzer = ENGLISH) -> str:
    """The word right after a number ("17 seconds", "2-point", "41%"), stemmed; "" if none."""
    # the word with its combining marks ("5 किलोमीटर", not "5 क")
    m = re.match(rf"\s?(%|per ?cent\b)|[ \-]((?:[^\W\d_]|[{MARKS}])+)", text[end:])
    if not m:
        return ""
    if m.group(1):
        return "%"
    toks = analyzer.tokens(fold(m.group(2)))
    return toks[0] if toks and m.group(2).lower() not in _SCALES else ""


def _word_value(words: Sequence[str]) -> float:
    total = current = 0
    for part in (p for w in words for p in w.split("-")):
        if part in _SCALES:
            current = max(current, 1) * _SCALES[part]
            if _SCALES[part] >= 1000:
                total, current = total + current, 0
        else:
            current += _WORD_VALUE[part]
    return float(total + current)


def months(text: str) -> list[tuple[int, int, int]]:
    """(month 1-12, start, end) of every capitalised month name or abbreviation."""
    out = []
    for m in re.finditer(r"\b([A-Z][a-z]{2,8})\b\.?", text):
        w = m.group(1).lower()
        month = MONTHS.index(w) + 1 if w in MONTHS else _MONTH_ABBREV.get(w)
        if month and not (w == "may" and _initial(text, m.start())):
            end = m.end() if w in _MONTH_ABBREV else m.end(1)  # "Sept." with its stop
            out.append((month, m.start(), end))
    return out


def _initial(text: str, at: int) -> bool:
    """True when `at` opens a sentence or a clause (after . ! ? : ; a quote or a bracket)."""
    before = text[:at].rstrip(" \t\"'\u201c\u2018([")
    return not before or before[-1] in ".!?:;\n\u2022" or bool(re.search(r"\n\s*$", text[:at]))


def names(text: str, common: Collection[str], analyzer: Analyzer) -> list[Fact]:
    """Runs of capitalised words: people, organisations, places, titles of things.

    `common`: lower-case words seen in lower case nearby; a run's first word
    that opens a sentence and is one of them is an ordinary word ("Praise for").
    """
    words = list(_WORD.finditer(text))
    month_at = {s for _, s, _ in months(text)}

    def capital(m: re.Match[str]) -> bool:
        w = m.group()
        return (w[0].isupper() and m.start() not in month_at and w != "I"
                and not all(p in _WORD_VALUE or p in _SCALES for p in w.lower().split("-")))

    runs: list[list[re.Match[str]]] = []
    cur: list[re.Match[str]] = []
    for i, m in enumerate(words):
        next_to = bool(cur) and text[cur[-1].end():m.start()] == " "
        nxt = words[i + 1] if i + 1 < len(words) else None
        if capital(m) and next_to:
            cur.append(m)
        elif capital(m):
            runs.append(cur)
            cur = [m]
        elif (next_to and m.group().lower() in _CONNECT and nxt is not None and capital(nxt)
              and text[m.end():nxt.start()] == " "):
            cur.append(m)
        else:
            runs.append(cur)
            cur = []
    runs.append(cur)
    out = []
    for run in (r for r in runs if r):
        first = run[0].group().lower()
        if _initial(text, run[0].start()) and (first in _STARTERS or first in common):
            run = run[1:]
        while run and (run[0].group().lower().rstrip(".") in _TITLES | _CONNECT):
            run = run[1:]
        while run and run[-1].group().lower() in _CONNECT:
            run = run[:-1]
        if not run:
            continue
        start, end = run[0].start(), run[-1].end()
        name = re.sub(r"['\u2019]s?$", "", text[start:end])
        toks = analyzer.tokens(fold(name))
        if toks:
            out.append(Fact("name", name, start, start + len(name), tuple(toks)))
    return out


def extract(text: str, common: Collection[str], analyzer: Analyzer = ENGLISH) -> list[Fact]:
    """Every checkable fact of one sentence, in order."""
    facts = names(text, common, analyzer)
    facts += [Fact("number", text[s:e], s, e, value=v, unit=unit(text, e, analyzer))
              for v, s, e in numbers(text)]
    facts += [Fact("month", text[s:e], s, e, value=float(v)) for v, s, e in months(text)]
    return sorted(facts, key=lambda f: f.start)


def evidence(text: str, analyzer: Analyzer = ENGLISH) -> Evidence:
    """The words, names, numbers (with and without their scale) and months of source text."""
    values = {(v, unit(text, e, analyzer)) for v, s, e in numbers(text)}
    for m in _DIGITS.finditer(text):
        if m.group(3):  # "3.5 million" also supports "3.5" (with the unit after the digits)
            base = _value(m.group(1), m.group(2))
            values.add((base, unit(text, m.end(1) + len(m.group(2) or ""), analyzer)))
    return Evidence(tuple(analyzer.tokens(fold(text))),
                    tuple(f.words for f in names(text, (), analyzer)),
                    frozenset(values), frozenset(v for v, _, _ in months(text)), negations(text))


def _within(words: Sequence[str], tokens: Sequence[str]) -> bool:
    n = len(words)
    return any(tuple(tokens[i:i + n]) == tuple(words) for i in range(len(tokens) - n + 1))


def found(fact: Fact, support: Evidence, passage: Sequence[str] = ()) -> bool:
    """Whether the support holds the fact; `passage` (its tokens) lets a surname stand for a name.

    A number must come with the same unit where both name one ("2-point" is
    not "two seconds"). A name must be inside one of the support's names
    ("Steve Ashley" in "Mr Steve Ashley"), or written out in its words, or be
    the full form, given in the passage, of a name the support shortens
    ("Steve Ashley" for "Mr Ashley"); "Wojciech Bogusławski Theatre" is not
    found in "the Summer Theatre".
    """
    if fact.kind == "number":
        return any(v == fact.value and (not u or not fact.unit or u == fact.unit)
                   for v, u in support.numbers)
    if fact.kind == "month":
        return int(fact.value) in support.months
    words = set(fact.words)
    if any(words <= set(r) for r in support.runs) or _within(fact.words, support.tokens):
        return True
    return any(r[-1] == fact.words[-1] and set(r) <= words for r in support.runs) and \
        _within(fact.words, passage)


def negations(text: str) -> tuple[str, ...]:
    """Every negation word of a text ("not", "never", "n't"), in order."""
    return tuple(m.group().lower() for m in _NEGATION.finditer(text))


def lowercase_words(texts: Sequence[str]) -> frozenset[str]:
    """Words written in lower case somewhere in texts (so not names there)."""
    return frozenset(w for t in texts for w in re.findall(r"\b[a-z][a-z'\-]*\b", t))
