"""Sentence vectors are embedded once at index time and looked up when answering."""

from __future__ import annotations

import numpy as np
from conftest import make_assistant

from assistant.embed.sentences import find, sentence_table
from assistant.text.passages import candidate_sentences

QUESTION = "Who carried out the review of child sexual exploitation in Rotherham?"


class Counting:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name, self.dim, self.max_seq_length = inner.name, inner.dim, inner.max_seq_length
        self.texts: list[str] = []

    def embed(self, texts, progress=None):
        self.texts.extend(texts)
        return self.inner.embed(texts, progress)

    def embed_spans(self, texts, spans, progress=None):
        self.texts.extend(texts)
        return self.inner.embed_spans(texts, spans, progress)

    def count_tokens(self, texts):
        return self.inner.count_tokens(texts)


def test_index_stores_the_vectors_of_every_candidate_sentence(tmp_path, embedder):
    a = make_assistant(tmp_path / "index", embedder)
    a.index()
    store = a.answerer.retriever().store
    answer = a.ask(QUESTION)
    assert answer.found
    sents = candidate_sentences(answer.hits, store.documents)
    assert sents
    pooled = []
    for s in sents:
        doc_id = answer.hits[s.hit].chunk.doc_id
        table = store.sentence_vectors(doc_id)
        assert table is not None
        spans, vecs = table
        assert spans.dtype == np.int64 and vecs.dtype == np.float16 and vecs.shape[1] == 384
        row = find(table, s.start, s.end)
        assert row is not None, (doc_id, s.start, s.end, s.text)
        v = vecs[row].astype(np.float32)
        assert np.isfinite(v).all() and abs(float(np.linalg.norm(v)) - 1) < 2e-3
        pooled.append(v)
    # Pooled in its passage a sentence takes on its neighbours' meaning, yet it is mostly
    # still nearest to itself embedded alone (0.72 of 32 here); spans pooled at the wrong
    # offsets would match their own sentence about as often as chance (1/32).
    alone = embedder.embed([s.text for s in sents])
    nearest = (np.stack(pooled) @ alone.T).argmax(axis=1)
    assert (nearest == np.arange(len(sents))).mean() >= 0.5


def test_answer_embeds_only_the_question(tmp_path, embedder):
    make_assistant(tmp_path / "index", embedder).index()
    counting = Counting(embedder)
    asker = make_assistant(tmp_path / "index", counting)
    with_tables = asker.ask(QUESTION)
    assert with_tables.found
    assert counting.texts == [QUESTION]


def test_unchanged_documents_keep_their_sentence_vectors(tmp_path, embedder, docs_copy):
    make_assistant(tmp_path / "index", embedder, docs_copy).index()
    (docs_copy / "new.md").write_text(
        "# Lighthouses\n\nThe Kelling lighthouse was first lit in 1867 by the harbour board. "
        "Its lamp burned colza oil until 1902.\n", encoding="utf-8")
    counting = Counting(embedder)
    a = make_assistant(tmp_path / "index", counting, docs_copy)
    report = a.index()
    assert report.added == 1 and report.unchanged >= 5
    # The new file's one chunk (its sentences are pooled from it); nothing of the others.
    assert len(counting.texts) == 1 and "Kelling" in counting.texts[0], counting.texts
    store = a.answerer.retriever().store
    new = next(d for d in store.documents.values() if d.source.endswith("new.md"))
    table = store.sentence_vectors(new.doc_id)
    assert table is not None and len(table[0]) == 2


def test_sentence_table_matches_the_contract(tmp_path, embedder):
    a = make_assistant(tmp_path / "index", embedder)
    a.index()
    store = a.answerer.retriever().store
    doc = next(iter(store.documents.values()))
    chunks = [c for c in store.iter_chunks() if c.doc_id == doc.doc_id]
    spans, vecs = sentence_table(doc, chunks, embedder)
    assert spans.shape == (len(vecs), 2) and spans.dtype == np.int64
    assert vecs.dtype == np.float16 and vecs.shape[1] == embedder.dim
    stored = store.sentence_vectors(doc.doc_id)
    assert stored is not None
    np.testing.assert_array_equal(stored[0], spans)
    assert np.abs(stored[1].astype(np.float32) - vecs.astype(np.float32)).max() < 2e-3


