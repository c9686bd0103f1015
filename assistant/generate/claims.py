"""A generated draft -> its sentences (claims), each with the passage numbers it cites.

Markers come in many styles: "[2]", "[1, 3]", "[1-2]", and ". [2]" after the
full stop; a marker that opens a sentence belongs to the one before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..text.analyzer import Analyzer
from ..text.sentences import sentence_spans

_GROUP = re.compile(r"\s*\[(\d+(?:\s*[,;\u2013-]\s*\d+)*)\]")
_ENUMERATOR = re.compile(r"\(?\d{1,3}[.)]|[-*\u2022]")
_REFUSAL = re.compile(  # "I could not find this", "the passages do not mention it"
    r"\b(I|we)\s+(could not|couldn't|cannot|can't|can not|am unable to|are unable to|do not|"
    r"don't)\s+(find|know|say|answer|tell)"
    r"|\b(passages?|documents?|texts?|context|sources?)\s+(do|does)\s*(not|n't)\s+"
    r"(contain|mention|say|provide|include|state)"
    r"|\bnot (mentioned|stated|found|provided|given) in the (passages?|documents?|texts?|context)",
    re.I)


@dataclass(frozen=True)
class Claim:
    """One sentence of the draft: its text without markers and the passages it cites."""

    text: str
    cited: tuple[int, ...]  # passage numbers from 1, only those that were given
    dropped: tuple[int, ...]  # numbers that pointed at no given passage
    sep: str = ""  # the whitespace that followed the sentence in the draft


def _numbers(group: str) -> list[int]:
    parts = [int(x) for x in re.findall(r"\d+", group)]
    if len(parts) == 2 and re.search(r"[\u2013-]", group) and 0 < parts[1] - parts[0] <= 10:
        return list(range(parts[0], parts[1] + 1))  # "[1-3]"
    return parts


def split_claims(text: str, given: int) -> list[Claim]:
    """Sentences of the draft with their markers; a marker that opens a sentence belongs to the one before."""
    spans: list[tuple[int, int]] = []
    for para in re.finditer(r"\S(?:.*?\S)?(?=\s*\n\s*\n|\s*$)", text, re.S):
        spans.extend(sentence_spans(text, para.start(), para.end()))
    raw: list[tuple[str, list[int], str]] = []
    for i, (a, b) in enumerate(spans):
        sent = text[a:b]
        sep = text[b:spans[i + 1][0]] if i + 1 < len(spans) else ""
        lead = re.match(r"(?:\s*\[\d+(?:\s*[,;\u2013-]\s*\d+)*\])+", sent)
        if lead and raw and not raw[-1][1]:
            prev_text, _, prev_sep = raw[-1]
            raw[-1] = (prev_text, [n for g in _GROUP.findall(lead.group()) for n in _numbers(g)],
                       prev_sep)
            sent = sent[lead.end():].lstrip()
            if not sent:
                raw[-1] = (raw[-1][0], raw[-1][1], sep)
                continue
        nums = [n for g in _GROUP.findall(sent) for n in _numbers(g)]
        if raw and _ENUMERATOR.fullmatch(raw[-1][0]) and not raw[-1][1]:
            sent = raw.pop()[0] + " " + sent  # "1." and its item are one sentence
        raw.append((sent, nums, sep))
    out = []
    for sent, nums, sep in raw:
        clean = _GROUP.sub("", sent)
        clean = re.sub(r"\s+([.,;:!?])", r"\1", clean).strip()
        uniq = list(dict.fromkeys(nums))
        out.append(Claim(clean, tuple(n for n in uniq if 1 <= n <= given),
                         tuple(n for n in uniq if not 1 <= n <= given), sep))
    return out


def is_claim(claim: Claim, analyzer: Analyzer) -> bool:
    """False for sentences that assert nothing checkable: refusals and bare fragments."""
    if _REFUSAL.search(claim.text):
        return False
    words = analyzer.tokens(claim.text)
    return any(w.isalpha() for w in words)
