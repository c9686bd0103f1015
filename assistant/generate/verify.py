"""Generated text + the passages it was given -> an Answer whose every citation is checked.

A generator's [n] markers are claims, not facts. Each sentence of the draft is
checked against the passage(s) it cites: the content words it adds to the
question must be in the passage, and the sentence must be close in meaning
(MiniLM cosine) to the passage sentence that holds those words. That sentence
(or two sentences of the document, when the claim joins facts from both)
becomes the citation's quote, verbatim, with its locator. Every fact the
sentence states (names, numbers, months: facts.py) must be in the quote, and a
negation on one side only fails it; the facts that are not are listed in
`Citation.unsupported`. Sentences that fail are marked "(unverified)" in the
text and their citations carry `verified=False`. Markers that point at
passages that were never given are dropped. A sentence the model left uncited
gets a source only when a given passage supports it by the same test.
Thresholds were tuned on XQuAD dev (bench/tune_verify.py, docs/GENERATION.md);
the fact rules are measured by bench/verify_claims.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..embed import Embedder
from ..ingest.language import language_of
from ..text import facts
from ..text.analyzer import Analyzer, ascii_digits
from ..text.locate import heading_path, locate
from ..text.passages import Sentence, candidate_sentences, make_citation
from ..types import UNVERIFIED, Answer, Citation, Document, Hit, Span, Statement, marker, rendered
from .claims import is_claim, split_claims

# Tuned on XQuAD dev with bench/tune_verify.py; see docs/GENERATION.md.
MIN_SIMILARITY = 0.55  # cosine of the claim to the passage sentence quoted for it
MIN_OVERLAP = 0.8  # share of the claim's new content words found in the passage
CONTEXT = 3  # words either side of a fact that is a clause of its own

_NUMBER = re.compile(r"\d[\d,.]*\d|\d")


@dataclass(frozen=True)
class Support:
    """How well one passage backs one claim, and the passage sentence(s) that back it best."""

    hit: int
    sentences: tuple[Sentence, ...]  # one, or two of one document, in document order
    similarity: float
    overlap: float
    numbers_ok: bool
    missing: tuple[str, ...] = ()  # the claim's facts the quoted sentences do not hold

    @property
    def sentence(self) -> Sentence:
        return self.sentences[0]

    @property
    def verified(self) -> bool:
        return (self.numbers_ok and not self.missing and self.similarity >= MIN_SIMILARITY
                and self.overlap >= MIN_OVERLAP)


def _norm_numbers(text: str) -> set[str]:
    # digits of any script ("١٩٤٧", "१९४७") are the same number as "1947"
    return {m.replace(",", "").rstrip(".") for m in _NUMBER.findall(ascii_digits(text))}


def new_words(claim: str, question: str, analyzer: Analyzer) -> set[str]:
    """The claim's content words (stemmed) that the question does not already hold.

    When the claim adds no word of its own, all its content words count.
    """
    c, q = analyzer.tokenize([claim, question])
    return set(c) - set(q) or set(c)


def numbers_supported(claim: str, passage: str) -> bool:
    """Every number the claim states occurs in the passage."""
    return _norm_numbers(claim) <= _norm_numbers(passage)


class Checker:
    """Scores claims against the passages of one answer; passage sentences are embedded once."""

    def __init__(self, question: str, hits: Sequence[Hit], documents: Mapping[str, Document],
                 embedder: Embedder, analyzer: Analyzer) -> None:
        self.question = question
        self.hits = hits
        self.documents = documents
        self.analyzer = analyzer
        self.sentences = [[replace(s, hit=i) for s in candidate_sentences([h], documents)]
                          or _whole(i, h, documents) for i, h in enumerate(hits)]
        flat = [s.text for group in self.sentences for s in group]
        vecs = embedder.embed(flat) if flat else np.zeros((0, 1), dtype=np.float32)
        words = self.analyzer.tokenize(flat) if flat else []
        self.vectors: list[np.ndarray] = []
        self.words: list[list[set[str]]] = []
        self.evidence: list[list[facts.Evidence]] = []
        i = 0
        for group in self.sentences:
            self.vectors.append(vecs[i:i + len(group)])
            self.words.append([set(w) for w in words[i:i + len(group)]])
            self.evidence.append([facts.evidence(s.text, self.analyzer)
                                  for s in group])
            i += len(group)
        texts = [h.chunk.text for h in hits]
        passages = self.analyzer.tokenize(texts)
        self.passage_words = [set(p) for p in passages]
        self.passage_tokens = self.analyzer.tokenize([facts.fold(t) for t in texts])
        self.common = facts.lowercase_words(texts)
        # A name in the document's title is what its sentences are about ("It was designed by").
        self.titles = [facts.evidence(h.chunk.title, self.analyzer)
                       for h in hits]
        # A second sentence may come from any given passage of the same document.
        self.same_doc = [[i for i, g in enumerate(hits) if g.chunk.doc_id == h.chunk.doc_id]
                         for h in hits]
        self._facts: dict[str, list[facts.Fact]] = {}
        # The name and negation rules read English (capitals after English sentence starters,
        # "not", "never"): in another language's passage (German capitalises every noun,
        # Portuguese "no" is "in the") they step aside; numbers and months are checked in all.
        self.english = [language_of(documents[h.chunk.doc_id], h.chunk.start, h.chunk.end)
                        in ("", "en") for h in hits]

    def claim_facts(self, claim: str) -> list[facts.Fact]:
        """The claim's checkable facts (names, numbers, months), computed once per claim."""
        if claim not in self._facts:
            self._facts[claim] = facts.extract(claim, self.common, self.analyzer)
        return self._facts[claim]

    def support(self, claim: str, vector: np.ndarray, hit: int) -> Support:
        """How passage `hit` (from 0) supports the claim.

        The quote is the passage sentence that holds most of the claim's new
        words and is closest in meaning (share of new words + cosine); the
        claim must be close in meaning to that sentence, not just to any one.
        When that sentence lacks some of the claim's facts or words, a second
        sentence of the same document that holds them joins the quote; each
        fact must then be in the sentence that holds the words of its clause
        (see `_placed`), so that an entity swapped in from elsewhere in the
        passage is not accepted.
        """
        new = new_words(claim, self.question, self.analyzer)
        sims = self.vectors[hit] @ vector
        words, evidence = self.words[hit], self.evidence[hit]
        best, best_score = 0, -np.inf
        for j, w in enumerate(words):
            score = (len(new & w) / len(new) if new else 0.0) + float(sims[j])
            if score > best_score:
                best, best_score = j, score
        stated = [f for f in self.claim_facts(claim) if f.kind != "name" or self.english[hit]]
        titled = [f for f in stated if f.kind == "name" and self._found(f, self.titles[hit], hit)]
        claimed = [f for f in stated if f not in titled]
        missing = [f for f in claimed if not self._found(f, evidence[best], hit)]
        said = facts.negations(claim) if self.english[hit] else ()
        chosen, similarity = [(hit, best)], float(sims[best])
        if missing or new - words[best]:
            pool = [(h, j) for h in self.same_doc[hit] for j in range(len(self.words[h]))
                    if self.sentences[h][j].start != self.sentences[hit][best].start
                    and (not self.english[hit] or len(said) >= len(
                        evidence[best].negations + self.evidence[h][j].negations))]
            gains = [(sum(self._found(f, self.evidence[h][j], hit)
                          and self._placed(claim, f, words[best], self.words[h][j])
                          for f in missing),
                      len((new - words[best]) & self.words[h][j]),
                      float(self.vectors[h][j] @ vector), h, j) for h, j in pool]
            if gains and max(gains)[:2] > (0, 0):
                h, j = max(gains)[3:]
                one, two = (evidence[best], words[best]), (self.evidence[h][j], self.words[h][j])
                # Each fact must be in the sentence that holds the words around it.
                missing = [f for f in claimed if not any(
                    self._found(f, ev, hit) and self._placed(claim, f, other, w)
                    for (ev, w), (_, other) in ((one, two), (two, one)))]
                chosen.append((h, j))
                pair = self.vectors[hit][best] + self.vectors[h][j]
                pair_sim = float(pair @ vector / max(float(np.linalg.norm(pair)), 1e-9))
                similarity = max(similarity, pair_sim)
        chosen.sort(key=lambda x: self.sentences[x[0]][x[1]].start)
        lacking = [f.text for f in missing]
        source = tuple(n for h, j in chosen for n in self.evidence[h][j].negations
                       if self.english[h])
        if len(said) > len(source):  # "not" added (or "no" kept where the source has none)
            lacking.append(f"negation: {said[-1]}")
        elif len(source) > len(said):
            lacking.append(f"the source says: {source[-1]}")
        # Words of facts found are covered: "Sept." is "September" there, "forty-one" is "41".
        covered = set(self.analyzer.tokens(" ".join(f.text for f in claimed + titled
                                                    if f not in missing)))
        passage = set().union(*(self.passage_words[h] for h, _ in chosen)) | covered
        overlap = len(new & passage) / len(new) if new else 0.0
        texts = " ".join(self.hits[h].chunk.text for h in dict.fromkeys(h for h, _ in chosen))
        return Support(hit, tuple(self.sentences[h][j] for h, j in chosen), similarity, overlap,
                       numbers_supported(claim, texts), tuple(dict.fromkeys(lacking)))

    def _found(self, fact: facts.Fact, evidence: facts.Evidence, hit: int) -> bool:
        return facts.found(fact, evidence, self.passage_tokens[hit])

    def _placed(self, claim: str, fact: facts.Fact, first: set[str], second: set[str]) -> bool:
        """A fact taken from `second` (of two sentences) must stand among its words.

        The content words of the claim's clause around the fact (cut at
        punctuation and at "and", "but", "which" ...) must be found at least as
        often in that sentence as in the other: "and is 412 metres long" may
        join a second sentence; "the bridge opened in 412" may not.
        """
        cut = r"[,;:()\u2013\u2014]|\b(?:and|but|while|whereas|which|who|whom)\b"
        clause = re.split(cut, claim[:fact.start])[-1] + " " + re.split(cut, claim[fact.end:])[0]
        around = set(self.analyzer.tokens(clause))
        if not around:  # a clause of its own ("In 1894, ...", a list item): the words next to it
            around = set(self.analyzer.tokens(claim[:fact.start])[-CONTEXT:]
                         + self.analyzer.tokens(claim[fact.end:])[:CONTEXT])
        return not around or len(around & second) >= max(1, len(around & first))

    def citation(self, n: int, support: Support, verified: bool) -> Citation:
        """The citation of a support: its sentence(s) verbatim, each with its own locator."""
        first = support.sentences[0]  # its passage is the citation's
        hit = self.hits[first.hit]
        doc = self.documents[hit.chunk.doc_id]
        c = make_citation(n, hit, doc, first.start, first.end, support.similarity)
        spans: tuple[Span, ...] = ()
        if len(support.sentences) > 1:
            spans = tuple(Span(doc.text[x.start:x.end], x.start, x.end,
                               heading_path=heading_path(doc, x.start),
                               **locate(doc, x.start, x.end))
                          for x in support.sentences)
        return replace(c, verified=verified, spans=spans,
                       unsupported=() if verified else support.missing)


