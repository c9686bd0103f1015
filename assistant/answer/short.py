"""Question + cited quotes -> the short answer: the few words of a quote that answer it.

Rules where the question asks for a type, a fitted ranker where it does not
(no NER model ships offline; figures in docs/EVALUATION.md):

- the question's wording gives the answer type (answertypes.py): who -> a
  name, when -> a date, how many -> a number, "what rank/job ..." -> a role
  phrase (roles.py), which also answers a "who" question whose quotes name
  nobody, ...
- any other question ("what did the review find?", "why ...") is answered by
  the logistic ranker over every span of the quotes (spans.py,
  assistant/models/spans.json), and only when it gives its pick at least the
  model's `min_share` of probability; otherwise none.
- the quote gives candidates of that type (answertypes.candidates).
- a candidate whose words are all in the question is not an answer (it is what
  is asked about); of the rest, the one nearest the question's words in the
  quote wins, the first citation before the others.

The span's offsets point into the document: `doc.text[start:end] == text`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence

import numpy as np

from ..text.analyzer import ENGLISH, Analyzer
from ..text.questions import (
    NAME_NOUNS,
    Candidate,
    answer_type,
    asks_default,
    asks_term,
    candidates,
)
from ..types import Citation, Document, ShortAnswer
from . import fitted
from .spans import SPAN_FEATURES, features, phrases

# Tuned on the even-numbered XQuAD dev articles (bench/tune_short.py, docs/EVALUATION.md).
FIRST_CITATION_BONUS = 60  # characters of distance a later citation's candidate must beat
ASKED_SHARE = 0.5  # a candidate with this share of its words in the question is what is asked about
WINDOW = 40  # characters either side of a candidate where the question's words count ...
WINDOW_WEIGHT = 50.0  # ... each distinct one worth this many characters of distance
SUBJECT_BONUS = 300.0  # "who carried out X?": the first name before "carried" in the quote
COUNTED_BONUS = 30.0  # "how many seconds ...?": a number followed by "seconds"
_COUNTED = re.compile(r"\bhow (?:many|much) ((?:[a-z\-]+ ){0,1}[a-z\-]+)", re.I)
HEAD_BONUS = 300.0  # "which island ...?": a name right after "island (of)" in the quote
_HEAD = re.compile(rf"\b(?:what|which) ((?:{NAME_NOUNS})s?)\b", re.I)
_ASKED_KIND = re.compile(rf"\b(?:what|which) ([a-z]+) (?:{NAME_NOUNS})s?\b", re.I)
_WHO = re.compile(r"\bwho(?:m|se)?\b", re.I)
# a year after a word that dates it ("up to 2013", "in 1998", "since 2004"): a date, never a count
_DATED_YEAR = re.compile(r"\b(?:in|since|until|till|by|before|after|up to|from|during|of|early|"
                         r"late|mid|January|February|March|April|May|June|July|August|"
                         r"September|October|November|December)\s+$")
_YEAR = re.compile(r"1[0-9]{3}|20[0-9]{2}")
_AT_PLACE = re.compile(r"\b(?:in|at|near|across|throughout|inside|within)\s+(?:the\s+)?$")
_SENTENCE_END = re.compile(r"[.!?][\u201d\u2019\")]*\s+")
_WHO_DID = re.compile(r"^\s*who (?!(?:is|was|are|were|did|does|do|has|have|had|will|would|can|could)"
                      r"\b)([a-z]+)", re.I)


def short_answer(question: str, citations: Sequence[Citation],
                 analyzer: Analyzer = ENGLISH, languages: Collection[str] = ()) -> ShortAnswer | None:
    """The span of a cited quote that best answers the question, or None (see the module).

    `languages`: those of the cited documents. The rules read English (names by their
    capitals, dates by English month names, roles by English nouns, the ranker fitted on
    English spans): in quotes of another language only a number is picked, and nothing for
    a question whose type they cannot read.
    """
    if not citations:
        return None
    kind = answer_type(question)
    if set(languages) - {"", "en"} and kind != "number":
        return None
    if kind is None:
        return _fitted_pick(question, citations, analyzer)
    # "who claimed ...?" of quotes that name nobody: the role phrase ("a former police officer")
    kinds = [kind, "role"] if kind == "name" else [kind]
    return next((b for k in kinds
                 if (b := _typed_pick(question, k, citations, analyzer)) is not None), None)


def _typed_pick(question: str, kind: str, citations: Sequence[Citation],
                analyzer: Analyzer) -> ShortAnswer | None:
    qtok = set(analyzer.tokens(question))
    best: tuple[float, ShortAnswer] | None = None
    for rank, c in enumerate(citations):
        for part in c.parts:
            anchors = _anchors(part.quote, qtok, analyzer)
            for (s, e), cost in _costs(question, kind, part.quote, c.chunk.text, rank, qtok,
                                       anchors, analyzer).items():
                if best is None or cost < best[0]:
                    best = (cost, ShortAnswer(part.quote[s:e], part.start + s, part.start + e,
                                              c.n))
    return best[1] if best else None


def _costs(question: str, kind: str, quote: str, context: str, rank: int, qtok: set[str],
           anchors: Mapping[tuple[int, int], str],
           analyzer: Analyzer) -> dict[tuple[int, int], float]:
    """The rules' cost of each candidate of the asked type in one quote: lower is better."""
    cm = _COUNTED.search(question)
    counted = analyzer.tokens(cm.group(1)) if cm else []
    hm = _HEAD.search(question)
    # "which police force ...?": "Merseyside Police" is of the kind asked for, not what is asked
    km = _ASKED_KIND.search(question)
    asked = qtok - set(analyzer.tokens(km.group(1))) if km else qtok
    head = re.escape(hm.group(1)[:-1] if hm and hm.group(1).endswith("s") else
                     hm.group(1)) if hm else ""
    found = candidates(quote, kind, context, analyzer)
    if kind == "place":
        found = _places(quote, found)
    elif kind == "name" and _WHO.search(question):  # "in Rotherham" is where, not who
        found = [x for x in found if not _AT_PLACE.search(quote, max(0, x.start - 12), x.start)]
    found = [x for x in found if not _acronym(quote, x)]
    subject = _subject(question, quote, found, anchors, analyzer)
    out: dict[tuple[int, int], float] = {}
    for cand in found:
        words = set(analyzer.tokens(quote[cand.start:cand.end]))
        if not words or words <= qtok or len(words & asked) >= ASKED_SHARE * len(words):
            continue  # what the question is about, not its answer
        near = {w for (s, e), w in anchors.items()
                if cand.start - WINDOW <= s and e <= cand.end + WINDOW}
        cost = _distance(cand, anchors) - WINDOW_WEIGHT * len(near) + rank * FIRST_CITATION_BONUS
        if counted and _counted_after(quote, cand, counted, analyzer):
            cost -= COUNTED_BONUS  # "how many seconds ...?" -> "17 seconds"
        if subject is not None and cand == subject:
            cost -= SUBJECT_BONUS
        if head and re.search(rf"\b{head}\w*(?: of| called| named)?(?: the)? $",
                              quote[max(0, cand.start - 40):cand.start], re.I):
            cost -= HEAD_BONUS  # "which island ...?" -> "the island of Pharos"
        if kind == "number" and _YEAR.fullmatch(quote[cand.start:cand.end]):
            if _DATED_YEAR.search(quote, max(0, cand.start - 12), cand.start) and \
                    not (counted and _counted_after(quote, cand, counted, analyzer)):
                continue  # "how many ...?" is not answered by "up to 2013"
            cost += FIRST_CITATION_BONUS  # a year is rarely "how many"
        out[(cand.start, cand.end)] = cost
    return out


