"""Features of a candidate's answer unit: what a quote of it would say, and in which layout.

The sentence features (ranker.SENTENCE_FEATURES) see a sentence; in a manual the fact is
often in the unit the sentence is quoted with (its term, its table's header row, the command
it introduces). These features look at that unit, the same one `extractive_answer` quotes
(`quote_spans`), and at the block kind the loader kept (Document.blocks). None of them names
a corpus: question-word overlap with the unit and with the part of it outside the sentence,
the layout kind, the unit's length, and a typed match between what the question asks for
("which port" -> a number, "which command" -> a code line, "which file" -> a path, "which
option" -> an option, "default" -> a default stated) and what the unit holds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import numpy as np

from ..text.analyzer import Analyzer
from ..text.passages import Sentence
from ..text.questions import says_default
from ..types import Document, Hit
from .terms import keys_row, term_heading
from .units import Spans, innermost, tail_end, term_start, unit_spans

UNIT_FEATURES = (
    "unit_overlap", "head_overlap", "widened", "log_unit_words",
    "kind_term", "kind_definition", "kind_code", "kind_row", "kind_item", "kind_note",
    "exact_terms", "keyed_row", "asks_technical", "technical_match", "has_layout",
)


def quote_spans(doc: Document, start: int, end: int) -> Spans:
    """The spans a quote of the sentence doc.text[start:end] is made of (before any default
    widening): the layout's unit, else the line rules' term lines and introduced block."""
    spans = unit_spans(doc, start, end) or ((term_start(doc, start), tail_end(doc, end)),)
    if spans[0][0] == start and (head := term_heading(doc, start)) is not None:
        # the section's heading names what it opens on (`pre-push`): quoted above it
        spans = ((head, spans[0][1]), *spans[1:])
    return spans


# what a technical question asks for, and how a unit shows it
_ASKS = (
    ("default", re.compile(r"\bdefaults?\b|\bif (?:i|you) (?:don'?t|do not) (?:give|set|specify|"
                           r"pass)\b|\bunless\b", re.I)),
    ("number", re.compile(r"\b(?:which|what) (?:port|exit (?:status|code)|status|code|value|"
                          r"number|size|limit|length|level|version|precision|priority)\b|"
                          r"\bhow (?:many|much|long|large|big)\b|\bmaximum\b|\bminimum\b", re.I)),
    ("file", re.compile(r"\b(?:which|what) (?:\w+ )?(?:file|directory|folder|path|log)s?\b|"
                        r"\bwhere (?:is|are|does|do)\b", re.I)),
    ("option", re.compile(r"\b(?:which|what) (?:\w+ ){0,3}(?:option|flag|switch|setting|"
                          r"parameter|variable|argument|pragma|directive|keyword)s?\b", re.I)),
    ("command", re.compile(r"\b(?:which|what) (?:\w+ ){0,2}(?:command|function|builtin|"
                           r"statement|key|macro)s?\b|^\s*how (?:do|can|should) (?:i|you)\b",
                           re.I)),
)
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w])")
_PATH = re.compile(r"(?:^|[\s`'\"(])(?:~|\.{0,2})/[\w.+-]+|\b[\w+-]+\.(?:conf|cfg|ini|log|txt|"
                   r"sh|py|json|xml|html?|d|db|rc|list|key|pem|lock|pid|sty|cls|tex|bib)\b|"
                   r"(?:^|\s)\.[a-z][\w.-]+", re.M)
_OPTION = re.compile(r"(?:^|[\s`'\"(\[])--?[A-Za-z][\w-]*|\b[a-z]+_[a-z_]+\b|\b[A-Z][A-Z0-9]*_"
                     r"[A-Z0-9_]+\b", re.M)
# a question token that is a technical term, compared verbatim: `-x`, `--force`, `$?`, `.help`,
# `work_mem`, `PGPORT`, `\section`
_TERM = re.compile(r"^(?:[-$.\\%@^~][^\s]*|[\w]*[_:][\w:]*\w|[A-Z0-9]{2,}|.*[A-Za-z]\d.*)$")


def asks_technical(question: str) -> str | None:
    """What kind of technical fact the question asks for, or None."""
    return next((kind for kind, pattern in _ASKS if pattern.search(question)), None)


def _question_terms(question: str) -> set[str]:
    words = {w.strip("?,;:!\"'()\u201c\u201d`") for w in question.split()}
    return {w.rstrip(".") if not w.startswith(".") else w
            for w in words if len(w) > 1 and _TERM.match(w)}


def _technical_match(kind: str, text: str, question: str, code: bool, headed: bool) -> bool:
    if kind == "default":
        return says_default(text)
    if kind == "number":
        asked = set(_NUMBER.findall(question))
        return any(n not in asked for n in _NUMBER.findall(text))
    if kind == "file":
        return bool(_PATH.search(text))
    if kind == "option":
        return headed or bool(_OPTION.search(text))
    return code or headed  # a command: a code line or a term heading a description


def unit_features(question: str, sents: Sequence[Sentence], hits: Sequence[Hit],
                  documents: Mapping[str, Document], analyzer: Analyzer) -> np.ndarray:
    """One row of UNIT_FEATURES per candidate sentence."""
    q = set(analyzer.tokens(question))
    terms = _question_terms(question)
    kind = asks_technical(question)
    rows = []
    for s in sents:
        doc = documents[hits[s.hit].chunk.doc_id]
        spans = quote_spans(doc, s.start, s.end)
        unit = " ".join(doc.text[a:b] for a, b in spans)
        outside = " ".join(doc.text[a:min(b, s.start)] for a, b in spans if a < s.start) + " " + \
            " ".join(doc.text[max(a, s.end):b] for a, b in spans if b > s.end)
        utok = set(analyzer.tokens(unit))
        otok = set(analyzer.tokens(outside))
        blocks = {k: innermost(doc, s.start, (k,)) for k in
                  ("definition", "code", "row", "item", "note")} if doc.blocks else {}
        definition = blocks.get("definition")
        term = definition is not None and definition.head is not None and \
            s.start < definition.head[1]
        code = blocks.get("code") is not None or any(
            innermost(doc, a, ("code",)) is not None for a, _ in spans) if doc.blocks else False
        headed = (definition is not None and definition.head is not None) or \
            spans[0][0] < s.start and "\n" in doc.text[spans[0][0]:s.start]
        rows.append([
            len(q & utok) / len(q) if q else 0.0,
            len(q & otok) / len(q) if q else 0.0,
            float(spans != ((s.start, s.end),)),
            math.log(1 + len(unit.split())),
            float(term), float(definition is not None), float(blocks.get("code") is not None),
            float(blocks.get("row") is not None), float(blocks.get("item") is not None),
            float(blocks.get("note") is not None),
            sum(t in unit for t in terms) / len(terms) if terms else 0.0,
            float(keys_row(doc, s.start, question)),
            float(kind is not None),
            float(kind is not None and _technical_match(kind, unit, question, code, headed)),
            float(bool(doc.blocks)),  # the loader kept this document's layout
        ])
    return np.asarray(rows, dtype=np.float64).reshape(len(sents), len(UNIT_FEATURES))
