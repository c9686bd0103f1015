"""Update costs on real files: `assistant index` after one file is added, changed, removed,
and with nothing changed, against a cold `assistant ask` measured in the same run.

    .venv/bin/python bench/updates.py --docs /tmp/scifact-md --index /tmp/scifact-idx

The folder must already be indexed into --index. Every figure is the wall time
of a fresh `python -m assistant ...` process (median of --repeat runs), so it
includes start-up and, where something changed, loading the model. The folder is
left as it was found (and indexed so).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NEW = "zz-bench-added.md"
TEXT = ("# Tidal mills on the Severn estuary\n\nTide mills stored sea water behind a dam at high "
        "tide and turned their wheels as it ran out; the last one on the estuary stopped in 1938.\n")


def run(*args: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True,
                         text=True, env=env)
    took = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"assistant {' '.join(args)} failed:\n{out.stderr[-2000:]}")
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=Path, required=True)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    idx = ["--docs", str(args.docs), "--index", str(args.index)]
    victim = sorted(p for p in args.docs.iterdir() if p.suffix == ".md" and p.name != NEW)[0]
    original = victim.read_bytes()
    results: dict[str, list[float]] = {k: [] for k in ("ask_cold_s", "index_added_one_s",
                                                       "index_changed_one_s", "index_removed_one_s",
                                                       "index_nothing_changed_s")}
    try:
        for _ in range(args.repeat):
            results["ask_cold_s"].append(run("ask", "What do tide mills store?", "--index",
                                             str(args.index)))
            (args.docs / NEW).write_text(TEXT, encoding="utf-8")
            results["index_added_one_s"].append(run("index", *idx))
            victim.write_bytes(original.replace(b".", b";", 1) + b"\nChanged for the benchmark.\n")
            results["index_changed_one_s"].append(run("index", *idx))
            (args.docs / NEW).unlink()
            results["index_removed_one_s"].append(run("index", *idx))
            victim.write_bytes(original)
            run("index", *idx)  # back as it was (not timed)
            results["index_nothing_changed_s"].append(run("index", *idx))
    finally:
        (args.docs / NEW).unlink(missing_ok=True)
        victim.write_bytes(original)
    out = {k: round(statistics.median(v), 2) for k, v in results.items()}
    files = sum(1 for p in args.docs.rglob("*") if p.is_file())
    out.update({f"{k.removesuffix('_s')}_minus_ask_s": round(out[k] - out["ask_cold_s"], 2)
                for k in out if k.startswith("index_")})
    print(json.dumps({"files": files, "repeat": args.repeat, **out}))


if __name__ == "__main__":
    main()