def span_table(question: str, citations: Sequence[Citation],
               analyzer: Analyzer = ENGLISH) -> tuple[list[ShortAnswer], np.ndarray]:
    """Every candidate span of the cited quotes (spans.py) and its row of SPAN_FEATURES."""
    qtok = set(analyzer.tokens(question))
    stop = analyzer.stop_words
    out: list[ShortAnswer] = []
    rows = []
    for rank, c in enumerate(citations):
        for part in c.parts:
            quote = part.quote
            typed: dict[tuple[int, int], str] = {}
            for k, sk in (("date", "date"), ("number", "number"), ("measure", "number"),
                          ("name", "name")):
                for cand in candidates(quote, k, c.chunk.text, analyzer):
                    if not _acronym(quote, cand):
                        typed.setdefault((cand.start, cand.end), sk)
            found = [(s, e, k) for (s, e), k in typed.items()] + [
                (s, e, "phrase") for s, e in phrases(quote, stop) if (s, e) not in typed]
            # a span must say something the question does not
            found = [x for x in found if set(analyzer.tokens(quote[x[0]:x[1]])) - qtok]
            if found:
                rows.append(features(question, quote, found, rank, qtok,
                                     _anchors(quote, qtok, analyzer), analyzer))
                out += [ShortAnswer(quote[s:e], part.start + s, part.start + e, c.n)
                        for s, e, _k in found]
    return out, np.concatenate(rows) if rows else np.zeros((0, len(SPAN_FEATURES)))


