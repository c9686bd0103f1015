"""The fitted rankers (assistant/models/*.json), the seed article's facts, and follow-up
dialogs, through the real model, a real index of docs_src/ (copied) and real files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import DATA, DOCS_SRC, SEED, assert_exact

from assistant import cli
from assistant.answer import fitted
from assistant.answer.ranker import SENTENCE_FEATURES, featurize, sentence_model
from assistant.answer.spans import SPAN_FEATURES, phrases
from assistant.errors import AssistantError, IngestError
from assistant.eval.dialog import load_dialogs, run_dialogs
from assistant.text.analyzer import ENGLISH


def test_models_load_from_json_with_the_features_the_code_computes():
    sentences = fitted.load("sentences", SENTENCE_FEATURES)
    assert sentences.features == SENTENCE_FEATURES
    assert sentences.settings["second_margin"] > 0
    spans = fitted.load("spans", SPAN_FEATURES)
    assert 0 < spans.settings["min_share"] <= 1
    # applied with numpy: a row at the mean scores the intercept
    assert sentences.logits(sentences.mean[None, :])[0] == pytest.approx(sentences.intercept)
    data = json.loads((fitted.MODELS / "sentences.json").read_text(encoding="utf-8"))
    assert "pickle" not in json.dumps(data) and data["fitted_by"] == "bench/fit_sentences.py"


def test_a_model_fitted_on_other_features_is_refused():
    model = fitted.from_dict({"features": ["a", "b"], "coef": [1, 2], "intercept": 0,
                              "mean": [0, 0], "scale": [1, 1]})
    with pytest.raises(AssistantError, match="refit it"):
        model.check(["a", "c"], "x.json")
    with pytest.raises(ValueError):
        fitted.from_dict({"features": ["a"], "coef": [1, 2], "intercept": 0, "mean": [0],
                          "scale": [1]})


def test_the_fitted_ranker_changes_the_choice_it_should(docs_index):
    """Cosine + overlap (the old score, without its type bonus) prefers the sentence that
    repeats the question's words; the fitted model picks the one that says when."""
    q = "What year saw the earliest recorded use of the steam engine indicator?"
    r = docs_index.answerer.retriever()
    hits = r.search(q)
    sents, rows = featurize(q, hits, r.store.documents, docs_index.indexer.embedder,
                            docs_index.analyzer, r.query_vector(q), r.store.sentence_vectors)
    by_model = sents[int(np.argmax(sentence_model().logits(rows)))]
    by_relevance = max(sents, key=lambda s: s.relevance + 0.1 / (1 + s.hit))
    assert "1851" in by_model.text and "1851" not in by_relevance.text
    answer = docs_index.ask(q)
    assert "1851" in answer.citations[0].quote
    assert answer.short_answer is not None and answer.short_answer.text == "1851"


def test_a_question_of_no_asked_type_gets_the_span_rankers_pick(docs_index):
    answer = docs_index.ask("What is the bad air theory known as today?")
    sa = answer.short_answer
    assert sa is not None and "Miasma" in sa.text
    cite = next(c for c in answer.citations if c.n == sa.citation_n)
    assert cite.start <= sa.start < sa.end <= cite.end
    assert docs_index.answerer.retriever().store.documents[cite.chunk.doc_id].text[sa.start:sa.end] \
        == sa.text


def test_phrase_candidates_do_not_open_or_close_on_stop_words():
    text = "The clades (genetic branches) declined significantly, in 1349."
    found = {text[s:e] for s, e in phrases(text, ENGLISH.stop_words)}
    assert {"genetic branches", "declined significantly", "clades", "1349"} <= found
    assert not any(p.split()[0].lower() in {"the", "in"} for p in found)
    assert "branches) declined" not in found  # never across punctuation