def _whole(i: int, hit: Hit, documents: Mapping[str, Document]) -> list[Sentence]:
    """A passage too short for sentences is quoted whole (its first span)."""
    a, b = hit.chunk.spans[0]
    return [Sentence(i, a, b, documents[hit.chunk.doc_id].text[a:b])]


def verify(
    question: str,
    draft: str,
    hits: Sequence[Hit],
    documents: Mapping[str, Document],
    embedder: Embedder,
    analyzer: Analyzer,
) -> Answer:
    """The draft with markers renumbered to checked citations and unsupported sentences marked."""
    claims = split_claims(draft, len(hits))
    checker = Checker(question, hits, documents, embedder, analyzer)
    checkable = [c for c in claims if is_claim(c, analyzer)]
    vectors = embedder.embed([c.text for c in checkable]) if checkable else None
    vec_of = {id(c): vectors[i] for i, c in enumerate(checkable)} if vectors is not None else {}
    citations: list[Citation] = []
    index: dict[tuple[int, tuple[int, ...], bool, tuple[str, ...]], int] = {}  # one per quote
    said: list[Statement] = []  # each sentence, with the space after it
    dropped: list[int] = []
    lacking: list[str] = []
    unverified = attached = 0
    for claim in claims:
        dropped.extend(claim.dropped)
        if id(claim) not in vec_of:
            said.append(Statement(claim.text, sep=claim.sep))
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
            if not ok and every:  # no source: say which facts no passage holds
                lacking.extend(max(every, key=lambda s: s.similarity).missing)
        marks = []
        for s in used:
            key = (s.sentence.hit, tuple(x.start for x in s.sentences), ok, s.missing)
            if key not in index:
                index[key] = len(citations) + 1
                citations.append(checker.citation(index[key], s, ok))
            marks.append(index[key])
        unverified += not ok
        said.append(Statement(claim.text, tuple(dict.fromkeys(marks)), ok, claim.sep))
    notes = []
    if dropped:
        nums = ", ".join(marker(n) for n in dict.fromkeys(dropped))
        notes.append(f"removed citations to passages that were not given: {nums}")
    if attached:
        notes.append(f"the model cited no passage for {attached} sentence(s); "
                     "a source was attached where a given passage supports it")
    if unverified:
        notes.append(f"{unverified} of {len(checkable)} sentence(s) could not be verified "
                     "against the passages and are marked " + UNVERIFIED)
    if lacking:
        notes.append("not in the passages: " + ", ".join(dict.fromkeys(lacking)))
    # found: the model answered (rather than declined); how well is in the citations.
    return Answer(question=question, text=rendered(said),
                  found=bool(checkable), citations=tuple(citations),
                  hits=tuple(hits), notes=tuple(notes), sentences=tuple(said))