def _fitted_pick(question: str, citations: Sequence[Citation],
                 analyzer: Analyzer) -> ShortAnswer | None:
    """For a question of no asked type: the fitted ranker's pick, when it is confident."""
    spans, rows = span_table(question, citations, analyzer)
    if not spans:
        return None
    model = fitted.load("spans", SPAN_FEATURES)
    z = model.logits(rows)
    best = int(np.argmax(z))
    share = float(1 / np.exp(z - z[best]).sum())  # the model's probability for its pick
    return spans[best] if share >= float(model.settings["min_share"]) else None


def _places(text: str, found: list[Candidate]) -> list[Candidate]:
    """Names written after in/at/from/near ... come first: 'where' asks for a place."""
    near = [c for c in found
            if re.search(r"\b(?:in|at|from|near|to|on|into|across|between|of)\s+(?:the\s+)?$",
                         text[max(0, c.start - 12):c.start])]
    return near or found


def _anchors(text: str, qtok: set[str], analyzer: Analyzer) -> dict[tuple[int, int], str]:
    """Where the question's content words occur in text: span -> the (stemmed) word."""
    out = {}
    for m in re.finditer(r"\w+", text):
        toks = analyzer.tokens(m.group())
        if toks and toks[0] in qtok:
            out[(m.start(), m.end())] = toks[0]
    return out


def _distance(cand: Candidate, anchors: Mapping[tuple[int, int], str]) -> float:
    """Characters between a candidate and the nearest question word outside it."""
    gaps = [cand.start - e if e <= cand.start else s - cand.end
            for s, e in anchors if e <= cand.start or s >= cand.end]
    return float(min(gaps)) if gaps else 1000.0


def _acronym(text: str, cand: Candidate) -> bool:
    """"(CSE)" after "child sexual exploitation": a short form of words nearby, not an answer."""
    word = text[cand.start:cand.end]
    return word.isupper() and text[cand.start - 1:cand.start] == "(" \
        and text[cand.end:cand.end + 1] == ")"


def _subject(question: str, quote: str, found: Sequence[Candidate],
             anchors: Mapping[tuple[int, int], str], analyzer: Analyzer) -> Candidate | None:
    """For "who <verb> ...?": the first name before that verb in its sentence of the quote,
    i.e. its subject (a quote of two sentences: not a name of the one before)."""
    m = _WHO_DID.match(question)
    if not m:
        return None
    verb = analyzer.tokens(m.group(1))
    at = min((s for (s, _e), w in anchors.items() if verb and w == verb[0]), default=None)
    if at is None:
        return None
    opening = max((m.end() for m in _SENTENCE_END.finditer(quote, 0, at)), default=0)
    before = [c for c in found if opening <= c.start and c.end <= at]
    return before[0] if before else None


def _counted_after(text: str, cand: Candidate, counted: Sequence[str],
                   analyzer: Analyzer) -> bool:
    """Whether a word of what is counted follows the number closely ("17 seconds")."""
    after = analyzer.tokens(text[cand.start:cand.end + 25])
    return any(w in after for w in counted)


def holds_answer_type(text: str, kind: str, qtok: Collection[str],
                      analyzer: Analyzer = ENGLISH) -> bool:
    """Whether text holds a candidate of `kind` that the question does not already name
    (answer.py prefers such sentences)."""
    found = candidates(text, kind, analyzer=analyzer) + (
        candidates(text, "role") if kind == "name" else [])
    for cand in found:
        words = set(analyzer.tokens(text[cand.start:cand.end]))
        if words and len(words & set(qtok)) < ASKED_SHARE * len(words):
            return True
    return False


def command_line(question: str, doc: Document, spans: Sequence[tuple[int, int]],
                 analyzer: Analyzer = ENGLISH) -> ShortAnswer | None:
    """The short answer to "how do I ...?" / "which command ...?" when the first quote
    (citation 1, at `spans`) holds a code block: its first line there, unless the question
    names it already or asks for a default."""
    if not asks_term(question) or asks_default(question):
        return None
    for a, b in spans:
        for block in doc.blocks:
            if block.kind != "code" or not (block.start < b and block.end > a):
                continue
            s = max(a, block.start)
            nl = doc.text.find("\n", s, min(b, block.end))
            e = nl if nl >= 0 else min(b, block.end)
            line = doc.text[s:e].strip()
            words = set(analyzer.tokens(line))
            if line and not (words and words <= set(analyzer.tokens(question))):
                s += len(doc.text[s:e]) - len(doc.text[s:e].lstrip())
                return ShortAnswer(line, s, s + len(line), 1)
    return None