def test_find_looks_a_sentence_up_by_its_exact_span():
    table = (np.array([[0, 10], [12, 30], [12, 40]], dtype=np.int64), np.zeros((3, 4), np.float16))
    assert find(table, 0, 10) == 0 and find(table, 12, 30) == 1 and find(table, 12, 40) == 2
    assert find(table, 12, 31) is None and find(table, 5, 10) is None


def test_an_embedder_without_span_pooling_embeds_sentences_alone(tmp_path, embedder):
    """Any Embedder works: without embed_spans, sentence vectors are embedded one by one."""

    class Plain:
        name, dim, max_seq_length = embedder.name, embedder.dim, embedder.max_seq_length

        def embed(self, texts, progress=None):
            return embedder.embed(texts, progress)

        def count_tokens(self, texts):
            return embedder.count_tokens(texts)

    a = make_assistant(tmp_path / "index", Plain())
    a.index()
    store = a.answerer.retriever().store
    doc = next(iter(store.documents.values()))
    spans, vecs = store.sentence_vectors(doc.doc_id)
    alone = embedder.embed([doc.text[s:e] for s, e in spans[:20]])
    assert ((vecs[:20].astype(np.float32) * alone).sum(axis=1) >= 0.999).all()


def test_title_prefix_is_left_out_when_the_chunk_opens_with_the_title():
    from assistant.embed.chunks import embed_text, title_prefix
    from assistant.types import Chunk

    def chunk(text: str, title: str = "Lighthouses") -> Chunk:
        return Chunk("c", "d", title, "x.md", "/x.md", text, 0, len(text), ((0, len(text)),))

    assert embed_text(chunk("# Lighthouses\n\nThe lamp."), True) == "# Lighthouses\n\nThe lamp."
    assert embed_text(chunk("## Lighthouses\nThe lamp."), True) == "## Lighthouses\nThe lamp."
    # A plain first line that is the title keeps the title put first (see title_prefix).
    assert embed_text(chunk("Lighthouses\nThe lamp."), True) == "Lighthouses\nLighthouses\nThe lamp."
    assert embed_text(chunk("The lamp burned colza oil."), True) == \
        "Lighthouses\nThe lamp burned colza oil."
    # A first line that only begins with the title is not the title.
    assert title_prefix(chunk("Lighthouses of Norfolk\nThe lamp."), True) == "Lighthouses\n"
    assert title_prefix(chunk("The lamp."), False) == ""
    assert title_prefix(chunk("The lamp.", title=""), True) == ""


def test_a_file_opening_with_its_title_is_embedded_with_it_once(tmp_path, embedder):
    """Sentence vectors are pooled at the right offsets whether or not a title is put first."""
    from assistant.embed.chunks import embed_text

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "lighthouse.md").write_text(
        "# Kelling lighthouse\n\nThe Kelling lighthouse was first lit in 1867 by the harbour "
        "board. Its lamp burned colza oil until 1902. A keeper and two assistants lived in "
        "the cottages below the tower. The tower was painted with red and white bands in "
        "1911. Ships reported its light at eighteen nautical miles on clear nights.\n",
        encoding="utf-8")
    (docs / "mill.txt").write_text(
        "The mill ground wheat for three villages until the flood of 1953. Its wheel was "
        "rebuilt in oak by a firm from Norwich. Flour was carried to the market by barge. "
        "The miller kept bees in the orchard behind the race.\n", encoding="utf-8")
    counting = Counting(embedder)
    a = make_assistant(tmp_path / "index", counting, docs)
    a.index()
    by_start = {t.split("\n", 1)[0]: t for t in counting.texts}
    assert "# Kelling lighthouse" in by_start  # no "Kelling lighthouse\n" before the heading
    assert by_start["# Kelling lighthouse"].count("Kelling lighthouse") == 2  # heading + text
    store = a.answerer.retriever().store
    chunks = list(store.iter_chunks())
    assert len(chunks) == 2
    for c in chunks:
        text = embed_text(c, True)
        spans, vecs = store.sentence_vectors(c.doc_id)
        assert len(spans) >= 4
        # Each stored vector is the pooling of its own sentence inside the embedded text.
        at = text.index(c.text)
        local = [(at + s - c.start, at + e - c.start) for s, e in spans]
        assert [text[x:y] for x, y in local] == [c.text[s - c.start:e - c.start] for s, e in spans]
        want = embedder.embed_spans([text], [local])[1][0]
        cos = (vecs.astype(np.float32) * want).sum(axis=1)
        assert (cos > 0.999).all(), (c.source, cos)
