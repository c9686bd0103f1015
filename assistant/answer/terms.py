"""Terms that name a block: a question's term keys a table row or a description, and a
section's heading may itself be the term its first sentence is about.

"What does the GnuPG trust code q mean?" is answered by the row keyed `q`, "What is the default
size of shared_buffers?" by the description of `shared_buffers (integer)`, not by another
that mentions it; "Which hook can stop a push?" by the section headed `pre-push`, quoted with
its heading.
"""

from __future__ import annotations

import re

from ..types import Document
from .units import MAX_LEAD_CHARS, block_start, innermost

_QUESTION_TERM = re.compile(r"\S+")


def question_terms(question: str) -> set[str]:
    """The words of a question as it may name a term: without the punctuation, quotes and
    backticks around them ("`--norc`?" names `--norc`)."""
    return {t.strip("?,.;:!\"'`()\u201c\u201d\u2018\u2019")
            for t in _QUESTION_TERM.findall(question)}


def keys_row(doc: Document, at: int, question: str) -> bool:
    """Whether offset `at` lies in a table row whose first cell is, exactly, a term the question
    names: a symbol or word of two or more characters (`$<`, `-d`, `SIGKILL`), or one letter
    set apart (`q`, `p`)."""
    row = innermost(doc, at, ("row",))
    if row is None:
        return False
    key = doc.text[row.start:row.end].strip().strip("|").split(" | ")[0].strip(" `*")
    if not key or len(key) > 40:
        return False
    return key in question_terms(question) and (len(key) > 1 or key.isalpha()) and \
        key.lower() not in _COMMON


_HEAD_TERM = re.compile(r"[^\s,(\[=<{]+")
# the word a reference manual's signature may open with, naming what it documents
_KINDS = {"class", "exception", "function", "method", "classmethod", "staticmethod",
          "coroutine", "awaitable", "abstractmethod", "async", "data", "attribute", "property"}
_CALL = re.compile(r"\s*(?:(?:" + "|".join(sorted(_KINDS)) + r")\s+)*([\w.]+)\(")


def keys_definition(doc: Document, at: int, question: str) -> bool:
    """Whether offset `at` lies in a description whose term the question names, exactly: the
    first word of the term or signature (`shared_buffers` of "shared_buffers (integer)",
    `port` of "port (integer)"), one of its options (`--include-untracked` of "-u,
    --include-untracked"), or a qualified signature's own name (`lru_cache` of
    "functools.lru_cache(maxsize=128)")."""
    definition = innermost(doc, at, ("definition",))
    if definition is None or definition.head is None:
        return False
    head = doc.text[definition.head[0]:definition.head[1]]
    words = _HEAD_TERM.findall(head)
    if words[:1] and words[0] in _KINDS:  # "class functools.partial(func, ...)"
        words = words[1:]
    if not words:
        return False
    keys = {words[0], *(w for w in words[1:] if w.startswith("-"))}
    if (call := _CALL.match(head)) and "." in call.group(1):  # a qualified signature's name
        keys.add(call.group(1).rsplit(".", 1)[1])
    terms = question_terms(question)
    terms |= {t[1:] for t in terms if t.startswith("$")}  # "$RANDOM" names RANDOM
    return any(len(k) > 1 and k.lower() not in _COMMON for k in keys & terms)


def keys_term(doc: Document, at: int, question: str) -> bool:
    """Whether offset `at` lies in a table row or a description that the question names."""
    return keys_row(doc, at, question) or keys_definition(doc, at, question)


# words a question holds that a table's first column may hold too, without naming the row
_COMMON = {"a", "i", "the", "what", "which", "does", "do", "is", "are", "how", "and", "or",
           "of", "in", "on", "to", "for", "with", "by", "it", "be", "as", "at", "can", "set"}


# a heading that is a term: one word with a technical character (`pre-push`, `core.editor`,
# `$HOME`, `PGDATA/base`), not a section's name ("DESCRIPTION", "Examples")
_TERM_HEADING = re.compile(r"[\w$@.:/+-]*[-_.$/:@+][\w$@.:/+-]*")


def term_heading(doc: Document, start: int) -> int | None:
    """Where the heading starts whose section the sentence at `start` opens (within
    MAX_LEAD_CHARS of its first paragraph), when that heading is a term: the hook, setting or
    variable the section describes is quoted with it."""
    text = doc.text
    para = block_start(text, start)
    if len(text[para:start].strip()) > MAX_LEAD_CHARS:
        return None
    # the last heading above the paragraph (headings are in document order), right above it
    at, _level, title = next((h for h in reversed(doc.headings) if h[0] < para), (0, 0, ""))
    end = at + len(title)
    if not title or text[at:end] != title or text[end:para].strip():
        return None
    return at if len(title) <= 40 and _TERM_HEADING.fullmatch(title) else None
