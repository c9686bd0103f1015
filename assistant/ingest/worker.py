"""Untrusted files are parsed in worker processes that are killed when they overrun.

A loader fed a hostile file (a page that renders to gigabytes, a zip bomb, HTML nested a
million deep) must cost that file, not the server: load_document runs in a child process
whose address space is capped (RLIMIT_AS, ASSISTANT_PARSE_MEMORY_MB) and which the parent
kills at its deadline (ASSISTANT_PARSE_SECONDS). Either way the file is skipped with a
reason naming the setting, a fresh worker takes the next file, and the caller (an index
run, an upload, the chat answering others) goes on. A worker that has grown large after a
big file is replaced before the next one, so its memory does not linger.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ..config import variable
from ..errors import IngestError
from ..types import Document
from .base import Limits
from .discover import source_of
from .document import load_document

log = logging.getLogger(__name__)

WORKERS = 2  # files parsed side by side at most (an index run's one, plus an upload's)
RECYCLE_MB = 400  # a worker holding more than this after a file is replaced


def _serve(conn: Connection, memory_mb: int) -> None:
    """The worker's loop: (path, docs_dir, data, limits) in, ("ok", Document) or ("error",
    reason) out, until the parent closes the pipe."""
    import resource

    limit = memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # Parsers' warnings about odd files ("EOF marker not found") would reach the user's
    # terminal from here; the reason that matters comes back with the answer.
    logging.disable(logging.WARNING)
    while True:
        try:
            path, docs_dir, data, limits = conn.recv()
        except (EOFError, OSError):
            return
        # The third field asks for a fresh worker: after a parser blew up (out of memory, an
        # unexpected exception) this process may be left half-broken for the next file.
        try:
            conn.send(("ok", load_document(Path(path), Path(docs_dir), data, limits), False))
        except IngestError as exc:
            conn.send(("error", exc.reason, False))
        except Exception as exc:  # noqa: BLE001 - any parser failure is this file's alone
            if _out_of_memory(exc):
                conn.send(("error", f"reading it needs more than {memory_mb} MB "
                                    f"({variable('parse_memory_mb')}); not read", True))
            else:
                conn.send(("error", f"could not be read ({type(exc).__name__}: "
                                    f"{str(exc)[:200]})", True))
        del data


# How running out of the worker's address space shows when it is not a MemoryError: C++
# libraries (onnxruntime, OpenCV) raise bad_alloc, the loader cannot map a library.
_OOM = ("bad_alloc", "cannot allocate memory", "failed to map segment", "out of memory")


def _out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or any(m in str(exc).lower() for m in _OOM)


class _Worker:
    """One child process (a fresh interpreter: nothing of the server's state or threads is
    forked) and the parent's end of its socket."""

    def __init__(self, memory_mb: int) -> None:
        mine, theirs = socket.socketpair()
        code = ("import sys; from multiprocessing.connection import Connection; "
                "from assistant.ingest.worker import _serve; "
                "_serve(Connection(int(sys.argv[1])), int(sys.argv[2]))")
        # The child finds the modules where this process found them.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, str(theirs.fileno()), str(memory_mb)], env=env,
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, close_fds=True,
            # A parser dying of a hostile file prints its last words here; the parent logs
            # the exit code and the file's reason instead.
            stderr=subprocess.DEVNULL)
        theirs.close()
        self.conn = Connection(mine.detach())
        self.jobs = 0  # files sent to this process

    def alive(self) -> bool:
        return self.process.poll() is None

    def rss_mb(self) -> float:
        try:
            with open(f"/proc/{self.process.pid}/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        except (OSError, ValueError, IndexError):
            return 0.0

    def stop(self) -> None:
        try:
            self.conn.close()
        finally:
            if self.alive():
                self.process.kill()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                log.warning("parsing worker %d did not stop", self.process.pid)


class Parser:
    """load_document for untrusted files, in worker processes with a deadline and a memory cap.

    Thread-safe: up to WORKERS files are parsed at once; more callers wait for a worker.
    """

    def __init__(self, seconds: float, memory_mb: int, limits: Limits) -> None:
        self.seconds, self.memory_mb, self.limits = seconds, memory_mb, limits
        self.files = 0  # files parsed so far (each upload or index run parses a file once)
        self._idle: queue.LifoQueue[_Worker | None] = queue.LifoQueue()
        for _ in range(WORKERS):
            self._idle.put(None)  # a slot; its process starts on first use

    @classmethod
    def of(cls, settings: Any) -> Parser:
        """The parser the settings ask for (one per process and budget: see `shared`)."""
        return shared(settings.parse_seconds, settings.parse_memory_mb, Limits.of(settings))

    def load(self, path: Path, docs_dir: Path, data: bytes) -> Document:
        """The file as a Document, or IngestError naming the file and why it was not read."""
        source = source_of(path, docs_dir)
        job = (str(path), str(docs_dir), data, self.limits)
        worker = self._idle.get()
        self.files += 1
        try:
            for attempt in range(2):
                if worker is None:
                    try:
                        worker = _Worker(self.memory_mb)
                    except OSError as exc:  # no process can start here: read it in this one
                        log.warning("cannot start a parsing worker (%s); %s is read "
                                    "in-process, without the time and memory caps", exc, source)
                        return load_document(path, docs_dir, data, self.limits)
                used = worker.jobs > 0
                worker, result, died = self._run(worker, source, job)
                # A worker that dies on its first file died of that file; one that had read
                # others may have died of what they left behind: the file gets a fresh one.
                if not (died and used and attempt == 0):
                    break
        finally:
            self._idle.put(worker)
        if result[0] == "ok":
            doc: Document = result[1]
            return doc
        raise IngestError(source, result[1])

    def _run(self, worker: _Worker, source: str, job: tuple[Any, ...]
             ) -> tuple[_Worker | None, tuple[Any, ...], bool]:
        """Send one job: (the worker to keep, or None if it was stopped; its answer; whether
        the worker died)."""
        worker.jobs += 1
        try:
            worker.conn.send(job)
            deadline = time.monotonic() + self.seconds
            while not worker.conn.poll(max(0.0, min(1.0, deadline - time.monotonic()))):
                if time.monotonic() >= deadline:
                    worker.stop()
                    log.warning("%s: parsing stopped after %.0f s", source, self.seconds)
                    return None, ("error", f"reading it took over {self.seconds:.0f} s "
                                           f"({variable('parse_seconds')}); stopped, not read"), False
                if not worker.alive():
                    break
            result = worker.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            try:
                code = worker.process.wait(5)
            except subprocess.TimeoutExpired:
                code = None
            worker.stop()
            log.warning("%s: the parsing worker died (exit code %s)", source, code)
            return None, ("error", f"the reader stopped (exit code {code}): more than "
                                   f"{self.memory_mb} MB ({variable('parse_memory_mb')}) or a "
                                   "crash in a parser; not read"), True
        if result[2] or worker.rss_mb() > RECYCLE_MB:
            worker.stop()  # a fresh worker for the next file: broken state, or memory back
            return None, result, False
        return worker, result, False


_SHARED: dict[tuple[float, int, Limits], Parser] = {}
_SHARED_LOCK = threading.Lock()


def shared(seconds: float, memory_mb: int, limits: Limits) -> Parser:
    """One Parser per process and budget, so that every Indexer of a process shares its workers
    (each costs a Python start, ~0.5 s, once)."""
    key = (seconds, memory_mb, limits)
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = Parser(seconds, memory_mb, limits)
        return _SHARED[key]
