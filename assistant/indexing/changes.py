"""What changed in a folder since the last commit: by stat first, then by hash; one update's outcome.

Change detection is by stat first: a file whose (size, mtime_ns) and path are
as recorded is unchanged without being read; a file whose stat changed is read
and hashed, and only a different hash makes it "updated". The loop (update.py)
and Ray (ray.py) both go through FolderUpdate, so they count, skip, keep and
report alike.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import store
from ..errors import NoDocumentsError
from ..ingest import discover, doc_id_of, source_of, upload
from ..types import Document, IndexReport, Skipped
from .writer import Setup, open_writer


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
        kind, total = self.writer.summary()
        return IndexReport(removed=len(removed), chunks=total, embedded=embedded,
                           skipped=tuple(self.skipped), notes=tuple(self.notes),
                           vector_index=kind, added=self.counts["added"],
                           updated=self.counts["updated"], unchanged=self.counts["unchanged"])


@dataclass(frozen=True)
class Wait:
    """How long an update waits for another one's lock, whom it tells, and which setting sets it."""

    seconds: float
    on_wait: Callable[[float], None] | None = None
    setting: str = "lock_timeout"


@contextmanager
def folder_update(a: Setup, docs_dir: Path, rebuild: bool, wait: Wait | None = None
                  ) -> Iterator[FolderUpdate]:
    """Lock the index, clear what interrupted uploads left, list `docs_dir` and compare it with
    the catalog; the writer is closed on the way out (committed or not)."""
    wait = wait or Wait(a.settings.lock_timeout)
    with store.locked(a.settings.index_dir, wait.seconds, wait.on_wait, wait.setting):
        leftovers = upload.clear_leftovers(docs_dir)  # only a dead update leaves any
        files, skipped = discover(docs_dir)  # what is there once it is our turn
        writer = open_writer(a, rebuild, str(docs_dir.resolve()))
        try:
            u = FolderUpdate(docs_dir, writer, files, skipped)
            u.notes += leftovers
            yield u
        finally:
            writer.close()
