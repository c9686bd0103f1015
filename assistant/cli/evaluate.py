"""`assistant eval beir|squad|dialog|docs`: measure retrieval and answers on a benchmark."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from ..config import MODES, Settings


def add_parser(sub: Any, common: Any, generator_flags: Any) -> None:
    p = sub.add_parser("eval", help="measure retrieval and answers on a public benchmark")
    bench = p.add_subparsers(dest="benchmark", required=True)
    for name, target, helptext in (
        ("beir", "DIR", "a BEIR folder: corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv"),
        ("squad", "FILE", "a SQuAD v1.1 JSON file: every question goes through `ask`"),
        ("dialog", "FILE", "a JSON Lines file of conversations (tests/data/dialogs.jsonl): "
                           "follow-ups through `ask` with the conversation so far"),
        ("docs", "QUESTIONS", "your own check: a JSON Lines file of {\"question\", \"gold\": "
                              "[strings], \"file\"?} over a folder of your documents"),
    ):
        b = bench.add_parser(name, help=helptext)
        b.add_argument("path", type=Path, metavar=target)
        if name == "beir":
            b.add_argument("--split", default="test", help="qrels split (default test)")
        elif name == "squad":
            b.add_argument("--no-unanswerable", action="store_true",
                           help="skip asking each question of the other articles (abstention)")
            b.add_argument("--max-questions", type=int, default=None, metavar="N",
                           help="ask only N questions, evenly spread over the file (for slow "
                                "generators)")
            generator_flags(b)
        elif name == "docs":
            b.add_argument("--docs", type=Path, required=True, metavar="DIR",
                           help="the documents folder the questions are about (\"file\" is "
                                "relative to it)")
        b.add_argument("--mode", choices=MODES, default=None)
        b.add_argument("--cache", type=Path, default=None, metavar="DIR",
                       help="where built benchmark indexes are kept (default: INDEX/eval)")
        b.add_argument("--json", action="store_true", help="print one JSON object")
        common(b)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from ..eval.data import load_beir, load_squad
    from ..eval.dialog import run_dialogs
    from ..eval.docs import misses_text, run_docs
    from ..eval.runners import run_beir, run_squad

    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in bars:
            for bar in bars.values():
                bar.close()
            bars[stage] = tqdm(total=total, desc=stage, file=sys.stderr, disable=None)
        bars[stage].n = done
        bars[stage].refresh()

    cache = args.cache or settings.index_dir / "eval"
    if args.benchmark == "beir":
        beir = load_beir(args.path, args.split)
        report = run_beir(settings, beir, cache, progress=progress)
    elif args.benchmark == "dialog":
        report = run_dialogs(settings, args.path, cache, progress=progress)
    elif args.benchmark == "docs":
        report = run_docs(settings, args.path, args.docs, cache, progress=progress)
    else:
        squad = load_squad(args.path)
        if args.max_questions is not None and 0 < args.max_questions < len(squad.questions):
            step = len(squad.questions) / args.max_questions
            picked = tuple(squad.questions[int(i * step)] for i in range(args.max_questions))
            squad = dataclasses.replace(squad, questions=picked)
        report = run_squad(settings, squad, cache, progress=progress,
                                    unanswerable=not args.no_unanswerable)
    for bar in bars.values():
        bar.close()
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    elif args.benchmark == "docs":
        _print_docs(report, misses_text(report))
    else:
        for key, value in report.items():
            print(f"{key:28s} {value}")
    return 0


def _print_docs(report: dict[str, Any], misses: list[str]) -> None:
    """`eval docs` for a person: the figures, per tag, then every miss."""
    for key, value in report.items():
        if key not in ("by_tag", "misses", "skipped"):
            print(f"{key:28s} {value}")
    for tag, fig in report["by_tag"].items():
        print(f"tag {tag}: " + ", ".join(f"{k} {v}" for k, v in fig.items()
                                         if k in ("questions", "answer_hit", "cite_file_hit")))
    for line in report["skipped"]:
        print(f"skipped {line}")
    print(f"\nmisses ({len(report['misses'])} of {report['questions']} questions):")
    for line in misses:
        print(line)
