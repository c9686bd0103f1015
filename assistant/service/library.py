"""What the API and the MCP tools read: named collections of documents over one Assistant.

Searching, asking, fetching and citing by collection and id, each answering in the shapes of
schema.py. There is one collection for now, "default" (the index the chat answers from;
model "assistant" in /v1/chat/completions). An unknown collection, model, filter or id is an
error (NotFound, BadRequest), never a silent search of everything.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..cite.references import citation_csl, export, formatted, item
from ..cite.styles import ANSWER_STYLES, CSL_STYLES
from ..errors import AssistantError
from ..pipeline import Assistant
from ..types import Answer, Chunk, Document
from .fields import answer_fields, as_citation, fetched_fields, passage_fields
from .schema import (
    AnswerFields,
    CollectionFields,
    DocumentEntry,
    FetchedFields,
    ReferenceFields,
    SearchFields,
)

DEFAULT = "default"
MODEL = "assistant"  # the model name of the default collection; "assistant/NAME" names NAME
MAX_K = 50
FILTERS = ("doc_ids", "sources")


class RequestError(AssistantError):
    """The request cannot be served as it is (HTTP 400); `param` names what is wrong."""

    status = 400
    code: str | None = None

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.param = param
        self.code = code or type(self).code


class NotFound(RequestError):
    """No such collection, model, document or passage (HTTP 404)."""

    status = 404
    code = "not_found"


_PATH = re.compile(r"(?<![\w.:/])/(?:[^\s/'\"]+/)+[^\s/'\":,;()]*")


def public(exc: Exception) -> str:
    """An error's message for a client: absolute server paths replaced by their last part."""
    return _PATH.sub(lambda m: m.group().rstrip("/").rsplit("/", 1)[-1], str(exc))


