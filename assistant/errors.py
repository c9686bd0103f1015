"""Errors the library raises; each message says what went wrong and what to do."""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: caught only at the edges (cli.py, ui.py)."""


class IngestError(AssistantError):
    """A file could not be read; the message names the file and the reason."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class IndexMissingError(AssistantError):
    """No index exists where one was expected."""


class IndexMismatchError(AssistantError):
    """The index was built with other settings (model, chunking, format)."""


class IndexCorruptError(AssistantError):
    """An index file is missing, truncated or does not match its manifest."""


class IndexLockedError(AssistantError):
    """Another process is writing the index."""


class NoDocumentsError(AssistantError):
    """Nothing could be indexed."""


class ModelLoadError(AssistantError):
    """The embedding model could not be loaded."""


class GeneratorError(AssistantError):
    """The answer generator (LLM server) failed or timed out."""
