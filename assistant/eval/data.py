"""Benchmark files -> Documents and judged queries: BEIR folders and SQuAD v1.1 JSON (pure I/O)."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import IngestError
from ..types import Document


@dataclass(frozen=True)
class BeirSet:
    """A BEIR corpus with the queries that have judgements in one split."""

    documents: tuple[Document, ...]
    queries: dict[str, str]  # query id -> text
    qrels: dict[str, dict[str, int]]  # query id -> doc id -> relevance grade
    corpus_hash: str


@dataclass(frozen=True)
class SquadQuestion:
    qid: str
    question: str
    answers: tuple[str, ...]
    doc_id: str  # the paragraph that holds the answer
    article: str


@dataclass(frozen=True)
class SquadSet:
    """Every paragraph of a SQuAD file as a document, and every question."""

    documents: tuple[Document, ...]
    questions: tuple[SquadQuestion, ...]
    corpus_hash: str


def make_document(doc_id: str, title: str, text: str, source: str, path: Path) -> Document:
    """An in-memory plain-text document; its hash covers the title, which is indexed too."""
    digest = hashlib.sha256(f"{title}\0{text}".encode()).hexdigest()
    return Document(doc_id=doc_id, source=source, path=str(path), title=title, text=text,
                    format="txt", content_hash=digest)


def corpus_hash(documents: tuple[Document, ...]) -> str:
    h = hashlib.sha256()
    for d in documents:
        h.update(f"{d.doc_id}\0{d.content_hash}\n".encode())
    return h.hexdigest()


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise IngestError(str(path), "file not found (expected BEIR layout: corpus.jsonl, "
                          "queries.jsonl, qrels/SPLIT.tsv)")
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise IngestError(str(path), f"line {n} is not JSON ({exc.msg})") from None
            if not isinstance(record, dict) or "_id" not in record:
                raise IngestError(str(path), f"line {n} has no \"_id\"")
            yield n, record


def load_beir(folder: Path, split: str = "test") -> BeirSet:
    """Read corpus.jsonl, queries.jsonl and qrels/<split>.tsv; keep queries judged in the split."""
    folder = Path(folder)
    if not folder.is_dir():
        raise IngestError(str(folder), "not a folder (expected a BEIR dataset folder)")
    corpus_path = folder / "corpus.jsonl"
    documents = []
    seen: set[str] = set()
    for n, r in _jsonl(corpus_path):
        doc_id = str(r["_id"])
        if doc_id in seen:
            raise IngestError(str(corpus_path), f"line {n}: duplicate _id {doc_id!r}")
        seen.add(doc_id)
        title, text = str(r.get("title") or "").strip(), str(r.get("text") or "")
        if not text.strip():
            text = title  # a title-only record is still a document
        if not text.strip():
            continue
        documents.append(make_document(doc_id, title or doc_id, text,
                                       f"{corpus_path.name}#{doc_id}", corpus_path))
    if not documents:
        raise IngestError(str(corpus_path), "no documents with text")
    qrels = _qrels(folder / "qrels" / f"{split}.tsv")
    queries = {}
    for _n, r in _jsonl(folder / "queries.jsonl"):
        qid = str(r["_id"])
        if qid in qrels and str(r.get("text") or "").strip():
            queries[qid] = str(r["text"])
    if not queries:
        raise IngestError(str(folder / "queries.jsonl"), f"no query has judgements in split {split!r}")
    docs = tuple(documents)
    return BeirSet(docs, queries, {q: qrels[q] for q in queries}, corpus_hash(docs))


def _qrels(path: Path) -> dict[str, dict[str, int]]:
    if not path.is_file():
        available = sorted(p.stem for p in path.parent.glob("*.tsv")) if path.parent.is_dir() else []
        hint = f"; splits here: {', '.join(available)}" if available else ""
        raise IngestError(str(path), f"file not found{hint} (choose one with --split)")
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for n, row in enumerate(csv.reader(f, delimiter="\t"), start=1):
            if not row or (n == 1 and row[0].strip().lower() in {"query-id", "query_id", "qid"}):
                continue
            if len(row) < 3:
                raise IngestError(str(path), f"line {n}: expected query-id, corpus-id, score")
            try:
                grade = int(float(row[2]))
            except ValueError:
                raise IngestError(str(path), f"line {n}: score {row[2]!r} is not a number") from None
            if grade > 0:
                qrels.setdefault(row[0].strip(), {})[row[1].strip()] = grade
    return qrels


def load_squad(path: Path) -> SquadSet:
    """Read SQuAD v1.1 JSON: each paragraph becomes a document titled by its article."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IngestError(str(path), "file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IngestError(str(path), f"not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise IngestError(str(path), "not SQuAD v1.1 JSON (no top-level \"data\" list)")
    documents: list[Document] = []
    questions: list[SquadQuestion] = []
    try:
        for a, article in enumerate(data["data"]):
            title = str(article.get("title") or f"article {a}").replace("_", " ")
            for p, para in enumerate(article["paragraphs"]):
                doc_id = f"{a}-{p}"
                documents.append(make_document(doc_id, title, para["context"],
                                               f"{path.name}#{title}/{p}", path))
                for qa in para["qas"]:
                    answers = tuple(dict.fromkeys(x["text"] for x in qa["answers"]))
                    if answers:
                        questions.append(SquadQuestion(str(qa["id"]), qa["question"], answers,
                                                       doc_id, title))
    except (KeyError, TypeError) as exc:
        raise IngestError(str(path), f"not SQuAD v1.1 JSON (missing field {exc})") from None
    if not questions:
        raise IngestError(str(path), "no questions with answers")
    docs = tuple(documents)
    return SquadSet(docs, tuple(questions), corpus_hash(docs))
