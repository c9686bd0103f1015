"""Start-up and warm latency: cold `assistant ask`, `python app.py` to a served page, warm asks.

    .venv/bin/python bench/startup.py [--docs docs_src] [--repeat 3] [--json FILE]

Baselines measured in the same run: the same cold commands with
`--backend torch` / ASSISTANT_BACKEND=torch (sentence-transformers, as before
the ONNX path), and, for warm asks, a bare query embedding. Each cold figure is
the median of --repeat fresh processes; the web figure is the time from
process start until GET / answers 200, shown beside a bare `import gradio`
(which no change here can make faster).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTIONS = [
    "Who carried out the review?",
    "Who invented the steam engine?",
    "How did the Black Death spread?",
    "How large is the Amazon rainforest?",
    "When was the Victoria and Albert Museum founded?",
]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               GRADIO_ANALYTICS_ENABLED="False", PYTHONPATH=str(ROOT), **extra)
    return env


def cold_ask(index: Path, backend: str) -> float:
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "assistant", "ask", QUESTIONS[0], "--index",
                           str(index), "--backend", backend], cwd=ROOT, env=_env(),
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0 or "Ashley" not in done.stdout:
        raise SystemExit(f"ask failed: {done.stdout}{done.stderr[-2000:]}")
    return seconds


def app_start(index: Path, docs: Path, backend: str) -> float:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = _env(ASSISTANT_INDEX_DIR=str(index), ASSISTANT_DOCS_DIR=str(docs),
               ASSISTANT_PORT=str(port), ASSISTANT_BACKEND=backend)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while time.perf_counter() - t0 < 120:
            if proc.poll() is not None:
                raise SystemExit(f"app.py exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                    if r.status == 200:
                        return time.perf_counter() - t0
            except OSError:
                time.sleep(0.05)
        raise SystemExit("app.py did not serve its page within 120 s")
    finally:
        proc.terminate()
        proc.wait(30)


def gradio_import() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import gradio"], cwd=ROOT, env=_env(), check=True)
    return time.perf_counter() - t0


def warm(index: Path, repeat: int) -> dict[str, float]:
    from assistant.config import Settings
    from assistant.pipeline import Assistant

    a = Assistant(Settings.load(env={}, index_dir=index))
    a.ask(QUESTIONS[0])
    asks, embeds = [], []
    for _ in range(repeat):
        for q in QUESTIONS:
            t0 = time.perf_counter()
            a.indexer.embedder.embed([q + " "])  # a fresh text: the retriever caches query vectors
            embeds.append(time.perf_counter() - t0)
            a.answerer.retriever().query_vector.cache_clear()
            t0 = time.perf_counter()
            a.ask(q)
            asks.append(time.perf_counter() - t0)
    p95 = lambda xs: float(sorted(xs)[max(0, round(0.95 * len(xs)) - 1)]) * 1000  # noqa: E731
    return {"warm_ask_p50_ms": round(statistics.median(asks) * 1000, 1),
            "warm_ask_p95_ms": round(p95(asks), 1),
            "query_embed_p95_ms": round(p95(embeds), 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=Path, default=ROOT / "docs_src")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    try:
        index = tmp / "index"
        subprocess.run([sys.executable, "-m", "assistant", "index", "--docs", str(args.docs),
                        "--index", str(index)], cwd=ROOT, env=_env(), check=True,
                       capture_output=True)
        fig: dict[str, float] = {}
        for backend in ("onnx", "torch"):
            fig[f"cold_ask_{backend}_s"] = round(statistics.median(
                cold_ask(index, backend) for _ in range(args.repeat)), 2)
            fig[f"app_start_{backend}_s"] = round(statistics.median(
                app_start(index, args.docs, backend) for _ in range(args.repeat)), 2)
        fig["gradio_import_s"] = round(statistics.median(
            gradio_import() for _ in range(args.repeat)), 2)
        fig["app_start_over_gradio_import_s"] = round(
            fig["app_start_onnx_s"] - fig["gradio_import_s"], 2)
        fig["cold_ask_ratio"] = round(fig["cold_ask_onnx_s"] / fig["cold_ask_torch_s"], 3)
        fig["app_start_ratio"] = round(fig["app_start_onnx_s"] / fig["app_start_torch_s"], 3)
        fig.update(warm(index, max(4, 4 * args.repeat)))
        print(json.dumps(fig))
        if args.json:
            args.json.write_text(json.dumps(fig, indent=1) + "\n", encoding="utf-8")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
