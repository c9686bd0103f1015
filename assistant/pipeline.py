"""The only module that wires the stages together: index a folder, answer a question."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__, store, upload
from .answer import extractive_answer
from .chunk import chunk_document
from .config import Settings
from .embed import Embedder, load_embedder
from .errors import (
    AssistantError,
    GeneratorError,
    IndexCorruptError,
    IndexMismatchError,
    IngestError,
    NoDocumentsError,
)
from .followup import retrieval_query, standalone
from .ingest import discover, doc_id_of, file_hash, load_document, read_file, source_of
from .retrieve import Retriever, build_lexical, embed_text
from .sentences import Table, embed_with_sentences
from .types import Answer, Chunk, Document, Hit, IndexReport, Skipped

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (done, total) chunks embedded


class Assistant:
    """Holds the settings, the loaded model and the loaded index; thread-safe for asking."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._retriever: Retriever | None = None
        self._loaded_gen: Path | None = None
        self._lock = threading.Lock()
        self._loading = threading.Lock()  # held by the one thread loading a new generation
        self._llm: Any = None  # generate.OpenAIGenerator, made on first use

    # --- components -------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = load_embedder(self.settings)
        return self._embedder

    def expected(self) -> dict[str, Any]:
        """What an index must have been built with to be used with these settings."""
        e = self.embedder
        return {
            "model": self.settings.model,
            "dim": e.dim,
            "max_seq_length": e.max_seq_length,
            "chunking": self.settings.chunking(),
        }

    def retriever(self) -> Retriever:
        """The retriever over the live index, reloaded when a build has replaced it.

        One thread loads a new generation while the others keep answering from
        the one they have; only the very first load makes everyone wait.
        """
        index_dir = self.settings.index_dir
        gen = store.current_generation(index_dir)
        current = self._retriever
        if current is not None and gen == self._loaded_gen:
            return current
        if current is not None and not self._loading.acquire(blocking=False):
            return current  # another thread is loading the new generation
        if current is None:
            self._loading.acquire()
        try:
            if self._retriever is None or store.current_generation(index_dir) != self._loaded_gen:
                loaded = store.load(index_dir, self.expected())
                retriever = Retriever(loaded, self.embedder, self.settings)
                with self._lock:
                    self._retriever, self._loaded_gen = retriever, loaded.path
            assert self._retriever is not None
            return self._retriever
        finally:
            self._loading.release()

    def has_index(self) -> bool:
        return store.exists(self.settings.index_dir)

    # --- indexing -----------------------------------------------------------

    def index(
        self,
        docs_dir: Path | None = None,
        rebuild: bool = False,
        progress: Progress | None = None,
    ) -> IndexReport:
        """Bring the index up to date with `docs_dir`: embed only what is new or changed."""
        docs_dir = Path(docs_dir or self.settings.docs_dir)
        index_dir = self.settings.index_dir
        t0 = time.perf_counter()
        with store.locked(index_dir, self.settings.lock_timeout):
            store.cleanup(index_dir)  # leftovers of a build that was killed
            old = None if rebuild else self._previous(index_dir)
            report = self._build(docs_dir, old, progress)
        report = IndexReport(**{**report.__dict__, "seconds": time.perf_counter() - t0})
        log.info("%s (%d chunks, %.1f s)", report.summary(), report.chunks, report.seconds)
        return report

    def _previous(self, index_dir: Path) -> store.Store | None:
        if not store.exists(index_dir):
            return None
        try:
            return store.load(index_dir, self.expected())
        except IndexMismatchError:
            raise
        except IndexCorruptError as exc:
            log.warning("the previous index cannot be read (%s); building a new one", exc)
            return None

    def _build(self, docs_dir: Path, old: store.Store | None, progress: Progress | None) -> IndexReport:
        files, skipped = discover(docs_dir)
        old_docs, old_chunks = _by_document(old)
        documents: list[Document] = []
        chunks: list[Chunk] = []
        counts = {"added": 0, "updated": 0, "unchanged": 0}
        skipped = list(skipped)
        notes: list[str] = []
        for path in files:
            doc_id = doc_id_of(path, docs_dir)
            prev = old_docs.get(doc_id)
            try:
                data: bytes | None = read_file(path, docs_dir)  # size limit checked first
            except IngestError as exc:
                skipped.append(Skipped(exc.path, exc.reason))
                data = None
            if data is not None and prev is not None and prev.content_hash == file_hash(data) \
                    and prev.path == str(path.resolve()):
                documents.append(prev)
                chunks.extend(old_chunks.get(doc_id, []))
                counts["unchanged"] += 1
                continue
            try:
                if data is None:
                    raise IngestError(source_of(path, docs_dir), "cannot read file")
                doc = load_document(path, docs_dir, data)
            except IngestError as exc:
                if data is not None:
                    skipped.append(Skipped(exc.path, exc.reason))
                if prev is not None:
                    # Never lose what was indexed: keep the last good version of the file.
                    documents.append(prev)
                    chunks.extend(old_chunks.get(doc_id, []))
                    notes.append(f"{prev.source}: kept the previously indexed version")
                continue
            documents.append(doc)
            chunks.extend(self.chunk(doc))
            counts["updated" if prev is not None else "added"] += 1
            notes.extend(f"{doc.source}: {note}" for note in doc.notes)  # e.g. decoded as cp1252
        removed = len(set(old_docs) - {d.doc_id for d in documents})
        if not documents:
            reasons = "; ".join(f"{s.source}: {s.reason}" for s in skipped[:5])
            raise NoDocumentsError(
                f"no document in {docs_dir} could be indexed"
                + (f" ({reasons})" if reasons else "; add .txt, .md, .html, .pdf or .docx files")
            )
        embedded = self._save(documents, chunks, old, progress, str(docs_dir.resolve()))
        return IndexReport(removed=removed, chunks=len(chunks), embedded=embedded,
                           skipped=tuple(skipped), notes=tuple(notes), **counts)

    def index_documents(
        self, documents: Sequence[Document], progress: Progress | None = None
    ) -> IndexReport:
        """Make the index hold exactly `documents` (already loaded, e.g. a benchmark corpus).

        Documents whose doc_id and content_hash are unchanged keep their chunks
        and vectors; the rest are chunked and embedded.
        """
        if not documents:
            raise NoDocumentsError("no documents to index")
        index_dir = self.settings.index_dir
        t0 = time.perf_counter()
        with store.locked(index_dir, self.settings.lock_timeout):
            store.cleanup(index_dir)
            old = self._previous(index_dir)
            old_docs, old_chunks = _by_document(old)
            chunks: list[Chunk] = []
            counts = {"added": 0, "updated": 0, "unchanged": 0}
            for doc in documents:
                prev = old_docs.get(doc.doc_id)
                if prev is not None and prev.content_hash == doc.content_hash \
                        and prev.title == doc.title:
                    chunks.extend(old_chunks.get(doc.doc_id, []))
                    counts["unchanged"] += 1
                    continue
                chunks.extend(self.chunk(doc))
                counts["updated" if prev is not None else "added"] += 1
            removed = len(set(old_docs) - {d.doc_id for d in documents})
            embedded = self._save(list(documents), chunks, old, progress, None)
        return IndexReport(added=counts["added"], updated=counts["updated"],
                           unchanged=counts["unchanged"], removed=removed, chunks=len(chunks),
                           embedded=embedded, seconds=time.perf_counter() - t0)

    def _save(
        self,
        documents: list[Document],
        chunks: list[Chunk],
        old: store.Store | None,
        progress: Progress | None,
        docs_dir: str | None,
    ) -> int:
        """Embed what is new, build BM25, write a new generation; returns chunks embedded."""
        vectors, embedded, tables = self._vectors(documents, chunks, old, progress)
        lexical = build_lexical(chunks, self.settings)
        manifest = {
            **self.expected(),
            "assistant_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "docs_dir": docs_dir,
            "lexical": self.settings.lexical(),
            "documents": {
                d.doc_id: {"source": d.source, "title": d.title, "format": d.format,
                           "content_hash": d.content_hash, "notes": list(d.notes)}
                for d in documents
            },
        }
        store.save(self.settings.index_dir, manifest, documents, chunks, vectors, lexical, tables)
        return embedded

    def chunk(self, doc: Document) -> list[Chunk]:
        """Chunks of a document, sized so that title + text fit the model's window."""
        e = self.embedder
        budget = e.max_seq_length - 2  # [CLS] and [SEP]
        if self.settings.embed_titles:
            budget -= e.count_tokens([doc.title + "\n"])[0]
        budget = max(budget, 32)
        return chunk_document(doc, e.count_tokens, self.settings.chunk_tokens,
                              self.settings.chunk_overlap, budget)

    def _vectors(
        self,
        documents: Sequence[Document],
        chunks: Sequence[Chunk],
        old: store.Store | None,
        progress: Progress | None,
    ) -> tuple[np.ndarray, int, dict[str, Table]]:
        """Chunk vectors and sentence tables; an unchanged document keeps its old ones.

        Returns (vectors aligned with `chunks`, chunks embedded, table per document).
        A document with any new or re-titled chunk, or no stored table, has all its
        chunks embedded again: its sentence vectors come from the same pass.
        """
        known = old.vectors() if old else {}
        old_titles = {c.chunk_id: c.title for c in old.chunks} if old else {}
        old_ids: dict[str, set[str]] = {}
        for c in old.chunks if old else []:
            old_ids.setdefault(c.doc_id, set()).add(c.chunk_id)
        ids: dict[str, set[str]] = {}
        stale: set[str] = set()
        for c in chunks:
            ids.setdefault(c.doc_id, set()).add(c.chunk_id)
            if c.chunk_id not in known or old_titles.get(c.chunk_id) != c.title:
                stale.add(c.doc_id)
        tables: dict[str, Table] = {}
        for d in documents:
            kept = old.sentence_vectors(d.doc_id) if old else None
            if d.doc_id in stale or kept is None or old_ids.get(d.doc_id) != ids.get(d.doc_id):
                stale.add(d.doc_id)
            else:
                tables[d.doc_id] = kept
        todo = [i for i, c in enumerate(chunks) if c.doc_id in stale]
        out = np.zeros((len(chunks), self.embedder.dim), dtype=np.float32)
        for i, c in enumerate(chunks):
            if c.doc_id not in stale:
                out[i] = known[c.chunk_id]
        # A passage that occurs many times (a repeated block, a copied file) is embedded once.
        total = len({embed_text(chunks[i], self.settings.embed_titles) for i in todo})
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            if progress is not None:
                progress(done, total)

        if progress is not None:
            progress(0, total)
        docs = {d.doc_id: d for d in documents}
        vecs, new_tables = embed_with_sentences(docs, [chunks[i] for i in todo], self.embedder,
                                                self.settings.embed_titles, step)
        if todo:
            out[todo] = vecs
        tables.update(new_tables)
        empty = (np.zeros((0, 2), dtype=np.int64), np.zeros((0, self.embedder.dim), np.float16))
        return out, len(todo), {d.doc_id: tables.get(d.doc_id, empty) for d in documents}

    # --- asking -------------------------------------------------------------

    def search(
        self, query: str, k: int | None = None, doc_ids: Collection[str] | None = None
    ) -> list[Hit]:
        return self.retriever().search(query, k=k, doc_ids=doc_ids)

    def ask(
        self,
        question: str,
        k: int | None = None,
        doc_ids: Collection[str] | None = None,
        history: Sequence[tuple[str, str]] | None = None,
        generator: str | None = None,
    ) -> Answer:
        """Answer a question from the index with verbatim, numbered citations.

        `history` holds earlier (question, answer) pairs of the conversation,
        oldest first; a follow-up question is retrieved together with them.
        `generator` ("extractive" or "openai") overrides `settings.generator`.
        """
        *_, final = self.ask_stream(question, k=k, doc_ids=doc_ids, history=history,
                                    generator=generator)
        return final

    def ask_stream(
        self,
        question: str,
        k: int | None = None,
        doc_ids: Collection[str] | None = None,
        history: Sequence[tuple[str, str]] | None = None,
        generator: str | None = None,
    ) -> Iterator[Answer]:
        """Yield the answer as it grows; the last one yielded is complete, with citations.

        `generator` ("extractive" or "openai"; None = `settings.generator`) lets
        the page switch per question. A generated answer streams as the model's
        draft, then ends with the checked answer (see verify.py); if the server
        fails, the extractive answer is yielded with a note saying why.
        """
        question = (question or "").strip()
        if not question:
            raise AssistantError("Please type a question.")
        retriever = self.retriever()
        query = retrieval_query(question, history)
        hits = retriever.search(query, k=k, doc_ids=doc_ids)
        # A follow-up rewritten to stand alone ("who led the review?") is also what the
        # sentences are scored against; the answer keeps the question as it was asked.
        focus = standalone(question, history) or question
        answer = extractive_answer(focus, hits, retriever.store.documents, self.embedder,
                                   self.settings, retriever.query_vector(query),
                                   retriever.store.sentence_vectors)
        if focus != question:
            answer = replace(answer, question=question)
        generator = generator or self.settings.generator
        if generator not in {"extractive", "openai"}:
            raise AssistantError(f"generator must be extractive or openai, not {generator!r}")
        if generator == "openai" and answer.found:  # nothing relevant: abstain, ask no model
            yield from self._generate(question, hits, retriever.store.documents, history, answer)
            return
        # The extractive answer is ready at once; stream it sentence by sentence all the same
        # so that every generator looks alike to the page.
        parts = re.split(r"(?<=\]) ", answer.text)
        for i in range(1, len(parts)):
            yield replace(answer, text=" ".join(parts[:i]), citations=(), found=answer.found)
        yield answer

    def _generate(
        self,
        question: str,
        hits: Sequence[Hit],
        documents: dict[str, Document],
        history: Sequence[tuple[str, str]] | None,
        fallback: Answer,
    ) -> Iterator[Answer]:
        """Stream the model's draft, then the verified answer; `fallback` with a note on failure."""
        from .generate import OpenAIGenerator, build_messages
        from .verify import verify

        draft = ""
        try:
            with self._lock:
                if self._llm is None:
                    self._llm = OpenAIGenerator(self.settings)
            for piece in self._llm.stream(build_messages(question, hits, history)):
                draft += piece
                yield Answer(question=question, text=draft, found=True, hits=tuple(hits))
            if not draft.strip():
                raise GeneratorError(f"the generator at {self.settings.llm_base_url} "
                                     "returned an empty answer")
        except GeneratorError as exc:
            log.warning("%s", exc)
            yield replace(fallback, notes=(*fallback.notes,
                                           f"{exc}; the extractive answer is shown instead"))
            return
        # verify.py embeds passage sentences alone: its thresholds were tuned on those,
        # not on the pooled vectors of the sentence tables.
        yield verify(question, draft, hits, documents, self.embedder, self.settings)

    def documents(self) -> list[Document]:
        """The indexed documents, sorted by source path."""
        return sorted(self.retriever().store.documents.values(), key=lambda d: d.source)

    def add_files(
        self,
        files: Sequence[tuple[Path, str]],
        progress: Progress | None = None,
    ) -> upload.UploadReport:
        """Copy uploaded files into the documents folder, then update the index incrementally.

        `files` holds (temporary path, name the user gave) pairs. Each file is
        checked (type, size, readable by its loader) before it is stored under
        `<docs_dir>/uploads/`; files that fail are reported in `skipped` with the
        reason, and the rest still go in.
        """
        docs_dir = Path(self.settings.docs_dir)
        skipped: list[Skipped] = []
        accepted: list[tuple[Path, bytes]] = []
        taken: set[Path] = set()
        for path, name in files:
            label = upload.safe_name(name)
            try:
                dest = upload.destination(docs_dir, name, taken)
                data = upload.read(Path(path), label, self.settings.max_upload_mb)
                load_document(dest, docs_dir, data)  # refuse what the index could not read
            except IngestError as exc:
                skipped.append(Skipped(label, exc.reason))
                continue
            taken.add(dest)
            accepted.append((dest, data))
        if not accepted:
            return upload.UploadReport(skipped=tuple(skipped))
        for dest, data in accepted:
            upload.write(dest, data)
        report = self.index(docs_dir, progress=progress)
        added = tuple(source_of(dest, docs_dir) for dest, _ in accepted)
        skipped += [s for s in report.skipped if s.source in added]
        return upload.UploadReport(added=added, skipped=tuple(skipped), index=report)


def _by_document(old: store.Store | None) -> tuple[dict[str, Document], dict[str, list[Chunk]]]:
    """The previous index's documents, and its chunks grouped by document (for reuse)."""
    chunks: dict[str, list[Chunk]] = {}
    for c in old.chunks if old else []:
        chunks.setdefault(c.doc_id, []).append(c)
    return (dict(old.documents) if old else {}), chunks
