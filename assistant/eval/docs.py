"""Your own check: questions with gold strings over any folder, asked through `ask`.

A questions file is JSON Lines, one question a line:

    {"question": "Which port does PostgreSQL listen on by default?", "gold": ["5432"],
     "file": "runtime-config-connection.html"}

`gold` lists strings of which one must appear in the answer; `file` (optional) is
the path, relative to the documents folder, of the file that holds the answer,
which should be among the citations. `id` (a string) and `tags` (a list of
strings, e.g. the shape of the text that holds the answer: "table", "signature")
are optional; figures are also reported per tag.

A gold string is found in a text when it occurs there after both are put in
NFKC form, case-folded and have their runs of white space made single spaces,
and, where the gold string starts or ends with a letter or digit, the text has
none right before or after it ("5432" is not found in "15432"). `holds` is that
test; the dev set's checker (bench/manuals.py) uses it too.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Settings
from ..embed import Embedder
from ..errors import IngestError
from ..ingest import discover, doc_id_of, load_document
from ..types import Answer, Document
from .metrics import answer_body
from .runners import build_index

FIELDS = ("question", "gold", "file", "id", "tags")


@dataclass(frozen=True)
class DocQuestion:
    line: int  # its line in the questions file
    question: str
    gold: tuple[str, ...]
    file: str | None = None  # path relative to the documents folder
    id: str = ""
    tags: tuple[str, ...] = ()


def normalize(text: str) -> str:
    """NFKC, case-folded, white space as single spaces: how gold strings are compared."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def holds(text: str, gold: Iterable[str]) -> bool:
    """True when one gold string occurs in `text` (see the module's docstring)."""
    hay = normalize(text)
    for g in gold:
        needle = normalize(g)
        if not needle:
            continue
        left = r"(?<![^\W_])" if needle[0].isalnum() else ""
        right = r"(?![^\W_])" if needle[-1].isalnum() else ""
        if re.search(left + re.escape(needle) + right, hay):
            return True
    return False


