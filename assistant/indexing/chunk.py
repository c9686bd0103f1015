"""Document -> Chunks with exact character spans, sized in the model's own tokens (pure)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..embed import Embedder
from ..text.locate import heading_path, locate
from ..text.sentences import paragraph_spans, sentence_spans
from ..types import Chunk, Document

TokenCounter = Callable[[Sequence[str]], list[int]]
_MAX_WORD = 40  # characters; longer runs without spaces are cut so token counts stay honest
_COUNT_BATCH = 2048  # sentences per tokenizer call
# A text is counted as at least one token per this many characters. A model's tokenizer may
# read a script it has no vocabulary for as one unknown token per run without spaces
# (MiniLM reads a whole Thai paragraph as one [UNK]), which would pack a document into one
# chunk; no text a tokenizer knows has fewer tokens than this (English ~5 characters a token).
CHARS_PER_TOKEN = 12


@dataclass(frozen=True)
class Unit:
    """A sentence (or a piece of an over-long one): the atom that chunks are packed from."""

    start: int
    end: int
    para: int  # index of its paragraph; a new paragraph may start a new span
    tokens: int


def _pieces(text: str, a: int, b: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut text[a:b] at whitespace into pieces of at most max_chars (hard cuts if needed)."""
    words = []
    longest = min(_MAX_WORD, max_chars)
    for m in re.finditer(r"\S+", text[a:b]):
        s, e = a + m.start(), a + m.end()
        while e - s > longest:
            words.append((s, s + longest))
            s += longest
        words.append((s, e))
    out: list[tuple[int, int]] = []
    for s, e in words:
        if out and e - out[-1][0] <= max_chars:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def units(doc: Document, count: TokenCounter, max_tokens: int) -> list[Unit]:
    """Sentences of the document with their token counts; none longer than max_tokens."""
    text = doc.text
    raw: list[tuple[int, int, int]] = []
    for p, (a, b) in enumerate(paragraph_spans(doc)):
        for s, e in sentence_spans(text, a, b):
            # No real sentence needs more than ~12 characters a token; longer ones get cut.
            if e - s > max_tokens * CHARS_PER_TOKEN:
                raw.extend((ps, pe, p) for ps, pe in _pieces(text, s, e, max_tokens * 3))
            else:
                raw.append((s, e, p))
    out: list[Unit] = []
    while raw:
        counts = _count_spans(text, raw, count)
        over: list[tuple[int, int, int]] = []
        for (s, e, p), n in zip(raw, counts, strict=True):
            if n <= max_tokens or e - s <= 1:
                out.append(Unit(s, e, p, n))
            else:
                # Over-long: cut at word boundaries (hard cuts if need be) and count again,
                # until every piece fits; a dense stretch may need a second cut.
                max_chars = max(1, (e - s) * max_tokens // (2 * n))
                over.extend((ps, pe, p) for ps, pe in _pieces(text, s, e, max_chars))
        raw = over
    out.sort(key=lambda u: u.start)
    return out


def _at_least_by_length(count: TokenCounter) -> TokenCounter:
    """The counter, counting a text as at least len(text) / CHARS_PER_TOKEN tokens."""
    def counted(texts: Sequence[str]) -> list[int]:
        return [max(n, -(-len(t) // CHARS_PER_TOKEN)) for t, n in zip(texts, count(texts),
                                                                      strict=True)]
    return counted


def _count_spans(
    text: str, spans: Sequence[tuple[int, int, int]], count: TokenCounter
) -> list[int]:
    """Token counts of text[s:e], in batches: one call over a 20 MB file held ~1 GB."""
    counts: list[int] = []
    for lo in range(0, len(spans), _COUNT_BATCH):
        counts += count([text[s:e] for s, e, _ in spans[lo : lo + _COUNT_BATCH]])
    return counts


def _cost(prev: Unit, unit: Unit) -> int:
    """Tokens `unit` adds after `prev`; a piece glued to the previous one (a hard cut
    inside a long word) may tokenise one token longer once joined."""
    return unit.tokens + (1 if prev.end == unit.start else 0)


def _fit(
    doc: Document, groups: list[list[Unit]], count: TokenCounter, max_tokens: int
) -> list[list[Unit]]:
    """Groups whose real token count is within max_tokens, halving any that are not.

    Units meeting at whitespace add up exactly; pieces of one over-long word
    (hard cuts, no space between) may tokenise differently once joined, so
    those groups are counted again as a whole.
    """
    suspect = [k for k, g in enumerate(groups)
               if any(a.end == b.start for a, b in zip(g, g[1:], strict=False))]
    if not suspect:
        return groups
    texts = [_group_text(doc, groups[k]) for k in suspect]
    counts: list[int] = []
    for lo in range(0, len(texts), _COUNT_BATCH):
        counts += count(texts[lo : lo + _COUNT_BATCH])
    over = {k for k, n in zip(suspect, counts, strict=True) if n > max_tokens}
    out: list[list[Unit]] = []
    for k, g in enumerate(groups):
        if k in over:
            out.extend(_fit(doc, [g[: len(g) // 2], g[len(g) // 2 :]], count, max_tokens))
        else:
            out.append(g)
    return out


def _group_text(doc: Document, group: Sequence[Unit]) -> str:
    return "\n\n".join(doc.text[a:b] for a, b in _spans_of(group, doc))


def _spans_of(group: Sequence[Unit], doc: Document) -> tuple[tuple[int, int], ...]:
    """Merge units into maximal spans that contain no boilerplate."""
    spans: list[list[int]] = []
    for u in group:
        if spans and not any(spans[-1][1] <= s < u.start for s, _ in doc.skip_spans):
            spans[-1][1] = u.end
        else:
            spans.append([u.start, u.end])
    return tuple((a, b) for a, b in spans)


def chunk_document(
    doc: Document,
    count: TokenCounter,
    chunk_tokens: int,
    overlap: int,
    max_tokens: int,
) -> list[Chunk]:
    """Pack sentences into chunks of about `chunk_tokens` (never over `max_tokens`).

    Consecutive chunks share up to `overlap` tokens of whole sentences. A
    heading starts a new chunk once the current one is a quarter full.
    """
    target = min(chunk_tokens, max_tokens)
    count = _at_least_by_length(count)
    us = units(doc, count, target)
    heading_starts = {h[0] for h in doc.headings}
    groups: list[list[Unit]] = []
    i = 0
    while i < len(us):
        group = [us[i]]
        total = us[i].tokens
        j = i + 1
        while j < len(us) and total + _cost(us[j - 1], us[j]) <= target:
            if us[j].start in heading_starts and total >= target // 4:
                break
            group.append(us[j])
            total += _cost(us[j - 1], us[j])
            j += 1
        groups.append(group)
        if j >= len(us):
            break
        # Step back over whole sentences for the overlap, always making progress.
        back = j
        kept = 0
        while back - 1 > i and kept + us[back - 1].tokens <= overlap:
            if us[back - 1].start in heading_starts or us[back].start in heading_starts:
                break
            back -= 1
            kept += us[back].tokens
        i = back
    groups = _fit(doc, groups, count, max_tokens)
    seen: dict[str, int] = {}
    chunks = []
    for n, g in enumerate(groups):
        chunk = _make_chunk(doc, g, n, seen)
        chunks.append(chunk)
    return chunks


def _make_chunk(doc: Document, group: Sequence[Unit], ordinal: int, seen: dict[str, int]) -> Chunk:
    spans = _spans_of(group, doc)
    text = "\n\n".join(doc.text[a:b] for a, b in spans)
    start, end = spans[0][0], spans[-1][1]
    loc = locate(doc, start, end)
    # The id depends only on the document and the text (plus a repeat counter for a
    # passage that occurs twice), so unchanged passages keep their id and vectors.
    repeat = seen.get(text, 0)
    seen[text] = repeat + 1
    digest = hashlib.sha1(f"{doc.doc_id}\0{repeat}\0{text}".encode())
    return Chunk(
        chunk_id=digest.hexdigest()[:16],
        doc_id=doc.doc_id,
        title=doc.title,
        source=doc.source,
        path=doc.path,
        text=text,
        start=start,
        end=end,
        spans=spans,
        line_start=loc["line_start"],
        line_end=loc["line_end"],
        page_start=loc["page_start"],
        page_end=loc["page_end"],
        heading_path=heading_path(doc, start),
        ordinal=ordinal,
    )


@dataclass(frozen=True)
class Chunker:
    """Document -> Chunks sized for one embedding model, so that title + text fit its window."""

    embedder: Embedder
    chunk_tokens: int = 200
    overlap: int = 32
    with_titles: bool = True

    def __call__(self, doc: Document) -> list[Chunk]:
        e = self.embedder
        budget = e.max_seq_length - 2  # [CLS] and [SEP]
        if self.with_titles:
            budget -= e.count_tokens([doc.title + "\n"])[0]
        budget = max(budget, 32)
        return chunk_document(doc, e.count_tokens, self.chunk_tokens, self.overlap, budget)
