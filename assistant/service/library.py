"""What the API and the MCP tools read: a team's collections, as the caller may read them.

Searching, asking, fetching and citing by collection and id, each answering in the shapes of
schema.py. Every call names its caller (an Identity, callers.py) and asks the team's one
policy (team.Policy.require) before it touches a collection. A collection the caller may not
read is answered exactly like one that does not exist, and a document of one exactly like an
unknown id (the same NotFound, the same text); lists and counts leave it out. Model
"assistant" is the caller's first readable collection ("default" on a server without a
config), "assistant/NAME" names NAME. An unknown collection, model, filter or id is an error
(NotFound, BadRequest), never a silent search of everything.

Questions are recorded in the audit trail with what they cited (team.Audit.asked), searches
with their query; `via` says which way in ("api", "mcp").
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..answer import Answerer
from ..cite.references import citation_csl, export, formatted, item
from ..cite.styles import ANSWER_STYLES, CSL_STYLES
from ..errors import AssistantError
from ..team import Forbidden, Identity, NoSuchCollection, Team
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
FILTERS = ("doc_ids", "sources", "languages")


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


class NotAllowed(RequestError):
    """The caller may read the collection but not do this there (HTTP 403)."""

    status = 403
    code = "permission_denied"


class Library:
    """A team's collections as each caller may read them (thread-safe)."""

    def __init__(self, team: Team) -> None:
        self.team = team

    # --- names ----------------------------------------------------------------

    def names(self, who: Identity | None) -> list[str]:
        """The collections `who` may read, in the server's order."""
        return self.team.policy.readable(who)

    def collection(self, who: Identity | None, name: str | None, action: str = "read") -> str:
        """The collection called `name` (None: the caller's first) if `who` may do `action`
        there; NotFound, with the same text, when it does not exist or they may not read it."""
        readable = self.names(who)
        if name is None:
            if not readable:
                raise NotFound("you may read no collection here: ask an administrator for "
                               "`assistant grant YOU reader COLLECTION`", "collection",
                               "collection_not_found")
            name = readable[0]
        if not isinstance(name, str):
            raise RequestError("collection must be a string", "collection")
        try:
            return self.team.policy.require(who, action, name)
        except NoSuchCollection:
            raise NotFound(f"unknown collection {name!r}; yours: {', '.join(readable) or 'none'}",
                           "collection", "collection_not_found") from None
        except Forbidden as exc:
            raise NotAllowed(str(exc), "collection") from None

    def answerer(self, name: str) -> Answerer:
        """The Answerer of a collection already checked by `collection`."""
        return self.team.collections.assistant(name).answerer

    def model(self, who: Identity | None, name: Any) -> str:
        """The collection a model name asks: "assistant" (the caller's first) or
        "assistant/NAME"; model_not_found alike for a missing and an unreadable one."""
        if not isinstance(name, str) or not name:
            raise RequestError("model is required: use \"assistant\"", "model")
        try:
            if name == MODEL:
                return self.collection(who, None, "ask")
            if name.startswith(MODEL + "/"):
                return self.collection(who, name.split("/", 1)[1], "ask")
        except NotFound:
            pass
        raise NotFound(f"The model {name!r} does not exist; yours: "
                       f"{', '.join(self.models(who)) or 'none'}", "model", "model_not_found")

    def models(self, who: Identity | None) -> list[str]:
        """"assistant" (the caller's first collection), then "assistant/NAME" for each other
        readable collection; a server without a config has just "assistant"."""
        names = self.names(who)
        return ([MODEL] if names else []) + [_model_of(c) for c in names if c != DEFAULT]

    def describe(self, who: Identity | None, name: str | None = None) -> CollectionFields:
        name = self.collection(who, name)
        answerer = self.answerer(name)
        langs = answerer.document_languages()
        docs = [DocumentEntry(doc_id=d, title=t, path=s, language=langs.get(d, ""))
                for d, t, s in answerer.listing()]
        return CollectionFields(name=name, model=_model_of(name), documents=docs)

    def doc_ids(self, answerer: Answerer, filters: Any) -> list[str] | None:
        """The documents `filters` keeps ({"doc_ids": [...], "sources": ["docs_src/*.pdf"],
        "languages": ["de"]}); None: no filter. A filter that names an unknown document or
        keeps none is an error."""
        if filters is None:
            return None
        if not isinstance(filters, dict) or set(filters) - set(FILTERS):
            raise RequestError(f"filters must be an object with {' and/or '.join(FILTERS)}",
                               "filters")
        listing = answerer.listing()
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
            elif key == "languages":  # ISO 639-1 codes, as DocumentEntry.language gives them
                keep &= {d for d, lang in answerer.document_languages().items()
                         if lang in values}
            else:
                keep &= {d for d, _, s in listing if any(
                    s == v or fnmatch.fnmatchcase(s, v) for v in values)}
        if not keep:
            raise NotFound("no document matches these filters", "filters", "document_not_found")
        return sorted(keep)

    # --- reading --------------------------------------------------------------

    def search(self, who: Identity | None, query: Any, collection: Any = None, k: Any = None,
               filters: Any = None, via: str = "api") -> SearchFields:
        """The k passages that best match `query`, each with exact spans and its reference."""
        name = self.collection(who, collection, "read")
        if not isinstance(query, str) or not query.strip():
            raise RequestError("query must be a non-empty string", "query")
        answerer = self.answerer(name)
        k = _k(k, answerer.settings.top_k)
        reader = answerer.retriever()
        hits = reader.search(query, k=k, doc_ids=self.doc_ids(answerer, filters))
        docs = reader.store.documents
        results = [passage_fields(h, docs[h.chunk.doc_id], i)
                   for i, h in enumerate(hits, 1) if h.chunk.doc_id in docs]
        self.team.audit.record(_name(who), "search", name, query=query, via=via,
                               results=len(results))
        return SearchFields(query=query, collection=name, results=results)

    def ask(self, who: Identity | None, question: str, history: Sequence[tuple[str, str]] = (),
            collection: str | None = None, filters: Any = None, via: str = "api"
            ) -> tuple[Answer, Mapping[str, Document]]:
        """The chat's answer to `question` after `history` ((question, answer) pairs, oldest
        first) from a collection already checked, and the documents of the index generation
        it was answered from; recorded in the audit trail with what it cited."""
        name = self.collection(who, collection, "ask")
        answerer = self.answerer(name)
        doc_ids = self.doc_ids(answerer, filters)
        reader = answerer.retriever()  # one answer, one generation (as the chat does)
        answer = answerer.ask(question, doc_ids=doc_ids, history=list(history),
                              retriever=reader)
        self.team.audit.asked(_name(who), name, question, answer, reader.store.documents, via)
        return answer, reader.store.documents

    def answer(self, who: Identity | None, question: Any, collection: str | None = None,
               via: str = "mcp") -> AnswerFields:
        if not isinstance(question, str) or not question.strip():
            raise RequestError("question must be a non-empty string", "question")
        name = self.collection(who, collection, "ask")
        answer, docs = self.ask(who, question, (), name, via=via)
        return answer_fields(answer, docs, name)

    def resolve(self, who: Identity | None, id: Any) -> tuple[Document, Chunk | None]:
        """A document id, or a passage id "DOC_ID:CHUNK_ID", in the first collection `who` may
        read that holds it -> the document and the chunk. Only those collections are looked
        in, so an id of any other answers exactly as an unknown one (the same NotFound)."""
        if not isinstance(id, str) or not id.strip():
            raise RequestError("id must be a document id or a passage id (DOC_ID:CHUNK_ID)", "id")
        doc_id, _, chunk_id = id.strip().partition(":")
        stale = False  # a readable document, without that passage
        for name in self.names(who):
            answerer = self.answerer(self.collection(who, name, "read"))
            doc = answerer.document(doc_id)
            if doc is None:
                continue
            if not chunk_id:
                return doc, None
            chunks = answerer.retriever().store.document_chunks(doc_id)
            chunk = next((c for c in chunks if c.chunk_id == chunk_id), None)
            if chunk is not None:
                return doc, chunk
            stale = True
        if stale:
            raise NotFound("no passage has the id given (re-indexed since?)", "id",
                           "id_not_found")
        # The id is not repeated: one body for every id this caller may not be shown.
        raise NotFound("no document or passage has the id given", "id", "id_not_found")

    def fetch(self, who: Identity | None, id: Any) -> FetchedFields:
        doc, chunk = self.resolve(who, id)
        return fetched_fields(doc, chunk, item(doc))

    def cite(self, who: Identity | None, id: Any, style: Any = "apa") -> ReferenceFields:
        """The reference of a document, or of a passage with its locator, in `style`."""
        if style not in ANSWER_STYLES:
            raise RequestError(f"style must be one of {', '.join(ANSWER_STYLES)}", "style")
        doc, chunk = self.resolve(who, id)
        csl = citation_csl(as_citation(chunk, doc, 1), doc) if chunk is not None else item(doc)
        in_text = None
        if style in CSL_STYLES:
            cites, refs = formatted([csl], style)
            in_text, reference = cites[0], refs[0] if refs else cites[0]
        else:
            reference = export([csl], style)
        return ReferenceFields(id=id, style=style, reference=reference, in_text=in_text, csl=csl)


def _model_of(collection: str) -> str:
    return MODEL if collection == DEFAULT else f"{MODEL}/{collection}"


def _name(who: Identity | None) -> str | None:
    return who.name if who is not None else None


def _k(k: Any, default: int) -> int:
    if k is None:
        return default
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise RequestError(f"k must be a whole number from 1 to {MAX_K}", "k")
    return k
