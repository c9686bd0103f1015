"""Start the real web chat (`python app.py`) on a free loopback port, for the UI tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# Flags from DEVELOPERS/preamble: no GPU, no network but 127.0.0.1, nothing in the background.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


@dataclass
class App:
    url: str
    proc: subprocess.Popen
    started: float  # time.perf_counter() just before the process was started
    ready: float  # ... and when the page first answered HTTP
    log: Path
    docs_dir: Path
    index_dir: Path

    def log_tail(self, n: int = 4000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-n:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args: str, index: Path, stdin: str = "") -> subprocess.CompletedProcess:
    """`python -m assistant ...` of this tree, as an administrator would run it."""
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "assistant", *args, "--index", str(index)],
                       input=stdin, cwd=index.parent, capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    return r


def start_app(workdir: Path, docs_dir: Path, index_dir: Path, *, auth: str | None = None,
              timeout: float = 300.0, extra_env: dict[str, str] | None = None,
              port: int | None = None) -> App:
    """Run `python app.py` with its settings in ASSISTANT_* variables; wait until it serves.

    `port`: one chosen beforehand (a redirect URI registered with an identity provider)."""
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "GRADIO_"))}
    env.update({
        "ASSISTANT_HOST": "127.0.0.1", "ASSISTANT_PORT": str(port),
        "ASSISTANT_DOCS_DIR": str(docs_dir), "ASSISTANT_INDEX_DIR": str(index_dir),
        "ASSISTANT_TORCH_THREADS": "1",
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
        "GRADIO_TEMP_DIR": str(workdir / "gradio-tmp"), "TOKENIZERS_PARALLELISM": "false",
    })
    if auth:
        env["ASSISTANT_AUTH"] = auth
    env.update(extra_env or {})  # e.g. ASSISTANT_LLM_BASE_URL for the generator test
    log = workdir / "app.log"
    url = f"http://127.0.0.1:{port}/"
    started = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=workdir, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    app = App(url, proc, started, 0.0, log, docs_dir, index_dir)
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app.py exited with {proc.returncode}:\n{app.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    app.ready = time.perf_counter()
                    return app
        except urllib.error.HTTPError as exc:  # 401 etc.: it is up, just guarded
            if exc.code < 500:
                app.ready = time.perf_counter()
                return app
        except OSError:
            pass
        time.sleep(0.3)
    app.stop()
    raise RuntimeError(f"app.py did not answer within {timeout:.0f} s:\n{app.log_tail()}")


@contextlib.contextmanager
def chat_page(docs_dir: Path, viewport: tuple[int, int] = (1440, 1000)) -> Iterator[Any]:
    """The chat over `docs_dir` (throw-away index) open in headless Chromium, ready for a question.

    Used by the screenshot scripts; the app and the browser are stopped on exit.
    """
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="assistant-shot-") as tmp:
        work = Path(tmp)
        app = start_app(work, docs_dir, work / "index")
        try:
            with sync_playwright() as p:
                ctx = p.chromium.launch_persistent_context(
                    str(work / "profile"), executable_path=CHROMIUM, headless=True,
                    args=CHROMIUM_FLAGS, viewport={"width": viewport[0], "height": viewport[1]},
                    device_scale_factor=1)
                page = ctx.new_page()
                page.goto(app.url)
                page.wait_for_selector("#question textarea", timeout=60_000)
                page.wait_for_load_state("networkidle")
                yield page
                ctx.close()
        finally:
            app.stop()


# --- the chat page in a test: ask, read the answer and its source cards ---------------

def ask(page, app: App, question: str, turn: int) -> float:
    """Type a question, press Enter, wait for the complete answer; seconds from Enter."""
    page.fill("#question textarea", question)
    t0 = time.perf_counter()
    page.press("#question textarea", "Enter")
    page.wait_for_selector(f"#sources .sources[data-turn='{turn}']", timeout=120_000)
    done = time.perf_counter()
    if app.first_answer is None:  # type: ignore[attr-defined]
        app.first_answer = done - app.started  # type: ignore[attr-defined]
    return done - t0


def last_answer(page) -> str:
    return page.locator("#chat [data-testid='bot']").last.inner_text()


def cards(page) -> list[dict[str, str]]:
    out = []
    for card in page.locator("#sources .src").all():
        out.append({
            "n": card.locator(".src-n").inner_text(),
            "title": card.locator(".src-title").inner_text(),
            "loc": card.locator(".src-loc").inner_text(),
            "quote": card.locator("mark").text_content() or "",
        })
    return out
