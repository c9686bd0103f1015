"""Question + Hits -> Answer whose every [n] is a Citation with an exact quote.

The default answer is extractive: the sentences of the retrieved passages that
best answer the question, verbatim, each followed by its marker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..embed import Embedder
from ..embed.sentences import Lookup
from ..ingest.language import language_of, quote_language
from ..text.analyzer import Analyzer
from ..text.passages import Sentence, cite_spans
from ..text.questions import answer_type, asks_default, asks_term, says_default
from ..types import QUOTE_GAP, Answer, Citation, Document, Hit, ShortAnswer, Statement, rendered
from .ranker import featurize, rank_sentences, sentence_model
from .short import command_line, short_answer
from .terms import keys_term
from .typed import asked, technical_answer
from .unitfeatures import quote_spans
from .units import TABLE, default_end, innermost, pointed_layout, titles, union

NOT_FOUND = "I could not find anything about this in the indexed documents."

# Relevance (the abstention test) = cosine similarity + OVERLAP_WEIGHT * share of the question's
# content words (docs/EVALUATION.md). Sentences are ranked by a logistic model over
# SENTENCE_FEATURES (ranker.py) fitted on XQuAD dev with cross-validation by article
# (bench/fit_sentences.py -> assistant/answer/models/sentences.json); a second sentence is quoted
# when its logit is within the model's `second_margin` of the best and it is relevant enough.
# how far (in logits) below the best a sentence of the asked type may be and still be quoted
# first when the best holds nothing of that type (docs/EVALUATION.md)
TYPED_MARGIN = 3.0
# how far below the best a table row keyed by a term of the question ("what does the trust code
# q mean?" -> the row "q | not enough information ...") may be and still be quoted first
KEY_MARGIN = 6.0
# how far below the best a row or item of the table or list the best sentence points at ("as
# shown in Table 73.1", "the following variables ...") may be and still be quoted with it
POINTED_MARGIN = KEY_MARGIN


@dataclass(frozen=True)
class Choice:
    """What an extractive answer may quote (ASSISTANT_ANSWER_SENTENCES, ASSISTANT_MIN_RELEVANCE):
    at most `sentences` sentences, and nothing when the best one's relevance is under
    `min_relevance`."""

    sentences: int
    min_relevance: float
    # the question's language (text.analyzer.question_language; "" unsure) and how much less
    # relevance a sentence in another language needs (the model's `cross_language_relief`)
    language: str = ""
    relief: float = 0.0

    def floor(self, doc: Document, s: Sentence) -> float:
        """The relevance sentence `s` of `doc` needs to be quoted."""
        other = self.language and language_of(doc, s.start, s.end) not in ("", self.language)
        return self.min_relevance - self.relief * bool(other)


def overlap(query_tokens: Sequence[str], text: str, analyzer: Analyzer) -> float:
    """Share of the question's distinct content words (stemmed) found in text."""
    q = set(query_tokens)
    if not q:
        return 0.0
    t = set(analyzer.tokens(text))
    return len(q & t) / len(q)


def is_relevant(hits: Sequence[Hit], best: Sentence | None, min_relevance: float) -> bool:
    """False when nothing retrieved is close enough to the question to cite."""
    if not hits or best is None:
        return False
    # The best sentence's similarity plus word overlap separates answerable from
    # unanswerable questions better than either alone, or than passage similarity,
    # which long passages dilute (ROC AUC 0.995 vs 0.985 and 0.981 on XQuAD dev).
    return best.relevance >= min_relevance


def _with_unit_overlap(question: str, s: Sentence, hits: Sequence[Hit],
                       documents: Mapping[str, Document], analyzer: Analyzer) -> Sentence:
    """`s` with its overlap counted on the unit it is quoted as, where the loader kept a layout:
    a table row shares the question's words through its header row ("1 | SIGHUP | ..." under
    "valor de la señal | nombre de la señal" for "¿Qué número de señal es SIGHUP?"), a
    description through its term. Only the abstention test reads it."""
    doc = documents[hits[s.hit].chunk.doc_id]
    if not doc.blocks:
        return s
    spans = quote_spans(doc, s.start, s.end)
    if spans == ((s.start, s.end),):
        return s
    unit = " ".join(doc.text[a:b] for a, b in spans)
    return replace(s, overlap=max(s.overlap, overlap(analyzer.tokens(question), unit, analyzer)))


