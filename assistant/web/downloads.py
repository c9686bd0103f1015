"""A conversation -> the files a person downloads from the chat (Markdown, references, Word).

Files are made when asked for, into one folder per browser session; no Gradio here.
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Sequence
from pathlib import Path

from ..cite.records import Turn, references_text
from ..cite.styles import STYLES
from ..cite.word import write_docx
from .view import export_markdown

KINDS = ("markdown", "references", "word")  # what the three export buttons make


class Exports:
    """The files a session downloads, made when asked for, in one folder per browser session.

    Gradio serves a copy it makes in its own cache when a handler returns a file
    (aged out by ui.build's `delete_cache`), so a folder here is needed only until
    then: each export replaces the session's previous folder, at most `keep`
    sessions' folders are kept (the least recently written go), "New conversation"
    drops its own, and the whole root goes when the app stops. A long-running
    chat thus holds a bounded number of folders, and writes nothing per answer.
    (A tab's closing is not listened for: Gradio's unload event holds a connection open.)
    """

    def __init__(self, keep: int = 32) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="assistant-exports-"))
        self.keep = keep
        # Each file's name ends in a random mark; the mark says whose it is. Gradio serves the
        # copy it makes under the same name, and server.FileGate lets only the owner fetch it.
        self._owners: dict[str, str] = {}
        self._lock = threading.Lock()
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.root, True)

    def _folder(self, session: str) -> Path:
        return self.root / hashlib.sha256(session.encode("utf-8")).hexdigest()[:16]

    def write(self, session: str, kind: str, turns: Sequence[Turn],
              style: str, owner: str = "") -> str | None:
        """The conversation as `kind` (KINDS) in `style`, in the session's folder made anew;
        only `owner` may download it (owner_of)."""
        folder = self._folder(session)
        shutil.rmtree(folder, ignore_errors=True)
        if not turns:
            return None
        folder.mkdir(parents=True)
        mark = secrets.token_hex(6)
        with self._lock:
            if len(self._owners) > 64 * self.keep:  # bounded: the oldest marks go
                for old in list(self._owners)[: 32 * self.keep]:
                    del self._owners[old]
            self._owners[mark] = owner
        stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{mark}"
        when = time.strftime("%Y-%m-%d %H:%M")
        if kind == "markdown":
            path = folder / f"conversation-{stamp}.md"
            path.write_text(export_markdown(turns, when), encoding="utf-8")
        elif kind == "references":
            suffix = STYLES[style].suffix if style in STYLES else ".txt"
            path = folder / f"references-{style}-{stamp}{suffix}"
            path.write_text(references_text(turns, style), encoding="utf-8")
        else:
            path = write_docx(turns, folder / f"conversation-{stamp}.docx", style=style,
                                     when=when)
        older = sorted((f for f in self.root.iterdir() if f != folder),
                       key=lambda f: f.stat().st_mtime, reverse=True)
        for f in older[self.keep - 1:]:
            shutil.rmtree(f, ignore_errors=True)
        return str(path)

    def owner_of(self, name: str) -> str | None:
        """Whose export a file called `name` is (None: not an export of this server)."""
        stem = name.rsplit(".", 1)[0]
        mark = stem.rsplit("-", 1)[-1]
        with self._lock:
            return self._owners.get(mark)

    def drop(self, session: str) -> None:
        shutil.rmtree(self._folder(session), ignore_errors=True)

    def close(self) -> None:
        self._cleanup()
