"""Technical short answers: the port, file or option a manual's quote names (issue 21, item 3).

"Which port does PostgreSQL listen on by default?" is answered by a number, "Which log file
records generic APT activity?" by a path, "Which git stash option also stashes my untracked
files?" by an option: the first candidate of the asked kind in the first quote that the
question does not name already. Only these three kinds are typed here: their shape (a number
in a question about a port, a path, a leading dash) says what they are; commands and terms are
`short.command_line` and the term line (`extractive._term_line`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..types import Document, ShortAnswer

# "which ... port / file / option", in English and as the translations ask it (de, fr, es, it,
# pt, ja: "Welcher Port", "Quel fichier", "¿Qué archivo", "Quale opzione", "Que porta", "どのポート")
_WHICH = r"\b(?:which|what|welche[rsnm]?|quel(?:le)?s?|qu[eé]|cu[aá]l|qual[ei]?) (?:\w+ ){0,%d}"
_ASKS = (
    ("port", re.compile(_WHICH % 2 + r"(?:port(?: number)?s?|puerto|porta)\b|どのポート|ポート番号",
                        re.I)),
    ("file", re.compile(_WHICH % 2 + r"(?:files?|director(?:y|ies)|folders?|paths?|datei|"
                        r"verzeichnis|fichier|répertoire|archivo|fichero|directorio|cartella|"
                        r"ficheiro|arquivo|diretório)\b|どのファイル", re.I)),
    ("option", re.compile(_WHICH % 3 + r"(?:options?|flags?|switch(?:es)?|opción|opzione|opção)\b"
                          r"|どのオプション", re.I)),
)
_SHAPES = {
    "port": re.compile(r"(?<![\w.:-])\d{2,5}(?![\w.:-]|\.\d)"),
    "file": re.compile(r"(?<![\w/.~-])(?:~|\.{1,2})?/[\w.+-]+(?:/[\w.+*-]+)*|"
                       r"(?<![\w/.-])[\w+-]+\.(?:conf|cfg|ini|log|txt|json|xml|db|rc|list|d|sh)"
                       r"\b|(?<![\w/.-])\.[a-z][\w-]*(?:rc|ignore|config|profile|history)\b"),
    "option": re.compile(r"(?<![\w-])--?[A-Za-z][\w-]*(?:=[\w<>-]+)?"),
}


def asked(question: str) -> str | None:
    """Which technical kind the question asks for: "port", "file", "option" or None."""
    return next((kind for kind, pattern in _ASKS if pattern.search(question)), None)


def technical_answer(question: str, doc: Document,
                     spans: Sequence[tuple[int, int]]) -> ShortAnswer | None:
    """The first port, path or option (the kind the question asks for) in the first quote,
    at `spans` of `doc`, that the question does not name; None when none is asked or found."""
    kind = asked(question)
    if kind is None:
        return None
    named = set(re.findall(r"\S+", question))
    for a, b in spans:
        for m in _SHAPES[kind].finditer(doc.text, a, b):
            text = m.group().rstrip(".")
            if text and text not in named and text.strip("/.") and \
                    not any(text in w for w in named):
                return ShortAnswer(text, m.start(), m.start() + len(text), 1)
    return None
