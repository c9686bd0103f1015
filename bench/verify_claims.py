"""How often the citation checker marks true claims verified and false ones not (XQuAD dev).

    PYTHONPATH=. .venv/bin/python bench/verify_claims.py [--squad FILE]
    PYTHONPATH=/work/main .venv/bin/python bench/verify_claims.py   # another checkout's code

A labelled claim set is built from each question of XQuAD dev and its gold
paragraph, and every claim goes through the product's own `verify.verify`, as
a one-sentence draft, both cited ("claim [1]", the gold paragraph given as
passage 1) and unmarked (the checker must find a passage itself). The given
passages are the gold paragraph and its neighbours in the same article (up to
three), so the unmarked case has wrong passages to choose from.

  supported            the gold-paragraph sentence that holds the gold answer
  supported, 2 sent.   that sentence joined with its neighbour: "A, and b."
  swap                 the supported sentence with the answer replaced by the
                       gold answer of another question of the same article, of the
                       same type (date/year, number, or capitalised name) and not
                       already in the sentence; split by whether the substitute
                       occurs elsewhere in the gold paragraph (harder) or not
  supported, 2 passages  the two-sentence claim with the paragraph cut in two passages
                       between its sentences, citing the one with the answer (as when
                       a chunk boundary falls between them)
  swap, 2 sent.        the same swap inside the two-sentence claim
  negated              the supported sentence with "not" put after its first
                       auxiliary verb (or its "not"/"never" taken out)

The substitutes are typed here by simple rules of this script, not by the
checker's own fact extraction. Articles are split in two halves by order: the
rules were developed looking at the first ("tune") only; the second ("check")
is reported as held out. A sentence counts as verified when the answer has a
citation and no "(unverified)" mark, so older versions of the code can be run.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
if not os.environ.get("PYTHONPATH"):  # PYTHONPATH chooses whose code is measured
    sys.path.insert(0, str(ROOT))

import assistant  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.eval.data import load_squad  # noqa: E402
from assistant.generate import verify  # noqa: E402
from assistant.text.analyzer import Analyzer  # noqa: E402
from assistant.text.sentences import sentence_spans  # noqa: E402
from assistant.types import Chunk, Document, Hit  # noqa: E402

SQUAD = ROOT.parent / "shared" / "eval" / "xquad-dev" / "xquad.en.dev.json"
MONTH = re.compile(r"\b(January|February|March|April|May|June|July|August|September|October|"
                   r"November|December)\b")
YEAR = re.compile(r"\b1\d{3}\b|\b20\d{2}\b")
NUMBER = re.compile(r"\d|\b(two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|"
                    r"thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|"
                    r"billion)\b", re.I)
AUX = re.compile(r"\b(is|was|are|were|has|have|had|can|could|will|would|should|must|may|might|"
                 r"does|did)\b")
SMALL = {"of", "the", "and", "de", "for", "in", "on", "a", "an", "la", "von", "van", "du", "da"}
KINDS = ("supported", "supported, 2 sent.", "supported, 2 passages", "swap (not in paragraph)",
         "swap (in paragraph)", "swap, 2 sent.", "negated")


def answer_type(answer: str) -> str | None:
    """date, number or name; None for answers of no checkable type (a phrase, a reason)."""
    if MONTH.search(answer) or YEAR.search(answer):
        return "date"
    if NUMBER.search(answer):
        return "number"
    words = re.findall(r"[^\W\d_][\w'\-]*", answer)
    if words and all(w[0].isupper() or w.lower() in SMALL for w in words) and \
            any(w[0].isupper() for w in words):
        return "name"
    return None


def negate(sentence: str) -> str | None:
    """The sentence with its first "not"/"never" removed, or "not" after its first auxiliary."""
    m = re.search(r" (not|never)\b", sentence)
    if m:
        return sentence[:m.start()] + sentence[m.end():]
    m = AUX.search(sentence)
    return sentence[:m.end()] + " not" + sentence[m.end():] if m else None


def join(first: str, second: str, text: str) -> tuple[str, int]:
    """Two sentences as one claim, "A, and b.", and where b starts in it: b's first word is
    lower-cased unless the paragraph also writes it capitalised inside a sentence (a name)."""
    head = re.sub(r"[.!?\s]+$", "", first) + ", and "
    w = re.match(r"[\w'\-]+", second)
    if w and not re.search(r"[\w,;] " + re.escape(w.group()) + r"\b", text):
        second = second[0].lower() + second[1:]
    return head + second, len(head)


def passage(doc: Document, start: int = 0, end: int | None = None) -> Hit:
    """A paragraph, or the part of it from start to end, as one given passage."""
    end = len(doc.text) if end is None else end
    chunk = Chunk(chunk_id=f"{doc.doc_id}:{start}", doc_id=doc.doc_id, title=doc.title,
                  source=doc.source, path=doc.path, text=doc.text[start:end], start=start,
                  end=end, spans=((start, end),))
    return Hit(chunk=chunk, score=1.0)


Given = list[tuple[str, int, int | None]]  # (doc id, start, end) of each passage, cited first


def claims(data, rng: random.Random) -> list[tuple[str, str, str, Given, str]]:
    """(article, kind, question, given passages, claim) for every question."""
    docs = {d.doc_id: d for d in data.documents}
    by_article: dict[str, list] = defaultdict(list)
    paragraphs: dict[str, list[str]] = defaultdict(list)
    for q in data.questions:
        by_article[q.article].append(q)
    for d in data.documents:
        paragraphs[d.title].append(d.doc_id)
    out = []
    for q in data.questions:
        text = docs[q.doc_id].text
        spans = sentence_spans(text)
        ans = q.answers[0]
        at = text.find(ans)
        idx = next((i for i, (a, b) in enumerate(spans) if a <= at and at + len(ans) <= b), None)
        if at < 0 or idx is None:
            continue
        a, b = spans[idx]
        sent = text[a:b]
        order = paragraphs[q.article]
        k = order.index(q.doc_id)
        others: Given = [(d, 0, None) for d in (order[k - 1] if k else None,
                                                order[k + 1] if k + 1 < len(order) else None) if d]
        given: Given = [(q.doc_id, 0, None), *others]
        rows = [("supported", sent, given)]
        nb = idx + 1 if idx + 1 < len(spans) else idx - 1
        other = text[spans[nb][0]:spans[nb][1]] if 0 <= nb < len(spans) else ""
        pair, into = "", 0  # the two-sentence claim and where the answer's sentence starts in it
        if len(other.split()) >= 4:
            pair, off = join(sent, other, text) if nb > idx else join(other, sent, text)
            into = 0 if nb > idx else off
            rows.append(("supported, 2 sent.", pair, given))
            # The paragraph cut between the two sentences: two passages, the answer's cited.
            cut = spans[max(idx, nb)][0]
            split: Given = [(q.doc_id, 0, cut), (q.doc_id, cut, None)]
            rows.append(("supported, 2 passages", pair, (split if nb > idx else split[::-1])
                         + others))
        kind = answer_type(ans)
        subs = sorted({x.answers[0] for x in by_article[q.article]
                       if kind and answer_type(x.answers[0]) == kind
                       and x.answers[0].lower() not in sent.lower()
                       and ans.lower() not in x.answers[0].lower()})
        if subs:
            sub = rng.choice(subs).rstrip(".,;:")
            where = "in paragraph" if sub.lower() in text.lower() else "not in paragraph"
            at -= a  # the answer's offset in its sentence
            rows.append((f"swap ({where})", sent[:at] + sub + sent[at + len(ans):], given))
            if pair:
                at += into
                rows.append(("swap, 2 sent.", pair[:at] + sub + pair[at + len(ans):], given))
        neg = negate(sent)
        if neg:
            rows.append(("negated", neg, given))
        out.extend((q.article, kind_, q.question, passages, claim)
                   for kind_, claim, passages in rows)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--squad", type=Path, default=SQUAD)
    ap.add_argument("--max-questions", type=int, default=0, help="0 = all")
    ap.add_argument("--show", metavar="KIND", default="",
                    help="print the tuning half's claims of this kind that were misjudged")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from tune_verify import CachedEmbedder

    from assistant.embed import load_embedder

    t0 = time.perf_counter()
    settings = Settings.load(env={})
    data = load_squad(args.squad)
    if args.max_questions:
        step = len(data.questions) / args.max_questions
        data = type(data)(data.documents, tuple(data.questions[int(i * step)]
                                                for i in range(args.max_questions)),
                          data.corpus_hash)
    docs = {d.doc_id: d for d in data.documents}
    rows = claims(data, random.Random(0))
    embedder = CachedEmbedder(load_embedder(settings))
    embedder.embed([c for *_, c in rows])  # one batch; verify then finds them cached
    articles = list(dict.fromkeys(q.article for q in data.questions))
    tune = set(articles[: len(articles) // 2])
    results: dict[tuple[str, str, str], list[bool]] = defaultdict(list)
    for article, kind, question, given, claim in rows:
        hits = [passage(docs[d], a, b) for d, a, b in given]
        half = "tune" if article in tune else "check"
        for mode, draft in (("cited", f"{claim} [1]"), ("unmarked", claim)):
            answer = verify.verify(question, draft, hits, docs, embedder, Analyzer.of(settings))
            ok = bool(answer.citations) and verify.UNVERIFIED not in answer.text
            results[(kind, mode, half)].append(ok)
            if half == "tune" and mode == "cited" and kind == args.show and \
                    ok != kind.startswith("supported"):
                print(f"- {claim}\n  ({question})\n  " + "\n  ".join(
                    f"[{c.n}] {c.quote!r} {getattr(c, 'unsupported', '')}"
                    for c in answer.citations))
    print(f"code: {Path(assistant.__file__).parent}; {len(rows)} claims from "
          f"{len(data.questions)} questions, {len(articles)} articles "
          f"({time.perf_counter() - t0:.0f} s)\n")
    print("share marked verified (n)\n")
    print("| claim | cited, tune | cited, check | unmarked, tune | unmarked, check |")
    print("|---|---|---|---|---|")
    for kind in (*KINDS, "all swaps"):
        cells = []
        for mode in ("cited", "unmarked"):
            for half in ("tune", "check"):
                got = [x for k in KINDS if k == kind or (kind == "all swaps" and "swap" in k)
                       for x in results[(k, mode, half)]]
                cells.append(f"{sum(got) / max(1, len(got)):.3f} ({len(got)})")
        print(f"| {kind} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
