"""A chosen sentence widened to the unit that states the fact: a description with the term above it.

Manuals put the name first and the description under it: an option (`--aggressive`), a
setting (`password_encryption (enum)`), a variable or a table row's key cells, each a short
block of its own, then the sentence that says what it does. The sentence ranker finds the
description; the asked fact is the name. So when a quoted sentence opens its block and the
blocks just above are short, term-like lines (no sentence end, not a heading), the quote
starts at them: still one exact span, `text[start:end]`, across the blank lines. A sentence
close behind the opening of its description (MAX_LEAD_CHARS) is widened the same way, with
the sentences before it: "--aggressive / Usually git gc runs quickly ... This option will
cause git gc to more aggressively optimize ...".
"""

from __future__ import annotations

import re

from ..text.questions import says_default
from ..text.sentences import sentence_spans
from ..types import Block, Document

MAX_TERMS = 4  # term lines above one description (`-u`, `--include-untracked`, ...)
MAX_TERM_CHARS = 100  # a longer block is prose, not a term
MAX_ADDED_CHARS = 240  # term lines, beyond the description's own opening sentences
MAX_LEAD_CHARS = 200  # a description's sentences before the quoted one ("Usually ... This option")
_SENTENCE_END = re.compile(r"[.!?:;,]['\")\]]*$")


def block_start(text: str, at: int) -> int:
    """Where the block (text between blank lines) holding offset `at` starts."""
    cut = text.rfind("\n\n", 0, at)
    return 0 if cut < 0 else cut + 2


def _heading_at(doc: Document, at: int) -> bool:
    """Whether a heading starts at offset `at`."""
    return any(h[0] == at for h in doc.headings)


def term_start(doc: Document, start: int) -> int:
    """Where a quote starting at `start` should start to hold the term lines above it; `start`
    itself when there are none (the sentence does not open its block, or the blocks above
    are prose or headings)."""
    text = doc.text
    own = block_start(text, start)
    if len(text[own:start].strip()) > MAX_LEAD_CHARS:
        return start  # deep inside its block: the term above is too far to be its subject
    headings = {h[0] for h in doc.headings}
    skipped = {s for s, _ in doc.skip_spans}
    begin, terms = start, 0
    while terms < MAX_TERMS and own >= 2:
        above = block_start(text, own - 2)
        block = text[above:own].strip()
        if (not block or len(block) > MAX_TERM_CHARS or _SENTENCE_END.search(block)
                or above in headings or above in skipped or "\n" in block
                or " ".join(block.split()) == doc.title  # the title line is never quoted
                or (above == 0 and doc.format in ("txt", "md"))  # a plain text's title line
                or (doc.blocks and in_layout(doc, above))  # a table row, code: not a term
                or own - above > MAX_ADDED_CHARS):
            break
        begin, own, terms = above, above, terms + 1
    return begin


_CLOSED = re.compile(r"[.!?]['\")\]]*$")
MAX_TAIL_CHARS = 200  # a command line, a value: what a sentence ending in "with" or ":" leads to


def tail_end(doc: Document, end: int) -> int:
    """Where a quote ending at `end` should end to hold what its last sentence introduces:
    when that sentence ends its block open ("... continue the rebasing process with", "Use:"),
    the short block after it (a command line, a value) is part of the statement."""
    text = doc.text
    cut = text.find("\n\n", end)
    if cut < 0 or text[end:cut].strip() or _CLOSED.search(text[:end].rstrip()):
        return end
    nxt = text.find("\n\n", cut + 2)
    nxt = len(text) if nxt < 0 else nxt
    block = text[cut + 2:nxt].strip()
    if not block or len(block) > MAX_TAIL_CHARS or _heading_at(doc, cut + 2):
        return end
    return cut + 2 + len(text[cut + 2:nxt].rstrip())


MAX_DEFAULT_CHARS = 400  # how far into its description a default may be stated


def default_end(doc: Document, end: int) -> int:
    """Where a quote ending at `end` should end to hold the default its description states
    a few sentences on ("Specifies the shutdown mode. ... fast is the default."), for a
    question that asks for one; `end` when the rest of the block states none."""
    text = doc.text
    cut = text.find("\n\n", end)
    stop = min(len(text) if cut < 0 else cut, end + MAX_DEFAULT_CHARS)
    for s, e in sentence_spans(text, end, stop):
        if says_default(text[s:e]):
            return e
    return end


# --- units the loader's layout gives (Document.blocks) -----------------------------------

