"""The index on disk: the Store and Writer protocols (base.py), and opening a store by settings.

The local implementation (local.py reads, writer.py writes) keeps immutable
segment folders (FAISS vectors + BM25 arrays, memory-mapped) over a SQLite
catalog of records and the commit point (records.py reads it, commit.py writes
it; catalog.py is its schema)::

    index/
      catalog.sqlite     records + which segments are live; one transaction = one commit
      seg-<gen>-<id>/    vectors.faiss, keys/doclen/terms/indptr/rows/tf .npy
      .lock              held while a writer runs
      eval/              cached evaluation indexes

The Milvus backend (milvus.py reads, milvus_writer.py writes; ASSISTANT_STORE=milvus)
keeps the same catalog and puts the vectors and BM25 weights in Milvus instead of
segment folders. `open_store` and `writer` pick the backend from the settings.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import variable
from ..errors import IndexCorruptError, IndexLockedError, IndexMismatchError, IndexMissingError
from . import catalog
from .base import Known, Store, Writer
from .local import LocalStore
from .manifest import FORMAT_VERSION, check_compatible, expected
from .milvus import MilvusStore
from .milvus_writer import MilvusWriter
from .records import LANGUAGES_QUERY, Records
from .segment import REBUILD_HINT
from .transfer import copy_index
from .writer import ANN_THRESHOLD, LocalWriter

if TYPE_CHECKING:
    from ..config import Settings
    from ..types import Document

__all__ = ["ANN_THRESHOLD", "FORMAT_VERSION", "REBUILD_HINT", "Known", "LocalStore", "LocalWriter",
           "MilvusStore", "MilvusWriter", "Store", "Writer", "built_manifest", "check_compatible",
           "copy_index", "documents_in", "exists", "expected", "generation", "is_legacy", "languages", "load",
           "locked", "open_store", "writer"]

log = logging.getLogger(__name__)


@contextlib.contextmanager
def locked(index_dir: Path, timeout: float = 600.0, on_wait: Callable[[float], None] | None = None,
           setting: str = "lock_timeout") -> Iterator[None]:
    """Hold the index's write lock; a second writer waits up to `timeout` seconds (calling
    `on_wait(timeout)` first, so that a page can say so), then gives up with a reason that
    names `setting`, the setting that sets the wait."""
    from filelock import FileLock, Timeout

    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(index_dir / ".lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.warning("another `assistant index` is writing %s; waiting up to %.0f s for it",
                    index_dir, timeout)
        if on_wait is not None:
            on_wait(timeout)
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            if setting == "lock_timeout":
                raise IndexLockedError(
                    f"{index_dir} is being written by another `assistant index` (waited "
                    f"{timeout:.0f} s); let it finish and try again, or wait longer with "
                    "--wait SECONDS / ASSISTANT_LOCK_TIMEOUT") from None
            raise IndexLockedError(
                f"the index is being written by another update (waited {timeout:.0f} s, "
                f"{variable(setting)}); try again when it has finished") from None
    try:
        yield
    finally:
        lock.release()


def is_legacy(index_dir: Path) -> bool:
    """An index written before segments (a CURRENT file naming a gen-* folder)."""
    return (index_dir / "CURRENT").is_file() and not (index_dir / catalog.CATALOG).is_file()


def exists(index_dir: Path) -> bool:
    """A committed index (of this format) is in `index_dir`; a damaged one counts (load() says so)."""
    return bool(generation(index_dir))


def generation(index_dir: Path) -> int | None:
    """The number of the last commit (changes with every commit), or None without an index."""
    if not (index_dir / catalog.CATALOG).is_file():
        return None
    try:
        db = catalog.connect(index_dir)
        try:
            return int(catalog.get_meta(db, "generation", 0))
        finally:
            db.close()
    except (sqlite3.DatabaseError, ValueError):
        return -1


def backend_of(index_dir: Path) -> str | None:
    """"local" or "milvus": what the index in `index_dir` was built for; None without one."""
    try:
        db = catalog.connect(index_dir)
    except (FileNotFoundError, sqlite3.DatabaseError):
        return None  # damaged: the local path says so with its own reasons
    try:
        if catalog.get_meta(db, "format_version") is None:
            return None
        return "milvus" if catalog.get_meta(db, "milvus") is not None else "local"
    except (sqlite3.DatabaseError, ValueError):
        return None  # damaged: the local path says so with its own reasons
    finally:
        db.close()


def built_manifest(index_dir: Path) -> dict[str, Any] | None:
    """The manifest of the last commit (model, chunking ...), read from the catalog alone; None
    without an index or when it cannot be read (opening it says why)."""
    try:
        db = catalog.connect(index_dir)
    except (FileNotFoundError, sqlite3.DatabaseError):
        return None
    try:
        found = catalog.get_meta(db, "manifest")
        return found if isinstance(found, dict) else None
    except (sqlite3.DatabaseError, ValueError):
        return None
    finally:
        db.close()


def languages(index_dir: Path) -> dict[str, int]:
    """Documents per language ("" unknown) in the last commit, from the catalog alone."""
    try:
        db = catalog.connect(index_dir)
    except (FileNotFoundError, sqlite3.DatabaseError):
        return {}
    try:
        return {str(lang): int(n) for lang, n in db.execute(LANGUAGES_QUERY).fetchall()}
    except sqlite3.DatabaseError:
        return {}
    finally:
        db.close()


def documents_in(index_dir: Path, languages: Collection[str]) -> Iterator[Document]:
    """The last commit's documents in `languages` (ISO 639-1 codes), read from the catalog."""
    if not languages:
        return
    try:
        records = Records(index_dir)
    except (IndexCorruptError, FileNotFoundError):
        return
    try:
        langs = sorted(languages)
        rows = records.query("SELECT doc_id FROM documents WHERE json_extract(locators, "
                             f"'$.language') IN ({','.join('?' * len(langs))})", langs)
        for (doc_id,) in rows:
            doc = records.document(doc_id)
            if doc is not None:
                yield doc
    finally:
        records.close()


