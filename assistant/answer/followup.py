"""Conversation -> retrieval query: a follow-up question borrows the topic of the last one.

"And who led it?" after "What did the independent review of Rotherham find?"
becomes "who led the independent review? Rotherham": the pronoun is replaced by
the noun phrase the earlier question was about, and the earlier question's
names are kept for retrieval. Pasting the whole earlier question in instead lets
its own wording ("what did ... find") outweigh the new question, and the
passage that answers the earlier question wins again. "What about Venice?" and
"Why?" reuse the earlier question; "he" and, after a who/which question, "it"
become the name the conversation gave. `quoted` tells the answer which quotes
the conversation already holds (answer.extractive_answer does not repeat them
unless nothing else answers).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..text.analyzer import ENGLISH, Analyzer
from ..text.facts import lowercase_words, names
from ..text.questions import answer_type

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
# "What about in 2013?", "How about the museum?": the earlier question, with this instead.
_ELLIPSIS = re.compile(r"^\s*(?:and\s+)?(?:what|how)\s+about\s+(.+?)\s*[?.!]*\s*$"
                       r"|^\s*and\s+((?:in|for|during|after|before|since|at)?\s*"
                       r"[^\s?]+(?:\s+[^\s?]+)?)\s*\?\s*$", re.I)
# A question of nothing but these ("Why?", "When was that?") asks about the earlier one.
_BARE = frozenset("why when where how who what which so and then that this it was is did does "
                  "do come exactly".split())
_NAME_WORD = r"[A-Z][\w'\u2019&.\-\u2013]*"
_NAME_RUN = re.compile(rf"(?<=\s){_NAME_WORD}(?:\s+(?:of\s+|and\s+)?{_NAME_WORD})*")
_WH = frozenset("why when where how who whom whose what which".split())
_PERSON = frozenset({"he", "she", "him", "her", "his", "hers"})
_POSSESSIVE = frozenset({"its", "their", "his", "her", "hers", "theirs"})
_YEAR = re.compile(r"\b(?:1[0-9]{3}|20[0-9]{2})s?\b")
_TOKEN = re.compile(r"[\w'\u2019-]+|[^\w\s]")


def is_followup(question: str) -> bool:
    """True for questions that lean on the previous turn: "And who led it?", "What about
    in 2013?", "Why?".

    A possessive after a name of the question's own ("When was the Black Death at its
    peak?") points at that name, not back into the conversation ("When did the Supreme
    Court decide on it?" still does); a short question with words of its own ("What is
    sourdough?") is a new question.
    """
    raw = _WORD.findall(question)
    words = [w.lower() for w in raw]
    if not words:
        return False
    if words[0] in {"and", "also", "but", "so"} or _ELLIPSIS.match(question) or \
            all(w in _BARE for w in words):
        return True
    named = False
    for w, lower in zip(raw[1:], words[1:], strict=True):
        if w[:1].isupper() and lower not in _DETERMINERS:
            named = True
        elif lower in _ANAPHORA and lower not in {"the", "and"} and not (
                named and lower in _POSSESSIVE):
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


def standalone(question: str, history: Sequence[tuple[str, str]] | None,
               analyzer: Analyzer = ENGLISH) -> str | None:
    """A follow-up rewritten to stand on its own, or None when it is not one or cannot be.

    `history` holds earlier (question, answer) pairs, oldest first.
    """
    if not history or not is_followup(question):
        return None
    previous, answer = history[-1]
    previous = standalone(previous, history[:-1], analyzer) or previous  # itself a follow-up?
    asked_name = answer_type(previous) == "name"
    return (_elliptic(question, previous)
            or (_named(question, previous, answer, True, analyzer) if asked_name else None)
            or rewrite(question, previous) or _named(question, previous, answer, False, analyzer))


def _elliptic(question: str, previous: str) -> str | None:
    """ "What about in 2013?" -> the earlier question with 2013 for its year (or added);
    "Why?" / "When was that?" -> the earlier question asked with this question word."""
    m = _ELLIPSIS.match(question)
    if m:
        new = m.group(1) or m.group(2)
        year = _YEAR.search(new)
        if year and _YEAR.search(previous):
            return _YEAR.sub(year.group(), previous, count=1)
        name = re.sub(r"^(?:in|for|during|at|of|from)\s+", "", new, flags=re.I)
        names = list(_NAME_RUN.finditer(previous))
        if re.sub(r"^the\s+", "", name)[:1].isupper() and names:
            # "What about Venice?": Venice for the earlier question's first name ("the USA"
            # with its article)
            first = names[0]
            start = first.start() - 4 if previous[:first.start()].lower().endswith("the ") \
                else first.start()
            return previous[:start] + name + previous[first.end():]
        return f"{previous.rstrip(' ?.!')} {new}?"
    words = [w.lower() for w in _WORD.findall(question)]
    wh = next((w for w in words if w in _WH), None)
    if not words or not all(w in _BARE for w in words) or wh is None:
        return None
    rest = _WORD.findall(previous)
    if rest and rest[0].lower() in _WH:
        rest = rest[2:] if len(rest) > 1 and rest[1].lower() in {"many", "much"} else rest[1:]
    return f"{wh.capitalize()} {' '.join(rest)}?"


def _named(question: str, previous: str, answer: str, things: bool,
           analyzer: Analyzer) -> str | None:
    """The follow-up's first pronoun replaced by the name it most likely stands for.

    After a question that asked for a name ("Which company ...?", "Who carried out
    ...?") that is the first name the answer gives ("How efficient is its engine?"
    -> Energiprojekt's); otherwise the first name of the earlier question ("When did
    Tesla die?" -> "Where did he live?"), then of its answer. `things`: it/its/they
    count too, not only he/she.
    """
    pronouns = _PERSON | (set(_THING) if things else set())
    tokens = _TOKEN.findall(question)
    at = next((i for i, t in enumerate(tokens) if t.lower().replace("\u2019", "'") in pronouns),
              None)
    if at is None:
        return None
    asked = previous.lower()
    in_answer = [f.text for f in names(answer, lowercase_words([answer, previous]), analyzer)
                 if f.text.lower() not in asked]
    in_question = [f.text for f in names(previous, lowercase_words([previous, answer]), analyzer)
                   if f.start > 0 and f.text.lower() not in _WH]
    found = in_answer if things else in_question + in_answer
    if not found:
        return None
    name = found[0] + ("'s" if tokens[at].lower() in {"his", "hers", "its", "their"} else "")
    head = " ".join(tokens[:at] + [name] + tokens[at + 1:])
    return re.sub(r"\s+([?.!,;:])", r"\1", head).strip()


def quoted(question: str, history: Sequence[tuple[str, str]] | None) -> tuple[str, ...]:
    """The earlier answers of the conversation when `question` follows up on them: what its
    answer should not quote again (answer.extractive_answer's `avoid`)."""
    if not history or not is_followup(question):
        return ()
    return tuple(a for _q, a in history)


def retrieval_query(question: str, history: Sequence[tuple[str, str]] | None,
                    analyzer: Analyzer = ENGLISH) -> str:
    """The text to retrieve with: the question, made standalone when it is a follow-up (or,
    when it cannot be rewritten, preceded by the previous question, itself resolved)."""
    if not history or not is_followup(question):
        return question
    previous = standalone(history[-1][0], history[:-1], analyzer) or history[-1][0]
    return standalone(question, history, analyzer) or f"{previous} {question}"
