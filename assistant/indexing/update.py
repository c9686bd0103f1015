"""One update of the index: read and parse changed files, chunk and embed them in batches, commit.

update_folder brings the index up to date with a folder; update_documents makes
it hold exactly a set of already loaded documents (a benchmark corpus). Files
are read and parsed one ahead in a thread while the model embeds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .. import store
from ..embed.chunks import embed_text
from ..embed.sentences import Table, embed_with_sentences
from ..errors import IngestError, NoDocumentsError
from ..ingest import file_hash, read_file, source_of, upload
from ..types import Chunk, Document, IndexReport
from .changes import Todo, Wait, folder_update, reusable
from .writer import Setup, open_writer, tokens

Progress = Callable[[int, int], None]  # (done, total) chunks embedded
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


def update_folder(a: Setup, docs_dir: Path, rebuild: bool, progress: Progress | None,
                  uploads: Sequence[upload.Staged] = (), wait: Wait | None = None
                  ) -> IndexReport:
    """Bring the index up to date with `docs_dir`, plus `uploads` (parsed already): each is
    written to the staging area once it is our turn, indexed, and moved into place after
    the commit."""
    with folder_update(a, docs_dir, rebuild, wait) as u:

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
                return a.parse(path, docs_dir, data)  # in a worker process, within budgets
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
                    a.admit(got)  # ModelSwitch: nothing is written, the update starts over
                    u.loaded(doc_id, got, prev is not None)
                    batches.add(_New(got, a.chunk(got), st.st_size, st.st_mtime_ns))
        for s in uploads:
            a.admit(s.doc)  # before anything is staged
        placed = []
        for s in upload.claim(uploads, docs_dir):
            staging = upload.stage(docs_dir, s)
            st = staging.stat()  # a rename keeps it, so the next scan finds the file unchanged
            u.loaded(s.doc.doc_id, s.doc, False)
            batches.add(_New(s.doc, a.chunk(s.doc), st.st_size, st.st_mtime_ns))
            placed.append((staging, s.dest))
        removed = u.removed()
        embedded = batches.commit(removed)
        for staging, dest in placed:
            upload.place(staging, dest)
        return replace(u.report(removed, embedded),
                       uploaded=tuple(source_of(dest, docs_dir) for _, dest in placed))


def update_documents(a: Setup, documents: Sequence[Document], progress: Progress | None,
                     rebuild: bool = False) -> IndexReport:
    """Make the index hold exactly `documents` (already loaded, e.g. a benchmark corpus)."""
    if not documents:
        raise NoDocumentsError("no documents to index")
    with store.locked(a.settings.index_dir, a.settings.lock_timeout):
        writer = open_writer(a, rebuild, None)
        try:
            known = {} if writer.rebuilding else writer.known()
            counts = {"added": 0, "updated": 0, "unchanged": 0}
            batches = _Batches(a, writer, progress)
            for doc in documents:
                prev = known.get(doc.doc_id)
                if reusable(prev, doc.path, doc.content_hash, doc.title):
                    counts["unchanged"] += 1
                    continue
                a.admit(doc)
                batches.add(_New(doc, a.chunk(doc)))
                counts["updated" if prev is not None else "added"] += 1
            removed = set(known) - {d.doc_id for d in documents}
            embedded = batches.commit(removed)
            kind, total = writer.summary()
        finally:
            writer.close()
    return IndexReport(added=counts["added"], updated=counts["updated"],
                       unchanged=counts["unchanged"], removed=len(removed), chunks=total,
                       embedded=embedded, vector_index=kind)


class _Batches:
    """Embeds documents' chunks in batches as documents arrive, then adds them to the writer
    and commits.

    A document's chunks are embedded in one call, which also pools the vectors of its
    quotable sentences from the same pass (sentences.embed_with_sentences); each distinct
    text of a batch (a repeated block, a copied file) is run once.
    """

    def __init__(self, a: Setup, writer: store.Writer, progress: Progress | None) -> None:
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
            self.writer.add(n.doc, n.chunks, vectors, tokens(self.a, n.chunks, n.doc.language), n.size,
                            n.mtime_ns, table)
        for doc_id in removed:
            self.writer.remove(doc_id)
        self.writer.commit()
        return self.embedded
