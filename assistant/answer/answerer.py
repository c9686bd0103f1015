"""Answering questions from the index: the read-only side of the assistant.

`Answerer` opens the last committed index generation, searches it and answers
from it; it never writes the index (indexing.Indexer does). It is thread-safe:
one chat page serves many questions at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterator, Sequence
from dataclasses import replace
from typing import Any

from .. import store
from ..cite.references import item
from ..config import BUNDLED_MODEL, GENERATORS, MIN_RELEVANCE, Settings
from ..embed import Embedder, load_embedder
from ..embed.choice import is_auto, starting_model
from ..errors import AssistantError, GeneratorError
from ..generate import REGISTRY, Generator, build_messages
from ..generate.verify import verify
from ..retrieve import Retriever
from ..text.analyzer import Analyzer, question_language
from ..types import Answer, Document, Hit, rendered
from .extractive import Choice, extractive_answer
from .followup import quoted, retrieval_query, standalone

log = logging.getLogger(__name__)


class Answerer:
    """Searches and answers over the last commit of the index; reads, never writes."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None,
                 analyzer: Analyzer | None = None) -> None:
        self.settings = settings
        self.analyzer = analyzer or Analyzer.of(settings)  # BM25, answers and verification
        self._given = self._embedder = embedder
        # The model of the index being read: under ASSISTANT_MODEL=auto, whichever the index
        # was built with (embed/choice.py), followed at each new commit.
        self.model = starting_model(settings, None)
        self._retriever: Retriever | None = None
        self._lock = threading.Lock()
        self._loading = threading.Lock()  # held by the one thread loading a new generation
        self._generators: dict[str, Generator] = {}  # made on first use, by name

    @property
    def embedder(self) -> Embedder:
        """The embedding model of the index, loaded on first use; a model given to the
        constructor serves the settings' model (under auto: MiniLM, or its own name)."""
        if self._embedder is None:
            given, model = self._given, self.model
            if given is not None and (not is_auto(self.settings) or model == BUNDLED_MODEL
                                      or given.name == model):
                self._embedder = given
            else:  # one per process and settings
                self._embedder = load_embedder(self.settings.model_copy(update={"model": model}))
        return self._embedder

    def expected(self) -> dict[str, Any]:
        """What an index must have been built with to be used with these settings."""
        return store.expected(self.settings.model_copy(update={"model": self.model}),
                              self.embedder)

    def _follow(self, opened: store.Store) -> None:
        """Under auto, read the index with the model it was built with."""
        model = opened.built_model or self.model
        if model != self.model:
            log.info("the index was built with %s (ASSISTANT_MODEL=auto): asking with it", model)
            self.model, self._embedder = model, None

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
        if current is not None and gen == current.store.generation:
            return current
        if current is not None and not self._loading.acquire(blocking=False):
            return current  # another thread is opening the new commit
        if current is None:
            self._loading.acquire()
        try:
            if self._retriever is None or \
                    store.generation(index_dir) != self._retriever.store.generation:
                if is_auto(self.settings):
                    loaded = store.load(index_dir, None, self.settings)
                    try:
                        self._follow(loaded)
                        store.check_compatible(loaded.manifest, self.expected())
                    except BaseException:
                        loaded.close()
                        raise
                else:
                    loaded = store.load(index_dir, self.expected(), self.settings)
                # A question is analysed for every language the index holds (issue 24).
                analyzer = self.analyzer.for_languages(list(loaded.languages()))
                retriever = Retriever(loaded, self.embedder, self.settings, analyzer)
                with self._lock:
                    self._retriever = retriever
            assert self._retriever is not None
            return self._retriever
        finally:
            self._loading.release()

    def has_index(self) -> bool:
        return store.exists(self.settings.index_dir)

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
        analyzer = retriever.analyzer  # this index's languages (see retriever())
        query = retrieval_query(question, history, analyzer)
        hits = retriever.search(query, k=k, doc_ids=doc_ids)
        # A follow-up rewritten to stand alone ("who led the review?") is also what the
        # sentences are scored against; the answer keeps the question as it was asked.
        focus = standalone(question, history, analyzer) or question
        answer = extractive_answer(focus, hits, retriever.store.documents, retriever.embedder,
                                   analyzer, self.choice(retriever.embedder, question_language(query)),
                                   retriever.query_vector(query),
                                   retriever.store.sentence_vectors, quoted(question, history))
        if focus != question:
            answer = replace(answer, question=question)
        generator = generator or self.settings.generator
        if generator not in GENERATORS:
            raise AssistantError(f"generator must be {' or '.join(GENERATORS)}, not {generator!r}")
        if generator in REGISTRY and answer.found:  # nothing relevant: abstain, ask no model
            yield from self._generate(generator, question, hits, retriever, history, answer)
            return
        # The extractive answer is ready at once; stream it sentence by sentence all the same
        # so that every generator looks alike to the page.
        said = answer.sentences
        for i in range(1, len(said)):
            yield replace(answer, text=rendered(said[:i]), citations=(),
                          sentences=said[:i])
        yield answer

    def _generate(
        self,
        name: str,
        question: str,
        hits: Sequence[Hit],
        retriever: Retriever,
        history: Sequence[tuple[str, str]] | None,
        fallback: Answer,
    ) -> Iterator[Answer]:
        """Stream the model's draft, then the verified answer; `fallback` with a note on failure."""
        draft = ""
        try:
            with self._lock:
                if name not in self._generators:
                    self._generators[name] = REGISTRY[name](self.settings)
            for piece in self._generators[name].stream(build_messages(question, hits, history)):
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
        yield verify(question, draft, hits, retriever.store.documents, retriever.embedder,
                     retriever.analyzer)

    def cited_documents(self, answer: Answer) -> dict[str, Document]:
        """The documents an answer cites, by doc_id (for references and exports)."""
        docs = self.retriever().store.documents
        return {c.chunk.doc_id: docs[c.chunk.doc_id] for c in answer.citations
                if c.chunk.doc_id in docs}

    def reference(self, doc_id: str) -> dict[str, Any]:
        """A document's CSL-JSON item: its metadata with the user's corrections applied."""
        return item(self.retriever().store.documents[doc_id])

    def documents(self) -> list[Document]:
        """The indexed documents with their texts, sorted by source path (reads every text)."""
        docs = self.retriever().store.documents
        return [docs[doc_id] for doc_id, _, _ in self.retriever().store.listing()]

    def listing(self) -> list[tuple[str, str, str]]:
        """(doc_id, title, source) of every indexed document, by source; reads no text."""
        return self.retriever().store.listing()

    def choice(self, embedder: Embedder, language: str = "") -> Choice:
        """What an answer may quote: ASSISTANT_MIN_RELEVANCE, else the threshold of the model
        the index was built with (its cosines run higher or lower than MiniLM's); a sentence
        in another language than the question (`language`, "" unsure) the model's
        `cross_language_relief` less: it shares few of the question's words, and the word
        overlap is part of relevance."""
        floor = self.settings.min_relevance
        if floor is None:
            floor = float(getattr(embedder, "min_relevance", MIN_RELEVANCE))
        return Choice(self.settings.answer_sentences, floor, language,
                      float(getattr(embedder, "cross_language_relief", 0.0)))

    def document_languages(self) -> dict[str, str]:
        """doc_id -> the language detected in each indexed document ("" unknown)."""
        return self.retriever().store.document_languages()

    def document(self, doc_id: str) -> Document | None:
        """One indexed document, or None when it is no longer in the index."""
        return self.retriever().store.document(doc_id)
