"""Faults: `kill -9` mid-rebuild, two writers at once, damaged index files.

The writers here are real `python -m assistant index` processes; the readers
are real Assistants on the same folder.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import DOCS_SRC, ROOT, SEED, assert_exact, make_assistant

from assistant import cli, store
from assistant.errors import IndexCorruptError, IndexLockedError, IndexMismatchError

SEED_Q = "Who carried out the review?"
SEED_A = "Steve Ashley"


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               PYTHONUNBUFFERED="1")
    return env


class Child:
    """A real `python -m assistant ...` process whose output is collected as it comes."""

    def __init__(self, *args: object) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", *map(str, args)], cwd=ROOT, env=child_env(),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = bytearray()
        self.err = bytearray()
        self._readers = [threading.Thread(target=self._pump, args=(s, b), daemon=True)
                         for s, b in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for t in self._readers:
            t.start()

    @staticmethod
    def _pump(stream, buf: bytearray) -> None:
        for block in iter(lambda: stream.read1(4096), b""):
            buf.extend(block)

    def wait_for(self, pattern: bytes, timeout: float = 180) -> re.Match[bytes]:
        """Wait until stderr matches `pattern`; fail if the process ends first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, bytes(self.err))
            if m:
                return m
            if self.proc.poll() is not None:
                pytest.fail(f"process ended ({self.proc.returncode}) before {pattern!r}:\n"
                            f"{self.err.decode(errors='replace')[-2000:]}")
            time.sleep(0.05)
        pytest.fail(f"no {pattern!r} within {timeout} s:\n{self.err.decode(errors='replace')[-2000:]}")

    def finish(self, timeout: float = 300) -> tuple[int, str, str]:
        rc = self.proc.wait(timeout=timeout)
        for t in self._readers:
            t.join(timeout=10)
        return rc, self.out.decode(errors="replace"), self.err.decode(errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.finish()


def seeded(tmp_path: Path, embedder) -> tuple[Path, Path]:
    docs, index = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    shutil.copy(DOCS_SRC / SEED, docs / SEED)
    make_assistant(index, embedder, docs).index(docs)
    return docs, index


def generated_corpus(docs: Path, files: int = 60) -> None:
    """Unique prose, ~4 chunks a file: enough that embedding takes the model a while."""
    rng = random.Random(7)
    vocab = sorted(set(re.findall(r"[a-z]{3,}", (DOCS_SRC / SEED).read_text().lower())))
    for i in range(files):
        paras = []
        for _ in range(6):
            sents = [" ".join(rng.choice(vocab) for _ in range(rng.randint(12, 22))).capitalize()
                     + "." for _ in range(6)]
            paras.append(" ".join(sents))
        (docs / f"generated-{i:03d}.txt").write_text(
            f"Generated file {i}\n\n" + "\n\n".join(paras) + "\n", encoding="utf-8")


def segment_folders(index: Path) -> set[str]:
    return {p.name for p in index.iterdir() if p.name.startswith("seg-")}


def assert_no_leftovers(index: Path) -> None:
    """Exactly the segment folders the last commit names are on disk."""
    db = sqlite3.connect(index / "catalog.sqlite")
    try:
        live = {r[0] for r in db.execute("SELECT name FROM segments")}
    finally:
        db.close()
    assert live and segment_folders(index) == live


def answers_seed(index: Path, docs: Path, embedder) -> None:
    assistant = make_assistant(index, embedder, docs)
    answer = assistant.ask(SEED_Q)
    assert answer.found and SEED_A in answer.text
    assert_exact(assistant, answer)


# --- kill -9 and two writers --------------------------------------------------

@pytest.mark.slow
def test_kill_9_mid_rebuild_keeps_the_previous_index(tmp_path: Path, embedder):
    """Two real writers and a kill -9.

    A rebuilds a large corpus; B (--wait 0) is refused while A holds the lock;
    C (default wait) waits; readers keep answering; A is killed mid-embedding;
    the previous index is intact, and C then goes ahead and finishes.
    """
    docs, index = seeded(tmp_path, embedder)
    live = store.generation(index)
    generated_corpus(docs)
    writer = Child("index", "--rebuild", "--docs", docs, "--index", index)
    waiter = None
    try:
        # A is caught mid-embedding: some batches done, more to go.
        m = writer.wait_for(rb"embedding:.*?\|\s*([1-9]\d*)/(\d+) ")
        assert int(m.group(1)) < int(m.group(2))
        # B is told why it cannot go on, at once.
        rc, out, err = Child("index", "--docs", docs, "--index", index, "--wait", "0").finish()
        assert rc == 1
        assert "is being written by another `assistant index`" in err
        assert "--wait SECONDS" in err and "Traceback" not in err
        # C waits (for up to the default 600 s).
        waiter = Child("index", "--docs", docs, "--index", index)
        waiter.wait_for(rb"another `assistant index` is writing .*waiting up to 600 s")
        # Readers still get answers from the live index.
        answers_seed(index, docs, embedder)
        assert writer.proc.poll() is None, "the rebuild finished before it could be killed"
        # C will find a small corpus once it gets the lock (it has not looked yet).
        for f in docs.glob("generated-*.txt"):
            f.unlink()
        (docs / "boiler.txt").write_text("The boiler was serviced in March by Alder Heating.\n",
                                         encoding="utf-8")
        os.kill(writer.proc.pid, signal.SIGKILL)
        rc, _, _ = writer.finish()
        assert rc == -signal.SIGKILL
        # Right after the kill: the previous index is untouched, loads, and answers.
        assert store.generation(index) == live
        loaded = store.load(index)
        assert {d.source for d in loaded.documents.values()} == {f"{docs.name}/{SEED}"}
        answers_seed(index, docs, embedder)
        # The dead writer's lock went with it: C goes ahead and finishes.
        rc, out, err = waiter.finish()
        assert rc == 0, err
        assert out.startswith("added 1, updated 0, removed 0, unchanged 1"), out
    finally:
        writer.kill()
        if waiter is not None:
            waiter.kill()
    loaded = store.load(index)
    assert {d.source for d in loaded.documents.values()} == {
        f"{docs.name}/{SEED}", f"{docs.name}/boiler.txt"}
    assert_no_leftovers(index)
    answers_seed(index, docs, embedder)


def test_leftovers_of_a_crash_while_writing_are_ignored_then_cleaned(
        tmp_path: Path, embedder, capsys):
    docs, index = seeded(tmp_path, embedder)
    live = store.generation(index)
    (seg,) = segment_folders(index)
    # What a crash before the commit leaves behind: a segment folder no commit names,
    # half written.
    partial = index / "seg-99999999-deadbeef"
    shutil.copytree(index / seg, partial)
    faiss_file = partial / "vectors.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[:100])
    (partial / "keys.npy").unlink()
    # Readers never look at it.
    assert store.load(index).generation == live
    answers_seed(index, docs, embedder)
    # The next run clears it away.
    rc = cli.main(["index", "--docs", str(docs), "--index", str(index)])
    capsys.readouterr()
    assert rc == 0
    assert not partial.exists()
    assert_no_leftovers(index)
    answers_seed(index, docs, embedder)


@pytest.mark.parametrize("how", ["flag", "env"])
def test_lock_wait_is_configurable_and_the_message_says_why(
        tmp_path: Path, embedder, capsys, monkeypatch: pytest.MonkeyPatch, how: str):
    docs, index = seeded(tmp_path, embedder)
    args = ["index", "--docs", str(docs), "--index", str(index)]
    if how == "flag":
        args += ["--wait", "1"]
    else:
        monkeypatch.setenv("ASSISTANT_LOCK_TIMEOUT", "1")
    with store.locked(index):
        t0 = time.monotonic()
        rc = cli.main(args)
        waited = time.monotonic() - t0
    out, err = capsys.readouterr()
    assert rc == 1
    assert waited >= 0.9  # it did wait, for about as long as it was told
    assert err.startswith(f"error: {index} is being written by another `assistant index` "
                          "(waited 1 s); let it finish and try again")
    assert "Traceback" not in err


def test_lock_gives_up_with_index_locked_error(tmp_path: Path):
    with store.locked(tmp_path), pytest.raises(IndexLockedError, match="--wait SECONDS"):
        with store.locked(tmp_path, timeout=0.2):
            pass


def test_readers_see_whole_generations_while_a_writer_switches(tmp_path: Path, embedder):
    """Every load during repeated rebuilds gets a complete index, old or new, never a mix."""
    docs, index = seeded(tmp_path, embedder)
    writer = make_assistant(index, embedder, docs)
    errors: list[BaseException] = []
    loads = 0
    stop = threading.Event()

    def read() -> None:
        nonlocal loads
        while not stop.is_set():
            try:
                s = store.load(index)
                # The arrays of every live segment open and agree; a search finds chunks.
                assert len(s) == sum(seg.rows for seg in s.segments) > 0
                assert s.dense(np.ones(s.manifest["dim"], dtype=np.float32), 3)
                s.close()
                loads += 1
            except BaseException as exc:  # noqa: BLE001 - collected and re-raised below
                errors.append(exc)
                return

    # Two readers and ten switches: a reader that lost the race with the clean-up of the
    # old generation used to fail with "missing, truncated or changed" about one time in six.
    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    try:
        for i in range(10):
            (docs / f"note-{i}.txt").write_text(f"Note {i}: the kettle was descaled.\n",
                                                encoding="utf-8")
            writer.index(docs)
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    if errors:
        raise errors[0]
    assert loads > 0
    assert_no_leftovers(index)


# --- damaged index files ------------------------------------------------------

@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, embedder) -> tuple[Path, Path, Path]:
    """An index of the seed document, and a second, different one."""
    root = tmp_path_factory.mktemp("pristine")
    docs = root / "docs"
    docs.mkdir()
    shutil.copy(DOCS_SRC / SEED, docs / SEED)
    make_assistant(root / "index", embedder, docs).index(docs)
    other_docs = root / "other"
    other_docs.mkdir()
    (other_docs / "other.txt").write_text("A different corpus about tides.\n", encoding="utf-8")
    make_assistant(root / "other-index", embedder, other_docs).index(other_docs)
    return docs, root / "index", root / "other-index"


