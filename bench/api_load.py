"""Load benchmark of the OpenAI-compatible API: N concurrent clients POST /v1/chat/completions.

    python bench/api_load.py                       # starts app.py on a copy of docs_src/, 20 x 10
    python bench/api_load.py --stream              # every request streamed (SSE), read to [DONE]
    python bench/api_load.py --client openai       # the official openai client instead of httpx
    python bench/api_load.py --url http://127.0.0.1:7860/ --key KEY

The app it starts has an API key (ASSISTANT_API_KEYS) and the default workers and queue.
One client asks every question alone first (the baseline, measured in the same run, on the
same server), then all clients ask at once, each its own connection. Every reply is checked:
status 200, an answer with [n] markers and as many citations, each quote non-empty; anything
else is an error. Reported: requests, errors, throughput, p50/p95/max latency, and p50 and p95
under load as ratios of the baseline's. Exit status 1 if any request failed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import load
from load import QUESTIONS, _cpu, percentile

KEY = "bench-key-" + os.urandom(6).hex()


def _check(reply: dict[str, Any]) -> str:
    """'' for a good answer, else what is wrong with it."""
    msg = reply["choices"][0]["message"]
    cites = msg.get("citations") or []
    if not isinstance(msg.get("content"), str):
        return "no content"
    if msg.get("found") and (not cites or any(not c["quote"] for c in cites)):
        return "an answer without its citations"
    if len(msg.get("annotations") or []) != msg["content"].count("["):
        return "annotations do not match the markers"
    return ""


class Asker:
    """One client: its own connection, the conversation of one question at a time."""

    def __init__(self, url: str, key: str, kind: str, stream: bool) -> None:
        self.kind, self.stream = kind, stream
        if kind == "openai":
            import openai

            self.client: Any = openai.OpenAI(base_url=url + "v1", api_key=key, max_retries=0,
                                             timeout=600)
        else:
            import httpx

            self.client = httpx.Client(base_url=url, timeout=600,
                                       headers={"Authorization": f"Bearer {key}"})

    def ask(self, question: str) -> dict[str, Any]:
        messages = [{"role": "user", "content": question}]
        if self.kind == "openai":
            return self._openai(messages)
        body = {"model": "assistant", "messages": messages, "stream": self.stream}
        if not self.stream:
            r = self.client.post("/v1/chat/completions", json=body)
            if r.status_code != 200:
                raise RuntimeError(f"HTTP {r.status_code}: {r.text[:200]}")
            return r.json()
        text, last = "", None
        with self.client.stream("POST", "/v1/chat/completions", json=body) as r:
            if r.status_code != 200:
                raise RuntimeError(f"HTTP {r.status_code}: {r.read()[:200]!r}")
            for line in r.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                for choice in chunk["choices"]:
                    text += choice["delta"].get("content") or ""
                    if choice["finish_reason"]:
                        last = choice["delta"]
        if last is None:
            raise RuntimeError("the stream ended without its sources chunk")
        return {"choices": [{"message": {**last, "content": text}}]}

    def _openai(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        if not self.stream:
            msg = self.client.chat.completions.create(model="assistant",
                                                      messages=messages).choices[0].message
            return {"choices": [{"message": {**msg.model_extra, "content": msg.content,
                                             "annotations": msg.annotations or []}}]}
        text, last = "", None
        for chunk in self.client.chat.completions.create(model="assistant", messages=messages,
                                                         stream=True):
            for choice in chunk.choices:
                text += choice.delta.content or ""
                if choice.finish_reason:
                    last = choice.delta.model_extra or {}
        return {"choices": [{"message": {**(last or {}), "content": text}}]}


def run(url: str, key: str, clients: int, questions: int, kind: str, stream: bool
        ) -> dict[str, Any]:
    """The baseline (one client, each question once), then `clients` x `questions` at once."""
    asked = QUESTIONS
    solo = Asker(url, key, kind, stream)
    alone = []
    for q in asked[:max(1, min(questions, len(asked)))]:
        t0 = time.perf_counter()
        problem = _check(solo.ask(q))
        alone.append(time.perf_counter() - t0)
        if problem:
            raise SystemExit(f"the baseline's answer to {q!r} is wrong: {problem}")
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    gate = threading.Barrier(clients + 1)

    def work(c: int) -> None:
        asker = Asker(url, key, kind, stream)
        gate.wait()
        for i in range(questions):
            q = asked[(c + i) % len(asked)]
            t0 = time.perf_counter()
            try:
                problem = _check(asker.ask(q))
            except Exception as exc:  # noqa: BLE001 - every failure is counted and shown
                problem = f"{type(exc).__name__}: {exc}"
            dt = time.perf_counter() - t0
            with lock:
                (errors.append(f"client {c} question {i}: {problem}") if problem
                 else latencies.append(dt))

    threads = [threading.Thread(target=work, args=(c,), daemon=True) for c in range(clients)]
    for t in threads:
        t.start()
    gate.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = latencies or [float("nan")]
    out = {"clients": clients, "requests": clients * questions, "errors": len(errors),
           "seconds": round(wall, 2), "throughput": round(len(latencies) / wall, 2),
           "p50": statistics.median(lat), "p95": percentile(lat, 95), "max": max(lat),
           "alone_p50": statistics.median(alone), "alone_p95": percentile(alone, 95),
           "client": kind, "stream": stream, "error_messages": errors[:10]}
    out["p50_ratio"] = out["p50"] / out["alone_p50"]
    out["p95_ratio"] = out["p95"] / out["alone_p95"]
    return out


def start_app(work: Path) -> tuple[subprocess.Popen, str]:
    """`python app.py` on a fresh copy of docs_src/ with an API key (its index built first)."""
    return load.start_app(work, extra={"ASSISTANT_API_KEYS": KEY}, probe="v1/models")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="a running app (default: start app.py on a copy of docs_src/)")
    ap.add_argument("--key", help="its API key (with --url)")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--questions", type=int, default=10, help="questions per client")
    ap.add_argument("--client", choices=("httpx", "openai"), default="httpx")
    ap.add_argument("--stream", action="store_true", help="stream every answer")
    ap.add_argument("--json", type=Path, help="also write the result here as JSON")
    args = ap.parse_args(argv)
    proc, work, url, key = None, None, args.url, args.key or KEY
    try:
        if url is None:
            work = Path(tempfile.mkdtemp(prefix="assistant-api-load-"))
            t0 = time.perf_counter()
            proc, url = start_app(work)
            print(f"app started (index built first) in {time.perf_counter() - t0:.1f} s: {url}")
        cpu0 = _cpu(proc)
        result = run(url, key, args.clients, args.questions, args.client, args.stream)
        cpu1 = _cpu(proc)
        asked = result["requests"] + min(args.questions, len(QUESTIONS))
        result["server_cpu_ms_per_request"] = round(1000 * (cpu1[0] - cpu0[0]) / asked, 1)
        result["client_cpu_ms_per_request"] = round(1000 * (cpu1[1] - cpu0[1]) / asked, 1)
        result["load"] = round(os.getloadavg()[0], 1)
        result["cores"] = os.cpu_count()
    finally:
        load.stop_app(proc, work)
    r = result
    print(f"{r['clients']} clients x {args.questions} ({r['client']}, "
          f"{'streamed' if r['stream'] else 'not streamed'}): {r['requests']} requests, "
          f"{r['errors']} errors, {r['throughput']:.1f} req/s, p50 {r['p50'] * 1000:.0f} ms, "
          f"p95 {r['p95'] * 1000:.0f} ms, max {r['max'] * 1000:.0f} ms; one client alone: "
          f"p50 {r['alone_p50'] * 1000:.0f} ms, p95 {r['alone_p95'] * 1000:.0f} ms "
          f"(under load: p50 {r['p50_ratio']:.1f}x, p95 {r['p95_ratio']:.1f}x)")
    print(f"CPU per request: server {r['server_cpu_ms_per_request']} ms, clients "
          f"{r['client_cpu_ms_per_request']} ms; {r['cores']} cores, load average {r['load']}")
    for msg in r["error_messages"]:
        print("error:", msg)
    if args.json:
        args.json.write_text(json.dumps(r, indent=1) + "\n", encoding="utf-8")
    return 1 if r["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
