"""Plain text and Markdown: decoded as they are; Markdown's ATX headings give the heading path,
and its layout gives blocks: fenced and indented code, pipe tables (each row with its header
row), list items, notes (`> **Note**`, `> [!TIP]`) and definition lists (`Term` then
`: description`). Code fences are markup, so they are skip spans, never chunked."""

from __future__ import annotations

import re

from ...types import Block
from ..base import DEFAULT_LIMITS, Limits, Parsed
from ..decoding import decode_text


def load_txt(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Parsed:
    text, notes = decode_text(data)
    return Parsed(text, notes=tuple(notes))


_ATX = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_FENCE = re.compile(r"^[ \t]{0,3}(```+|~~~+)")
_ITEM = re.compile(r"^[ \t]*(?:[-*+]|\d{1,3}[.)])[ \t]+\S")
_TABLE_RULE = re.compile(r"^[ \t]*\|?[ \t]*:?-{3,}:?[ \t]*(?:\|[ \t]*:?-{3,}:?[ \t]*)*\|?[ \t]*$")
_NOTE = re.compile(r"^>[ \t]*(?:\[!(?:note|tip|important|warning|caution)\]|\*\*(?:note|tip|"
                   r"important|warning|caution)\b|(?:note|tip|warning|caution|important):)",
                   re.IGNORECASE)
_DEFINITION = re.compile(r"^:[ \t]+\S")


def load_md(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Parsed:
    text, notes = decode_text(data)
    lines = text.split("\n")
    starts, offset = [], 0
    for line in lines:
        starts.append(offset)
        offset += len(line) + 1
    headings, blocks, fences = [], [], []
    fenced = _fenced(lines)

    def span(a: int, b: int) -> tuple[int, int]:
        """Lines a..b-1 as a span of the text (without the last line's newline)."""
        return starts[a], starts[b - 1] + len(lines[b - 1])

    i = 0
    while i < len(lines):
        line = lines[i]
        if i in fenced:
            end = fenced[i]
            fences += [span(i, i + 1)] + ([span(end, end + 1)] if end < len(lines) else [])
            if end > i + 1:
                blocks.append(Block("code", *span(i + 1, end)))
            i = end + 1
            continue
        if (m := _ATX.match(line)) is not None:
            headings.append((starts[i], len(m.group(1)), m.group(2).strip()))
        elif "|" in line and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1]) \
                and "-" in lines[i + 1]:
            head = span(i, i + 1)
            blocks.append(Block("header", *head))
            i += 2
            while i < len(lines) and "|" in lines[i] and lines[i].strip():
                blocks.append(Block("row", *span(i, i + 1), head))
                i += 1
            continue
        elif _ITEM.match(line) or _NOTE.match(line):
            kind = "note" if line.startswith(">") else "item"
            end = _run(lines, i, fenced, quote=kind == "note")
            blocks.append(Block(kind, *span(i, end)))
        elif re.match(r"^( {4}|\t)\S", line) and (i == 0 or not lines[i - 1].strip()) \
                and not _in_list(lines, i):
            end = i + 1
            while end < len(lines) and (re.match(r"^( {4}|\t)", lines[end])
                                        or not lines[end].strip()):
                end += 1
            while end > i + 1 and not lines[end - 1].strip():
                end -= 1
            blocks.append(Block("code", *span(i, end)))
            i = end
            continue
        elif line.strip() and i + 1 < len(lines) and _DEFINITION.match(lines[i + 1]):
            end = _run(lines, i + 1, fenced)
            blocks.append(Block("definition", *span(i, end), span(i, i + 1)))
            i = end
            continue
        i += 1
    title = next((h[2] for h in headings if h[1] == 1), None) or (headings[0][2] if headings else None)
    blocks.sort(key=lambda b: (b.start, -b.end))
    return Parsed(text, title, headings=tuple(headings), notes=tuple(notes),
                  blocks=tuple(blocks), skip_spans=tuple(fences))


def _fenced(lines: list[str]) -> dict[int, int]:
    """Opening fence line -> its closing fence line (len(lines) when it never closes)."""
    out: dict[int, int] = {}
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m is None:
            i += 1
            continue
        mark = m.group(1)
        end = next((j for j in range(i + 1, len(lines))
                    if lines[j].strip().startswith(mark[0] * len(mark))
                    and not lines[j].strip().strip(mark[0])), len(lines))
        out[i] = end
        i = end + 1
    return out


def _run(lines: list[str], i: int, fenced: dict[int, int], quote: bool = False) -> int:
    """The end (exclusive) of the item or quote starting at line i: up to a blank line, the
    next item, a heading or a fence."""
    end = i + 1
    while end < len(lines) and lines[end].strip() and end not in fenced \
            and not _ITEM.match(lines[end]) and not _ATX.match(lines[end]) \
            and (not quote or lines[end].startswith(">")):
        end += 1
    return end


def _in_list(lines: list[str], i: int) -> bool:
    """Whether an indented line continues a list item (then it is not code)."""
    j = i - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    return j >= 0 and (bool(_ITEM.match(lines[j])) or lines[j].startswith((" ", "\t")))
