"""The only module that wires the stages together: index a folder, answer a question."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import indexer, store, upload
from .answer import extractive_answer
from .chunk import chunk_document
from .config import GENERATORS, Settings
from .embed import Embedder, load_embedder
from .errors import (
    AssistantError,
    GeneratorError,
    IngestError,
)
from .followup import quoted, retrieval_query, standalone
from .ingest import load_document, source_of
from .retrieve import Retriever
from .types import Answer, Chunk, Document, Hit, IndexReport, Skipped

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (done, total) chunks embedded
class Assistant:
    """Holds the settings, the loaded model and the loaded index; thread-safe for asking."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._retriever: Retriever | None = None
        self._loaded_gen: int | None = None
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
            "lexical": self.settings.lexical(),
        }

    def retriever(self) -> Retriever:
        """The retriever over the last commit, reopened when a writer has committed since.

        One thread opens a new commit while the others keep answering from the
        store they have; only the very first open makes everyone wait. The
        previous store is not closed here: a question may still be reading it in
        another thread; it closes when the last reference goes.
        """
        index_dir = self.settings.index_dir
        gen = store.generation(index_dir)
        current = self._retriever
        if current is not None and gen == self._loaded_gen:
            return current
        if current is not None and not self._loading.acquire(blocking=False):
            return current  # another thread is opening the new commit
        if current is None:
            self._loading.acquire()
        try:
            if self._retriever is None or store.generation(index_dir) != self._loaded_gen:
                loaded = store.load(index_dir, self.expected(), self.settings)
                retriever = Retriever(loaded, self.embedder, self.settings)
                with self._lock:
                    self._retriever, self._loaded_gen = retriever, loaded.generation
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
        ray: str | None = None,
    ) -> IndexReport:
        """Bring the index up to date with `docs_dir`: embed only what is new or changed.

        `ray` ("local" for a cluster on this machine, or a cluster's address) parses and
        embeds on Ray (ingest_ray.py) instead of in this process."""
        t0 = time.perf_counter()
        folder = Path(docs_dir or self.settings.docs_dir)
        if ray is not None:
            from . import ingest_ray

            report = ingest_ray.update_folder(self, folder, None if ray == "local" else ray,
                                              rebuild, progress)
        else:
            report = indexer.update_folder(self, folder, rebuild, progress)
        report = replace(report, seconds=time.perf_counter() - t0)
        log.info("%s (%d chunks, %.1f s)", report.summary(), report.chunks, report.seconds)
        return report

    def index_documents(
        self, documents: Sequence[Document], progress: Progress | None = None
    ) -> IndexReport:
        """Make the index hold exactly `documents` (already loaded, e.g. a benchmark corpus).

        Documents whose doc_id, content_hash and title are unchanged keep their
        chunks and vectors; the rest are chunked and embedded.
        """
        t0 = time.perf_counter()
        report = indexer.update_documents(self, documents, progress)
        return replace(report, seconds=time.perf_counter() - t0)

    def optimize(self) -> int:
        """Merge all segments into one (dropping deleted rows); returns how many were merged."""
        with store.locked(self.settings.index_dir, self.settings.lock_timeout):
            writer = indexer.open_writer(self, False, None)
            try:
                return writer.merge(everything=True)
            finally:
                writer.close()

    def chunk(self, doc: Document) -> list[Chunk]:
        """Chunks of a document, sized so that title + text fit the model's window."""
        e = self.embedder
        budget = e.max_seq_length - 2  # [CLS] and [SEP]
        if self.settings.embed_titles:
            budget -= e.count_tokens([doc.title + "\n"])[0]
        budget = max(budget, 32)
        return chunk_document(doc, e.count_tokens, self.settings.chunk_tokens,
                              self.settings.chunk_overlap, budget)

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
        retriever: Retriever | None = None,
    ) -> Answer:
        """Answer a question from the index with verbatim, numbered citations.

        `history` holds earlier (question, answer) pairs of the conversation,
        oldest first; a follow-up question is retrieved together with them.
        `generator` ("extractive" or "openai") overrides `settings.generator`.
        `retriever` (from `retriever()`) pins the index generation answered from,
        so that the caller can read that generation's documents afterwards.
        """
        *_, final = self.ask_stream(question, k=k, doc_ids=doc_ids, history=history,
                                    generator=generator, retriever=retriever)
        return final

    def ask_stream(
        self,
        question: str,
        k: int | None = None,
        doc_ids: Collection[str] | None = None,
        history: Sequence[tuple[str, str]] | None = None,
        generator: str | None = None,
        retriever: Retriever | None = None,
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
        retriever = retriever or self.retriever()
        query = retrieval_query(question, history)
        hits = retriever.search(query, k=k, doc_ids=doc_ids)
        # A follow-up rewritten to stand alone ("who led the review?") is also what the
        # sentences are scored against; the answer keeps the question as it was asked.
        focus = standalone(question, history) or question
        answer = extractive_answer(focus, hits, retriever.store.documents, self.embedder,
                                   self.settings, retriever.query_vector(query),
                                   retriever.store.sentence_vectors, quoted(question, history))
        if focus != question:
            answer = replace(answer, question=question)
        generator = generator or self.settings.generator
        if generator not in GENERATORS:
            raise AssistantError(f"generator must be {' or '.join(GENERATORS)}, not {generator!r}")
        if generator == "openai" and answer.found:  # nothing relevant: abstain, ask no model
            yield from self._generate(question, hits, retriever.store.documents, history, answer)
            return
        # The extractive answer is ready at once; stream it sentence by sentence all the same
        # so that every generator looks alike to the page.
        said = answer.sentences
        for i in range(1, len(said)):
            yield replace(answer, text=" ".join(s.render() for s in said[:i]), citations=(),
                          sentences=said[:i])
        yield answer

    def _generate(
        self,
        question: str,
        hits: Sequence[Hit],
        documents: Mapping[str, Document],
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
            yield replace(fallback, fallback=True, notes=(
                *fallback.notes, f"{exc}; the extractive answer is shown instead"))
            return
        # verify.py embeds passage sentences alone: its thresholds were tuned on those,
        # not on the pooled vectors of the sentence tables.
        yield verify(question, draft, hits, documents, self.embedder, self.settings)

    def cited_documents(self, answer: Answer) -> dict[str, Document]:
        """The documents an answer cites, by doc_id (for references and exports)."""
        docs = self.retriever().store.documents
        return {c.chunk.doc_id: docs[c.chunk.doc_id] for c in answer.citations
                if c.chunk.doc_id in docs}

    def reference(self, doc_id: str) -> dict[str, Any]:
        """A document's CSL-JSON item: its metadata with the user's corrections applied."""
        from .references import item

        return item(self.retriever().store.documents[doc_id])

    def save_reference(self, doc_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Save the user's corrections to a document's reference (references.json beside the
        documents; they survive re-indexing); returns the item as it is now."""
        from .references import save_correction

        doc = self.retriever().store.documents[doc_id]
        save_correction(doc, fields)
        return self.reference(doc_id)

    def documents(self) -> list[Document]:
        """The indexed documents with their texts, sorted by source path (reads every text)."""
        docs = self.retriever().store.documents
        return [docs[doc_id] for doc_id, _, _ in self.retriever().store.listing()]

    def listing(self) -> list[tuple[str, str, str]]:
        """(doc_id, title, source) of every indexed document, by source; reads no text."""
        return self.retriever().store.listing()

    def document(self, doc_id: str) -> Document | None:
        """One indexed document, or None when it is no longer in the index."""
        return self.retriever().store.document(doc_id)

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
        renamed: list[str] = []
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
            if dest.name != label:
                renamed.append(f"{label} is already in {upload.UPLOAD_DIR}/; both are kept, "
                               f"the new one as {dest.name}")
        if not accepted:
            return upload.UploadReport(skipped=tuple(skipped))
        for dest, data in accepted:
            upload.write(dest, data)
        report = self.index(docs_dir, progress=progress)
        added = tuple(source_of(dest, docs_dir) for dest, _ in accepted)
        skipped += [s for s in report.skipped if s.source in added]
        return upload.UploadReport(added=added, skipped=tuple(skipped), index=report,
                                   renamed=tuple(renamed))

