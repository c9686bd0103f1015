"""The table in docs/EVALUATION.md: dense / lexical / hybrid on a BEIR folder and a SQuAD file, one run.

    nice .venv/bin/python bench/eval_table.py --beir ../shared/eval/scifact-train --split train \
        --squad ../shared/eval/xquad-dev/xquad.en.dev.json --out bench/results/eval.json

Runs `evaluate.run_beir` and `evaluate.run_squad` (the code behind `assistant
eval`) for each mode with the default settings, in one process so the model is
loaded once and every index comes from the same cache. Abstention on
unanswerable questions is measured for the default mode only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.config import Settings  # noqa: E402
from assistant.embed import load_embedder  # noqa: E402
from assistant.eval.data import load_beir, load_squad  # noqa: E402
from assistant.eval.runners import run_beir, run_squad  # noqa: E402

MODES = ("dense", "lexical", "hybrid")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--beir", type=Path)
    ap.add_argument("--split", default="test")
    ap.add_argument("--squad", type=Path)
    ap.add_argument("--cache", type=Path, default=Path("index/eval"))
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    base = Settings.load()
    embedder = load_embedder(base)
    results = []
    for mode in MODES:
        settings = base.replace(mode=mode)
        if args.beir:
            t0 = time.time()
            r = run_beir(settings, load_beir(args.beir, args.split), args.cache, embedder)
            results.append({**r, "data": f"{args.beir.name} ({args.split})",
                            "wall_seconds": round(time.time() - t0, 1)})
            print(json.dumps(results[-1]), flush=True)
        if args.squad:
            t0 = time.time()
            r = run_squad(settings, load_squad(args.squad), args.cache, embedder,
                          unanswerable=mode == base.mode)
            results.append({**r, "data": args.squad.name, "wall_seconds": round(time.time() - t0, 1)})
            print(json.dumps(results[-1]), flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(table(results))


def table(results: list[dict]) -> str:
    lines = []
    beir = [r for r in results if r["benchmark"] == "beir"]
    if beir:
        lines += ["| BEIR | mode | nDCG@10 | recall@10 | recall@100 | MRR@10 | query ms p50 / p95 |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {r['data']} | {r['mode']} | {r['ndcg@10']:.3f} | {r['recall@10']:.3f} | "
                  f"{r['recall@100']:.3f} | {r['mrr@10']:.3f} | {r['query_ms_p50']:.0f} / "
                  f"{r['query_ms_p95']:.0f} |" for r in beir]
        lines.append("")
    squad = [r for r in results if r["benchmark"] == "squad"]
    if squad:
        lines += ["| SQuAD | mode | recall@1 | recall@5 | answer_contains | citation_correct | "
                  "answer_words | abstain | abstain (unanswerable) |",
                  "|---|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r['data']} | {r['mode']} | {r['recall@1']:.3f} | {r['recall@5']:.3f} | "
                  f"{r['answer_contains']:.3f} | {r['citation_correct']:.3f} | "
                  f"{r['answer_words']:.1f} | {r['abstain_rate']:.3f} | "
                  f"{r.get('unanswerable_abstain_rate', float('nan')):.3f} |" for r in squad]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