def extractive_answer(
    question: str,
    hits: Sequence[Hit],
    documents: Mapping[str, Document],
    embedder: Embedder,
    analyzer: Analyzer,
    choice: Choice,
    query_vector: np.ndarray | None = None,
    lookup: Lookup | None = None,
    avoid: Sequence[str] = (),
) -> Answer:
    """The best sentences, verbatim, each followed by [n]; or a plain 'not found'.

    A sentence found in `avoid` (a follow-up's earlier answers) is quoted again only when
    nothing else answers nearly as well: its score must beat every other sentence's by the
    second-sentence margin. It is never added as a second sentence. Sentences of the
    documents those earlier quotes came from are preferred by the same margin.
    """
    ranked = rank_sentences(*featurize(question, hits, documents, embedder, analyzer,
                                       query_vector, lookup))
    # a table's header row or caption titles its rows: quoted with a row, never alone
    ranked = [s for s in ranked if not titles(documents[hits[s.hit].chunk.doc_id], s.start)]
    if ranked:
        ranked[0] = _with_unit_overlap(question, ranked[0], hits, documents, analyzer)
    if not ranked or not is_relevant(hits, ranked[0], choice.floor(
            documents[hits[ranked[0].hit].chunk.doc_id], ranked[0])):
        return Answer(question=question, text=NOT_FOUND, found=False, hits=tuple(hits))
    margin = float(sentence_model().settings["second_margin"])
    given = [" ".join(a.split()) for a in avoid]
    repeated = {id(s) for s in ranked if any(" ".join(s.text.split()) in a for a in given)}
    if repeated:
        # a follow-up stays with the documents the conversation has quoted
        talked = {hits[s.hit].chunk.doc_id for s in ranked if id(s) in repeated}
        ranked.sort(key=lambda s: -(s.score - margin * (id(s) in repeated)
                                    - margin * (hits[s.hit].chunk.doc_id not in talked)))
    best = ranked[0]
    chosen = [best]
    keyed = [s for s in ranked[1:] if id(s) not in repeated and s.score >= best.score - KEY_MARGIN
             and keys_term(documents[hits[s.hit].chunk.doc_id], s.start, question)]
    if (typed := (keyed[0] if keyed and not keys_term(
            documents[hits[best.hit].chunk.doc_id], best.start, question) else None)
            or _typed_instead(question, ranked, repeated)
            or _technical_instead(question, ranked, repeated, hits, documents)
            or _default_instead(question, ranked, repeated)) is not None:
        # it says it; the best follows, unless the conversation has quoted it already
        chosen = [typed, best][:1 if id(best) in repeated else max(1, choice.sentences)]
    if chosen == [best] and choice.sentences > 1 and \
            (row := _pointed(ranked, repeated, hits, documents)) is not None:
        chosen.append(row)  # what the best sentence introduces, instead of another sentence
    for s in ranked[1:]:
        if len(chosen) >= choice.sentences:
            break
        if s.score >= best.score - margin and \
                s.relevance >= choice.floor(documents[hits[s.hit].chunk.doc_id], s) and \
                id(s) not in repeated and " ".join(s.text.split()) != " ".join(best.text.split()):
            chosen.append(s)
    term: ShortAnswer | None = None  # the term line a first quote was widened to
    merged = _merge_adjacent(chosen, hits, documents)
    # a question about a default whose first quote states none: that quote runs on to where
    # its description states it
    wants_default = asks_default(question) and not says_default(merged[0].text)
    quotes: list[tuple[Sentence, tuple[tuple[int, int], ...]]] = []  # each with its spans
    for i, s in enumerate(merged):
        doc = documents[hits[s.hit].chunk.doc_id]
        # the unit the layout gives (a row with its header, a description with its term, a
        # command with the sentence that introduces it); else, by the line rules, a
        # description with the term lines above it, an open sentence with the block after it
        spans = list(quote_spans(doc, s.start, s.end))
        if wants_default and i == 0:
            spans[-1] = (spans[-1][0], default_end(doc, spans[-1][1]))
        if i == 0 and spans[0][0] < s.start and innermost(doc, s.start, TABLE) is None:
            # a row's quote opens with its table's header row: a header is never the answer
            term = _term_line(question, doc.text, spans[0][0], 1, analyzer)
        # two sentences widened into one unit (a command and its introduction) are one quote
        for j, (t, earlier) in enumerate(quotes):
            if hits[t.hit].chunk.doc_id == doc.doc_id and \
                    (joined := union(doc.text, earlier, tuple(spans))) is not None:
                quotes[j] = (t, joined)
                break
        else:
            quotes.append((s, tuple(spans)))
    citations: list[Citation] = []
    said: list[Statement] = []  # verbatim quotes: verified by construction
    for n, (s, parts) in enumerate(quotes, 1):
        doc = documents[hits[s.hit].chunk.doc_id]
        citations.append(cite_spans(n, hits[s.hit], doc, parts, s.similarity))
        said.append(Statement(QUOTE_GAP.join(doc.text[a:b] for a, b in parts), (n,), True))
    if term is not None and not any(a <= term.start < b for a, b in quotes[0][1]):
        term = None  # the first quote was joined to one that no longer starts at its term
    first = documents[hits[quotes[0][0].hit].chunk.doc_id]
    term = term or command_line(question, first, quotes[0][1], analyzer) or \
        technical_answer(question, first, quotes[0][1])
    return Answer(question=question, text=rendered(said), found=True,
                  citations=tuple(citations), hits=tuple(hits), sentences=tuple(said),
                  short_answer=term or short_answer(
                      question, citations, analyzer,
                      {quote_language(documents[c.chunk.doc_id], c) for c in citations}))


