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
from ..types import Document

MAX_TERMS = 4  # term lines above one description (`-u`, `--include-untracked`, ...)
MAX_TERM_CHARS = 100  # a longer block is prose, not a term
MAX_ADDED_CHARS = 240  # term lines, beyond the description's own opening sentences
MAX_LEAD_CHARS = 200  # a description's sentences before the quoted one ("Usually ... This option")
_SENTENCE_END = re.compile(r"[.!?:;,]['\")\]]*$")


def block_start(text: str, at: int) -> int:
    """Where the block (text between blank lines) holding offset `at` starts."""
    cut = text.rfind("\n\n", 0, at)
    return 0 if cut < 0 else cut + 2


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
    if not block or len(block) > MAX_TAIL_CHARS or any(h[0] == cut + 2 for h in doc.headings):
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
