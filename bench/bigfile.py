"""Where the time and memory go when one 20 MB text file is indexed.

    python bench/bigfile.py [--mb 20] [--sample 256] [--full]

Generates a file of unique prose (every passage different, so nothing is
embedded only once), then measures each stage on the whole file: read and
decode, chunking with the model's tokenizer, BM25; the model's embedding rate
on a sample of the chunks, from which the full embedding time is projected
(--full embeds everything instead: about an hour on 2 CPU cores). Reports
seconds per stage, each as a share of the projected total, and peak memory.
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_file(path: Path, mb: float, seed: int = 1) -> None:
    rng = random.Random(seed)
    words = sorted(set(re.findall(r"[a-z]{3,}",
                                  (ROOT / "docs_src" / "rotherham-cse-review.txt").read_text().lower())))
    target = int(mb * 2**20)
    size = 0
    with path.open("w", encoding="utf-8") as f:
        n = 0
        while size < target:
            sents = [f"Record {n}.{k}: " + " ".join(rng.choice(words) for _ in range(rng.randint(10, 24)))
                     + "." for k in range(rng.randint(3, 7))]
            para = " ".join(sents) + "\n\n"
            f.write(para)
            size += len(para.encode())
            n += 1


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=float, default=20.0)
    ap.add_argument("--sample", type=int, default=256, help="chunks embedded to measure the rate")
    ap.add_argument("--full", action="store_true", help="embed every chunk (slow)")
    args = ap.parse_args(argv)

    from assistant.config import Settings
    from assistant.embed.chunks import embed_text
    from assistant.indexing.writer import tokens
    from assistant.ingest import load_document
    from assistant.pipeline import Assistant
    from assistant.store.segment import postings

    work = Path(tempfile.mkdtemp(prefix="assistant-bigfile-"))
    path = work / "big.txt"
    make_file(path, args.mb)
    settings = Settings.load(index_dir=work / "index", docs_dir=work)
    assistant = Assistant(settings)
    t0 = time.perf_counter()
    assistant.indexer.embedder  # noqa: B018 - load the model outside the timings
    print(f"file: {path.stat().st_size / 2**20:.1f} MB; model loaded in "
          f"{time.perf_counter() - t0:.1f} s; memory after loading {peak_mb():.0f} MB")

    rows: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    doc = load_document(path, work)
    rows.append(("read + decode + boilerplate", time.perf_counter() - t0))
    t0 = time.perf_counter()
    chunks = assistant.indexer.chunk(doc)
    rows.append((f"chunk ({len(chunks)} chunks, tokenizer)", time.perf_counter() - t0))
    t0 = time.perf_counter()
    postings(tokens(assistant.indexer, chunks))  # BM25 tokens and term postings
    rows.append(("BM25", time.perf_counter() - t0))
    texts = [embed_text(c, settings.embed_titles) for c in chunks]
    todo = texts if args.full else random.Random(0).sample(texts, min(args.sample, len(texts)))
    t0 = time.perf_counter()
    assistant.indexer.embedder.embed(todo)
    dt = time.perf_counter() - t0
    rate = len(todo) / dt
    label = "embed (all)" if args.full else (f"embed (projected from {len(todo)} chunks "
                                             f"at {rate:.1f} chunks/s)")
    rows.append((label, dt if args.full else len(texts) / rate))
    total = sum(s for _, s in rows)
    print(f"{'stage':55} {'seconds':>9} {'share':>6}")
    for name, s in rows:
        print(f"{name:55} {s:9.1f} {s / total:6.1%}")
    print(f"{'total':55} {total:9.1f}")
    print(f"peak memory (RSS): {peak_mb():.0f} MB; threads: {settings.torch_threads}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