def load_questions(path: Path, docs_dir: Path) -> list[DocQuestion]:
    """Read a questions file; a bad line raises IngestError naming `file:line` and the fault."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(str(path), "no such questions file; give a JSON Lines file of "
                          '{"question", "gold": [strings], "file"?}')
    root = Path(docs_dir)
    out: list[DocQuestion] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            out.append(_question(line, f"{path}:{n}", n, root))
    if not out:
        raise IngestError(str(path), "no questions in the file")
    return out


def _question(line: str, where: str, n: int, root: Path) -> DocQuestion:
    try:
        r = json.loads(line)
    except json.JSONDecodeError as exc:
        raise IngestError(where, f"not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(r, dict):
        raise IngestError(where, 'not a JSON object; expected {"question", "gold": [strings], '
                          '"file"?}')
    unknown = sorted(set(r) - set(FIELDS))
    if unknown:
        raise IngestError(where, f"unknown field {unknown[0]!r} (fields: {', '.join(FIELDS)})")
    question = r.get("question")
    if not isinstance(question, str) or not question.strip():
        raise IngestError(where, '"question" is missing or empty')
    gold = r.get("gold")
    if isinstance(gold, str):
        raise IngestError(where, '"gold" must be a list of strings, e.g. ["5432"]')
    if not isinstance(gold, list) or not all(isinstance(g, str) for g in gold):
        raise IngestError(where, '"gold" is missing or not a list of strings')
    if not gold or not any(normalize(g) for g in gold):
        raise IngestError(where, '"gold" is empty: give at least one string the answer must hold')
    if not all(normalize(g) for g in gold):
        raise IngestError(where, '"gold" holds an empty string')
    file = r.get("file")
    if file is not None:
        if not isinstance(file, str) or not file.strip():
            raise IngestError(where, '"file" must be a path relative to the documents folder')
        target = root / file
        if not target.is_file() or not target.resolve().is_relative_to(root.resolve()):
            raise IngestError(where, f"file {file!r} does not exist in {root}")
    tags = r.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise IngestError(where, '"tags" must be a list of strings')
    return DocQuestion(n, question.strip(), tuple(gold), Path(file).as_posix() if file else None,
                       str(r.get("id", "")), tuple(tags))


def folder_documents(docs_dir: Path, progress: Callable[[str, int, int], None] | None = None,
                     ) -> tuple[tuple[Document, ...], list[str]]:
    """Every readable document of the folder through the product's loaders, and one line per
    file passed over ("FILE: REASON"), as `assistant index` reports them."""
    files, skipped = discover(docs_dir)
    notes = [f"{s.source}: {s.reason}" for s in skipped]
    docs: list[Document] = []
    for i, f in enumerate(files):
        try:
            docs.append(load_document(f, docs_dir))
        except IngestError as exc:
            notes.append(str(exc))
        if progress is not None:
            progress("reading", i + 1, len(files))
    if not docs:
        raise IngestError(str(docs_dir), "no readable documents in the folder")
    return tuple(docs), notes


def content_key(documents: Sequence[Document]) -> str:
    """The cache key of a folder: each document's path and its text as the loaders read it,
    so a changed loader builds a new index even when no file changed."""
    h = hashlib.sha256()
    for d in sorted(documents, key=lambda d: d.doc_id):
        h.update(f"{d.doc_id}\0{d.title}\0{len(d.text)}\0".encode())
        h.update(d.text.encode("utf-8", "surrogatepass"))
        h.update(json.dumps([d.skip_spans, d.headings, d.page_starts]).encode())
    return h.hexdigest()


@dataclass(frozen=True)
class Result:
    """One question through `ask`: what the answer held and cited."""

    q: DocQuestion
    answer: Answer
    files: tuple[str, ...]  # the cited files, relative to the folder, in citation order
    ms: float

    @property
    def found(self) -> bool:
        return self.answer.found

    @property
    def body(self) -> str:
        return answer_body(self.answer) if self.answer.found else ""

    @property
    def hit(self) -> bool:
        return bool(self.body) and holds(self.body, self.q.gold)

    @property
    def file_hit(self) -> bool | None:
        return None if self.q.file is None else self.q.file in self.files

    @property
    def short(self) -> str | None:
        s = self.answer.short_answer
        return s.text if self.answer.found and s is not None else None

    @property
    def short_hit(self) -> bool:
        return self.short is not None and holds(self.short, self.q.gold)


def run_docs(settings: Settings, questions_path: Path, docs_dir: Path, cache_root: Path,
             progress: Callable[[str, int, int], None] | None = None,
             embedder: Embedder | None = None) -> dict[str, Any]:
    """Index the folder (cached by its content), ask every question, score the answers."""
    docs_dir = Path(docs_dir)
    questions = load_questions(questions_path, docs_dir)
    documents, notes = folder_documents(docs_dir, progress)
    # source is "<folder name>/<path in the folder>"
    rel = {d.doc_id: d.source.split("/", 1)[1] for d in documents}
    missing = [q for q in questions
               if q.file is not None and doc_id_of(docs_dir / q.file, docs_dir) not in rel]
    if missing:
        q = missing[0]
        raise IngestError(f"{questions_path}:{q.line}",
                          f"file {q.file!r} is not indexed (not a supported document, ignored "
                          "or unreadable)")
    assistant, build = build_index(settings, documents, content_key(documents), cache_root,
                                   embedder, progress)
    results: list[Result] = []
    for i, q in enumerate(questions):
        t0 = time.perf_counter()
        ans = assistant.ask(q.question)
        ms = (time.perf_counter() - t0) * 1000
        files = tuple(dict.fromkeys(rel.get(c.chunk.doc_id, c.chunk.source)
                                    for c in ans.citations))
        results.append(Result(q, ans, files, ms))
        if progress is not None:
            progress("asking", i + 1, len(questions))
    return {
        "benchmark": "docs",
        "mode": settings.mode,
        **figures(results),
        "by_tag": {t: figures([r for r in results if t in r.q.tags])
                   for t in sorted({t for r in results for t in r.q.tags})},
        "documents": build.documents,
        "chunks": build.chunks,
        "index_seconds": build.index_seconds,
        "index_cached": build.cached,
        "seconds_per_answer": round(float(np.mean([r.ms for r in results])) / 1000, 3),
        "skipped": notes,
        "misses": [miss(r) for r in results if not r.hit or r.file_hit is False],
    }


def _share(flags: Sequence[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def figures(results: Sequence[Result]) -> dict[str, Any]:
    """The scores of a set of asked questions; shares are of all of them (an abstention
    misses), cite_file_hit of those that name a file, short_precision of the short answers."""
    answered = [r for r in results if r.found]
    with_file = [r for r in results if r.file_hit is not None]
    shorts = [r for r in results if r.short is not None]
    return {
        "questions": len(results),
        "answer_hit": _share([r.hit for r in results]),
        "cite_file_hit": _share([bool(r.file_hit) for r in with_file]),
        "questions_with_file": len(with_file),
        "short_hit": _share([r.short_hit for r in results]),
        "short_given": _share([r.short is not None for r in results]),
        "short_precision": _share([r.short_hit for r in shorts]),
        "abstentions": _share([not r.found for r in results]),
        "answer_words": round(float(np.mean([len(r.body.split()) for r in answered])), 1)
        if answered else 0.0,
    }


def miss(r: Result) -> dict[str, Any]:
    return {"line": r.q.line, "id": r.q.id, "question": r.q.question, "gold": list(r.q.gold),
            "file": r.q.file, "tags": list(r.q.tags), "found": r.found,
            "answer_hit": r.hit, "cite_file_hit": r.file_hit, "short_answer": r.short,
            "answer": r.answer.text if r.found else "", "cited_files": list(r.files)}


def misses_text(report: dict[str, Any], width: int = 300) -> list[str]:
    """The misses as lines a person reads in a terminal."""
    lines = []
    for m in report["misses"]:
        what = "not found" if not m["found"] else (
            "no gold in the answer" if not m["answer_hit"] else "expected file not cited")
        lines.append(f"line {m['line']}: {m['question']}  [{what}]")
        lines.append(f"    gold: {' | '.join(m['gold'])}"
                     + (f"   file: {m['file']}" if m["file"] else ""))
        cited = ", ".join(m["cited_files"]) or "nothing"
        lines.append(f"    cited: {cited}")
        if m["found"]:
            text = " ".join(m["answer"].split())
            lines.append(f"    answer: {text[:width]}{'…' if len(text) > width else ''}")
    return lines
