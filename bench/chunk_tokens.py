"""What other chunking would cost in model tokens: SciFact abstracts, no embedding.

    .venv/bin/python bench/chunk_tokens.py [-n 1000] [--per-token 0.81]

`assistant index` embeds every token of every abstract in chunks of title + up
to `chunk_tokens` tokens overlapping by `chunk_overlap`; the bare encode that
bench/index_speed.py compares it with embeds title + text cut at 256 tokens.
With the index's time per token measured there (--per-token, the index's
seconds per token over the bare encode's), each variant's predicted wall ratio
is tokens ratio x per-token ratio. A variant that changes chunking changes
retrieval quality, so it is only a candidate until SciFact nDCG@10 and XQuAD
answer_contains are measured with it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path("/work/shared/eval/scifact-train/corpus.jsonl")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--per-token", type=float, default=0.81,
                    help="index seconds per token / bare encode seconds per token (index_speed.py)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from assistant.config import Settings
    from assistant.embed import load_embedder
    from assistant.eval.data import make_document
    from assistant.indexing.chunk import chunk_document

    e = load_embedder(Settings.load(env={}))
    cap = e.max_seq_length
    with args.corpus.open(encoding="utf-8") as f:
        records = [json.loads(line) for _, line in zip(range(args.n), f, strict=False)]
    docs = [make_document(str(r["_id"]), r["title"], r["text"], f"{r['_id']}.md", Path(f"/{r['_id']}.md"))
            for r in records]
    bare = sum(min(n + 2, cap) for n in e.count_tokens([r["title"] + "\n" + r["text"] for r in records]))
    out = {"abstracts": len(docs), "bare_tokens": bare}
    for tokens, overlap, titles in ((200, 32, "every"), (200, 0, "every"), (200, 32, "first"),
                                    (254, 32, "every"), (254, 0, "every"), (254, 32, "first"),
                                    (254, 0, "first")):
        total = chunks = 0
        for d in docs:
            title = e.count_tokens([d.title + "\n"])[0]
            budget = max(cap - 2 - (title if titles == "every" else 0), 32)
            cs = chunk_document(d, e.count_tokens, tokens, overlap, budget)
            counts = e.count_tokens([c.text for c in cs])
            chunks += len(cs)
            total += sum(min(n + 2 + (title if titles == "every" or k == 0 else 0), cap)
                         for k, n in enumerate(counts))
        out[f"{tokens}/{overlap}/title-{titles}"] = {
            "chunks": chunks, "tokens": total, "tokens_ratio": round(total / bare, 3),
            "predicted_wall_ratio": round(total / bare * args.per_token, 3)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