def _files(index: Path, seg: str) -> dict:
    db = sqlite3.connect(index / "catalog.sqlite")
    try:
        return json.loads(db.execute("SELECT files FROM segments WHERE name = ?", (seg,)).fetchone()[0])
    finally:
        db.close()


def _set_files(index: Path, seg: str, info: dict) -> None:
    db = sqlite3.connect(index / "catalog.sqlite")
    try:
        db.execute("UPDATE segments SET files = ? WHERE name = ?", (json.dumps(info), seg))
        db.commit()
    finally:
        db.close()


def _rehash(i: Path, g: Path, name: str) -> None:
    """Make the catalog agree with a damaged file, so that only the reader can catch it."""
    info = _files(i, g.name)
    f = g / name
    info["files"][name] = {"bytes": f.stat().st_size, "crc32": zlib.crc32(f.read_bytes())}
    _set_files(i, g.name, info)


def _truncate(g: Path, name: str) -> None:
    f = g / name
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])


def _flip_byte(g: Path, name: str) -> None:
    f = g / name
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x20
    f.write_bytes(bytes(data))


def _other_segment(o: Path) -> Path:
    return next(p for p in o.iterdir() if p.name.startswith("seg-"))


Damage = Callable[[Path, Path, Path], None]  # (index dir, its live segment, other index dir)

