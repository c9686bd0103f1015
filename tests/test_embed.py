"""ONNX Runtime, OpenVINO and sentence-transformers give the same vectors; asking never
imports torch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import DOCS_SRC, ROOT, make_assistant

from assistant.config import Settings
from assistant.embed import bundled_path, load_embedder, onnx_file
from assistant.errors import ModelLoadError
from assistant.ingest import discover, load_document
from assistant.text.sentences import sentence_spans


@pytest.fixture(scope="module")
def onnx_embedder():
    """ONNX Runtime for every call (no OpenVINO for many texts at once)."""
    settings = Settings.load(env={}, backend="onnx", index_runtime="onnxruntime")
    if not onnx_file(settings).is_file():
        pytest.fail(f"{onnx_file(settings)} is missing: `make install` writes it "
                    "(python -m assistant.embed.export)")
    return load_embedder(settings)


@pytest.fixture(scope="module")
def openvino_embedder():
    """The same ONNX copy; calls with more than one batch of texts run on OpenVINO."""
    e = load_embedder(Settings.load(env={}, backend="onnx", index_runtime="openvino"))
    assert e.bulk() is not None
    return e


@pytest.fixture(scope="module")
def torch_embedder():
    return load_embedder(Settings.load(env={}, backend="torch"))


def _sample_texts() -> list[str]:
    """Real sentences and passages of every format in docs_src, plus awkward edge cases."""
    files, _ = discover(DOCS_SRC)
    texts: list[str] = []
    for path in files:
        doc = load_document(path, DOCS_SRC)
        spans = sentence_spans(doc.text)
        texts += [doc.text[a:b] for a, b in spans[:100]]
        texts += [doc.text[i : i + 1500] for i in range(0, min(len(doc.text), 12000), 1500)]
    long = " ".join(["tokenisation"] * 600)  # far beyond the 256-token window: truncated alike
    return texts + ["", "a", "Ünïcödé — «quotes», 中文, emoji 🙂", long, "\n\n  \t", "x" * 3000]


def test_onnx_vectors_equal_sentence_transformers(onnx_embedder, torch_embedder):
    texts = _sample_texts()
    assert len(texts) >= 150
    a = onnx_embedder.embed(texts)
    b = torch_embedder.embed(texts)
    assert a.shape == b.shape == (len(texts), 384) and a.dtype == np.float32
    cos = (a * b).sum(axis=1)
    worst = int(np.argmin(cos))
    assert cos.min() >= 0.999, (texts[worst][:80], cos.min())
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert onnx_embedder.count_tokens(texts) == torch_embedder.count_tokens(texts)
    assert onnx_embedder.max_seq_length == torch_embedder.max_seq_length == 256
    # Order and batching do not change a vector.
    one = onnx_embedder.embed([texts[5]])
    assert float(one[0] @ a[5]) >= 0.99999


def test_openvino_bulk_vectors_equal_sentence_transformers(openvino_embedder, onnx_embedder,
                                                           torch_embedder):
    texts = _sample_texts()
    bulk = openvino_embedder.embed(texts)  # many batches: OpenVINO
    assert bulk.shape == (len(texts), 384) and bulk.dtype == np.float32
    for other in (torch_embedder.embed(texts), onnx_embedder.embed(texts)):
        cos = (bulk * other).sum(axis=1)
        worst = int(np.argmin(cos))
        assert cos.min() >= 0.999, (texts[worst][:80], cos.min())
    np.testing.assert_allclose(np.linalg.norm(bulk, axis=1), 1.0, atol=1e-5)
    # One text (a question) runs on ONNX Runtime, exactly as the ONNX-only embedder's.
    one = openvino_embedder.embed([texts[5]])
    assert float(one[0] @ onnx_embedder.embed([texts[5]])[0]) >= 0.99999
    # Sentence vectors pooled in a bulk call agree with ONNX Runtime's too.
    spans = [[(0, min(len(t), 60))] if t.strip() else [] for t in texts]
    _, pooled_ov = openvino_embedder.embed_spans(texts, spans)
    _, pooled_ort = onnx_embedder.embed_spans(texts, spans)
    for a, b, t in zip(pooled_ov, pooled_ort, texts, strict=True):
        ok = np.isfinite(b).all(axis=1)
        assert np.isfinite(a[ok]).all() and ((a[ok] * b[ok]).sum(axis=1) >= 0.999).all(), t[:60]


def test_openvino_runs_one_batch_at_a_time():
    """Two worker threads never run OpenVINO side by side: two requests taking new input
    shapes at once hung an index build inside its Python binding. The worker threads still
    share the rest of the work (tokenising, pooling), and the vectors do not change."""
    import threading
    import time

    openvino_embedder = load_embedder(Settings.load(env={}, backend="onnx",
                                                    index_runtime="openvino", onnx_threads=2))
    texts = [f"Sentence {i} " + "word " * (3 + 7 * i) for i in range(48)]
    alone = openvino_embedder.embed(texts)
    bulk = openvino_embedder.bulk()
    active, peak, lock = [0], [0], threading.Lock()
    request = bulk._request

    class Watched:  # the real request, with a count of the calls inside it at once
        def infer(self, feed):
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(0.02)  # long enough for another thread to arrive if it may
            try:
                return request.infer(feed)
            finally:
                with lock:
                    active[0] -= 1

    bulk._request = Watched()
    try:
        assert openvino_embedder._pool is not None  # two worker threads
        together = openvino_embedder.embed(texts)
    finally:
        bulk._request = request
    assert peak[0] == 1
    np.testing.assert_allclose(together, alone, atol=1e-6)


def test_openvino_runtime_without_openvino_says_how_to_install_it(monkeypatch):
    from assistant.embed.onnx import OnnxEmbedder

    settings = Settings.load(env={}, backend="onnx", index_runtime="onnxruntime")
    e = load_embedder(settings)
    fresh = OnnxEmbedder(onnx_file(settings), bundled_path(), e.name, bulk="openvino")
    monkeypatch.setitem(sys.modules, "openvino", None)  # import openvino -> ImportError
    with pytest.raises(ModelLoadError, match="pip install openvino"):
        fresh.embed(["one text"] * 40)
    auto = OnnxEmbedder(onnx_file(settings), bundled_path(), e.name, bulk="auto")
    assert auto.bulk() is None  # "auto" falls back to ONNX Runtime
    vecs = auto.embed(["one text"] * 40)
    assert float(vecs[0] @ e.embed(["one text"])[0]) >= 0.99999


@pytest.mark.parametrize("build,query", [("torch", "onnx"), ("onnx", "torch"),
                                         ("openvino", "torch"), ("openvino", "onnx")])
def test_index_built_with_one_backend_serves_the_other(tmp_path, onnx_embedder, torch_embedder,
                                                       openvino_embedder, build, query):
    by = {"onnx": onnx_embedder, "torch": torch_embedder, "openvino": openvino_embedder}
    builder = make_assistant(tmp_path / "index", by[build])
    builder.index()
    asker = make_assistant(tmp_path / "index", by[query])
    question = "Who carried out the review of child sexual exploitation in Rotherham?"
    built, asked = builder.ask(question), asker.ask(question)
    assert asked.found
    assert [h.chunk.chunk_id for h in asked.hits] == [h.chunk.chunk_id for h in built.hits]
    assert [c.quote for c in asked.citations] == [c.quote for c in built.citations]


def test_onnx_backend_without_its_file_says_how_to_make_it(tmp_path):
    with pytest.raises(ModelLoadError, match="assistant.embed.export"):
        load_embedder(Settings.load(env={}, backend="onnx", onnx_dir=tmp_path))


def test_onnx_backend_refuses_other_models():
    with pytest.raises(ModelLoadError, match="only the bundled model"):
        load_embedder(Settings.load(env={}, backend="onnx", model="some/other-model"))


def test_ask_imports_neither_torch_nor_sentence_transformers(tmp_path, onnx_embedder):
    make_assistant(tmp_path / "index", onnx_embedder).index()
    code = (
        "import sys\n"
        "from assistant.cli import main\n"
        f"rc = main(['ask', 'Who carried out the review?', '--index', {str(tmp_path / 'index')!r}])\n"
        "heavy = sorted(m for m in ('torch', 'sentence_transformers', 'transformers', "
        "'openvino') "
        "if m in sys.modules)\n"
        "print('HEAVY', heavy, rc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "HEAVY [] 0" in done.stdout, done.stdout + done.stderr


def test_span_vectors_agree_between_backends_and_with_whole_texts(onnx_embedder, torch_embedder):
    texts = [
        "Steam engines\nThomas Newcomen built the first practical steam engine in 1712. "
        "James Watt improved it greatly.",
        "  Leading spaces. Then a second sentence with Ünïcode — and a dash.",
    ]
    spans = [[(14, 78), (79, 106), (0, len(texts[0]))], [(2, 17), (18, 67)]]
    vo, po = onnx_embedder.embed_spans(texts, spans)
    vt, pt = torch_embedder.embed_spans(texts, spans)
    for a, b in zip(po, pt, strict=True):
        assert a.shape == b.shape and np.isfinite(a).all()
        assert ((a * b).sum(axis=1) >= 0.999).all()
    # A span over the whole text pools what the text vector pools, less [CLS] and [SEP].
    assert float(po[0][2] @ vo[0]) >= 0.99
    # Each span is about its own sentence.
    alone = onnx_embedder.embed([texts[0][14:78], texts[0][79:106]])
    sims = po[0][:2] @ alone.T
    assert sims[0, 0] > sims[0, 1] and sims[1, 1] > sims[1, 0]
