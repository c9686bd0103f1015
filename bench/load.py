"""Load benchmark: N concurrent clients ask the running web chat through its named API.

    python bench/load.py                      # starts app.py on a copy of docs_src/, 20 x 10
    python bench/load.py --clients 5 --questions 4
    python bench/load.py --url http://127.0.0.1:7860/ [--auth user:password]
    python bench/load.py --team               # 20 accounts (assistant user add), each client
                                              # logged in as its own user

Each client is its own gradio_client session calling api_name="/ask" on
127.0.0.1 only. A single client asks every question alone first (the baseline,
measured in the same run), then all clients ask at once. Reported: requests,
errors, throughput, p50/p95/max latency, and p50 under load as a ratio of the
baseline p50. Exit status 1 if any request failed.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

QUESTIONS = [
    "Who carried out the review of Rotherham?",
    "What did the independent review of Rotherham find?",
    "Who invented the steam engine?",
    "How did the Black Death spread?",
    "How large is the Amazon rainforest?",
    "When was the Victoria and Albert Museum founded?",
    "What improvements did the review call for?",
    "What is the Amazon rainforest called in Portuguese?",
    "How many people died of the Black Death?",
    "What did James Watt improve?",
]


@dataclass
class Result:
    """What one load run measured; latencies in seconds."""

    clients: int
    requests: int
    errors: int
    seconds: float
    throughput: float  # answered requests per second, all clients together
    p50: float
    p95: float
    max: float
    baseline_p50: float  # one client alone, same server, same run
    found: int  # answers that cited a passage
    error_messages: list[str] = field(default_factory=list)
    answers: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def summary(self) -> str:
        ratio = self.p50 / self.baseline_p50 if self.baseline_p50 else float("nan")
        return (f"{self.clients} clients, {self.requests} requests, {self.errors} errors, "
                f"{self.throughput:.2f} req/s, p50 {self.p50:.2f} s, p95 {self.p95:.2f} s, "
                f"max {self.max:.2f} s; alone p50 {self.baseline_p50:.2f} s "
                f"(p50 under load = {ratio:.1f}x alone); {self.found} answers cited a passage")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


class HttpClient:
    """The same /ask API over plain HTTP (Gradio's REST form: POST, then read the event).

    A second view of the same API without gradio_client's own work (it spends
    ~8 ms of CPU a request even with the shared SSL context, against the
    server's ~20 ms, and the clients share the cores with the server). No login
    support: use the default client with --auth.
    """

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def predict(self, question: str, api_name: str = "/ask") -> Any:
        body = json.dumps({"data": [question, None, None, None, None]}).encode()
        req = urllib.request.Request(f"{self.url}/gradio_api/call{api_name}", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=600) as r:
            event = json.load(r)["event_id"]
        with urllib.request.urlopen(f"{self.url}/gradio_api/call{api_name}/{event}",
                                    timeout=600) as r:
            kind = ""
            for raw in r:
                line = raw.decode("utf-8").rstrip("\n")
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind in ("complete", "error"):
                    if kind == "error":
                        raise RuntimeError(line[6:])
                    return json.loads(line[6:])[0]
        raise RuntimeError("the event stream ended without a result")


def _client(url: str, auth: tuple[str, str] | None, http: bool = False) -> Any:
    if http:
        return HttpClient(url)
    from gradio_client import Client

    # httpx builds a new SSL context (loading every CA certificate) for each request that
    # gradio_client makes, ~45 ms of CPU a call even for http://; one shared context
    # (certificates still verified for https://) leaves the cores to the server under test.
    return Client(url, auth=auth, verbose=False, download_files=False,
                  ssl_verify=_ssl_context())  # type: ignore[arg-type]


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def run(url: str, clients: int, questions: int, auth: tuple[str, str] | None = None,
        timeout: float = 600.0, asked: list[str] | None = None, baseline: bool = True,
        http: bool = False, users: list[tuple[str, str]] | None = None) -> Result:
    """Baseline (one client, each question once), then `clients` x `questions` at once.

    Client c asks asked[(c + i) % len(asked)] as its i-th question (default: QUESTIONS),
    logged in as users[c] when `users` are given (else with `auth`, if any).
    """
    asked = asked or QUESTIONS
    alone: list[float] = []
    login = (lambda c: users[c % len(users)]) if users else (lambda c: auth)
    solo = _client(url, login(0), http) if baseline else None
    for q in asked[: max(1, min(questions, len(asked)))] if solo is not None else []:
        t0 = time.perf_counter()
        solo.predict(question=q, api_name="/ask")
        alone.append(time.perf_counter() - t0)

    latencies: list[float] = []
    errors: list[str] = []
    answers: dict[str, list[str]] = {}
    found = 0
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    deadline = time.monotonic() + timeout

    def work(c: int) -> None:
        nonlocal found
        try:
            client = _client(url, login(c), http)
        except Exception as exc:  # noqa: BLE001 - a failed client is a counted error
            with lock:
                errors.extend([f"client {c}: connect: {exc}"] * questions)
            start.wait()
            return
        start.wait()
        for i in range(questions):
            if time.monotonic() > deadline:
                with lock:
                    errors.append(f"client {c}: stopped at the {timeout:.0f} s time limit")
                return
            q = asked[(c + i) % len(asked)]
            t0 = time.perf_counter()
            err = ""
            try:
                reply = client.predict(question=q, api_name="/ask")
                ok = isinstance(reply, dict) and isinstance(reply.get("answer"), str)
            except Exception as exc:  # noqa: BLE001 - every failure is counted and shown
                reply, ok = None, False
                err = f"client {c} question {i}: {type(exc).__name__}: {exc}"
            dt = time.perf_counter() - t0
            with lock:
                if ok:
                    latencies.append(dt)
                    found += bool(reply["found"])
                    answers.setdefault(q, []).append(reply["answer"])
                else:
                    errors.append(err if reply is None else f"client {c}: bad reply {reply!r}")

    threads = [threading.Thread(target=work, args=(c,), daemon=True) for c in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join(max(1.0, deadline - time.monotonic() + 5))
    wall = time.perf_counter() - t0
    lat = latencies or [float("nan")]
    return Result(
        clients=clients, requests=clients * questions, errors=len(errors), seconds=wall,
        throughput=len(latencies) / wall if wall else 0.0, p50=statistics.median(lat),
        p95=percentile(lat, 95), max=max(lat),
        baseline_p50=statistics.median(alone) if alone else float("nan"),
        found=found, error_messages=errors[:20], answers=answers)


# --- starting the app when no --url is given -------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_app(work: Path, threads: int = 1, extra: dict[str, str] | None = None,
              probe: str = "") -> tuple[subprocess.Popen, str]:
    """`python app.py` on a fresh copy of docs_src/ (it builds its index first), with `extra`
    ASSISTANT_* variables; up when URL + `probe` answers (an HTTP error counts: guarded)."""
    docs = work / "docs_src"
    shutil.copytree(ROOT / "docs_src", docs)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(ASSISTANT_HOST="127.0.0.1", ASSISTANT_PORT=str(port), ASSISTANT_DOCS_DIR=str(docs),
               ASSISTANT_INDEX_DIR=str(work / "index"), ASSISTANT_TORCH_THREADS=str(threads),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
               TOKENIZERS_PARALLELISM="false", GRADIO_TEMP_DIR=str(work / "gradio-tmp"),
               **(extra or {}))
    with (work / "app.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=work, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"app.py exited with {proc.returncode}; see {work / 'app.log'}")
        try:
            with urllib.request.urlopen(url + probe, timeout=5):
                return proc, url
        except urllib.error.HTTPError:
            return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("app.py did not answer within 600 s")


def make_team(work: Path, count: int) -> list[tuple[str, str]]:
    """`count` accounts, each a reader of the default collection, made with the real commands
    (the server then needs a login: each client signs in as its own user)."""
    users = [(f"user{i:02d}", f"password-{i:02d}-{os.getpid()}") for i in range(count)]
    cli = [sys.executable, "-m", "assistant"]
    index = ["--index", str(work / "index")]
    for name, password in users:
        for args, given in ((["user", "add", name, "--password-stdin"], password + "\n"),
                            (["grant", name, "reader", "default"], "")):
            subprocess.run([*cli, *args, *index], input=given, text=True, check=True,
                           capture_output=True, cwd=work, timeout=120)
    return users


def stop_app(proc: subprocess.Popen | None, work: Path | None) -> None:
    """Stop the app and remove its folder."""
    if proc is not None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    if work is not None:
        shutil.rmtree(work, ignore_errors=True)


def _cpu(proc: subprocess.Popen | None) -> tuple[float, float]:
    """(CPU seconds of the app this bench started, 0 if none; CPU seconds of this process,
    i.e. of the clients)."""
    own = os.times()
    server = 0.0
    if proc is not None:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        server = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return server, own.user + own.system


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="a running app (default: start app.py on a copy of docs_src/)")
    ap.add_argument("--auth", help="user:password if the app asks for a login")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--questions", type=int, default=10, help="questions per client")
    ap.add_argument("--threads", type=int, default=1, help="torch threads of the app it starts")
    ap.add_argument("--json", type=Path, help="also write the result here as JSON")
    ap.add_argument("--team", action="store_true",
                    help="one account per client (made with `assistant user add` and `grant`), "
                         "each client logged in as its own user")
    ap.add_argument("--http", action="store_true",
                    help="lean plain-HTTP clients instead of gradio_client (see HttpClient)")
    args = ap.parse_args(argv)
    auth = tuple(args.auth.split(":", 1)) if args.auth else None
    proc = None
    work = None
    users = None
    url = args.url
    try:
        if url is None:
            work = Path(tempfile.mkdtemp(prefix="assistant-load-"))
            users = make_team(work, args.clients) if args.team else None
            t0 = time.perf_counter()
            proc, url = start_app(work, args.threads)
            print(f"app started (index built first) in {time.perf_counter() - t0:.1f} s: {url}")
        cpu0 = _cpu(proc)
        result = run(url, args.clients, args.questions, auth,  # type: ignore[arg-type]
                     http=args.http, users=users)
        cpu1 = _cpu(proc)
        asked = result.requests + min(args.questions, len(QUESTIONS))  # the baseline's too
        cpu = {"server_cpu_ms_per_request": round(1000 * (cpu1[0] - cpu0[0]) / asked, 1),
               "client_cpu_ms_per_request": round(1000 * (cpu1[1] - cpu0[1]) / asked, 1),
               "load": os.getloadavg()[0]}
    finally:
        stop_app(proc, work)
    print(result.summary())
    print("CPU per request: server {server_cpu_ms_per_request} ms (when this bench started it), "
          "clients {client_cpu_ms_per_request} ms; load average {load:.1f}".format(**cpu))
    for msg in result.error_messages:
        print("error:", msg)
    if args.json:
        data = {**asdict(result), **cpu}
        data.pop("answers")
        args.json.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return 1 if result.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
