"""int8 dynamic quantisation of the ONNX model: speed and how far its vectors move.

    .venv/bin/python bench/int8.py [--corpus .../scifact-train/corpus.jsonl] [-n 300]

Quantises the installed ONNX copy (onnxruntime.quantization.quantize_dynamic,
QInt8 weights) into a temporary file and embeds the same texts (title + text
of SciFact abstracts, plus their first sentences) with both models in this
process, float32 first. Not adopted: see docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import Settings  # noqa: E402
from assistant.embed import bundled_path, onnx_file  # noqa: E402
from assistant.embed.onnx import OnnxEmbedder  # noqa: E402

CORPUS = Path("/work/shared/eval/scifact-train/corpus.jsonl")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("-n", type=int, default=300)
    args = ap.parse_args()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    texts: list[str] = []
    with args.corpus.open(encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            texts += [r["title"] + "\n" + r["text"], r["text"].split(". ")[0]]
            if len(texts) >= 2 * args.n:
                break
    src = onnx_file(Settings.load(env={}))
    with tempfile.TemporaryDirectory() as tmp:
        q = Path(tmp) / "int8.onnx"
        import onnx

        # The installed copy holds ONNX Runtime's fused BERT ops, which shape inference
        # does not type: say that the weights are float.
        quantize_dynamic(str(src), str(q), weight_type=QuantType.QInt8,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        figures = {}
        vecs = {}
        for name, path in (("float32", src), ("int8", q)):
            e = OnnxEmbedder(path, bundled_path(), name)
            e.embed(texts[:8])
            t0 = time.perf_counter()
            vecs[name] = e.embed(texts)
            figures[f"{name}_s"] = round(time.perf_counter() - t0, 2)
    cos = (vecs["float32"] * vecs["int8"]).sum(axis=1)
    figures.update(texts=len(texts), ratio=round(figures["int8_s"] / figures["float32_s"], 3),
                   cosine_mean=round(float(cos.mean()), 4), cosine_min=round(float(cos.min()), 4),
                   share_below_0_99=round(float((cos < 0.99).mean()), 3))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
