"""Chunking and sentence splitting: pure logic with a word-count token counter."""

from __future__ import annotations

from assistant.indexing.chunk import chunk_document
from assistant.ingest import boilerplate_spans
from assistant.text.sentences import paragraph_spans, sentence_spans
from assistant.types import Document


def words(texts):
    return [len(t.split()) for t in texts]


def doc_of(text: str, fmt: str = "txt", **kw) -> Document:
    return Document(doc_id="d", source="docs/x.txt", path="/x.txt", title="T", text=text,
                    format=fmt, content_hash="h", skip_spans=tuple(boilerplate_spans(text)), **kw)


def test_sentences_respect_abbreviations_and_initials():
    text = "Mr. Ashley met Dr. Smith at 5 p.m. on Monday. J. R. Hartley wrote it. Then it ended!"
    got = [text[a:b] for a, b in sentence_spans(text)]
    assert got == ["Mr. Ashley met Dr. Smith at 5 p.m. on Monday.", "J. R. Hartley wrote it.",
                   "Then it ended!"]


def test_sentences_keep_closing_quotes():
    text = "He said: \u201cIt is remarkable.\u201d Others agreed."
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "He said: \u201cIt is remarkable.\u201d", "Others agreed."]


def test_boilerplate_lines_never_in_chunks_and_spans_exact():
    para = "A real sentence about the review number {}. It has two sentences."
    text = "\n\n".join(para.format(i) + "\n\nHide Ad\nHide Ad" for i in range(4))
    doc = doc_of(text)
    chunks = chunk_document(doc, words, chunk_tokens=30, overlap=0, max_tokens=50)
    assert chunks
    for c in chunks:
        assert "Hide Ad" not in c.text
        assert c.text == "\n\n".join(text[a:b] for a, b in c.spans)
        assert c.start == c.spans[0][0] and c.end == c.spans[-1][1]
    covered = " ".join(c.text for c in chunks)
    for i in range(4):
        assert f"review number {i}." in covered


def test_known_noise_phrase_removed_once_but_repeated_prose_kept():
    text = "Advertisement\nA first line of prose that is long enough to matter here.\nYes.\nYes.\nYes."
    spans = boilerplate_spans(text)
    removed = [text[a:b].strip() for a, b in spans]
    assert removed == ["Advertisement"]  # "Yes." ends like a sentence: kept


def test_chunks_stay_under_the_limit_and_overlap():
    text = " ".join(f"Sentence number {i} has exactly seven words." for i in range(60))
    doc = doc_of(text)
    chunks = chunk_document(doc, words, chunk_tokens=40, overlap=10, max_tokens=40)
    assert len(chunks) > 5
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert len(a.text.split()) <= 40
        assert b.start < a.end  # consecutive chunks share a sentence
        assert b.start > a.start  # and always move forward


def test_a_huge_line_without_spaces_is_cut_to_fit():
    text = "x" * 20000
    doc = doc_of(text)
    chunks = chunk_document(doc, lambda ts: [max(1, len(t) // 4) for t in ts], 100, 0, 100)
    assert sum(len(c.text) for c in chunks) == 20000
    assert all(len(c.text) // 4 <= 100 for c in chunks)


def test_locators_lines_pages_and_headings():
    text = "# Top\n\nIntro line one.\n\n## Part\n\nBody sentence here.\nSecond line."
    heads = ((0, 1, "Top"), (text.index("## Part"), 2, "Part"))
    doc = doc_of(text, fmt="md", headings=heads)
    chunks = chunk_document(doc, words, 12, 0, 12)  # a heading starts a new chunk
    body = next(c for c in chunks if "Body sentence" in c.text)
    assert body.heading_path == ("Top", "Part")
    assert (body.line_start, body.line_end) == (5, 8)  # from its heading line
    pdf = doc_of("page one text.\n\npage two text.", fmt="pdf", page_starts=(0, 16))
    spans = paragraph_spans(pdf)
    assert [pdf.text[a:b] for a, b in spans] == ["page one text.", "page two text."]
    c = chunk_document(pdf, words, 200, 0, 200)[0]
    assert (c.page_start, c.page_end) == (1, 2)


def test_chunk_ids_are_stable_and_unique():
    text = "Same paragraph here.\n\nOther words.\n\nSame paragraph here."
    doc = doc_of(text)
    a = chunk_document(doc, words, 3, 0, 3)
    b = chunk_document(doc, words, 3, 0, 3)
    assert [c.chunk_id for c in a] == [c.chunk_id for c in b]
    assert len({c.chunk_id for c in a}) == len(a)
