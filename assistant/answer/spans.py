"""Quote -> every span that could be a short answer, with the features the fitted ranker weighs.

For questions of no asked type (shortanswer.answer_type is None: "what did
the review find?") the rules have no candidates; these are ranked by a fitted
model instead. Candidates are the typed spans of shortanswer.candidates (dates, numbers with
their units, names) and phrases: runs of one to six words inside a clause
(no punctuation between them) that neither start nor end with a stop word
("genetic branches", "declined significantly"). Each gets the features in
SPAN_FEATURES; assistant/models/spans.json (bench/fit_spans.py, fitted on
XQuAD dev with cross-validation by article) weighs them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence

import numpy as np

from ..text.analyzer import Analyzer

SPAN_KINDS = ("date", "number", "name", "phrase")
SPAN_FEATURES = (
    *SPAN_KINDS, "asked", "distance", "near", "words", "one_word", "capital",
    "digit", "citation_rank", "after_question_word", "before_question_word", "after_head",
    "in_parentheses", "position", "left_cut", "right_cut", "anchor_before", "capitals",
)
MAX_WORDS = 6
_TOKEN = re.compile(r"[$\u00a3\u20ac]?\w[\w'\u2019\-]*(?:[.,]\d+)*%?")
_HEAD = re.compile(r"\b(?:what|which) (\w+)", re.I)


def phrases(text: str, stop: Collection[str]) -> list[tuple[int, int]]:
    """(start, end) of runs of 1..MAX_WORDS words within a clause, not opening or closing
    on a stop word."""
    clauses: list[list[re.Match[str]]] = []
    for tok in _TOKEN.finditer(text):
        if clauses and clauses[-1] and not text[clauses[-1][-1].end():tok.start()].strip():
            clauses[-1].append(tok)
        else:
            clauses.append([tok])
    out = []
    for clause in clauses:
        ok = [t.group().lower() not in stop for t in clause]
        for a in range(len(clause)):
            for b in range(a, min(a + MAX_WORDS, len(clause))):
                if ok[a] and ok[b]:
                    out.append((clause[a].start(), clause[b].end()))
    return out


def _cuts(neighbour: re.Match[str] | None, stop: Collection[str]) -> bool:
    """Whether the word next to a span is a content word of the same phrase."""
    return neighbour is not None and neighbour.group(1).isalnum() and \
        neighbour.group(1).lower() not in stop


def features(
    question: str, quote: str, spans: Sequence[tuple[int, int, str]], rank: int,
    qtok: Collection[str],
    anchors: Mapping[tuple[int, int], str], analyzer: Analyzer,
) -> np.ndarray:
    """One row of SPAN_FEATURES per (start, end, span kind) of `quote`."""
    hm = _HEAD.search(question)
    head = analyzer.tokens(hm.group(1)) if hm else []
    q = set(qtok)
    stop = analyzer.stop_words
    rows = []
    for s, e, sk in spans:
        words = set(analyzer.tokens(quote[s:e]))
        near = {w for (a, b), w in anchors.items() if s - 40 <= a and b <= e + 40
                and (b <= s or a >= e)}
        gaps = [s - b if b <= s else a - e for a, b in anchors if b <= s or a >= e]
        before = analyzer.tokens(quote[max(0, s - 30):s])[-2:]
        toks = _TOKEN.findall(quote[s:e])
        n = len(toks)
        left = re.search(r"(\S+) $", quote[max(0, s - 30):s])
        right = re.match(r" ([\w$]\S*)", quote[e:e + 30])
        rows.append([
            *(float(sk == k) for k in SPAN_KINDS),
            len(words & q) / len(words) if words else 1.0,
            math.log(1 + min(gaps, default=1000)), float(len(near)),
            float(n), float(n == 1), float(quote[s:s + 1].isupper()),
            float(any(ch.isdigit() for ch in quote[s:e])), float(rank),
            float(any(b <= s and s - b <= 3 for _a, b in anchors)),
            float(any(a >= e and a - e <= 3 for a, _b in anchors)),
            float(bool(head) and head[0] in before),
            float(quote[:s].count("(") > quote[:s].count(")")),
            s / max(1, len(quote)),
            # a span that cuts a phrase in two ("Amazon [rainforest covers]") is rarely the answer
            float(_cuts(left, stop)), float(_cuts(right, stop)),
            float(bool(gaps) and min(gaps) == min((s - b for _a, b in anchors if b <= s),
                                                  default=-1)),
            sum(t[:1].isupper() for t in toks) / max(1, n),
        ])
    return np.asarray(rows, dtype=np.float64).reshape(len(spans), len(SPAN_FEATURES))
