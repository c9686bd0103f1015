"""A page read element by element -> paragraphs, headings and layout Blocks with exact offsets.

The HTML loader feeds it text (`add`), paragraph ends (`flush`) and the elements that
open and close layout (`open`/`close`: pre, dl/dt/dd, table/thead/tr/td/th, li, notes).
Blocks are kept as ranges of paragraphs while the page is read, and become character
spans once the text is joined (`result`), so every offset points into Document.text.

A table row becomes one paragraph, its cells joined by " | ", unless a cell holds
structure of its own (a list, a listing, a heading, another table) or the row is very
long; then its cells stay paragraphs and the row block spans them. A table inside a note
is layout (DocBook draws its notes with one), not data.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field

from ...types import Block
from ..base import Heading

MAX_ROW_CHARS = 2000  # a longer row keeps its cells as paragraphs
_LAYOUT_SUMMARIES = {"note", "tip", "warning", "caution", "important"}


@dataclass
class _Frame:
    kind: str
    first: int  # index of the first paragraph read inside it
    depth: int = 0  # its place in the stack of open frames
    marks: int = 0  # blocks marked before it opened
    layout: bool = False  # a table drawn for layout, not data
    in_head: bool = False  # a row inside <thead>
    header: tuple[int, int] | None = None  # a table's header row (paragraph range)
    rows: int = 0
    cells: list[tuple[int, int]] = field(default_factory=list)
    th: int = 0
    td: int = 0
    term: tuple[int, int] | None = None  # a dl's terms waiting for their description


@dataclass(frozen=True)
class _Para:
    text: str
    level: int = 0  # heading level, 0 for none
    code: bool = False


class Layout:
    """Paragraphs as they are read, and the blocks they form (see the module's docstring)."""

    def __init__(self) -> None:
        self.paras: list[_Para] = []
        self.buf: list[str] = []
        self.frames: list[_Frame] = []
        self.open_by_kind: dict[str, list[_Frame]] = {}  # the innermost of a kind in O(1)
        self.marks: list[tuple[str, int, int, tuple[int, int] | None]] = []
        self.pre = 0

    def add(self, text: str) -> None:
        self.buf.append(text)

    def flush(self, level: int = 0) -> None:
        """End the paragraph being read (inside <pre>: a line break)."""
        if self.pre:
            self.buf.append("\n")
            return
        text = re.sub(r"\s+", " ", "".join(self.buf)).strip()
        self.buf.clear()
        if text:
            self.paras.append(_Para(text, level))

    def _code(self) -> None:
        raw = "".join(self.buf).replace("\r\n", "\n").replace("\r", "\n")
        self.buf.clear()
        lines = [ln.rstrip() for ln in raw.split("\n")]
        text = textwrap.dedent("\n".join(ln for ln in lines if ln.strip()))
        if text.strip():
            self.paras.append(_Para(text, 0, True))

    def _nearest(self, *kinds: str) -> _Frame | None:
        """The innermost open frame of one of `kinds` (a page nested 20,000 deep stays linear)."""
        found = [stack[-1] for k in kinds if (stack := self.open_by_kind.get(k))]
        return max(found, key=lambda f: f.depth) if found else None

    def open(self, kind: str, summary: str = "") -> None:
        if kind == "pre":
            self.flush()
            self.pre += 1
        frame = _Frame(kind, len(self.paras), len(self.frames), len(self.marks))
        if kind == "table":
            frame.layout = (summary.strip().lower() in _LAYOUT_SUMMARIES
                            or self._nearest("note") is not None)
        elif kind == "tr":
            near = self._nearest("thead", "table")
            frame.in_head = near is not None and near.kind == "thead"
        self.frames.append(frame)
        self.open_by_kind.setdefault(kind, []).append(frame)

    def close(self, kind: str) -> None:
        frame = self.frames.pop()
        self.open_by_kind[frame.kind].pop()
        end = len(self.paras)
        if kind == "pre":
            self.pre -= 1
            if not self.pre:
                self._code()
                if len(self.paras) > frame.first:
                    self._mark("code", frame.first, len(self.paras))
        elif kind in ("li", "note", "caption") and end > frame.first:
            self._mark("item" if kind == "li" else kind, frame.first, end)
        elif kind == "dt":
            dl = self._nearest("dl")
            if dl is not None and end > frame.first:
                dl.term = (dl.term[0] if dl.term else frame.first, end)
        elif kind == "dd":
            dl = self._nearest("dl")
            if dl is not None and dl.term is not None:
                if end > frame.first:
                    self._mark("definition", dl.term[0], end, dl.term)
                dl.term = None
        elif kind in ("td", "th"):
            tr = self._nearest("tr")
            if tr is not None:
                tr.cells.append((frame.first, end))
                tr.th += kind == "th"
                tr.td += kind == "td"
        elif kind == "tr":
            self._row(frame)

    def _mark(self, kind: str, first: int, end: int, head: tuple[int, int] | None = None) -> None:
        self.marks.append((kind, first, end, head))

    def _row(self, tr: _Frame) -> None:
        table = self._nearest("table")
        end = len(self.paras)
        if table is None or table.layout or end <= tr.first:
            return
        structured = len(self.marks) > tr.marks or \
            any(p.level or p.code for p in self.paras[tr.first:])
        line = "" if structured else " | ".join(c for c in (
            [" ".join(p.text for p in self.paras[a:b]) for a, b in tr.cells]
            or [p.text for p in self.paras[tr.first:]]) if c)
        if line and len(line) <= MAX_ROW_CHARS:
            del self.paras[tr.first:]
            self.paras.append(_Para(line))
            end = tr.first + 1
        header = (tr.th and not tr.td) or tr.in_head
        if header and table.header is None and not table.rows:
            table.header = (tr.first, end)
            self._mark("header", tr.first, end)
        else:
            self._mark("row", tr.first, end, table.header)
        table.rows += 1

    def result(self) -> tuple[str, list[Heading], tuple[Block, ...]]:
        """The text (paragraphs joined by blank lines), its headings and its blocks."""
        starts: list[int] = []
        headings: list[Heading] = []
        offset = 0
        for p in self.paras:
            starts.append(offset)
            if p.level:
                headings.append((offset, p.level, p.text))
            offset += len(p.text) + 2

        def span(first: int, end: int) -> tuple[int, int]:
            return starts[first], starts[end - 1] + len(self.paras[end - 1].text)

        blocks = [Block(kind, *span(a, b), span(*head) if head else None)
                  for kind, a, b, head in self.marks if b <= len(self.paras)]
        blocks.sort(key=lambda b: (b.start, -b.end))
        return "\n\n".join(p.text for p in self.paras), headings, tuple(blocks)