Spans = tuple[tuple[int, int], ...]
MAX_ROW_QUOTE = 500  # a table row up to this long is quoted whole
MAX_HEAD_CHARS = 400  # a longer term or signature is not quoted above its description
TABLE = ("row", "header")  # the blocks of a table
MAX_CODE_QUOTE = 300  # a code block up to this long is quoted whole after its introduction
MAX_INTRO_GAP = 2  # characters between an introducing sentence and its code block (a blank line)
_LAYOUT = ("row", "header", "code", "caption", "item", "note")


def innermost(doc: Document, at: int, kinds: tuple[str, ...]) -> Block | None:
    """The smallest block of one of `kinds` that holds offset `at`."""
    found = [b for b in doc.blocks if b.kind in kinds and b.start <= at < b.end]
    return min(found, key=lambda b: b.end - b.start) if found else None


def unit_spans(doc: Document, start: int, end: int) -> Spans | None:
    """The spans a quote of the sentence doc.text[start:end] is made of, from the layout the
    loader kept; None where it says nothing (then the line rules above apply).

    - a table row: the row whole (up to MAX_ROW_QUOTE), after its table's header row;
    - a description in a definition list: from its term (a signature, an option), one span
      when the sentence opens the description or follows it closely (MAX_LEAD_CHARS), else
      the term and the sentence as two;
    - a line of a code block: with the sentence that introduces the block (the one just
      above it), one span when the line opens the block, else two;
    - a sentence that introduces a code block (it ends its paragraph open, or with ":"): with
      the block, whole up to MAX_CODE_QUOTE, else its first line.
    Every span is exact text of the document; spans are in document order.
    """
    if not doc.blocks:
        return None
    text = doc.text
    row = innermost(doc, start, TABLE)
    if row is not None:
        # two neighbouring rows chosen together reach into the next row: quote both
        body = (row.start, max(row.end, end)) if row.end - row.start <= MAX_ROW_QUOTE else \
            (row.start, max(end, row.start))
        head = row.head if row.head and row.head[1] <= row.start else None
        return (head, body) if head else (body,)
    code = innermost(doc, start, ("code",))
    if code is not None:
        intro = _introduction(doc, code.start)
        if intro is None:
            first = (code.start, end) if end - code.start <= MAX_CODE_QUOTE else (start, end)
            return (first,)
        if end - code.start <= MAX_CODE_QUOTE:
            return ((intro[0], end),)
        return (intro, (start, end))
    definition = innermost(doc, start, ("definition",))
    if definition is not None and definition.head is not None:
        h0, h1 = definition.head
        if h1 - h0 > MAX_HEAD_CHARS:
            return None
        if start < h1:  # the term itself: with the description's first sentence
            opening = sentence_spans(text, h1, definition.end)[:1]
            return ((h0, max([end, *(e for _s, e in opening)])),)
        if len(text[h1:start].strip()) <= MAX_LEAD_CHARS:
            return ((h0, end),)
        return ((h0, h1), (start, end))
    after = _introduced(doc, end)
    if after is not None:
        return ((start, after.end if after.end - after.start <= MAX_CODE_QUOTE
                 else _first_line_end(text, after.start)),)
    return None


def _introduction(doc: Document, at: int) -> tuple[int, int] | None:
    """The sentence just above a code block starting at `at` that introduces it: the last of
    the paragraph before, not a heading, not itself code or a table row."""
    text = doc.text
    gap = text[:at].rstrip()
    if at - len(gap) > MAX_INTRO_GAP + 1 or not gap:
        return None
    para = block_start(text, len(gap))
    if _heading_at(doc, para) or innermost(doc, len(gap) - 1, _LAYOUT[:3]):
        return None
    spans = sentence_spans(text, para, len(gap))
    return spans[-1] if spans else None


def _introduced(doc: Document, end: int) -> Block | None:
    """The code block a sentence ending at `end` introduces: the next block, when the sentence
    ends its paragraph open (no full stop), with a colon, announcing it ("as follows."), or is
    its paragraph's only sentence (the paragraph says what the command after it does: "The
    kernel error message displayed to the console can be configured by setting its threshold
    level." above `# dmesg -n3`)."""
    text = doc.text
    rest = text[end:end + 16]
    if rest[:1] != "\n" or (_CLOSED.search(text[:end].rstrip())
                             and not _INTRODUCES.search(text[max(0, end - 200):end])
                             and not _alone(doc, end)):
        return None
    nxt = end + len(rest) - len(rest.lstrip())
    return next((b for b in doc.blocks if b.kind == "code" and b.start == nxt), None)


