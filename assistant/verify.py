"""Generated text + the passages it was given -> an Answer whose every citation is checked.

A generator's [n] markers are claims, not facts. Each sentence of the draft is
checked against the passage(s) it cites: the content words it adds to the
question must be in the passage, numbers included, and the sentence must be
close in meaning (MiniLM cosine) to the passage sentence that holds those
words. That sentence becomes the citation's quote, verbatim, with its locator.
Sentences that fail are marked "(unverified)" in the text and their citations
carry `verified=False`. Markers that point at passages that were never given
are dropped. A sentence the model left uncited gets a source only when a
given passage supports it.
Thresholds were tuned on XQuAD dev (bench/tune_verify.py, docs/GENERATION.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .answer import Sentence, candidate_sentences, make_citation
from .chunk import sentence_spans
from .config import Settings
from .embed import Embedder
from .retrieve import tokenize
from .types import Answer, Citation, Document, Hit

# Tuned on XQuAD dev with bench/tune_verify.py; see docs/GENERATION.md.
MIN_SIMILARITY = 0.55  # cosine of the claim to the passage sentence quoted for it
MIN_OVERLAP = 0.8  # share of the claim's new content words found in the passage
UNVERIFIED = "(unverified)"

_GROUP = re.compile(r"\s*\[(\d+(?:\s*[,;\u2013-]\s*\d+)*)\]")
_ENUMERATOR = re.compile(r"\(?\d{1,3}[.)]|[-*\u2022]")
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
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


@dataclass(frozen=True)
class Support:
    """How well one passage backs one claim, and the passage sentence that backs it best."""

    hit: int
    sentence: Sentence
    similarity: float
    overlap: float
    numbers_ok: bool

    @property
    def verified(self) -> bool:
        return self.numbers_ok and self.similarity >= MIN_SIMILARITY and self.overlap >= MIN_OVERLAP


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


def is_claim(claim: Claim, settings: Settings) -> bool:
    """False for sentences that assert nothing checkable: refusals and bare fragments."""
    if _REFUSAL.search(claim.text):
        return False
    words = tokenize([claim.text], settings.stemmer, settings.stopwords)[0]
    return any(w.isalpha() for w in words)


def _norm_numbers(text: str) -> set[str]:
    return {m.replace(",", "").rstrip(".") for m in _NUMBER.findall(text)}


def new_words(claim: str, question: str, settings: Settings) -> set[str]:
    """The claim's content words (stemmed) that the question does not already hold.

    When the claim adds no word of its own, all its content words count.
    """
    c, q = tokenize([claim, question], settings.stemmer, settings.stopwords)
    return set(c) - set(q) or set(c)


def numbers_supported(claim: str, passage: str) -> bool:
    """Every number the claim states occurs in the passage."""
    return _norm_numbers(claim) <= _norm_numbers(passage)


class Checker:
    """Scores claims against the passages of one answer; passage sentences are embedded once."""

    def __init__(self, question: str, hits: Sequence[Hit], documents: Mapping[str, Document],
                 embedder: Embedder, settings: Settings) -> None:
        self.question = question
        self.hits = hits
        self.settings = settings
        self.sentences = [candidate_sentences([h], documents) or _whole(h, documents)
                          for h in hits]
        flat = [s.text for group in self.sentences for s in group]
        vecs = embedder.embed(flat) if flat else np.zeros((0, 1), dtype=np.float32)
        words = tokenize(flat, settings.stemmer, settings.stopwords) if flat else []
        self.vectors: list[np.ndarray] = []
        self.words: list[list[set[str]]] = []
        i = 0
        for group in self.sentences:
            self.vectors.append(vecs[i:i + len(group)])
            self.words.append([set(w) for w in words[i:i + len(group)]])
            i += len(group)
        passages = tokenize([h.chunk.text for h in hits], settings.stemmer, settings.stopwords)
        self.passage_words = [set(p) for p in passages]

    def support(self, claim: str, vector: np.ndarray, hit: int) -> Support:
        """How passage `hit` (from 0) supports the claim.

        The quote is the passage sentence that holds most of the claim's new
        words and is closest in meaning (share of new words + cosine); the
        claim must be close in meaning to that sentence, not just to any one.
        """
        new = new_words(claim, self.question, self.settings)
        sims = self.vectors[hit] @ vector
        best, best_score = 0, -np.inf
        for j, words in enumerate(self.words[hit]):
            score = (len(new & words) / len(new) if new else 0.0) + float(sims[j])
            if score > best_score:
                best, best_score = j, score
        overlap = len(new & self.passage_words[hit]) / len(new) if new else 0.0
        return Support(hit, self.sentences[hit][best], float(sims[best]), overlap,
                       numbers_supported(claim, self.hits[hit].chunk.text))


def _whole(hit: Hit, documents: Mapping[str, Document]) -> list[Sentence]:
    """A passage too short for sentences is quoted whole (its first span)."""
    a, b = hit.chunk.spans[0]
    return [Sentence(0, a, b, documents[hit.chunk.doc_id].text[a:b])]


def verify(
    question: str,
    draft: str,
    hits: Sequence[Hit],
    documents: Mapping[str, Document],
    embedder: Embedder,
    settings: Settings,
) -> Answer:
    """The draft with markers renumbered to checked citations and unsupported sentences marked."""
    claims = split_claims(draft, len(hits))
    checker = Checker(question, hits, documents, embedder, settings)
    checkable = [c for c in claims if is_claim(c, settings)]
    vectors = embedder.embed([c.text for c in checkable]) if checkable else None
    vec_of = {id(c): vectors[i] for i, c in enumerate(checkable)} if vectors is not None else {}
    citations: list[Citation] = []
    index: dict[tuple[int, int, int, bool], int] = {}
    parts: list[str] = []
    dropped: list[int] = []
    unverified = attached = 0
    for claim in claims:
        dropped.extend(claim.dropped)
        if id(claim) not in vec_of:
            parts.append(claim.text + claim.sep)
            continue
        vec = vec_of[id(claim)]
        if claim.cited:
            tried = [checker.support(claim.text, vec, n - 1) for n in claim.cited]
            ok = any(s.verified for s in tried)
            used = [s for s in tried if s.verified] if ok else tried
        else:
            every = [checker.support(claim.text, vec, i) for i in range(len(hits))]
            good = sorted((s for s in every if s.verified), key=lambda s: -s.similarity)
            ok = bool(good)
            used = good[:1]
            attached += ok
        marks = []
        for s in used:
            key = (s.hit, s.sentence.start, s.sentence.end, ok)
            if key not in index:
                hit = hits[s.hit]
                c = make_citation(len(citations) + 1, hit, documents[hit.chunk.doc_id],
                                  s.sentence.start, s.sentence.end, s.similarity)
                citations.append(replace(c, verified=ok))
                index[key] = c.n
            marks.append(f"[{index[key]}]")
        text = claim.text + (" " + "".join(dict.fromkeys(marks)) if marks else "")
        if not ok:
            unverified += 1
            text += " " + UNVERIFIED
        parts.append(text + claim.sep)
    notes = []
    if dropped:
        nums = ", ".join(f"[{n}]" for n in dict.fromkeys(dropped))
        notes.append(f"removed citations to passages that were not given: {nums}")
    if attached:
        notes.append(f"the model cited no passage for {attached} sentence(s); "
                     "a source was attached where a given passage supports it")
    if unverified:
        notes.append(f"{unverified} of {len(checkable)} sentence(s) could not be verified "
                     "against the passages and are marked " + UNVERIFIED)
    # found: the model answered (rather than declined); how well is in the citations.
    return Answer(question=question, text="".join(parts).strip(),
                  found=bool(checkable), citations=tuple(citations),
                  hits=tuple(hits), notes=tuple(notes))


def tally(text: str) -> tuple[int, int]:
    """(verified, checked) sentences of an answer's final text.

    A verified sentence ends in markers alone; an unverified one in the
    "(unverified)" mark. Extractive answers quote verbatim, so all of theirs count.
    """
    unverified = text.count(UNVERIFIED)
    verified = len(re.findall(r"(?:\[\d+\])+(?! \(unverified\))(?!\[)", text))
    return verified, verified + unverified