# Every fact a reader would ask about the seed article, and the line that states it.
SEED_FACTS = [
    ("Who carried out the review?", "Steve Ashley", 7),
    ("Who is Steve Ashley?", "independent chairman", 7),
    ("When did Steve Ashley start his role?", "September", 7),
    ("Which police force did Steve Ashley serve in?", "Merseyside Police", 7),
    ("Which board does Steve Ashley chair?", "local safeguarding children board", 7),
    ("What did the independent review find?", "better position", 5),
    ("What progress has Rotherham made in tackling child sex abuse?", "remarkable", 3),
    ("Who has the council apologised to?", "victims", 12),
    ("Why did the council apologise?", "systemic failure", 12),
    ("Who revealed the compensation bill?", "Yorkshire Post", 14),
    ("How big is the bill the council is facing?", "hundreds of thousands of pounds", 14),
    ("How many potential compensation claims are there?", "double figures", 14),
    ("What did Mr Ashley praise?", "improvements made in recent months", 16),
    ("Where is the multi-agency team based?", "Maltby police station", 18),
    ("What did he recommend about the role of the team?", "clearer", 23),
    ("What danger does the team face?", "subsumed", 23),
    ("How did he describe this area of business?", "dynamic and fast-changing", 25),
    ("Up to which year was the progress in Rotherham remarkable?", "2013", 27),
    ("In which borough is Rotherham?", "South Yorkshire", 5),
    # the rank is said where he is named "Mr Ashley"; what he called for, where he is "He"
    ("What rank did Steve Ashley hold in the police?", "chief superintendent", 16),
    ("What did Mr Ashley call for?", "dedicated senior manager", 18),
    ("Who claimed that Rotherham has made remarkable progress?", "former leading police officer",
     3),
    ("Who is the independent chairman of Rotherham's local safeguarding children board?",
     "Steve Ashley", 7),
    ("Which police force was Steve Ashley a leading officer with?", "Merseyside Police", 7),
    ("What was Steve Ashley's job?", "independent chairman", 7),
    ("What was Rotherham previously criticised for?", "poor response", 3),
    ("Who revealed that the council is facing a compensation bill?", "Yorkshire Post", 14),
    ("When did the Yorkshire Post reveal the compensation bill?", "last month", 14),
    ("What is the council facing a bill over?", "failure to tackle CSE", 14),
    ("What did Mr Ashley say needed further development work?", "areas", 16),
    ("What did Mr Ashley recommend for the multi-agency team?", "senior manager", 18),
    ("Where is the multi-agency team currently based?", "Maltby police station", 18),
    ("What would the team lose without a clearer role?", "lose focus", 23),
    ("What did Mr Ashley say about the difficulties faced by organisations?", "underestimate",
     27),
    ("How does Rotherham compare with most other local authorities?", "better position", 5),
    ("What did the council apologise for?", "systemic failure", 12),
    ("Who had been let down by the council?", "victims", 12),
    ("What are organisations having to consider their priorities according to?",
     "available resources", 25),
    ("What was Steve Ashley's rank?", "chief superintendent", 16),
    ("What position did Steve Ashley hold?", "independent chairman", 7),
    ("When did Steve Ashley start as chairman?", "September", 7),
    ("How much could the compensation bill be?", "hundreds of thousands of pounds", 14),
    ("What improvements did Steve Ashley call for?", "dedicated senior manager", 18),
    ("Where could the multi-agency team be moved from?", "Maltby police station", 18),
    ("Who praised improvements made in recent months?", "Mr Ashley", 16),
    ("What is the danger if the team's role is not clearer?", "subsumed", 23),
    ("Who apologised to victims?", "the council", 12),
    ("Who was a former chief superintendent?", "Mr Ashley", 16),
]


@pytest.mark.parametrize(("question", "fact", "line"), SEED_FACTS)
def test_each_seed_fact_is_answered_with_the_sentence_that_states_it(docs_index, question,
                                                                       fact, line):
    answer = docs_index.ask(question)
    first = answer.citations[0]
    assert first.chunk.source.endswith(SEED), answer.text
    assert fact in first.quote and first.line_start <= line <= first.line_end, answer.text
    assert_exact(docs_index, answer)


