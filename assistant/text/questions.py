"""The answer type a question asks for, and the spans of a quote of that type.

- who/whom/whose -> a name; where, "what city/country ..." -> a place name;
  when, "what year" -> a date; how many / how much / what percentage -> a
  number or amount ("hundreds of thousands of pounds" too); how long / old /
  far ... -> a number with its unit; "which/what team, company ..." -> a name;
  "what rank/title/job ..." -> a role phrase (roles.py).
- names and numbers as facts.py finds them, dates (years, "5 May 2014", "the
  19th century") and amounts by the rules below, role phrases as roles.py does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .analyzer import ENGLISH, Analyzer
from .facts import MONTHS, lowercase_words, names, numbers
from .roles import role_phrases, role_question

NAME_NOUNS = ("city|country|state|nation|town|county|region|province|continent|river|island|"
               "company|team|club|organi[sz]ation|group|university|college|school|party|band|"
               "language|church|newspaper|agency|court|army|empire|dynasty|tribe|family|man|woman|"
               "person|king|queen|president|leader|author|scientist|player|artist|architect|"
               "engineer|inventor|composer|general|ship|book|film|album|station|museum|street|"
               "force|borough|paper|magazine|charity|firm|department|committee")
# (pattern searched in the lower-cased question, answer type); the first that matches wins.
QUESTION_TYPES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), t) for p, t in (
        (r"\b(?:what|which) (?:year|decade|century|date|day|month|period|era)\b|^when\b|"
         r"[,;] when\b|\bwhen (?:did|was|were|is|does|do|had|has|will)\b", "date"),
        (r"\bhow (?:many|much)\b|\bwhat (?:percent(?:age)?|proportion|share|fraction|number|"
         r"amount)\b|\bwhat (?:is|was) the (?:population|cost|price|number)\b", "number"),
        (r"\bhow (?:long|old|far|tall|big|large|high|deep|wide|fast|heavy|often)\b", "measure"),
        (r"\bwho(?:m|se)?\b", "name"),
        (r"\bwhere\b", "place"),
        (rf"\b(?:what|which)(?: \w+)? (?:{NAME_NOUNS})s?\b|\bname of\b", "name"),
    ))
_TITLE_WORDS = "mr|mrs|ms|miss|dr|prof|sir|dame|lord|lady|rev"
_MONTH = "|".join(m.capitalize() for m in MONTHS)
_YEAR = r"(?:1[0-9]{3}|20[0-9]{2})s?|\d{1,4} (?:BC|BCE|AD|CE)|(?:AD|CE) \d{1,4}"
_DATE = re.compile(
    rf"\b(?:(?:\d{{1,2}}(?:st|nd|rd|th)? (?:of )?)?(?:{_MONTH})(?: \d{{1,2}}(?:st|nd|rd|th)?)?"
    rf",? )?(?:{_YEAR})\b"
    rf"|\b(?:\d{{1,2}}(?:st|nd|rd|th)? (?:of )?)?(?:{_MONTH})(?: \d{{1,2}}(?:st|nd|rd|th)?)?\b"
    r"|\b(?:\d{1,2}(?:st|nd|rd|th)|(?:first|second|third|fourth|fifth|sixth|seventh|eighth|"
    r"ninth|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|"
    r"eighteenth|nineteenth|twentieth|twenty-first)) century\b(?: (?:BC|BCE|AD|CE)\b)?")
# amounts said in words: "hundreds of thousands of pounds", "double figures", "dozens of"
_ROUGHLY = re.compile(
    r"\b(?:(?:tens|hundreds|thousands|millions|billions|dozens|scores)"
    r"(?: of (?:tens|hundreds|thousands|millions|billions))*"
    r"(?: of (?:pounds|dollars|euros|people|pupils|children|homes|jobs))?"
    r"|(?:single|double|triple) (?:figures|digits))\b")
_CURRENCY = re.compile(r"(?:US|A|C|HK)?[$\u00a3\u20ac\u00a5]\s?$")
_PERCENT = re.compile(r"\s?(?:%|per ?cent\b)")
_UNITS = frozenset("kilograms kg grams tonnes tons pounds lb metres meters km kilometres kilometers "
                   "miles feet ft inches cm mm hectares acres litres liters degrees mph".split())
_NOT_UNITS = frozenset("and or to in of on at the a an by for from with than as per is was are were "
                       "times".split())
_UNIT = re.compile(r"[ \-]([a-z]+(?: (?:per|an|a) [a-z]+)?)")
_WHO_IS_NAME = re.compile(r"^\s*(?i:who (?:is|was|are|were)) (?:(?:Mr|Mrs|Ms|Dr|Sir)\.? )?"
                          r"[A-Z][\w'\-]*(?: [A-Z][\w'\-]*)*\s*\??\s*$")

@dataclass(frozen=True)
class Candidate:
    """A span of a quote that could answer, with its offsets in the quote."""

    start: int
    end: int
    kind: str


def answer_type(question: str) -> str | None:
    """date | number | measure | name | place | rank | role, or None when the question asks for
    no short fact. "What rank/title/job ...?" asks for a role phrase (roles.py).

    "Who is Steve Ashley?" names its person and asks what they are: no name to give.
    """
    if _WHO_IS_NAME.match(question):
        return None
    if (role := role_question(question)) is not None:
        return role
    q = " ".join(question.lower().split())
    return next((t for pattern, t in QUESTION_TYPES if pattern.search(q)), None)


def candidates(text: str, kind: str, context: str = "",
               analyzer: Analyzer = ENGLISH) -> list[Candidate]:
    """Spans of `text` of the answer type `kind`; `context` (the passage) tells which
    capitalised words are ordinary words that open a sentence ("Soon", "Built")."""
    if kind == "date":
        return [Candidate(m.start(), m.end(), "date") for m in _DATE.finditer(text)
                if not _is_may_verb(m)]
    if kind in {"rank", "role"}:
        return [Candidate(s, e, kind) for s, e in role_phrases(text, kind == "rank")]
    if kind in {"number", "measure"}:
        out = []
        for _value, s, e in numbers(text):
            cur = _CURRENCY.search(text, max(0, s - 4), s)
            s = cur.start() if cur else s
            pct = _PERCENT.match(text, e)
            if pct:
                e = pct.end()
            elif (u := _UNIT.match(text, e)) and (u.group(1) in _UNITS or (
                    kind == "measure" and u.group(1).split()[0] not in _NOT_UNITS)):
                e = u.end()
            out.append(Candidate(s, e, kind))
        return out + [Candidate(m.start(), m.end(), kind) for m in _ROUGHLY.finditer(text)]
    common = lowercase_words([text, context])
    out = []
    for f in names(text, common, analyzer):  # "BSkyB and Virgin Media" is two names
        at = f.start
        for piece in re.split(r"( and |, )", f.text):
            title = re.match(rf"(?:(?:{_TITLE_WORDS})\.? )+", piece, re.I)  # "Mr Ashley"
            skip = title.end() if title and title.end() < len(piece) else 0
            if piece not in {" and ", ", "} and piece:
                out.append(Candidate(at + skip, at + len(piece), "name"))
            at += len(piece)
    return out


def _is_may_verb(m: re.Match[str]) -> bool:
    return m.group().startswith("May") and not re.search(r"\d", m.group())


# Manuals answer "what happens if I give none" with the word default: "fast is the default",
# "This option is disabled by default", "defaults to 5432".
# The words for "default" in the translations of a manual (de, fr, es, it, pt, ja), in
# questions and in the text alike ("standardmäßig", "par défaut", "por omisión", "既定").
_DEFAULT_WORDS = (r"\bstandard(?:mäßig|wert\w*|einstellung\w*)|\bvoreingestellt\w*|\bvorgabe\w*|"
                  r"\bpar défaut\b|\bpor (?:defecto|omisión|padrão|omissão)\b|\bpredeterminad\w*|"
                  r"\bpredefinit\w*|\bper impostazione predefinita\b|既定|デフォルト")
_ASKS_DEFAULT = re.compile(
    r"\bdefaults?\b|\bif (?:i|you|we) (?:don'?t|do not|never) (?:give|set|specify|pass|provide|"
    r"choose|say)\b|\bwhen (?:none|nothing|no \w+) is (?:given|set|specified)\b|"
    r"\bunless (?:i|you) (?:give|set|specify)\b|" + _DEFAULT_WORDS, re.IGNORECASE)
_SAYS_DEFAULT = re.compile(r"\bdefault(?:s|ed)?\b|" + _DEFAULT_WORDS, re.IGNORECASE)


def asks_default(question: str) -> bool:
    """The question asks what holds when nothing is given: a default."""
    return bool(_ASKS_DEFAULT.search(question))


def says_default(text: str) -> bool:
    """The text states a default."""
    return bool(_SAYS_DEFAULT.search(text))


# "Which option / setting / command ...?", "How do I ...?": in a manual the answer is a name
# (an option, a setting, a command), the term line that heads a description.
_ASKS_TERM = re.compile(
    r"^\s*(?:(?:which|what)\b[^?]{0,60}?\b(?:option|flag|switch|setting|parameter|variable|"
    r"command|function|macro|environment|directive|pragma|hook|keyword|specifier|argument|"
    r"builtin|statement|clause|mode|type)s?\b|how (?:do|can|should) (?:i|you|we)\b)"
    # ... and as the translations ask it: "Welcher Befehl ...?", "Wie ...?", "Quelle commande
    # ...?", "Comment ...?", "¿Qué orden ...?", "¿Cómo ...?", "Quale comando", "Come ...?",
    # "Que comando ...?", "Como ...?"; Japanese: "どのコマンド", "どうしますか", "どうすれば"
    r"|^\s*(?:welche[rsnm]?\b[^?]{0,60}?(?:befehl|kommando|option|variable|einstellung|"
    r"parameter|funktion|taste)|wie\b|quel(?:le)?s?\b[^?]{0,60}?\b(?:commande|option|variable|"
    r"paramètre|réglage|fonction|touche)|comment\b|¿?\s*(?:qué|cuál)\b[^?]{0,60}?\b(?:orden|"
    r"comando|opción|variable|parámetro|función|tecla)|¿?\s*cómo\b|qual[ei]?\b[^?]{0,60}?\b"
    r"(?:comando|opzione|variabile|parametro|funzione|tasto|opção|variável|parâmetro|"
    r"função|tecla)|come\s|que\b[^?]{0,60}?\b(?:comando|opção|variável|parâmetro|função|"
    r"tecla)|como\b)|どの(?:コマンド|オプション|変数|設定|キー|関数)|どう(?:します|すれば|やって)",
    re.IGNORECASE)


def asks_term(question: str) -> bool:
    """The question asks for a name a manual puts on a line of its own: an option, a setting,
    a command (or how to do something, which a command or an option does)."""
    return bool(_ASKS_TERM.search(question))
