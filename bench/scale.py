"""Scale benchmark: a synthetic index of N chunks built straight through the store (no model).

    .venv/bin/python bench/scale.py --chunks 100000 [--json] [--dir /tmp/scale-100k]

Documents hold ~10 chunks each; texts are drawn (Zipf) from a fixed list of
made-up words; vectors are synthetic unit vectors with the structure real
embeddings have (chunks of one document at cosine ~0.67 to each other, documents
near one of 1,000 topics), because uniformly random 384-d vectors have no
neighbourhoods for any index to find. A query is a stored chunk's vector plus
noise (cosine ~0.78 to it), with four of that chunk's words as its text. Prints one JSON object (fields in
docs/BENCHMARKS.md). Everything timed here excludes embedding by design.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant import store  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.indexing.writer import lexical_text
from assistant.retrieve import Retriever
from assistant.text.analyzer import Analyzer  # noqa: E402
from assistant.types import Chunk, Document  # noqa: E402

DIM = 384
PER_DOC = 10
TOPICS = 1000
SETTINGS = Settings.load(env={})
ANALYZER = Analyzer.of(SETTINGS)


def words(n: int = 20_000) -> list[str]:
    rng = np.random.default_rng(0)
    syll = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "be", "da", "fi", "go", "hu", "ja",
            "pe", "qui", "ro", "st", "tr", "an", "el", "is", "on", "um", "ex", "ly", "ment", "er"]
    out: set[str] = set()
    while len(out) < n:
        out.add("".join(rng.choice(syll, size=rng.integers(2, 5))))
    return sorted(out)


WORDS = words()
CDF = np.cumsum(1.0 / np.arange(1, len(WORDS) + 1))
CDF /= CDF[-1]
# the Analyzer works word by word, so the tokens of a made-up word are computed once
# (checked against tokenize on whole chunks in `tokens`).
STEMS = [t[0] if t else "" for t in ANALYZER.tokenize(WORDS)]


class Corpus:
    """Deterministic synthetic documents: batch b always yields the same docs and vectors."""

    def __init__(self, seed: int = 1) -> None:
        rng = np.random.default_rng(seed)
        self.topics = _unit(rng.standard_normal((TOPICS, DIM)).astype(np.float32))

    def doc(self, i: int, version: int = 0
            ) -> tuple[Document, list[Chunk], np.ndarray, list[np.ndarray]]:
        rng = np.random.default_rng([i, version])
        topic = self.topics[i % TOPICS]
        dvec = _unit(topic + _noise(rng, DIM, 0.6))
        vecs = _unit(dvec + _noise(rng, (PER_DOC, DIM), 0.7))
        picks = [np.searchsorted(CDF, rng.random(int(rng.integers(40, 80)))) for _ in range(PER_DOC)]
        texts = [" ".join(WORDS[w] for w in p) + "." for p in picks]
        text = "\n\n".join(texts)
        doc_id = f"d{i:08d}"
        doc = Document(doc_id=doc_id, source=f"synthetic/{doc_id}.txt", path=f"/synthetic/{doc_id}.txt",
                       title=f"Document {i}", text=text, format="txt",
                       content_hash=hashlib.sha256(f"{i}-{version}".encode()).hexdigest())
        chunks, pos = [], 0
        for n, t in enumerate(texts):
            chunks.append(Chunk(chunk_id=hashlib.sha1(f"{doc_id}{n}{t}".encode()).hexdigest()[:16],
                                doc_id=doc_id, title=doc.title, source=doc.source, path=doc.path,
                                text=t, start=pos, end=pos + len(t), spans=((pos, pos + len(t)),),
                                line_start=2 * n + 1, line_end=2 * n + 1, ordinal=n))
            pos += len(t) + 2
        return doc, chunks, vecs, picks


def _noise(rng: np.random.Generator, shape: int | tuple[int, int], norm: float) -> np.ndarray:
    """Gaussian noise whose vectors have about this length."""
    return (rng.standard_normal(shape) * (norm / np.sqrt(DIM))).astype(np.float32)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def tokens(chunks: list[Chunk], picks: list[np.ndarray] | None = None) -> list[list[str]]:
    """BM25 tokens of the chunks: the Analyzer, or the per-word table when `picks` is given."""
    if picks is None:
        return ANALYZER.tokenize([lexical_text(c, True) for c in chunks])
    title = ANALYZER.tokens(chunks[0].title)
    return [title + [STEMS[w] for w in p if STEMS[w]] for p in picks]


def manifest() -> dict:
    return {"model": "synthetic", "dim": DIM, "max_seq_length": 256,
            "chunking": SETTINGS.chunking(), "lexical": Analyzer.of(SETTINGS).manifest()}


def build(index: Path, docs: int, corpus: Corpus, batch_docs: int, threshold: int) -> float:
    t0 = time.perf_counter()
    with store.locked(index):
        w = store.LocalWriter(index, manifest, ann_threshold=threshold, max_segments=64)
        for start in range(0, docs, batch_docs):
            for i in range(start, min(docs, start + batch_docs)):
                d, cs, v, picks = corpus.doc(i)
                toks = tokens(cs, picks)
                if i < 10:  # the shortcut gives exactly what the Analyzer gives
                    assert toks == tokens(cs), "per-word tokens differ from the Analyzer"
                w.add(d, cs, v, toks)
            w.commit()
            print(f"built {min(docs, start + batch_docs) * PER_DOC} chunks, "
                  f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)
        w.close()
    return time.perf_counter() - t0


REPEAT = range(3)


def _median(times: Iterable[float]) -> float:
    return float(np.median(list(times)))


def update(index: Path, threshold: int, change: tuple | None, remove: str | None) -> float:
    """One writer run as for named documents (an upload): open, read the catalog's rows of the
    documents named, add/replace one document or remove one, commit (merging as configured)."""
    t0 = time.perf_counter()
    with store.locked(index):
        w = store.LocalWriter(index, manifest, ann_threshold=threshold)
        named = [d for d in (change[0].doc_id if change else None, remove) if d]
        w.known(named)  # what an indexer reads to decide what changed
        if change is not None:
            d, cs, v, _ = change
            w.add(d, cs, v, tokens(cs))
        if remove is not None:
            w.remove(remove)
        w.commit()
        w.close()
    return time.perf_counter() - t0


class Fixed:
    """Stands in for the embedder: the query's vector is known in advance."""

    name, dim, max_seq_length = "synthetic", DIM, 256

    def __init__(self) -> None:
        self.vectors: dict[str, np.ndarray] = {}

    def embed(self, texts, progress=None):  # noqa: ANN001, ANN201
        return np.stack([self.vectors[t] for t in texts])

    def count_tokens(self, texts):  # noqa: ANN001, ANN201
        return [len(t.split()) for t in texts]