DAMAGE: dict[str, Damage] = {
    "vectors.faiss truncated": lambda i, g, o: _truncate(g, "vectors.faiss"),
    "vectors.faiss truncated, checksum made to match": lambda i, g, o: (
        _truncate(g, "vectors.faiss"), _rehash(i, g, "vectors.faiss")),
    "vectors.faiss random bytes, checksum made to match": lambda i, g, o: (
        (g / "vectors.faiss").write_bytes(random.Random(1).randbytes(4096)),
        _rehash(i, g, "vectors.faiss")),
    "keys.npy one byte changed": lambda i, g, o: _flip_byte(g, "keys.npy"),
    "tf.npy not an array, checksum made to match": lambda i, g, o: (
        (g / "tf.npy").write_text("{not numpy\n"), _rehash(i, g, "tf.npy")),
    "doclen.npy missing": lambda i, g, o: (g / "doclen.npy").unlink(),
    "BM25 postings changed": lambda i, g, o: _flip_byte(g, "rows.npy"),
    "segment folder missing": lambda i, g, o: shutil.rmtree(g),
    "catalog truncated": lambda i, g, o: _truncate(i, "catalog.sqlite"),
    "catalog not a database": lambda i, g, o: (i / "catalog.sqlite").write_text("[1, 2]" * 900),
    "catalog lists no files": lambda i, g, o: _set_files(i, g.name, {}),
    "catalog file entry damaged": lambda i, g, o: _set_files(
        i, g.name, {**_files(i, g.name), "files": {**_files(i, g.name)["files"], "tf.npy": "?"}}),
    "segment from another index": lambda i, g, o: (
        shutil.rmtree(g), shutil.copytree(_other_segment(o), g)),
    "segment arrays disagree, checksums made to match": lambda i, g, o: (
        np.save(g / "doclen.npy", np.ones(1000, dtype=np.int32)), _rehash(i, g, "doclen.npy")),
}