def _check_backend(index_dir: Path, settings: Settings | None) -> None:
    built = backend_of(index_dir)
    wanted = settings.store if settings is not None else "local"
    if built is not None and built != wanted:
        raise IndexMismatchError(
            f"the index in {index_dir} was built for the {built} store but ASSISTANT_STORE is "
            f"{wanted}; set ASSISTANT_STORE={built}, or use another --index folder")


def open_store(index_dir: Path, settings: Settings | None = None) -> Store:
    """The last commit, opened with the backend the settings name (ASSISTANT_STORE)."""
    _check_backend(index_dir, settings)
    if settings is not None and settings.store == "milvus":
        return MilvusStore(index_dir, settings.milvus_uri, settings.milvus_token)
    return LocalStore(index_dir)


def writer(index_dir: Path, manifest: Callable[[], dict[str, Any]], settings: Settings) -> Writer:
    """The index's writer for the backend the settings name; use inside `locked(index_dir)`."""
    _check_backend(index_dir, settings)
    if settings.store == "milvus":
        return MilvusWriter(index_dir, manifest, settings.milvus_uri, settings.milvus_token,
                            settings.bm25_k1, settings.bm25_b)
    return LocalWriter(index_dir, manifest, settings.ann_threshold)


def load(index_dir: Path, expected: dict[str, Any] | None = None,
         settings: Settings | None = None) -> Store:
    """Open the last commit, checked against `expected` (model, dimension, chunking...)."""
    if is_legacy(index_dir):
        raise IndexMismatchError(
            f"{index_dir} was written by an older version of the assistant; run `assistant index` "
            f"to convert it (its vectors are kept), or {REBUILD_HINT.removeprefix('run ')}"
        )
    for attempt in range(3):
        gen = generation(index_dir)
        if not gen:
            raise IndexMissingError(
                f"no index in {index_dir}; run `assistant index` (or `make index`) first")
        try:
            opened = open_store(index_dir, settings)
        except IndexCorruptError:
            # A merge may have removed a segment while we opened the catalog's list of them:
            # then read the new commit. Otherwise it is damage.
            if attempt == 2 or generation(index_dir) == gen:
                raise
            time.sleep(0.05)
            continue
        if expected is not None:
            try:
                check_compatible(opened.manifest, expected)
            except IndexMismatchError:
                opened.close()
                raise
        return opened
    raise AssertionError("unreachable")
