"""Writing the index: find what changed, chunk and embed only that, commit one segment.

Change detection is by stat first: a file whose (size, mtime_ns) and path are
as recorded is unchanged without being read; a file whose stat changed is read
and hashed, and only a different hash makes it "updated". Called by
indexing.Indexer, which holds the model; this module holds no state.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import __version__, store
from .errors import IndexCorruptError, IndexMismatchError, IngestError, NoDocumentsError
from .ingest import discover, doc_id_of, file_hash, load_document, read_file, source_of
from .retrieve import embed_text, lexical_text, tokenize
from .sentences import Table, embed_with_sentences
from .store import catalog, legacy
from .types import Chunk, Document, IndexReport, Skipped

if TYPE_CHECKING:
    from .indexing import Indexer

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
# Texts per call to the model while files are still being read. Each call sorts its texts by
# length and runs them as batches on every core; with 256 the cores sat idle at the end of
# each call and padding was longer: 1,000 abstracts took 57 s against 50 s with 2,048.
EMBED_BATCH = 2048


@dataclass
class _New:
    doc: Document
    chunks: list[Chunk]
    size: int | None = None
    mtime_ns: int | None = None


def manifest(a: Indexer, docs_dir: str | None) -> dict[str, Any]:
    return {**a.expected(), "assistant_version": __version__, "docs_dir": docs_dir,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def open_writer(a: Indexer, rebuild: bool, docs_dir: str | None) -> store.Writer:
    """The index's writer, after converting an old-format index (vectors kept) if there is one.

    Call inside `store.locked`. Raises IndexMismatchError when the index was
    built with other settings, unless `rebuild`.
    """
    index_dir = a.settings.index_dir

    def new() -> dict[str, Any]:
        return manifest(a, docs_dir)

    try:
        writer = store.writer(index_dir, new, a.settings)
    except (sqlite3.DatabaseError, ValueError) as exc:
        log.warning("the previous index cannot be read (%s); building a new one", exc)
        for name in (catalog.CATALOG, f"{catalog.CATALOG}-wal", f"{catalog.CATALOG}-shm"):
            (index_dir / name).unlink(missing_ok=True)
        writer = store.writer(index_dir, new, a.settings)
    if not rebuild and writer.any_documents():
        try:
            store.open_store(index_dir, a.settings).close()  # checks every live segment (sizes, checksums)
        except IndexCorruptError as exc:
            log.warning("the previous index cannot be read (%s); building a new one", exc)
            rebuild = True
    if rebuild:
        writer.rebuild(new())
    else:
        # What the settings alone decide; the model's dimension is checked before embedding.
        s = a.settings
        store.check_compatible(writer.manifest, {"model": s.model, "chunking": s.chunking(),
                                                 "lexical": s.lexical()})
    if store.is_legacy(index_dir) or (index_dir / "CURRENT").is_file():
        if not rebuild and not writer.any_documents():
            _convert(a, writer)
        legacy.remove(index_dir)
    return writer


def _convert(a: Indexer, writer: store.Writer) -> None:
    index_dir = a.settings.index_dir
    try:
        old, items = legacy.read(index_dir)
    except (IndexCorruptError, FileNotFoundError) as exc:
        log.warning("the previous index cannot be read (%s); building a new one", exc)
        return
    for key in ("model", "dim", "max_seq_length", "chunking"):
        if old.get(key) != a.expected()[key]:
            raise IndexMismatchError(
                f"the index in {index_dir} was built with {key}={old.get(key)!r} but the settings "
                f"say {a.expected()[key]!r}; {store.REBUILD_HINT} with the new settings")
    for doc, chunks, vectors in items:
        writer.add(doc, chunks, vectors, _tokens(a, chunks))
    writer.commit()
    log.warning("converted the index in %s to the segment format (%d documents, vectors kept)",
                index_dir, len(items))


def _tokens(a: Indexer, chunks: Sequence[Chunk]) -> list[list[str]]:
    s = a.settings
    return tokenize([lexical_text(c, s.embed_titles) for c in chunks], s.stemmer, s.stopwords)


def reusable(prev: store.Known | None, path: str, content_hash: str, title: str | None = None
             ) -> bool:
    """The one reuse rule: a document keeps its chunks and vectors when the index holds it under
    the same doc_id (`prev`) with the same path, content hash and title. `title` is None for a
    file checked before it is parsed: its title follows from its bytes and path."""
    return (prev is not None and prev.path == path and prev.content_hash == content_hash
            and (title is None or prev.title == title))


Todo = tuple[Path, str, os.stat_result, Any, bool]  # path, doc_id, stat, Known or None, same path


def changed_files(files: Sequence[Path], docs_dir: Path, stats: Mapping[str, tuple[Any, ...]],
                  counts: dict[str, int], seen: set[str], skipped: list[Skipped],
                  notes: list[str]) -> list[Todo]:
    """The files to read (new, or stat changed), by stat alone; counts the unchanged ones,
    and records unreadable ones (keeping their last indexed version) in `skipped`.

    `stats` maps doc_id to a row starting (path, size, mtime_ns), as `Writer.stats()` gives.
    """
    todo: list[Todo] = []
    for path in files:
        doc_id = doc_id_of(path, docs_dir)
        prev = stats.get(doc_id)
        try:
            st = path.stat()
        except OSError as exc:
            skipped.append(Skipped(source_of(path, docs_dir),
                                   f"cannot read file: {exc.strerror or exc}"))
            if prev is not None:
                seen.add(doc_id)
                notes.append(f"{source_of(path, docs_dir)}: kept the previously indexed version")
            continue
        same_path = prev is not None and prev[0] == str(path.resolve())
        if same_path and prev is not None and tuple(prev[1:3]) == (st.st_size, st.st_mtime_ns):
            seen.add(doc_id)
            counts["unchanged"] += 1
            continue
        todo.append((path, doc_id, st, prev, same_path))
    return todo


def scan(writer: store.Writer, files: Sequence[Path], docs_dir: Path, counts: dict[str, int],
         seen: set[str], skipped: list[Skipped], notes: list[str]) -> tuple[set[str], list[Todo]]:
    """(doc ids indexed now, the files to read with their Known rows): every file's stat is
    compared with the catalog's (path, size, mtime_ns) rows, and the hash and title rows are
    read, by key, only for the files whose stat changed."""
    stats = {} if writer.rebuilding else writer.stats()
    todo = changed_files(files, docs_dir, stats, counts, seen, skipped, notes)
    known = writer.known([t[1] for t in todo if t[3] is not None])
    return set(stats), [(path, doc_id, st, known.get(doc_id), same)
                        for path, doc_id, st, _, same in todo]


class FolderUpdate:
    """One update of the index from a folder, under the index lock: what the scan found,
    then each changed file's outcome, then the report. The loop below and Ray
    (ingest_ray.update_folder) both go through it, so they count, skip, keep and report
    alike."""

    def __init__(self, docs_dir: Path, writer: store.Writer, files: Sequence[Path],
                 skipped: Sequence[Skipped]) -> None:
        self.docs_dir, self.writer = docs_dir, writer
        self.counts = {"added": 0, "updated": 0, "unchanged": 0}
        self.notes: list[str] = []
        self.seen: set[str] = set()
        self.skipped = list(skipped)
        self.indexed, self.todo = scan(writer, files, docs_dir, self.counts, self.seen,
                                       self.skipped, self.notes)

    def unchanged(self, doc_id: str, size: int, mtime_ns: int) -> None:
        """Only the file's stat changed: touched, not re-indexed."""
        self.writer.touch(doc_id, size, mtime_ns)
        self.seen.add(doc_id)
        self.counts["unchanged"] += 1

    def failed(self, doc_id: str, source: str, reason: str, known: bool) -> None:
        """The file could not be read: skipped, and a version indexed before is kept."""
        self.skipped.append(Skipped(source, reason))
        if known:
            # Never lose what was indexed: keep the last good version of the file.
            self.seen.add(doc_id)
            self.notes.append(f"{source}: kept the previously indexed version")

    def loaded(self, doc_id: str, doc: Document, known: bool) -> None:
        """`doc` is (re-)indexed; the caller hands its chunks to the writer."""
        self.seen.add(doc_id)
        self.counts["updated" if known else "added"] += 1
        self.notes.extend(f"{doc.source}: {note}" for note in doc.notes)  # e.g. cp1252

    def removed(self) -> set[str]:
        """Documents no longer in the folder; NoDocumentsError if none could be indexed."""
        if not self.seen:
            reasons = "; ".join(f"{s.source}: {s.reason}" for s in self.skipped[:5])
            raise NoDocumentsError(
                f"no document in {self.docs_dir} could be indexed"
                + (f" ({reasons})" if reasons else "; add .txt, .md, .html, .pdf or .docx files"))
        return self.indexed - self.seen

    def report(self, removed: set[str], embedded: int) -> IndexReport:
        kind, total = _summary(self.writer)
        return IndexReport(removed=len(removed), chunks=total, embedded=embedded,
                           skipped=tuple(self.skipped), notes=tuple(self.notes),
                           vector_index=kind, **self.counts)


