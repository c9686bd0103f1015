"""Conversations through `ask` with history: are follow-ups answered, and without repeats?

A dialog file is JSON Lines, one conversation per line:

    {"id": "rotherham-1", "corpus": "../../docs_src",
     "turns": [{"question": "What did the independent review of Rotherham find?",
                "gold": "better position"},
               {"question": "And who led it?", "gold": "Steve Ashley", "followup": true}]}

`corpus` is a documents folder or a SQuAD v1.1 file, relative to the dialog file;
each corpus is indexed once (cached like the other benchmarks) and its
conversations are answered from all of its documents. `gold` is a fact the answer must state (SQuAD
normalisation, whole words); an empty `gold` means nothing in the corpus answers
and the right reply is "not found". A follow-up turn passes when its answer holds the
gold fact and repeats no quote an earlier turn gave, except one that holds the fact
(nothing else may state it; "unless nothing else answers"); a turn with `"followup":
false` after the first is a new question, and passes when it holds its fact.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import IngestError
from ..ingest import discover, load_document
from ..types import Document
from .data import load_squad
from .metrics import answer_body, contains_answer
from .runners import build_index


@dataclass(frozen=True)
class Turn:
    question: str
    gold: str
    followup: bool


@dataclass(frozen=True)
class Dialog:
    id: str
    corpus: Path
    turns: tuple[Turn, ...]


def load_dialogs(path: Path) -> list[Dialog]:
    """Read a dialog file; a bad line raises an error naming the file, the line and the fix."""
    if not path.is_file():
        raise IngestError(str(path), "no such dialog file; give a JSON Lines file of dialogs")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            turns = tuple(Turn(t["question"], t["gold"], bool(t.get("followup", i > 0)))
                          for i, t in enumerate(d["turns"]))
            out.append(Dialog(str(d["id"]), (path.parent / d["corpus"]).resolve(), turns))
        except (ValueError, KeyError, TypeError) as exc:
            raise IngestError(f"{path}:{n}", f"not a dialog ({exc!r}); each line needs id, "
                              "corpus and turns of question and gold") from exc
        if not 2 <= len(turns) <= 4:
            raise IngestError(f"{path}:{n}", "a dialog has 2 to 4 turns")
    return out


def corpus_documents(corpora: Sequence[Path]) -> tuple[Document, ...]:
    """The documents of each corpus: a folder through the product's loaders, or the
    paragraphs of a SQuAD file."""

    docs: list[Document] = []
    for corpus in corpora:
        if corpus.is_dir():
            files, _ = discover(corpus)
            docs += [load_document(f, corpus) for f in files]
        elif corpus.is_file():
            docs += load_squad(corpus).documents
        else:
            raise IngestError(str(corpus), "a dialog's corpus must be a documents folder or a "
                              "SQuAD JSON file (relative to the dialog file)")
    return tuple(docs)


def run_dialogs(settings: Settings, path: Path, cache_root: Path,
                progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """Ask every turn of every dialog with the conversation so far; score the turns."""

    dialogs = load_dialogs(path)
    assistants = {}
    for corpus in sorted({d.corpus for d in dialogs}):
        docs = corpus_documents([corpus])
        digest = hashlib.sha256("".join(f"{d.doc_id}\0{d.content_hash}\n" for d in docs).encode())
        assistants[corpus], _ = build_index(settings, docs, digest.hexdigest(), cache_root,
                                            progress=progress)
    rows = []
    for i, dialog in enumerate(dialogs):
        assistant = assistants[dialog.corpus]
        history: list[tuple[str, str]] = []
        quotes: set[str] = set()
        for n, turn in enumerate(dialog.turns):
            ans = assistant.ask(turn.question, history=history)
            body = answer_body(ans) if ans.found else ""
            holds = _holds(body, turn.gold) if turn.gold else not ans.found
            repeated = any(c.quote in quotes and not (turn.gold and _holds(c.quote, turn.gold))
                           for c in ans.citations)
            rows.append({"dialog": dialog.id, "turn": n, "followup": n > 0 and turn.followup,
                         "question": turn.question, "gold": turn.gold,
                         "holds_gold": holds,
                         "repeated_quote": repeated, "answer": ans.text})
            quotes |= {c.quote for c in ans.citations}
            history.append((turn.question, ans.text))
        if progress is not None:
            progress("dialogs", i + 1, len(dialogs))
    return report(rows)


def _holds(text: str, gold: str) -> bool:
    """SQuAD's whole-word test, with every Unicode punctuation mark ("remarkable.”") as a
    space: the official normalisation drops only ASCII punctuation."""
    def plain(t: str) -> str:
        return "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in t)

    return contains_answer(plain(text), [plain(gold)])


def report(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    def share(xs: Sequence[bool]) -> float:
        return round(sum(xs) / len(xs), 4) if xs else 0.0

    follow = [r for r in rows if r["followup"]]
    new = [r for r in rows if r["turn"] > 0 and not r["followup"]]
    first = [r for r in rows if r["turn"] == 0]
    return {
        "benchmark": "dialog",
        "dialogs": len(first),
        "followup_turns": len(follow),
        # the target: the gold fact, and no quote an earlier turn already gave (but one
        # that itself holds the fact)
        "followup_answered": share([r["holds_gold"] and not r["repeated_quote"] for r in follow]),
        "followup_holds_gold": share([r["holds_gold"] for r in follow]),
        "followup_repeated_quote": share([r["repeated_quote"] for r in follow]),
        "first_turn_holds_gold": share([r["holds_gold"] for r in first]),
        "new_topic_turns": len(new),
        "new_topic_holds_gold": share([r["holds_gold"] for r in new]),
        "failures": [{k: r[k] for k in ("dialog", "turn", "question", "gold", "answer")}
                     for r in follow + new if not r["holds_gold"] or r["repeated_quote"]],
    }
