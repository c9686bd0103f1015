"""Conversation -> retrieval query: a follow-up question borrows the topic of the last one.

"And who led it?" after "What did the independent review of Rotherham find?"
becomes "who led the independent review? Rotherham": the pronoun is replaced by
the noun phrase the earlier question was about, and the earlier question's
names are kept for retrieval. Pasting the whole earlier question in instead lets
its own wording ("what did ... find") outweigh the new question, and the
passage that answers the earlier question wins again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Words that point back into the conversation ("And who led it?").
_ANAPHORA = frozenset(
    "it its it's they them their theirs he him his she her hers this that these those there "
    "then such the same and also what about how about who else".split()
)
# Pronouns that stand for a thing the earlier question named (not a person: "he" may be
# someone the earlier *answer* named, so those keep the old behaviour).
_THING = {"it": "", "its": "'s", "it's": " is", "they": "", "them": "", "their": "'s"}
_PLURAL = frozenset({"they", "them", "their"})
_DETERMINERS = frozenset("the a an this that these those its their his her our your my".split())
# Words that end a noun phrase: prepositions, auxiliaries, conjunctions, question words.
_BREAK = frozenset(
    "of in on at for from by with about to into over under after before during between since "
    "against through without within is was were are be been being am do does did has have had "
    "will would can could should shall may might must and or but nor so than that which who "
    "whom whose what when where why how not".split()
)
_DO = frozenset({"do", "does", "did"})
_BE = frozenset({"is", "was", "were", "are", "be", "been", "has", "have", "had"})
_PARTICIPLES = frozenset("built made held led won run set put found paid sold told brought bought "
                         "taught thought kept left lost meant met read said sent spent".split())
_WORD = re.compile(r"[\w'\u2019-]+")
_TOKEN = re.compile(r"[\w'\u2019-]+|[^\w\s]")


def is_followup(question: str) -> bool:
    """True for short questions, or ones that lean on the previous turn.

    A pronoun after a name of the question's own ("When was the Black Death at its
    peak?") points at that name, not back into the conversation.
    """
    raw = _WORD.findall(question)
    words = [w.lower() for w in raw]
    if not words:
        return False
    if len(words) <= 4 or words[0] in {"and", "also", "but", "so"}:
        return True
    named = False
    for w, lower in zip(raw[1:], words[1:], strict=True):
        if w[:1].isupper() and lower not in _DETERMINERS:
            named = True
        elif lower in _ANAPHORA and lower not in {"the", "and"} and not named:
            return True
    return False


def topic(question: str) -> str | None:
    """The first noun phrase of a question that starts with a determiner, e.g. "the review".

    After do-support ("What did the review find?") the phrase's last word is the
    main verb and is dropped.
    """
    tokens = _TOKEN.findall(question)
    lower = [t.lower() for t in tokens]
    for i, word in enumerate(lower):
        if word not in _DETERMINERS or i + 1 >= len(tokens):
            continue
        j = i + 1
        while j < len(tokens) and j - i <= 6 and _WORD.fullmatch(tokens[j]) and (
                lower[j] not in _BREAK and lower[j] not in _DETERMINERS or _joins_name(tokens, j)):
            j += 1
        phrase = tokens[i:j]
        rest = [t for t in lower[j:] if _WORD.fullmatch(t)]
        if len(phrase) > 2 and all(t in _BREAK for t in rest) and _ends_in_verb(lower[:i], phrase):
            phrase = phrase[:-1]
        if len(phrase) >= 2:
            return " ".join(phrase)
    return None


def _ends_in_verb(before: list[str], phrase: list[str]) -> bool:
    """ "did the review find?", "was the museum founded?": the phrase ends in the verb."""
    last = phrase[-1]
    if not last.islower():
        return False
    if _DO & set(before):
        return True
    return bool(_BE & set(before)) and (last.endswith(("ed", "en", "wn")) or last in _PARTICIPLES)


def _joins_name(tokens: list[str], j: int) -> bool:
    """ "and"/"of" between two capitalised words: part of a name (Victoria and Albert Museum)."""
    return tokens[j].lower() in {"and", "of"} and 0 < j < len(tokens) - 1 \
        and tokens[j - 1][:1].isupper() and tokens[j + 1][:1].isupper()


def _names(question: str) -> list[str]:
    """Capitalised words after the first one (place and person names)."""
    words = _WORD.findall(question)
    return [w for w in words[1:] if w[:1].isupper() and w.lower() not in _DETERMINERS]


def rewrite(question: str, previous: str) -> str | None:
    """The follow-up with its first thing-pronoun replaced by the earlier question's topic."""
    subject = topic(previous)
    if subject is None:
        return None
    tokens = _TOKEN.findall(question)
    start = 1 if tokens and tokens[0].lower() in {"and", "also", "but", "so"} else 0
    for i, tok in enumerate(tokens):
        suffix = _THING.get(tok.lower().replace("\u2019", "'"))
        if suffix is None or i < start:
            continue
        if tok.lower() in _PLURAL and not subject.endswith("s"):
            return None  # "they" cannot stand for a singular topic; keep the whole question
        head = " ".join(tokens[start:i] + [subject + suffix] + tokens[i + 1:])
        head = re.sub(r"\s+([?.!,;:])", r"\1", head).strip()
        extra = [n for n in _names(previous) if n.lower() not in head.lower()]
        return " ".join([head, *extra])
    return None


def standalone(question: str, history: Sequence[tuple[str, str]] | None) -> str | None:
    """A follow-up rewritten to stand on its own, or None when it is not one or cannot be.

    `history` holds earlier (question, answer) pairs, oldest first.
    """
    if not history or not is_followup(question):
        return None
    return rewrite(question, history[-1][0])


def retrieval_query(question: str, history: Sequence[tuple[str, str]] | None) -> str:
    """The text to retrieve with: the question, made standalone when it is a follow-up
    (or, when it cannot be rewritten, preceded by the previous question)."""
    if not history or not is_followup(question):
        return question
    return standalone(question, history) or f"{history[-1][0]} {question}"