@pytest.fixture
def damaged(request, pristine, tmp_path: Path) -> tuple[Path, Path]:
    docs, index, other = pristine
    copy = tmp_path / "index"
    shutil.copytree(index, copy)
    (seg,) = segment_folders(copy)
    DAMAGE[request.param](copy, copy / seg, other)
    return docs, copy


@pytest.mark.parametrize("damaged", list(DAMAGE), indirect=True)
def test_damaged_index_is_a_clear_error_that_says_rebuild(damaged, embedder, capsys):
    docs, index = damaged
    assistant = make_assistant(index, embedder, docs)
    with pytest.raises(IndexCorruptError, match=r"assistant index --rebuild"):
        store.load(index, assistant.indexer.expected())
    rc = cli.main(["ask", SEED_Q, "--index", str(index)])
    out, err = capsys.readouterr()
    assert rc == 1
    assert err.startswith("error: ") and "assistant index --rebuild" in err
    assert "Traceback" not in err and out == ""


@pytest.mark.parametrize("damaged", ["vectors.faiss random bytes, checksum made to match",
                                     "catalog lists no files", "segment folder missing",
                                     "catalog not a database"],
                         indirect=True)
def test_index_run_over_a_damaged_index_builds_a_good_one(damaged, embedder, capsys):
    docs, index = damaged
    rc = cli.main(["index", "--docs", str(docs), "--index", str(index)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    answers_seed(index, docs, embedder)
    assert_no_leftovers(index)


def test_index_built_with_other_settings_says_rebuild(pristine, embedder, capsys):
    docs, index, _ = pristine
    assistant = make_assistant(index, embedder, docs, chunk_tokens=64, chunk_overlap=8)
    with pytest.raises(IndexMismatchError, match=r"chunking=.*assistant index --rebuild"):
        assistant.answerer.retriever()


def test_index_loads_without_unpickling_anything(pristine, monkeypatch: pytest.MonkeyPatch):
    """No pickle on anything read from disk: loading works with pickle switched off."""
    import pickle

    import bm25s  # noqa: F401 - imported before the switch-off, as a loaded app would be
    import faiss  # noqa: F401

    def refuse(*args, **kwargs):
        raise AssertionError("pickle used while loading the index")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    real_np_load = np.load

    def np_load(*args, **kwargs):
        assert not kwargs.get("allow_pickle"), "np.load(allow_pickle=True) on an index file"
        return real_np_load(*args, **kwargs)

    monkeypatch.setattr(np, "load", np_load)
    _, index, _ = pristine
    loaded = store.load(index)
    assert len(loaded) > 0 and len(list(loaded.iter_chunks())) == len(loaded)
    assert loaded.dense(np.ones(loaded.manifest["dim"], dtype=np.float32), 2)
    for f in index.rglob("*"):
        if f.is_file():
            assert not f.read_bytes().startswith(b"\x80"), f"{f.name} looks like a pickle"


def test_library_never_unpickles_or_evaluates():
    # The modules may not be imported or used; the words may appear in prose or data (a
    # "field marshal" is a rank in roles.py).
    unsafe = r"(pickle|cPickle|joblib|dill|marshal)"
    pattern = re.compile(rf"^\s*(import|from)\s+{unsafe}\b|^\s*import\s.*,\s*{unsafe}\b|"
                         rf"\b{unsafe}\.\w|(?<!\.)\beval\(|(?<!\.)\bexec\(|"
                         r"allow_pickle\s*=\s*True|torch\.load\(|__import__\(")
    for bad in ("import pickle", "import os, marshal", "from dill import loads",
                "x = joblib.load(f)", "np.load(f, allow_pickle=True)", "eval(s)",
                "__import__('pickle')"):
        assert pattern.search(bad), bad  # the scan still catches each way in
    for path in sorted((ROOT / "assistant").rglob("*.py")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            assert not pattern.search(code), f"{path.name}:{n}: {line.strip()}"
