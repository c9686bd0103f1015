"""What a person sees of an error in the chat: its message without server paths, or a plain line.

The one place errors become messages for the page: every handler is `guarded`.
An AssistantError (or our own gr.Error) is shown with the documents and index
folders written as their names, and any other absolute path as its last part;
anything unexpected is logged with its traceback and shown as one line that
points to the server log. The page never learns where the server keeps its files.
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import gradio as gr

from ..errors import AssistantError

log = logging.getLogger(__name__)

UNEXPECTED = "Something went wrong on the server; the server log has the details."
# An absolute POSIX path of two parts or more, not part of a URL or a relative path.
_ABSOLUTE = re.compile(r"(?<![\w.:/~-])/(?:[^\s/'\"():,;<>|]+/)+[^\s/'\"():,;<>|]*")
F = TypeVar("F", bound=Callable[..., Any])


def without_paths(text: str, folders: Sequence[Path] = ()) -> str:
    """`text` with each of `folders` written as its name, and other absolute paths as their
    last part (`/srv/x/docs/a.txt` -> `docs/a.txt` when docs is one of `folders`)."""
    for folder in folders:
        for spelled in {str(folder.resolve()), str(folder.absolute())}:
            if spelled not in ("/", "."):
                text = text.replace(spelled, folder.resolve().name)
    return _ABSOLUTE.sub(lambda m: m.group().rstrip("/").rsplit("/", 1)[-1] or "\u2026", text)


def shown(exc: BaseException, folders: Sequence[Path] = ()) -> gr.Error:
    """The gr.Error the page shows for `exc` (call it inside the `except` that caught it)."""
    if isinstance(exc, gr.Error):
        return gr.Error(without_paths(str(exc.message), folders))
    if isinstance(exc, AssistantError):
        return gr.Error(without_paths(str(exc), folders))
    log.exception("unexpected error in the web chat")
    return gr.Error(UNEXPECTED)


def guarded(method: F) -> F:
    """A handler (a method of an object with `folders`) whose errors reach the page as `shown`
    says. Generator handlers stay generators: Gradio streams only those."""
    if inspect.isgeneratorfunction(method):
        @functools.wraps(method)
        def stream(self: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from method(self, *args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - the one place errors become messages
                raise shown(exc, self.folders) from None
        return stream  # type: ignore[return-value]

    @functools.wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the one place errors become messages
            raise shown(exc, self.folders) from None
    return call  # type: ignore[return-value]
