"""Collections: named documents folders, each with an index of its own.

They are declared in a TOML file (ASSISTANT_CONFIG) or with `assistant collection add`
(kept in the team database); a name in both is an error. Without any, the server has one
collection, "default": today's ASSISTANT_DOCS_DIR and ASSISTANT_INDEX_DIR, unchanged.

    # assistant.toml
    [collections.hr]
    docs = "/srv/documents/hr"        # relative paths are relative to this file
    index = "/srv/index/hr"           # optional: INDEX_DIR/collections/hr
    title = "Human resources"         # optional: shown in the chat's picker

`Collections` holds one Assistant per collection, made when first asked for; they share
the process's one embedding model.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

import tomllib

from ..config import Settings
from ..errors import AssistantError
from ..pipeline import Assistant
from .accounts import TeamError
from .database import Database

DEFAULT = "default"
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


@dataclass(frozen=True)
class Collection:
    name: str
    docs_dir: Path
    index_dir: Path
    title: str

    def settings(self, base: Settings) -> Settings:
        return base.replace(docs_dir=self.docs_dir, index_dir=self.index_dir)


def checked(name: str) -> str:
    if not NAME.fullmatch(name or ""):
        raise TeamError(f"collection name {name!r} is not allowed: use lower-case letters, "
                        "digits, - and _ (at most 40, starting with a letter or digit)")
    return name


def _from_file(path: Path, settings: Settings) -> list[Collection]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AssistantError(f"cannot read ASSISTANT_CONFIG {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise AssistantError(f"{path} is not valid TOML: {exc}") from None
    unknown = set(data) - {"collections"}
    if unknown:
        raise AssistantError(f"{path}: unknown section(s) {', '.join(sorted(unknown))}; "
                             "only [collections.NAME] is read")
    out = []
    for name, spec in (data.get("collections") or {}).items():
        where = f"{path}: [collections.{name}]"
        if not isinstance(spec, dict) or not isinstance(spec.get("docs"), str):
            raise AssistantError(f"{where} needs docs = \"FOLDER\"")
        extra = set(spec) - {"docs", "index", "title"}
        if extra:
            raise AssistantError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
        try:
            checked(name)
        except TeamError as exc:
            raise AssistantError(f"{where}: {exc}") from None
        index = spec.get("index")
        out.append(Collection(
            name, (path.parent / spec["docs"]).resolve(),
            (path.parent / index).resolve() if index else settings.index_dir / "collections" / name,
            str(spec.get("title") or name)))
    return out


def declared(settings: Settings, db: Database) -> list[Collection]:
    """The collections of the config file and of the team database, in that order."""
    found = _from_file(Path(settings.config), settings) if settings.config else []
    with db.read() as conn:
        rows = conn.execute("SELECT name, docs, idx, title FROM collections ORDER BY name").fetchall()
    seen = {c.name for c in found}
    for name, docs, idx, title in rows:
        if name in seen:
            raise AssistantError(f"collection {name!r} is declared both in {settings.config} and "
                                 "with `assistant collection add`: remove one "
                                 f"(`assistant collection remove {name}`)")
        found.append(Collection(name, Path(docs),
                                Path(idx) if idx else settings.index_dir / "collections" / name,
                                title or name))
    return found


def add(db: Database, name: str, docs: Path, index: Path | None, title: str | None) -> None:
    checked(name)
    if not docs.is_dir():
        raise TeamError(f"{docs} is not a folder")
    with db.connect() as conn:
        if conn.execute("SELECT 1 FROM collections WHERE name = ?", (name,)).fetchone():
            raise TeamError(f"collection {name!r} exists already")
        conn.execute("INSERT INTO collections VALUES (?, ?, ?, ?)",
                     (name, str(docs.resolve()), str(index.resolve()) if index else None, title))


def remove(db: Database, name: str) -> None:
    """Forget a collection (its folder and index stay on disk) and every grant on it."""
    with db.connect() as conn:
        if not conn.execute("DELETE FROM collections WHERE name = ?", (name,)).rowcount:
            raise TeamError(f"no collection {name!r} was added with `assistant collection add`")
        conn.execute("DELETE FROM grants WHERE collection = ?", (name,))


class Collections:
    """The server's collections by name, each with its Assistant (made on first use)."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        items = declared(settings, db) or [
            Collection(DEFAULT, settings.docs_dir, settings.index_dir, "Documents")]
        self.by_name = {c.name: c for c in items}
        self._assistants: dict[str, Assistant] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        return list(self.by_name)

    def get(self, name: str) -> Collection:
        try:
            return self.by_name[name]
        except KeyError:
            raise TeamError(f"no collection {name!r}; this server has: "
                            f"{', '.join(self.by_name)}") from None

    def put(self, name: str, assistant: Assistant) -> None:
        """Serve collection `name` with an Assistant already made (its own embedder)."""
        self.get(name)
        with self._lock:
            self._assistants[name] = assistant

    def assistant(self, name: str) -> Assistant:
        """The Assistant over collection `name`; the first one made is shared by all."""
        c = self.get(name)
        with self._lock:
            if name not in self._assistants:
                self._assistants[name] = Assistant(c.settings(self.settings))
            return self._assistants[name]