def _alone(doc: Document, end: int) -> bool:
    """Whether the sentence ending at `end` is the only one of its paragraph (not a heading)."""
    para = block_start(doc.text, end)
    return not _heading_at(doc, para) and len(sentence_spans(doc.text, para, end)) == 1


# a sentence that ends as one does but announces what follows ("... run the following.")
_INTRODUCES = re.compile(r"(?:\b(?:the following|as follows|for example|like this|e\.g\.|"
                         # ... in the translations of a manual (de, fr, es, it, pt)
                         r"folgende[nrs]?|wie folgt|zum beispiel|z\. ?b\.|suivante?s?|comme suit|"
                         r"par exemple|siguientes?|como sigue|por ejemplo|seguent[ei]|come segue|"
                         r"per esempio|ad esempio|seguintes?|como segue|por exemplo)|次の|次のよう|"
                         r"以下の|例えば)[^.!?。]*[.!?。]['\")\]»」]*$", re.IGNORECASE)


# a sentence that points at the table or list after it ("as shown in Table 73.1", "The
# following environment variables can be used ...", "Here is a translation table ...")
_POINTS = re.compile(r"\b(?:the following|as follows|below|(?:shown|listed|given|described|"
                     r"summari[sz]ed) in (?:table|the table|figure)|here is|here are|"
                     r"(?:this|the following|the) (?:table|list))\b"
                     # ... and as the translations of a manual say it (de, fr, es, it, pt, ja):
                     r"|\b(?:folgende[nrs]?|wie folgt|(?:in|die|diese[rn]?) tabelle|suivante?s?|"
                     r"ci-dessous|comme suit|voici|(?:le|ce|du) tableau|siguientes?|"
                     r"a continuaci[oó]n|como sigue|(?:la|esta) tabla|seguent[ei]|di seguito|"
                     r"come segue|(?:la|questa) tabella|seguintes?|a seguir|abaixo|"
                     r"(?:a|esta) tabela)\b|次に|次の|以下に|以下の|下記|表\s*\d", re.IGNORECASE)
MAX_POINTER_GAP = 400  # characters between a pointing sentence and the layout it points at
MAX_POINTED_CHARS = 20_000  # how far the rows or items pointed at may run


def pointed_layout(doc: Document, start: int, end: int) -> tuple[int, int] | None:
    """The run of table rows or list items (with their captions, headers and terms) that the
    sentence doc.text[start:end] introduces: it ends with a colon or points at what follows
    (_POINTS), is prose itself, and the layout starts within MAX_POINTER_GAP characters after
    it. None when it introduces none."""
    if not doc.blocks or in_layout(doc, start):
        return None
    text = doc.text
    sentence = text[start:end].rstrip()
    kinds = ("row", "header", "caption", "item", "definition")
    run = sorted((b for b in doc.blocks if b.kind in kinds and end <= b.start), key=lambda b: b.start)
    if not run or run[0].start - end > MAX_POINTER_GAP:
        return None
    # the sentence right above a table's caption introduces the table, whatever its words
    captioned = run[0].kind == "caption" and not text[end:run[0].start].strip()
    if not (captioned or sentence.endswith((":", "\uff1a")) or _POINTS.search(sentence)):
        return None
    first, last = run[0].start, run[0].end
    for b in run[1:]:
        if b.start > last and text[last:b.start].strip():
            break  # prose again: the layout pointed at has ended
        last = max(last, b.end)
        if last - first > MAX_POINTED_CHARS:
            break
    return first, last


def _first_line_end(text: str, at: int) -> int:
    nl = text.find("\n", at)
    return len(text) if nl < 0 else nl


def in_layout(doc: Document, at: int) -> bool:
    """Whether offset `at` lies in a table row, a code block, a list item or a note: text that
    is never a term line above a description."""
    return innermost(doc, at, _LAYOUT) is not None


def union(text: str, *groups: Spans) -> Spans | None:
    """The spans of several quotes as one quote (sorted; those that overlap or meet across
    white space become one); None when no span of one group overlaps another group's."""
    if not any(a < d and c < b for i, g in enumerate(groups) for h in groups[i + 1:]
               for a, b in g for c, d in h):
        return None
    out: list[tuple[int, int]] = []
    for a, b in sorted(s for g in groups for s in g):
        if out and not text[out[-1][1]:a].strip():
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return tuple(out)


def titles(doc: Document, at: int) -> bool:
    """Whether offset `at` lies in a table's header row or a caption (text that titles rows)."""
    return bool(doc.blocks) and innermost(doc, at, ("header", "caption")) is not None
