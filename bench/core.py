"""Core speed figures: index build time, embedding throughput (1 vs 2 torch threads), ask latency.

    .venv/bin/python bench/core.py [--docs docs_src] [--repeat 20] [--out docs/BENCHMARKS.md]

Every figure comes with a baseline measured in the same run, so the ratios
mean something on a shared, noisy machine: threads=2 against threads=1 for
embedding, and `ask` against a bare query embedding for latency.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.config import Settings  # noqa: E402
from assistant.embed.sentence_transformers import SentenceTransformerEmbedder  # noqa: E402
from assistant.pipeline import Assistant  # noqa: E402

QUESTIONS = [
    "Where is the multi-agency team based?",
    "Who carried out the review?",
    "How many potential compensation claims are there?",
    "What did Mr Ashley recommend for the team?",
    "When did Steve Ashley start his role?",
]


def embed_rate(threads: int, texts: list[str]) -> float:
    """Chunks per second for one model with `threads` torch threads (after a warm-up)."""
    import torch

    e = SentenceTransformerEmbedder(threads=threads)
    torch.set_num_threads(threads)
    e.embed(texts[:8])
    t0 = time.perf_counter()
    e.embed(texts)
    return len(texts) / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=Path, default=Path("docs_src"))
    ap.add_argument("--repeat", type=int, default=20, help="ask latency samples per question")
    ap.add_argument("--out", type=Path, default=None, help="append a Markdown table here")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-core-"))
    try:
        settings = Settings.load(index_dir=tmp / "index", docs_dir=args.docs)
        assistant = Assistant(settings)
        t0 = time.perf_counter()
        assistant.indexer.embedder  # noqa: B018 - load the model outside the timed build
        load_s = time.perf_counter() - t0
        report = assistant.index(rebuild=True)
        store = assistant.answerer.retriever().store
        texts = [f"{c.title}\n{c.text}" for c in store.iter_chunks()]
        # Enough text for a stable rate, whatever the corpus size.
        sample = (texts * (256 // max(1, len(texts)) + 1))[:256]
        rate1 = embed_rate(1, sample)
        rate2 = embed_rate(2, sample)

        retriever = assistant.answerer.retriever()
        for q in QUESTIONS:
            assistant.ask(q)  # warm: model, index and caches loaded
        ask_ms, embed_ms = [], []
        for _ in range(args.repeat):
            for q in QUESTIONS:
                t0 = time.perf_counter()
                assistant.ask(q)
                ask_ms.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                retriever.embedder.embed([q + " "])  # uncached: a bare query embedding
                embed_ms.append((time.perf_counter() - t0) * 1000)
        ask_p50, emb_p50 = statistics.median(ask_ms), statistics.median(embed_ms)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    rows = [
        ("documents / chunks indexed", f"{report.documents} / {report.chunks}"),
        ("model load (s)", f"{load_s:.2f}"),
        ("index build from scratch, model loaded (s)", f"{report.seconds:.2f}"),
        ("embedding, 1 torch thread (chunks/s)", f"{rate1:.1f}"),
        ("embedding, 2 torch threads (chunks/s)", f"{rate2:.1f}"),
        ("ratio 2 threads / 1 thread", f"{rate2 / rate1:.2f}"),
        ("`ask` median, warm, in-process (ms)", f"{ask_p50:.1f}"),
        ("bare query embedding median (ms)", f"{emb_p50:.1f}"),
        ("ratio ask / query embedding", f"{ask_p50 / emb_p50:.1f}"),
    ]
    table = "| measure | value |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)
    print(table)
    if args.out:
        with args.out.open("a", encoding="utf-8") as f:
            f.write(f"\n### bench/core.py, {time.strftime('%Y-%m-%d %H:%M')}, corpus {args.docs}\n\n")
            f.write(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
