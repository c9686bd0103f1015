"""Candidate sentences of the retrieved passages, their features and the fitted ranker's order.

The sentences' features (SENTENCE_FEATURES, and UNIT_FEATURES of the unit each is quoted as)
are weighed by a logistic model fitted in bench/ (bench/fit_sentences.py, bench/fit_units.py)
and stored as JSON in assistant/answer/models/; extractive.py chooses among the ranked sentences.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from ..embed import Embedder, embed_queries
from ..embed.sentences import Lookup, sentence_vectors
from ..text.analyzer import Analyzer, ascii_digits
from ..text.passages import OVERLAP_WEIGHT, Sentence, candidate_sentences
from ..text.questions import answer_type
from ..text.roles import mentions, question_names
from ..types import Document, Hit
from . import fitted
from .short import holds_answer_type
from .unitfeatures import UNIT_FEATURES, unit_features

SENTENCE_FEATURES = (
    "similarity", "overlap", "idf_overlap", "similarity_gap", "relevance_gap",
    "passage_prior", "top_passage", "passage_gap", "first_in_passage", "position",
    "document_opening", "typed", "type_match", "names_matched", "numbers_matched", "log_words",
    "relevance_rank", "neighbour_gap",
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def sentence_features(
    question: str, sents: Sequence[Sentence], sims: np.ndarray, hits: Sequence[Hit],
    analyzer: Analyzer,
) -> np.ndarray:
    """One row of SENTENCE_FEATURES per candidate sentence (the model in
    assistant/answer/models/sentences.json weighs them; bench/fit_sentences.py fits it)."""
    qtok = analyzer.tokens(question)
    stoks = [set(t) for t in analyzer.tokenize([s.text for s in sents])]
    q = set(qtok)
    # a sentence that names the question's people as the document does ("He", "Mr Ashley" for
    # "Steve Ashley") holds their words
    names = question_names(question)
    said = [mentions(names, s.context + " " + s.text, s.document) for s in sents]
    for t, found in zip(stoks, said, strict=True):
        t.update(w for n in found for w in analyzer.tokens(n))
    # "BM25-ish": the question's words weighted by how rare they are among the candidates
    idf = {w: math.log(1 + len(sents) / (1 + sum(w in t for t in stoks))) for w in q}
    kind = answer_type(question)
    nums = set(_NUMBER.findall(ascii_digits(question)))
    ov = np.array([len(q & t) / len(q) if q else 0.0 for t in stoks])
    rel = sims + OVERLAP_WEIGHT * ov
    per_hit: dict[int, list[int]] = {}
    for i, s in enumerate(sents):
        per_hit.setdefault(s.hit, []).append(i)
    rank = np.empty(len(sents))
    rank[np.argsort(-rel, kind="stable")] = np.arange(len(sents))
    rows = []
    for i, s in enumerate(sents):
        order = per_hit[s.hit]
        at = order.index(i)
        typed = kind is not None and holds_answer_type(s.text, kind, qtok, analyzer)
        rows.append([
            sims[i], ov[i],
            sum(idf[w] for w in q & stoks[i]) / max(1e-9, sum(idf.values())),
            sims[i] - sims.max(), rel[i] - rel.max(),
            1.0 / (1 + s.hit), float(s.hit == 0), hits[s.hit].score - hits[0].score,
            float(at == 0), at / max(1, len(order) - 1),
            float(at == 0 and hits[s.hit].chunk.ordinal == 0),
            float(kind is not None), float(typed),
            len(said[i]) / len(names) if names else 0.0,
            sum(n in ascii_digits(s.text) for n in nums) / len(nums) if nums else 0.0,
            math.log(1 + len(s.text.split())),
            math.log(1 + rank[i]),
            # the answer often sits next to the sentence that repeats the question's words
            max((rel[j] for j in order[max(0, at - 1):at + 2] if j != i), default=0.0)
            - rel.max(),
        ])
    return np.asarray(rows, dtype=np.float64).reshape(len(sents), len(SENTENCE_FEATURES))


# the ranker in use (assistant/answer/models/<RANKER>.json) and the features it weighs: the
# sentence features alone (bench/fit_sentences.py) or with those of each sentence's answer
# unit (bench/fit_units.py, cross-validated by corpus)
RANKER = "sentences"
RANKERS = {"sentences": SENTENCE_FEATURES,
           "units": SENTENCE_FEATURES + tuple(f for f in UNIT_FEATURES if f != "has_layout")}


def sentence_model() -> fitted.Linear:
    return fitted.load(RANKER, RANKERS[RANKER])


def featurize(
    question: str,
    hits: Sequence[Hit],
    documents: Mapping[str, Document],
    embedder: Embedder,
    analyzer: Analyzer,
    query_vector: np.ndarray | None = None,
    lookup: Lookup | None = None,
    units: bool | None = None,
) -> tuple[list[Sentence], np.ndarray]:
    """Every candidate sentence of the hits with its similarity and overlap, and its features:
    SENTENCE_FEATURES, then UNIT_FEATURES when `units` (None: when the ranker in use weighs
    them).

    Sentence vectors come from the index's tables through `lookup` (store.sentence_vectors);
    only sentences it lacks are embedded here.
    """
    units = bool(set(RANKERS[RANKER]) & set(UNIT_FEATURES)) if units is None else units
    width = len(SENTENCE_FEATURES) + (len(UNIT_FEATURES) if units else 0)
    sents = candidate_sentences(hits, documents)
    if not sents:
        return [], np.zeros((0, width))
    q = query_vector if query_vector is not None else embed_queries(embedder, [question])[0]
    vecs = sentence_vectors([(hits[s.hit].chunk.doc_id, s.start, s.end, s.text) for s in sents],
                            embedder, lookup)
    sims = np.asarray(vecs @ q, dtype=np.float64)
    rows = sentence_features(question, sents, sims, hits, analyzer)
    names = SENTENCE_FEATURES
    if units:
        rows = np.hstack([rows, unit_features(question, sents, hits, documents, analyzer)])
    return [replace(s, similarity=float(r[names.index("similarity")]),
                    overlap=float(r[names.index("overlap")]),
                    typed=bool(r[names.index("type_match")]),
                    named=float(r[names.index("names_matched")]))
            for s, r in zip(sents, rows, strict=True)], rows


def rank_sentences(sents: Sequence[Sentence], rows: np.ndarray) -> list[Sentence]:
    """`featurize`'s sentences, best first, scored by the fitted model (logit of answering)."""
    model = sentence_model()
    names = SENTENCE_FEATURES + UNIT_FEATURES  # featurize's columns, the unit ones optional
    logits = model.logits(rows[:, [names.index(f) for f in model.features]])
    out = [replace(s, score=float(z)) for s, z in zip(sents, logits, strict=True)]
    out.sort(key=lambda s: -s.score)
    return out
