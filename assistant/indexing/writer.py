"""The store's writer, opened for one update: checked against the settings, old formats converted.

`Setup` is what an update needs from the Indexer (indexer.py): its settings, the
model (loaded only when something is embedded), the manifest an index must
match, chunking and BM25 tokens. The functions of this stage take it, so that
they need not know the Indexer itself.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from .. import __version__, store
from ..config import Settings
from ..embed import Embedder
from ..errors import IndexCorruptError
from ..store import catalog, legacy
from ..store.manifest import mismatch
from ..text.analyzer import Analyzer
from ..types import Chunk, Document

log = logging.getLogger(__name__)


class Setup(Protocol):
    """What an update needs from the Indexer."""

    settings: Settings
    analyzer: Analyzer  # the BM25 tokens of chunks

    @property
    def embedder(self) -> Embedder: ...  # loaded on first use

    def expected(self) -> dict[str, Any]: ...

    def chunk(self, doc: Document) -> list[Chunk]: ...

    def parse(self, path: Path, docs_dir: Path, data: bytes) -> Document: ...  # within budgets

    def start(self, built: dict[str, Any] | None, rebuild: bool) -> bool:
        """Settle the model of this update from the manifest the index was `built` with (None:
        none); True when the index must be embedded anew for it (auto changed its choice)."""
        ...

    def admit(self, doc: Document) -> None: ...  # ModelSwitch: start over with another model

    def recorded(self) -> dict[str, Any]: ...  # what the manifest records of the choice


def lexical_text(chunk: Chunk, with_title: bool) -> str:
    """What BM25 indexes of a chunk: its document's title, then its text."""
    return f"{chunk.title}\n{chunk.text}" if with_title else chunk.text


def tokens(a: Setup, chunks: Sequence[Chunk], language: str = "") -> list[list[str]]:
    """The BM25 tokens of each chunk, by the rules of its document's `language`."""
    return a.analyzer.for_language(language).tokenize(
        [lexical_text(c, a.settings.embed_titles) for c in chunks])


def manifest(a: Setup, docs_dir: str | None) -> dict[str, Any]:
    return {**a.expected(), **a.recorded(), "assistant_version": __version__, "docs_dir": docs_dir,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def open_writer(a: Setup, rebuild: bool, docs_dir: str | None, choose: bool = True
                ) -> store.Writer:
    """The index's writer, after converting an old-format index (vectors kept) if there is one.

    Call inside `store.locked`. Raises IndexMismatchError when the index was
    built with other settings, unless `rebuild`. `choose`: settle the model first
    (ASSISTANT_MODEL=auto: the one the index was built with, or a new choice, which
    rebuilds), so that a new index's manifest names it.
    """
    index_dir = a.settings.index_dir
    if choose:
        rebuild = a.start(store.built_manifest(index_dir), rebuild) or rebuild

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
        store.check_compatible(writer.manifest, store.expected(a.settings))
    if store.is_legacy(index_dir) or (index_dir / "CURRENT").is_file():
        if not rebuild and not writer.any_documents():
            _convert(a, writer)
        legacy.remove(index_dir)
    return writer


def _convert(a: Setup, writer: store.Writer) -> None:
    index_dir = a.settings.index_dir
    try:
        old, items = legacy.read(index_dir)
    except (IndexCorruptError, FileNotFoundError) as exc:
        log.warning("the previous index cannot be read (%s); building a new one", exc)
        return
    # An old-format index recorded no BM25 tokenisation: its tokens are made anew.
    mismatch(old, {k: v for k, v in a.expected().items() if k != "lexical"}, str(index_dir))
    for doc, chunks, vectors in items:
        writer.add(doc, chunks, vectors, tokens(a, chunks, doc.language))
    writer.commit()
    log.warning("converted the index in %s to the segment format (%d documents, vectors kept)",
                index_dir, len(items))
