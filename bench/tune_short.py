"""Short answers on a SQuAD file: record every question's cited quotes once, then score rules.

    nice .venv/bin/python bench/tune_short.py ../shared/eval/xquad-dev/xquad.en.dev.json \
        --out /tmp/short.json            # asks every question through the product (minutes)
    .venv/bin/python bench/tune_short.py --load /tmp/short.json   # scores shortanswer.py (seconds)

Articles are split in two halves by their order in the file (even = tune, odd = held
out); EM and F1 (SQuAD v1.1 normalisation) are printed for both and for all questions.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.eval.metrics import (  # noqa: E402
    answer_body,
    contains_answer,
    exact_match,
    f1_score,
)


def record(path: Path, out: Path, args_cache: Path) -> None:
    from assistant.config import Settings
    from assistant.eval import data as evaldata
    from assistant.eval import runners as evaluate

    data = evaldata.load_squad(path)
    assistant, _ = evaluate.build_index(Settings(), data.documents, data.corpus_hash,
                                        args_cache)
    rows = []
    for q in data.questions:
        ans = assistant.ask(q.question, k=5)
        rows.append({"qid": q.qid, "question": q.question, "answers": list(q.answers),
                     "article": q.article, "found": ans.found, "text": ans.text,
                     "contains": ans.found and contains_answer(answer_body(ans), q.answers),
                     "citations": [{"n": c.n, "quote": c.quote, "start": c.start,
                                    "passage": c.chunk.text}
                                   for c in ans.citations]})
    out.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")


def score(rows: list[dict]) -> None:
    from assistant.answer.short import short_answer
    from assistant.text.questions import answer_type

    articles = list(dict.fromkeys(r["article"] for r in rows))
    half = {a: ("tune" if i % 2 == 0 else "held-out") for i, a in enumerate(articles)}
    groups: dict[str, list[tuple[float, float, bool, str | None, bool]]] = {}
    for r in rows:
        cites = [SimpleNamespace(n=c["n"], chunk=SimpleNamespace(text=c.get("passage", "")),
                                 parts=(SimpleNamespace(quote=c["quote"], start=c["start"]),))
                 for c in r["citations"]]
        sa = short_answer(r["question"], cites)  # type: ignore[arg-type]
        pred = sa.text if sa else ""
        em = max(exact_match(pred, a) for a in r["answers"]) if sa else 0.0
        f1 = max(f1_score(pred, a) for a in r["answers"]) if sa else 0.0
        kind = answer_type(r["question"])
        for g in ("all", half[r["article"]], f"type {kind}"):
            groups.setdefault(g, []).append((em, f1, sa is not None, kind,
                                             bool(r.get("contains"))))
    for g, vals in groups.items():
        n = len(vals)
        given = [v for v in vals if v[2]]
        print(f"{g:16s} n={n:4d} EM {sum(v[0] for v in vals) / n:.3f} "
              f"F1 {sum(v[1] for v in vals) / n:.3f} given {len(given) / n:.3f} "
              f"EM when given {sum(v[0] for v in given) / max(1, len(given)):.3f} "
              f"answer_contains {sum(v[4] for v in vals) / n:.3f}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("squad", nargs="?", type=Path)
    p.add_argument("--out", type=Path)
    p.add_argument("--load", type=Path)
    p.add_argument("--cache", type=Path, default=Path("index/eval"),
                   help="where the benchmark index is kept (as `assistant eval --cache`)")
    args = p.parse_args()
    if args.squad and args.out:
        record(args.squad, args.out, args.cache)
    score(json.loads((args.load or args.out).read_text(encoding="utf-8")))


if __name__ == "__main__":
    main()