class Library:
    """The collections one server answers from, over one Assistant (thread-safe)."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.answerer = assistant.answerer

    # --- names ----------------------------------------------------------------

    def names(self) -> list[str]:
        return [DEFAULT]

    def collection(self, name: str | None) -> str:
        """The collection called `name` (None: the default); NotFound for any other."""
        if name is None or name == DEFAULT:
            return DEFAULT
        raise NotFound(f"unknown collection {name!r}; this server has: {', '.join(self.names())}",
                       "collection", "collection_not_found")

    def model(self, name: Any) -> str:
        """The collection a model name asks: "assistant" (the default) or "assistant/NAME"."""
        if not isinstance(name, str) or not name:
            raise RequestError("model is required: use \"assistant\"", "model")
        if name == MODEL:
            return DEFAULT
        if name.startswith(MODEL + "/"):
            try:
                return self.collection(name.split("/", 1)[1])
            except NotFound:
                pass
        raise NotFound(f"The model {name!r} does not exist; this server has: "
                       f"{', '.join(self.models())}", "model", "model_not_found")

    def models(self) -> list[str]:
        return [MODEL if c == DEFAULT else f"{MODEL}/{c}" for c in self.names()]

    def describe(self, name: str | None = None) -> CollectionFields:
        name = self.collection(name)
        docs = [DocumentEntry(doc_id=d, title=t, path=s) for d, t, s in self.answerer.listing()]
        return CollectionFields(name=name, model=self.models()[self.names().index(name)],
                                documents=docs)

    def doc_ids(self, filters: Any) -> list[str] | None:
        """The documents `filters` keeps ({"doc_ids": [...], "sources": ["docs_src/*.pdf"]});
        None: no filter. A filter that names an unknown document or keeps none is an error."""
        if filters is None:
            return None
        if not isinstance(filters, dict) or set(filters) - set(FILTERS):
            raise RequestError(f"filters must be an object with {' and/or '.join(FILTERS)}",
                               "filters")
        listing = self.answerer.listing()
        keep = {d for d, _, _ in listing}
        for key in FILTERS:
            values = filters.get(key)
            if values is None:
                continue
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise RequestError(f"filters.{key} must be a list of strings", f"filters.{key}")
            if key == "doc_ids":
                unknown = sorted(set(values) - {d for d, _, _ in listing})
                if unknown:
                    raise NotFound(f"unknown document id(s): {', '.join(unknown)}",
                                   "filters.doc_ids", "document_not_found")
                keep &= set(values)
            else:
                keep &= {d for d, _, s in listing if any(
                    s == v or fnmatch.fnmatchcase(s, v) for v in values)}
        if not keep:
            raise NotFound("no document matches these filters", "filters", "document_not_found")
        return sorted(keep)

    # --- reading --------------------------------------------------------------

    def search(self, query: Any, collection: str | None = None, k: Any = None,
               filters: Any = None) -> SearchFields:
        """The k passages that best match `query`, each with exact spans and its reference."""
        name = self.collection(collection)
        if not isinstance(query, str) or not query.strip():
            raise RequestError("query must be a non-empty string", "query")
        k = _k(k, self.answerer.settings.top_k)
        reader = self.answerer.retriever()
        hits = reader.search(query, k=k, doc_ids=self.doc_ids(filters))
        docs = reader.store.documents
        results = [passage_fields(h, docs[h.chunk.doc_id], i)
                   for i, h in enumerate(hits, 1) if h.chunk.doc_id in docs]
        return SearchFields(query=query, collection=name, results=results)

    def ask(self, question: str, history: Sequence[tuple[str, str]] = (),
            collection: str | None = None, filters: Any = None
            ) -> tuple[Answer, Mapping[str, Document]]:
        """The chat's answer to `question` after `history` ((question, answer) pairs, oldest
        first), and the documents of the index generation it was answered from."""
        self.collection(collection)
        doc_ids = self.doc_ids(filters)
        reader = self.answerer.retriever()  # one answer, one generation (as the chat does)
        answer = self.answerer.ask(question, doc_ids=doc_ids, history=list(history),
                                   retriever=reader)
        return answer, reader.store.documents

    def answer(self, question: Any, collection: str | None = None) -> AnswerFields:
        if not isinstance(question, str) or not question.strip():
            raise RequestError("question must be a non-empty string", "question")
        name = self.collection(collection)
        answer, docs = self.ask(question, (), name)
        return answer_fields(answer, docs, name)

    def resolve(self, id: Any) -> tuple[Document, Chunk | None]:
        """A document id, or a passage id "DOC_ID:CHUNK_ID" -> the document and the chunk."""
        if not isinstance(id, str) or not id.strip():
            raise RequestError("id must be a document id or a passage id (DOC_ID:CHUNK_ID)", "id")
        doc_id, _, chunk_id = id.strip().partition(":")
        doc = self.answerer.document(doc_id)
        if doc is None:
            raise NotFound(f"no document or passage has the id {id!r}", "id", "id_not_found")
        if not chunk_id:
            return doc, None
        chunks = self.answerer.retriever().store.document_chunks(doc_id)
        chunk = next((c for c in chunks if c.chunk_id == chunk_id), None)
        if chunk is None:
            raise NotFound(f"no passage has the id {id!r} (re-indexed since?)", "id",
                           "id_not_found")
        return doc, chunk

    def fetch(self, id: Any) -> FetchedFields:
        doc, chunk = self.resolve(id)
        return fetched_fields(doc, chunk, item(doc))

    def cite(self, id: Any, style: Any = "apa") -> ReferenceFields:
        """The reference of a document, or of a passage with its locator, in `style`."""
        if style not in ANSWER_STYLES:
            raise RequestError(f"style must be one of {', '.join(ANSWER_STYLES)}", "style")
        doc, chunk = self.resolve(id)
        csl = citation_csl(as_citation(chunk, doc, 1), doc) if chunk is not None else item(doc)
        in_text = None
        if style in CSL_STYLES:
            cites, refs = formatted([csl], style)
            in_text, reference = cites[0], refs[0] if refs else cites[0]
        else:
            reference = export([csl], style)
        return ReferenceFields(id=id, style=style, reference=reference, in_text=in_text, csl=csl)


def _k(k: Any, default: int) -> int:
    if k is None:
        return default
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise RequestError(f"k must be a whole number from 1 to {MAX_K}", "k")
    return k