def scan_costs(index: Path, files: int) -> tuple[float, float]:
    """(s to read the catalog's stat rows of every document, s to stat `files` files on disk):
    what a folder scan costs whatever changed. The files are empty ones made for this."""
    w = store.LocalWriter(index, manifest)
    t0 = time.perf_counter()
    n = len(w.stats())
    table_s = time.perf_counter() - t0
    w.close()
    with tempfile.TemporaryDirectory(prefix="scan-") as tmp:
        for i in range(files):
            sub = Path(tmp) / f"{i // 1000:04d}"
            if i % 1000 == 0:
                sub.mkdir()
            (sub / f"d{i:08d}.txt").touch()
        os.sync()
        t0 = time.perf_counter()
        seen = sum(1 for sub in os.scandir(tmp) for f in os.scandir(sub.path)
                   if f.stat().st_size >= 0)
        stat_s = time.perf_counter() - t0
    assert seen == files and n > 0
    return table_s, stat_s


def open_in_child(index: Path) -> tuple[float, float]:
    """(seconds to open, RSS in MB right after) in a fresh process, libraries already imported."""
    # VmRSS, not ru_maxrss: Linux carries the parent's peak over into a child's ru_maxrss.
    code = ("import time, pathlib; from assistant import store; import faiss; "
            "t = time.perf_counter(); "
            f"s = store.load(pathlib.Path({str(index)!r})); n = len(s); "
            "rss = [ln for ln in open('/proc/self/status') if ln.startswith('VmRSS')][0].split()[1]; "
            "print(time.perf_counter() - t, int(rss) / 1024)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=_env()).stdout.split()
    return float(out[0]), float(out[1])


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chunks", type=int, default=10_000)
    ap.add_argument("--dir", type=Path, default=None, help="index folder (default: a temp folder)")
    ap.add_argument("--batch", type=int, default=250_000, help="chunks per build commit")
    ap.add_argument("--threshold", type=int, default=store.ANN_THRESHOLD)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--scan", action="store_true",
                    help="also time a folder scan's floor: the catalog's stat rows and stat() of "
                         "one file per document")
    ap.add_argument("--keep", action="store_true", help="keep the index folder")
    ap.add_argument("--reuse", action="store_true",
                    help="measure an index --dir already holds (from --keep) instead of building")
    args = ap.parse_args()
    import faiss

    faiss.omp_set_num_threads(1)
    root = args.dir or Path(tempfile.mkdtemp(prefix="scale-"))
    index = root / "index"
    corpus = Corpus()
    docs = args.chunks // PER_DOC
    build_s = None
    if not (args.reuse and index.exists()):
        if index.exists():
            shutil.rmtree(index)
        build_s = round(build(index, docs, corpus, max(1, args.batch // PER_DOC), args.threshold), 1)
    g = store.generation(index) or 0  # a reused index: other documents than last time
    open_s, rss = open_in_child(index)
    # One document added, one changed, one removed, and an update that changes nothing.
    # Each the median of REPEAT writer runs on other documents (the first run of a process
    # also pays one-time costs, e.g. importing filelock).
    add_s = _median(update(index, args.threshold, corpus.doc(docs + g + r), None) for r in REPEAT)
    change_s = _median(update(index, args.threshold, corpus.doc(docs // 2 + g + r, version=1), None)
                       for r in REPEAT)
    remove_s = _median(update(index, args.threshold, None, f"d{docs // 3 + g + r:08d}") for r in REPEAT)
    noop_s = _median(update(index, args.threshold, None, None) for r in REPEAT)

    scan = scan_costs(index, docs) if args.scan else None

    s = store.load(index)
    rng = np.random.default_rng(5)
    fixed = Fixed()
    retriever = Retriever(s, fixed, SETTINGS.replace(top_k=10))  # type: ignore[arg-type]
    queries = []
    for q in range(args.queries):
        i = int(rng.integers(0, docs))
        if docs // 2 + g <= i < docs // 2 + g + len(REPEAT) or docs // 3 + g <= i < docs // 3 + g + len(REPEAT):
            continue
        d, cs, v, _ = corpus.doc(i)
        j = int(rng.integers(0, PER_DOC))
        qv = _unit(v[j] + _noise(rng, DIM, 0.8))  # cosine ~0.78 with its chunk
        text = " ".join(rng.choice(cs[j].text.rstrip(".").split(), size=4)) + f" #{q}"
        fixed.vectors[text] = qv
        queries.append((text, qv))
    times = []
    for text, _ in queries:
        t0 = time.perf_counter()
        retriever.search(text, k=10)
        times.append((time.perf_counter() - t0) * 1000)
    recall = dense_recall(s, corpus, docs, [qv for _, qv in queries[:50]])
    disk = sum(f.stat().st_size for f in index.rglob("*") if f.is_file()) / 2**20
    out = {
        "chunks": len(s), "segments": len(s.segments), "vector_index": s.vector_index,
        "build_s": build_s, "open_s": round(open_s, 3),
        "rss_after_open_mb": round(rss, 1),
        "add_one_doc_s": round(add_s, 3), "change_one_doc_s": round(change_s, 3),
        "remove_one_doc_s": round(remove_s, 3), "noop_update_s": round(noop_s, 3),
        "search_p50_ms": round(float(np.percentile(times, 50)), 2),
        "search_p95_ms": round(float(np.percentile(times, 95)), 2),
        "dense_recall_at_10": round(recall, 4), "disk_mb": round(disk, 1),
        **({"stat_rows_read_s": round(scan[0], 3), "stat_files_s": round(scan[1], 3)}
           if scan else {}),
        "bench_rss_max_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(out) if args.json else json.dumps(out, indent=1))
    s.close()
    if not args.keep and args.dir is None:
        shutil.rmtree(root)


def dense_recall(s: store.LocalStore, corpus: Corpus, docs: int, qs: list[np.ndarray]) -> float:
    """Recall@10 of the store's dense search against exact search over the same live vectors."""
    q = np.stack(qs)
    best = np.full((len(q), 10), -np.inf, dtype=np.float32)
    best_keys = np.full((len(q), 10), -1, dtype=np.int64)
    for seg in s.segments:
        live = np.ones(seg.rows, dtype=bool)
        live[s.deleted[s.segments.index(seg)]] = False
        for a in range(0, seg.rows, 100_000):
            rows = np.flatnonzero(live[a:a + 100_000]) + a
            x = seg.reconstruct(rows)
            sims = q @ x.T
            keys = np.asarray(seg.keys)[rows]
            allk = np.concatenate([best_keys, np.broadcast_to(keys, sims.shape)], axis=1)
            alls = np.concatenate([best, sims], axis=1)
            top = np.argsort(-alls, axis=1)[:, :10]
            best = np.take_along_axis(alls, top, axis=1)
            best_keys = np.take_along_axis(allk, top, axis=1)
    found = 0
    for i in range(len(q)):
        got = {k for k, _ in s.dense(q[i], 10)}
        found += len(got & set(best_keys[i].tolist()))
    return found / (10 * len(q))


if __name__ == "__main__":
    main()