@contextmanager
def folder_update(a: Indexer, docs_dir: Path, rebuild: bool) -> Iterator[FolderUpdate]:
    """Lock the index, list `docs_dir` and compare it with the catalog; the writer is closed
    on the way out (committed or not)."""
    with store.locked(a.settings.index_dir, a.settings.lock_timeout):
        files, skipped = discover(docs_dir)  # what is there once it is our turn
        writer = open_writer(a, rebuild, str(docs_dir.resolve()))
        try:
            yield FolderUpdate(docs_dir, writer, files, skipped)
        finally:
            writer.close()


def update_folder(a: Indexer, docs_dir: Path, rebuild: bool, progress: Progress | None
                  ) -> IndexReport:
    """Bring the index up to date with `docs_dir`."""
    with folder_update(a, docs_dir, rebuild) as u:

        def load(item: Todo) -> Document | str | IngestError:
            """The file as a Document; "same" if only its stat changed; or why it failed."""
            path, _, _, prev, _ = item
            try:
                data = read_file(path, docs_dir)  # size limit checked first
            except IngestError as exc:
                return exc
            if reusable(prev, str(path.resolve()), file_hash(data)):
                return "same"
            try:
                return load_document(path, docs_dir, data)
            except IngestError as exc:
                return exc

        batches = _Batches(a, u.writer, progress)
        # Files are read and parsed one ahead in a thread while the model embeds.
        with ThreadPoolExecutor(max_workers=1) as pool:
            for (_, doc_id, st, prev, _), got in zip(u.todo, pool.map(load, u.todo), strict=True):
                if got == "same":
                    u.unchanged(doc_id, st.st_size, st.st_mtime_ns)
                elif isinstance(got, IngestError):
                    u.failed(doc_id, got.path, got.reason, prev is not None)
                else:
                    assert isinstance(got, Document)
                    u.loaded(doc_id, got, prev is not None)
                    batches.add(_New(got, a.chunk(got), st.st_size, st.st_mtime_ns))
        removed = u.removed()
        return u.report(removed, batches.commit(removed))