def test_a_rank_or_role_is_answered_with_the_phrase_that_says_it(docs_index):
    """The rank is in the sentence that names him "Mr Ashley", quoted before the one that
    introduces him; a "who" of a sentence that names nobody gets its role phrase."""
    answer = docs_index.ask("What rank did Steve Ashley hold in the police?")
    assert answer.short_answer is not None
    assert answer.short_answer.text == "a former chief superintendent"
    assert answer.short_answer.citation_n == 1 and "Mr Ashley" in answer.citations[0].quote
    who = docs_index.ask("Who claimed that Rotherham has made remarkable progress?")
    assert who.short_answer is not None
    assert who.short_answer.text == "a former leading police officer"


def test_who_is_a_name_asks_for_no_name(docs_index):
    assert docs_index.ask("Who is Steve Ashley?").short_answer is None
    assert docs_index.ask("Who carried out the review?").short_answer.text == "Steve Ashley"


def _dialogs_file(tmp_path, ids):
    """The docs_src dialogs of the set, pointed at this module's copy of docs_src."""
    rows = [json.loads(line) for line in (DATA / "dialogs.jsonl").read_text(
        encoding="utf-8").splitlines() if line.strip()]
    picked = [dict(r, corpus=str(DOCS_SRC)) for r in rows if r["id"] in ids]
    assert len(picked) == len(ids)
    path = tmp_path / "dialogs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in picked), encoding="utf-8")
    return path


def test_followups_from_the_set_through_the_pipeline(docs_index):
    """The issue's conversation ("And who led it?" gives the reviewer, not the first
    answer's quotes again), 'What about Venice?', and an unrelated question after a topic."""
    dialogs = {d.id: d for d in load_dialogs(DATA / "dialogs.jsonl")}
    assert len(dialogs) >= 40
    for name in ("rotherham-review", "plague-russia", "amazon-brazil"):
        history: list[tuple[str, str]] = []
        quotes: set[str] = set()
        for turn in dialogs[name].turns:
            answer = docs_index.ask(turn.question, history=history)
            if not turn.gold:  # "Who won the 2018 World Cup?" is no follow-up: nothing found
                assert not answer.found, answer.text
                continue
            assert turn.gold in answer.text, (turn.question, answer.text)
            # an earlier quote comes back only when it is the one that states the fact
            assert all(turn.gold in c.quote for c in answer.citations if c.quote in quotes), \
                answer.text
            assert_exact(docs_index, answer)
            quotes |= {c.quote for c in answer.citations}
            history.append((turn.question, answer.text))


def test_eval_dialog_command(tmp_path, docs_index, capsys):
    path = _dialogs_file(tmp_path, {"rotherham-review", "va-instruments", "amazon-brazil"})
    assert cli.main(["eval", "dialog", str(path), "--json", "--cache", str(tmp_path / "c")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dialogs"] == 3 and out["followup_turns"] == 5 and out["new_topic_turns"] == 1
    assert 0 <= out["followup_answered"] <= out["followup_holds_gold"] <= 1
    assert out["followup_answered"] == pytest.approx(1 - len(
        [f for f in out["failures"] if f["turn"] > 0 and f["question"] != "Who won the 2018 "
         "World Cup?"]) / 5)
    settings = docs_index.settings.replace(index_dir=tmp_path / "i")
    report = run_dialogs(settings, path, tmp_path / "c")
    assert report["dialogs"] == 3


def test_a_bad_dialog_file_names_the_line_and_the_fix(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"id": "x", "corpus": "docs", "turns": [{"question": "Why?"}]}\n',
                    encoding="utf-8")
    with pytest.raises(IngestError, match=r"d\.jsonl:1.*question and gold"):
        load_dialogs(path)
    with pytest.raises(IngestError, match="no such dialog file"):
        load_dialogs(tmp_path / "missing.jsonl")
