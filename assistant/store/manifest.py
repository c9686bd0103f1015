"""What an index was built with (its manifest), and the check that settings can use it.

The one list of what an index depends on: the model (its name, dimension and
window), the chunking parameters and how BM25 tokens are made. Another value of
any of them needs `assistant index --rebuild`; BM25's k1 and b apply at query
time and are not in it. An index built under ASSISTANT_MODEL=auto also records
`"model_choice": "auto"` and, when auto chose the multilingual model, `"model_reason"`
(optional keys, not checked: `model` is what the index was built with either way).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ..errors import IndexMismatchError
from ..text.analyzer import Analyzer
from .segment import REBUILD_HINT

if TYPE_CHECKING:
    from ..config import Settings

# 3: documents keep their layout blocks (Document.blocks); older indexes are rebuilt
# 4: documents keep their language (Document.language) and BM25 reads each by its rules
FORMAT_VERSION = 4


class Model(Protocol):
    """What an index records of its embedding model (an Embedder has both)."""

    @property
    def dim(self) -> int: ...

    @property
    def max_seq_length(self) -> int: ...


def expected(settings: Settings, embedder: Model | None = None) -> dict[str, Any]:
    """What an index must have been built with to be used with these settings; the model's
    dimension and window only when its `embedder` is given (what the settings alone decide
    is checked before any model is loaded)."""
    out: dict[str, Any] = {"model": settings.model}
    if embedder is not None:
        out["dim"], out["max_seq_length"] = embedder.dim, embedder.max_seq_length
    out["chunking"] = settings.chunking()
    out["lexical"] = Analyzer.of(settings).manifest()
    return out


def check_compatible(manifest: dict[str, Any], expected: dict[str, Any]) -> None:
    """Raise IndexMismatchError if the index was built with other settings than `expected`."""
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"index format {manifest.get('format_version')} is not {FORMAT_VERSION}; {REBUILD_HINT}"
        )
    mismatch(manifest, expected)


def mismatch(manifest: dict[str, Any], expected: dict[str, Any], where: str = "") -> None:
    """Raise IndexMismatchError naming the first value of `expected` the manifest differs in."""
    for key, value in expected.items():
        if manifest.get(key) != value:
            raise IndexMismatchError(
                f"the index{f' in {where}' if where else ''} was built with "
                f"{key}={manifest.get(key)!r} but the settings say {value!r}; "
                f"{REBUILD_HINT} with the new settings")
