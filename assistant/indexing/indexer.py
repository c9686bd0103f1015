"""Writing the index: the one object that does (folder updates, documents, uploads, merges).

Questions are answered elsewhere (answer.Answerer), from whatever generation the
indexer last committed. An update on Ray (`assistant index --ray`) goes
through ray.py, which gives each worker its own model and chunker.

Under ASSISTANT_MODEL=auto the indexer picks the model (embed/choice.py): each update
starts with the model the index was built with, or MiniLM; a document in another
language that calls for the multilingual model stops it (ModelSwitch, before anything
is written), and it starts over with that model for the whole folder. `settings` are
the settings with the model of the current update; `requested` the ones given.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import store
from ..cite.corrections import Saved, save_correction
from ..config import BUNDLED_MODEL, Settings, variable
from ..embed import Embedder, load_embedder
from ..embed.choice import (
    ModelSwitch,
    available,
    covers,
    explain,
    is_auto,
    starting_model,
    switch_for,
)
from ..errors import IndexLockedError, IngestError
from ..ingest import upload
from ..ingest.worker import Parser
from ..text.analyzer import Analyzer
from ..types import Chunk, Document, IndexReport, Skipped
from . import update
from .changes import Wait
from .chunk import Chunker
from .ray import update_folder as update_on_ray
from .update import Progress
from .writer import open_writer

log = logging.getLogger(__name__)


@dataclass
class _Choosing:
    """What one update has settled of its model (ASSISTANT_MODEL=auto)."""

    asked_rebuild: bool = False
    switch: ModelSwitch | None = None  # what the update that starts over is for
    choice: dict[str, Any] = field(default_factory=dict)  # the manifest's record of it
    notes: list[str] = field(default_factory=list)  # what the report says of a change
    model: str = ""


class Indexer:
    """Brings the index up to date and stores uploads; the only writer of the index."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None,
                 analyzer: Analyzer | None = None) -> None:
        self.requested = settings
        self.settings = settings.model_copy(update={"model": starting_model(settings, None)})
        self.analyzer = analyzer or Analyzer.of(settings)  # BM25 tokens of the chunks
        self._given = self._embedder = embedder
        # One update's choice, per thread (uploads may come in side by side; their updates
        # take turns under the index lock, each in its caller's thread).
        self._update = threading.local()

    @property
    def embedder(self) -> Embedder:
        """The embedding model, loaded on first use (a folder with no change loads none).

        A model given to the constructor serves the settings' model, and under auto the
        starting one (MiniLM) and any model of its own name."""
        if self._embedder is None:
            given, model = self._given, self.settings.model
            if given is not None and (not is_auto(self.requested) or model == BUNDLED_MODEL
                                      or given.name == model):
                self._embedder = given
            else:
                self._embedder = load_embedder(self.settings)  # one per process and settings
        return self._embedder

    @property
    def _now(self) -> _Choosing:
        now = getattr(self._update, "now", None)
        if now is None:
            now = self._update.now = _Choosing()
        return now

    def _use(self, model: str) -> None:
        self._now.model = model
        if model != self.settings.model:
            self.settings = self.requested.model_copy(update={"model": model})
            self._embedder = None

    def start(self, built: dict[str, Any] | None, rebuild: bool) -> bool:
        """Settle this update's model from the manifest the index was `built` with (None: no
        index); True when every document must be embedded anew for it (see writer.Setup)."""
        if not is_auto(self.requested):
            return rebuild
        now = self._now
        old = str(built.get("model", "")) if built and store.exists(self.settings.index_dir) \
            else ""
        if now.switch is not None:  # starting over for a document in another language
            self._use(now.switch.model)
            now.choice = {"model_choice": "auto", "model_reason": now.switch.reason}
            if old and not now.asked_rebuild:
                now.notes.append(f"{now.switch.reason}: every document was embedded again with "
                                 f"{now.switch.model} (ASSISTANT_MODEL=auto; it was {old})")
            return True
        model = starting_model(self.requested, None if rebuild else old or None)
        if old == model == BUNDLED_MODEL and not rebuild:
            now.switch = self._indexed_switch()  # indexed earlier (on Ray, before auto)
            if now.switch is not None:
                return self.start(built, rebuild)
        self._use(model)
        now.choice = {"model_choice": "auto"}
        if built is not None and old == model and not rebuild and built.get("model_reason"):
            now.choice["model_reason"] = built["model_reason"]
        if old and not rebuild and old != model:
            now.notes.append(f"the index was built with {old}, which ASSISTANT_MODEL=auto does "
                             "not choose: every document is embedded again")
            return True
        return rebuild

    def _indexed_switch(self) -> ModelSwitch | None:
        """The switch a document the index holds already calls for, if one does."""
        multi = self.requested.multilingual_model
        langs = [lang for lang in store.languages(self.settings.index_dir)
                 if lang not in ("", "en") and covers(multi, lang)]
        for doc in store.documents_in(self.settings.index_dir, langs):
            switch = switch_for(self.requested, BUNDLED_MODEL, doc)
            if switch is not None and available(switch.model):
                return switch
        return None

    def admit(self, doc: Document) -> None:
        """Raise ModelSwitch when `doc` makes auto change the model (embed/choice.py); when the
        multilingual model is not installed, say so in the report instead."""
        switch = switch_for(self.requested, self.settings.model, doc)
        if switch is None:
            return
        if available(switch.model):
            raise switch
        if not any(n.startswith("ASSISTANT_MODEL=auto") for n in self._now.notes):
            self._now.notes.append(f"ASSISTANT_MODEL=auto kept {self.settings.model}, though "
                               f"{switch.reason}: {switch.model} is not installed "
                               "(pip install 'assistant[multilingual]')")

    def recorded(self) -> dict[str, Any]:
        """What the manifest records of the model's choice: nothing for a model set by name."""
        return dict(self._now.choice) if is_auto(self.requested) else {}

    def _restarting(self, run: Callable[[bool], IndexReport], rebuild: bool) -> IndexReport:
        """`run(rebuild)`, and once more, rebuilding, when a document switches the model."""
        now = self._update.now = _Choosing(asked_rebuild=rebuild)
        try:
            try:
                report = run(rebuild)
            except ModelSwitch as switch:
                log.warning("%s: indexing again with %s", switch.reason, switch.model)
                now.switch = switch
                report = run(True)
        finally:
            now.switch = None
        languages = store.languages(self.settings.index_dir) if is_auto(self.requested) else {}
        reason = explain(self.requested, self.settings.model,
                         str(now.choice.get("model_reason", "")), languages)
        return replace(report, model=now.model or self.settings.model, model_reason=reason,
                       notes=(*now.notes, *report.notes))

    def expected(self) -> dict[str, Any]:
        """What an index must have been built with to be used with these settings."""
        return store.expected(self.settings, self.embedder)

    def index(
        self,
        docs_dir: Path | None = None,
        rebuild: bool = False,
        progress: Progress | None = None,
        ray: str | None = None,
    ) -> IndexReport:
        """Bring the index up to date with `docs_dir`: embed only what is new or changed.

        `ray` ("local" for a cluster on this machine, or a cluster's address) parses and
        embeds on Ray (ray.py) instead of in this process."""
        t0 = time.perf_counter()
        folder = Path(docs_dir or self.settings.docs_dir)
        if ray is not None:  # auto keeps its starting model there (ray.py)
            report = self._restarting(lambda again: update_on_ray(
                self, folder, None if ray == "local" else ray, again, progress), rebuild)
        else:
            report = self._restarting(
                lambda again: update.update_folder(self, folder, again, progress), rebuild)
        report = replace(report, seconds=time.perf_counter() - t0)
        log.info("%s (%d chunks, %.1f s)", report.summary(), report.chunks, report.seconds)
        return report

    def index_documents(
        self, documents: Sequence[Document], progress: Progress | None = None
    ) -> IndexReport:
        """Make the index hold exactly `documents` (already loaded, e.g. a benchmark corpus).

        Documents that changes.reusable finds unchanged (same doc_id, path,
        content_hash and title) keep their chunks and vectors; the rest are
        chunked and embedded.
        """
        t0 = time.perf_counter()
        report = self._restarting(
            lambda again: update.update_documents(self, documents, progress, again), False)
        return replace(report, seconds=time.perf_counter() - t0)

    def optimize(self) -> int:
        """Merge all segments into one (dropping deleted rows); returns how many were merged."""
        with store.locked(self.settings.index_dir, self.settings.lock_timeout):
            built = store.built_manifest(self.settings.index_dir)
            if is_auto(self.requested) and built and built.get("model"):
                self._use(str(built["model"]))  # merging embeds nothing: keep what is there
            writer = open_writer(self, False, None, choose=False)
            try:
                return writer.merge(everything=True)
            finally:
                writer.close()

    def parse(self, path: Path, docs_dir: Path, data: bytes) -> Document:
        """A file's bytes as a Document, parsed in a worker process within the budgets
        (ASSISTANT_PARSE_SECONDS, ASSISTANT_PARSE_MEMORY_MB, ASSISTANT_MAX_PAGE_PIXELS ...);
        IngestError with the reason when it is not read."""
        return Parser.of(self.settings).load(path, docs_dir, data)

    def chunk(self, doc: Document) -> list[Chunk]:
        """Chunks of a document, sized so that title + text fit the model's window."""
        s = self.settings
        return Chunker(self.embedder, s.chunk_tokens, s.chunk_overlap, s.embed_titles)(doc)

    def save_reference(self, doc: Document, fields: dict[str, Any]) -> Saved:
        """Save the user's corrections to a document's reference (references.json beside the
        documents, under a lock; they survive re-indexing)."""
        return save_correction(doc, fields)

    def clear_interrupted_uploads(self) -> list[str]:
        """Remove what uploads cut short (a crash, a kill) left in the staging area, when no
        update is running; a message for each. Every folder update does this too."""
        try:
            with store.locked(self.settings.index_dir, 0):
                return upload.clear_leftovers(Path(self.settings.docs_dir))
        except IndexLockedError:
            return []  # an update is running: it clears them itself, under the lock

    def add_files(
        self,
        files: Sequence[tuple[Path, str]],
        progress: Progress | None = None,
        on_wait: Callable[[float], None] | None = None,
    ) -> upload.UploadReport:
        """Check and parse uploaded files, then index them and move them into the documents
        folder.

        `files` holds (temporary path, name the user gave) pairs. Each file is
        checked (type, size) and parsed once, in a worker process within the budgets;
        files that fail are reported in `skipped` with the reason, and the rest still go
        in, under `<docs_dir>/uploads/`, each only once it is indexed (staged meanwhile,
        see ingest/upload.py). A request over ASSISTANT_MAX_UPLOAD_FILES files or
        ASSISTANT_MAX_UPLOAD_TOTAL_MB is refused whole. The upload waits for another
        update of the index for up to ASSISTANT_UPLOAD_WAIT seconds, calling `on_wait`
        first.
        """
        s = self.settings
        docs_dir = Path(s.docs_dir)
        refused = self.refusal(files)
        if refused is not None:
            return upload.UploadReport(skipped=(refused,))
        skipped: list[Skipped] = []
        accepted: list[upload.Staged] = []
        labels: list[str] = []
        taken: set[Path] = set()
        for path, name in files:
            label = upload.safe_name(name)
            try:
                dest = upload.destination(docs_dir, name, taken)
                data = upload.read(Path(path), label, s.max_upload_mb)
                doc = self.parse(dest, docs_dir, data)  # once: this is what gets indexed
            except IngestError as exc:
                skipped.append(Skipped(label, exc.reason))
                continue
            taken.add(dest)
            accepted.append(upload.Staged(doc, dest, data))
            labels.append(label)
        if not accepted:
            return upload.UploadReport(skipped=tuple(skipped))
        t0 = time.perf_counter()
        report = self._restarting(lambda again: update.update_folder(
            self, docs_dir, again, progress, accepted,
            Wait(s.upload_wait, on_wait, "upload_wait")), False)
        report = replace(report, seconds=time.perf_counter() - t0)
        # uploaded follows the order of `accepted` (names may change under the lock: claim).
        renamed = [f"{label} is already in {upload.UPLOAD_DIR}/; both are kept, the new one as "
                   f"{src.rsplit('/', 1)[-1]}"
                   for label, src in zip(labels, report.uploaded, strict=True)
                   if src.rsplit("/", 1)[-1] != label]
        return upload.UploadReport(added=report.uploaded, skipped=tuple(skipped), index=report,
                                   renamed=tuple(renamed))

    def refusal(self, files: Sequence[tuple[Path, str]]) -> Skipped | None:
        """Why a whole upload request is refused (too many files, too large together), or None."""
        s = self.settings
        if len(files) > s.max_upload_files:
            return Skipped("upload", f"{len(files)} files in one upload; the limit is "
                                     f"{s.max_upload_files} ({variable('max_upload_files')})")
        total = 0
        for path, _ in files:
            try:
                total += Path(path).stat().st_size
            except OSError:
                continue  # reported for that file on its own
        if total > s.max_upload_total_mb * 2**20:
            return Skipped("upload", f"{total / 2**20:.1f} MB in one upload; the limit is "
                                     f"{s.max_upload_total_mb} MB in all "
                                     f"({variable('max_upload_total_mb')})")
        return None
