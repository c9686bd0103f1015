"""Who someone is, and who a sentence is about: role phrases and mentions of people.

- role_phrases: the phrases that say what a person is ("a former chief
  superintendent", "the independent chairman of Rotherham's local safeguarding
  children board"): a determiner, up to five modifiers and a role noun (officer,
  chairman, professor, ...), then "of/with/at/for ..." up to the next comma. They
  answer "what rank/title/job ...?" and, where a sentence names nobody, "who ...?".
- about: the text whose people a sentence speaks of. A sentence that opens with
  He/She/They speaks of the people of the sentence before it (simple coreference).
- mentioned: whether a name of the question is in that text, where a surname or
  title + surname ("Mr Ashley") counts as the full name the document gives
  earlier ("Steve Ashley").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

RANK_NOUNS = frozenset(
    "superintendent inspector constable sergeant detective commissioner commander captain colonel "
    "general lieutenant major admiral brigadier corporal private commodore marshal "
    "chief-superintendent chief-inspector chief-constable".split())
ROLE_NOUNS = RANK_NOUNS | frozenset(
    "officer chairman chairwoman chairperson chair president vice-president director manager "
    "secretary minister treasurer governor mayor councillor senator ambassador consul judge "
    "magistrate lawyer barrister solicitor attorney professor lecturer teacher headteacher "
    "headmaster principal dean doctor surgeon nurse physician scientist engineer architect author "
    "writer editor journalist reporter correspondent spokesman spokeswoman spokesperson founder "
    "co-founder owner executive ceo chancellor king queen prince princess emperor empress bishop "
    "archbishop priest pastor vicar pope leader head coach player analyst consultant adviser "
    "advisor economist researcher historian composer artist painter actor actress singer "
    "musician producer pilot soldier diplomat mp politician campaigner activist chieftain "
    "inventor physicist chemist mathematician philosopher poet novelist".split())
_DET = r"(?:[Aa]n?|[Tt]he|[Ii]ts|[Hh]is|[Hh]er|[Tt]heir|[A-Z][\w\u2019'-]*[\u2019']s)"


def _phrase(nouns: frozenset[str]) -> re.Pattern[str]:
    """A determiner, up to five modifiers, a noun of `nouns`, then "of/with/at ..." to a comma."""
    alts = "|".join(sorted(nouns, key=len, reverse=True))
    return re.compile(
        rf"\b{_DET} (?:[\w\u2019'-]+ ){{0,5}}?(?i:{alts})s?\b"
        r"(?: (?:of|with|at|for|in) [^,;:.!?\"\u201c\u201d()]{1,60}?(?=[,;:.!?()]|"
        r" (?:and|who|which|that|carried|said|says|has|had|have|was|is|were|are)\b|$))?")


_ROLE, _RANK = _phrase(ROLE_NOUNS), _phrase(RANK_NOUNS)
QUESTION = re.compile(
    r"\bwhat (?:was |is |were |are )?(?:the |(?:his|her|their) )?"
    r"(?P<kind>rank|title|position|post|job|occupation|profession|role(?! did| does| do| will))s?\b(?! of)"
    r"|\bwhat (?:was|is|were|are) [\w'\u2019 -]+?['\u2019]s?"
    r" (?P<kind2>rank|title|position|post|job|occupation|profession|role)\b"
    r"|\bwhat (?:did|does|do) [\w'\u2019 -]+? (?:do for a living|work as)\b", re.I)
_PRONOUN = re.compile(r"\s*[\u201c\"]?(?:(?:And|But|So|Yet|Then),? )?(?:he|she|they|his|her|their)\b",
                      re.I)
_CAPITALISED = re.compile(r"\b[A-Z][\w'\u2019-]+(?: (?:[A-Z][\w'\u2019-]+|of|de|van|von))*")
_TITLES = frozenset("mr mrs ms miss dr prof sir dame lord lady rev".split())
HOPS = 3  # how many sentences back a chain of He/She may reach


def role_phrases(text: str, ranks_only: bool = False) -> list[tuple[int, int]]:
    """(start, end) of each phrase of `text` that says what someone is."""
    return [(m.start(), m.end()) for m in (_RANK if ranks_only else _ROLE).finditer(text)]


def role_question(question: str) -> str | None:
    """"rank" for "what rank did X hold?", "role" for title/job/position questions, else None."""
    m = QUESTION.search(question)
    if m is None:
        return None
    kind = (m.group("kind") or m.group("kind2") or "").lower()
    return "rank" if kind == "rank" else "role"


def opens_with_pronoun(text: str) -> bool:
    return _PRONOUN.match(text) is not None


def about(text: str, start: int, previous: Callable[[int], tuple[int, int] | None]) -> str:
    """The sentence text[start:...] plus, while sentences open with He/She/They, the ones before
    it (`previous(s)` gives the sentence before offset s, or None)."""
    parts: list[str] = []
    at = start
    for _ in range(HOPS):
        if not opens_with_pronoun(text[at:at + 40]):
            break
        prev = previous(at)
        if prev is None:
            break
        parts.append(text[prev[0]:prev[1]])
        at = prev[0]
    return " ".join(reversed(parts))


def question_names(question: str) -> list[tuple[str, str]]:
    """The names of the question as written ("Mr Ashley") and without their titles ("Ashley")."""
    out = []
    for m in _CAPITALISED.finditer(question):
        words = m.group().split()
        if m.start() == 0 or question[:m.start()].rstrip().endswith((".", "?", "!")):
            words = words[1:]  # the question's first word is capitalised anyway
        if words:
            words[-1] = re.sub(r"['\u2019]s?$", "", words[-1])  # "Steve Ashley's" -> "Steve Ashley"
        written = " ".join(words)
        while words and words[0].lower().rstrip(".") in _TITLES:
            words = words[1:]
        if words:
            out.append((written, " ".join(words)))
    return out


def mentioned(name: str, text: str, document: str) -> bool:
    """Whether `text` names `name`: in full, or by its last word when `document` gives the full
    name ("Mr Ashley" after "Steve Ashley"), or by a full name ending in it ("Ashley" asked)."""
    if _word(name).search(text):
        return True
    words = name.split()
    if len(words) == 1 or not _word(words[-1], case=True).search(text):  # surnames: capitalised
        return False
    return _word(name).search(document) is not None


def _word(words: str, case: bool = False) -> re.Pattern[str]:
    """`words` as whole words ("Ashley" is not in "Ashley-Jones")."""
    return re.compile(rf"(?<![\w-]){re.escape(words)}(?![\w-])", 0 if case else re.I)


def mentions(names: Sequence[tuple[str, str]], text: str, document: str) -> list[str]:
    """The question's names (as written) that `text` mentions (see `mentioned`)."""
    return [written for written, name in names if mentioned(name, text, document)]