def update_documents(a: Indexer, documents: Sequence[Document], progress: Progress | None
                     ) -> IndexReport:
    """Make the index hold exactly `documents` (already loaded, e.g. a benchmark corpus)."""
    if not documents:
        raise NoDocumentsError("no documents to index")
    with store.locked(a.settings.index_dir, a.settings.lock_timeout):
        writer = open_writer(a, False, None)
        try:
            known = writer.known()
            counts = {"added": 0, "updated": 0, "unchanged": 0}
            batches = _Batches(a, writer, progress)
            for doc in documents:
                prev = known.get(doc.doc_id)
                if reusable(prev, doc.path, doc.content_hash, doc.title):
                    counts["unchanged"] += 1
                    continue
                batches.add(_New(doc, a.chunk(doc)))
                counts["updated" if prev is not None else "added"] += 1
            removed = set(known) - {d.doc_id for d in documents}
            embedded = batches.commit(removed)
            kind, total = _summary(writer)
        finally:
            writer.close()
    return IndexReport(added=counts["added"], updated=counts["updated"],
                       unchanged=counts["unchanged"], removed=len(removed), chunks=total,
                       embedded=embedded, vector_index=kind)


def _summary(writer: store.Writer) -> tuple[str, int]:
    rows = writer.db.execute("SELECT kind, sum(live) FROM segments GROUP BY kind").fetchall()
    kinds = sorted(k for k, _ in rows) or ["flat"]
    return ("+".join("exact (flat)" if k == "flat" else "HNSW" for k in kinds),
            int(sum(n for _, n in rows)))


class _Batches:
    """Embeds documents' chunks in batches as documents arrive, then adds them to the writer
    and commits.

    A document's chunks are embedded in one call, which also pools the vectors of its
    quotable sentences from the same pass (sentences.embed_with_sentences); each distinct
    text of a batch (a repeated block, a copied file) is run once.
    """

    def __init__(self, a: Indexer, writer: store.Writer, progress: Progress | None) -> None:
        self.a, self.writer, self.progress = a, writer, progress
        self.ready: list[tuple[_New, np.ndarray, Table | None]] = []
        self.pending: list[_New] = []
        self.pending_texts: dict[str, None] = {}  # distinct texts waiting for the model
        self.done = self.total = self.embedded = 0
        self.reported = False

    def add(self, n: _New) -> None:
        if not self.ready and not self.pending:
            store.check_compatible(self.writer.manifest, self.a.expected())
        self.pending.append(n)
        self.embedded += len(n.chunks)
        for c in n.chunks:
            t = embed_text(c, self.a.settings.embed_titles)
            if t not in self.pending_texts:
                self.pending_texts[t] = None
                self.total += 1
        if len(self.pending_texts) >= EMBED_BATCH:
            self.flush()

    def _report(self) -> None:
        self.reported = True
        if self.progress is not None:
            self.progress(self.done, self.total)

    def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending, self.pending_texts = self.pending, [], {}
        self._report()

        def step(k: int) -> None:
            self.done += k
            self._report()

        docs = {n.doc.doc_id: n.doc for n in batch}
        chunks = [c for n in batch for c in n.chunks]
        vecs, tables = embed_with_sentences(docs, chunks, self.a.embedder,
                                            self.a.settings.embed_titles, step)
        row = 0
        for n in batch:
            self.ready.append((n, vecs[row:row + len(n.chunks)], tables.get(n.doc.doc_id)))
            row += len(n.chunks)

    def commit(self, removed: set[str]) -> int:
        """Embed what is left, add every document, record removals, commit; chunks embedded."""
        self.flush()
        if not self.reported:
            self._report()
        for n, vectors, table in self.ready:
            self.writer.add(n.doc, n.chunks, vectors, _tokens(self.a, n.chunks), n.size,
                            n.mtime_ns, table)
        for doc_id in removed:
            self.writer.remove(doc_id)
        self.writer.commit()
        return self.embedded
