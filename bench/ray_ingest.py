"""Ray ingestion against the plain loop: `assistant index --ray` vs `assistant index`.

    .venv/bin/python bench/ray_ingest.py [--corpus .../scifact-train/corpus.jsonl] [-n 5183]

Each SciFact abstract becomes one markdown file (`# title`, blank line, text), as
bench/index_speed.py writes them. Both commands run in a fresh process each
(wall time from process start: model load, Ray's local cluster start for --ray,
parsing, chunking, embedding, the index write), on the same files, in one run.
Then the two indexes are compared: the same chunk ids, the same texts, and the
cosine of each chunk's two vectors (>= 0.999 expected: same model, same batches
or not).
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


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, dict]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:6])} failed:\n{done.stderr[-3000:]}")
    return seconds, json.loads(done.stdout.strip().splitlines()[-1])


def contents(index: Path) -> dict[str, tuple[str, list[float]]]:
    sys.path.insert(0, str(ROOT))
    from assistant import store

    s = store.load(index)
    out = {}
    try:
        for doc_id, _, _ in s.listing():
            chunks = s.document_chunks(doc_id)
            vectors = s.vectors(s.keys_of([doc_id]).tolist())
            out.update({c.chunk_id: (c.text, v) for c, v in zip(chunks, vectors, strict=True)})
    finally:
        s.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("-n", type=int, default=5183, help="abstracts (default: all 5,183)")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    try:
        docs = tmp / "docs"
        docs.mkdir()
        n = 0
        with args.corpus.open(encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                (docs / f"{r['_id']}.md").write_text(f"# {r['title']}\n\n{r['text']}\n",
                                                     encoding="utf-8")
                n += 1
                if n >= args.n:
                    break
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
        env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                    "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(ROOT)})
        base = [sys.executable, "-m", "assistant", "index", "--docs", str(docs), "--json"]
        loop_s, loop = timed([*base, "--index", str(tmp / "loop")], env)
        ray_s, ray = timed([*base, "--index", str(tmp / "ray"), "--ray"], env)
        a, b = contents(tmp / "loop"), contents(tmp / "ray")
        import numpy as np

        same = a.keys() == b.keys() and all(a[k][0] == b[k][0] for k in a)
        cosines = [float(np.dot(a[k][1], b[k][1])) for k in a if k in b]
        figures = {
            "abstracts": n, "chunks": loop["chunks"], "cpus": os.cpu_count(),
            "loop_s": round(loop_s, 1), "ray_s": round(ray_s, 1),
            "ray_over_loop": round(ray_s / loop_s, 2),
            "same_chunk_ids_and_texts": same, "min_cosine": round(min(cosines), 6),
            "report_equal": {k: loop[k] == ray[k] for k in ("added", "updated", "removed", "chunks")},
        }
        print(json.dumps(figures))
        if args.json:
            args.json.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