def _term_line(question: str, text: str, start: int, n: int,
               analyzer: Analyzer) -> ShortAnswer | None:
    """The short answer to "which option ...?" / "how do I ...?" when the first quote opens
    with term lines: its first line (`--aggressive`), unless the question names it already
    (then the answer is in the description) or asks for a default."""
    if not asks_term(question) or asks_default(question):
        return None
    nl = text.find("\n", start)
    line = text[start:nl].strip() if nl >= 0 else ""
    words = set(analyzer.tokens(line))
    if not line or (words and words <= set(analyzer.tokens(question))):
        return None
    return ShortAnswer(line, start, start + len(line), n)


def _pointed(ranked: Sequence[Sentence], repeated: set[int], hits: Sequence[Hit],
             documents: Mapping[str, Document]) -> Sentence | None:
    """When the best sentence introduces a table or a list ("The PGDATA directory contains
    several subdirectories and control files, as shown in Table 73.1."), the row or item of it
    that matches the question best, within POINTED_MARGIN of the best: the introduction says where the fact
    is, the row states it."""
    best = ranked[0]
    doc = documents[hits[best.hit].chunk.doc_id]
    span = pointed_layout(doc, best.start, best.end)
    if span is None:
        return None
    inside = [s for s in ranked[1:] if id(s) not in repeated and s.score >= best.score - POINTED_MARGIN
              and hits[s.hit].chunk.doc_id == doc.doc_id and span[0] <= s.start < span[1]]
    # rows are short and alike: the one that shares the question's words beats the one the
    # ranker, fitted on prose, prefers ("pg_wal | Subdirectory containing WAL files")
    return max(inside, key=lambda s: s.relevance) if inside else None


def _typed_instead(question: str, ranked: Sequence[Sentence],
                   repeated: set[int]) -> Sentence | None:
    """When the best sentence holds nothing of the asked type ("what rank ...?" of the sentence
    that introduces the person), the next one that does and names every person of the
    question, within TYPED_MARGIN of the best. Naming the question's people stands in for the
    relevance a second sentence needs: "Mr Ashley, a former chief superintendent, ..." shares
    few words with "What rank did Steve Ashley hold in the police?"."""
    if ranked[0].typed or answer_type(question) is None:
        return None
    return _next_holding(ranked, repeated, lambda s: s.typed and s.named == 1.0)


def _next_holding(ranked: Sequence[Sentence], repeated: set[int],
                  holds: Callable[[Sentence], bool]) -> Sentence | None:
    """The first sentence after the best, within TYPED_MARGIN of it and not quoted earlier in
    the conversation, that `holds` (tested last: it may be the costly part)."""
    return next((s for s in ranked[1:] if id(s) not in repeated
                 and s.score >= ranked[0].score - TYPED_MARGIN and holds(s)), None)


def _technical_instead(question: str, ranked: Sequence[Sentence], repeated: set[int],
                       hits: Sequence[Hit], documents: Mapping[str, Document]) -> Sentence | None:
    """A question that asks for a port, file or option whose best sentence's quote names none
    the question does not: the next whose quote does, within TYPED_MARGIN of the best."""
    if asked(question) is None:
        return None

    def names(s: Sentence) -> bool:
        doc = documents[hits[s.hit].chunk.doc_id]
        return technical_answer(question, doc, quote_spans(doc, s.start, s.end)) is not None

    return None if names(ranked[0]) else _next_holding(ranked, repeated, names)


def _default_instead(question: str, ranked: Sequence[Sentence],
                     repeated: set[int]) -> Sentence | None:
    """A question about a default ("Which shutdown mode does pg_ctl use if I don't give
    one?") whose best sentence states none: the next that does, within TYPED_MARGIN of the
    best ("fast is the default", two sentences further in the same description)."""
    if not asks_default(question) or says_default(ranked[0].text):
        return None
    return _next_holding(ranked, repeated, lambda s: says_default(s.text))


def _merge_adjacent(
    chosen: Sequence[Sentence], hits: Sequence[Hit], documents: Mapping[str, Document]
) -> list[Sentence]:
    """Sentences in document order when they come from one passage; neighbours become one quote."""
    chosen = sorted(chosen, key=lambda s: (s.hit, s.start)) if len({s.hit for s in chosen}) == 1 \
        else list(chosen)
    out: list[Sentence] = []
    for s in chosen:
        prev = out[-1] if out else None
        if prev is not None and hits[prev.hit].chunk.doc_id == hits[s.hit].chunk.doc_id:
            text = documents[hits[s.hit].chunk.doc_id].text
            if prev.end <= s.start and not text[prev.end:s.start].strip():
                out[-1] = Sentence(prev.hit, prev.start, s.end, text[prev.start:s.end],
                                   max(prev.score, s.score), max(prev.similarity, s.similarity),
                                   max(prev.overlap, s.overlap))
                continue
        out.append(s)
    return out
