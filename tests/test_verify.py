"""Verification of generated sentences against their sources, fact by fact (real model, index).

Drafts are written here (a model's wording would make the tests flaky); they go
through the product's own `verify`, with the passages retrieval really returns.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import DATA, DOCS_SRC, SEED, assert_exact, make_assistant

from assistant.cite.records import turn_record
from assistant.cite.text import answer_markdown, answer_text, markdown, plain
from assistant.generate.verify import verify
from assistant.types import UNVERIFIED, Answer
from assistant.web.view import document_html, sources_html

REVIEW = "Who carried out the review of Rotherham?"
BRIDGE = "When did the Kelling harbour bridge open?"


@pytest.fixture(scope="module")
def checked(tmp_path_factory, embedder):
    """An assistant over the Rotherham article and the two small generator documents."""
    root = tmp_path_factory.mktemp("verify")
    docs = root / "docs"
    docs.mkdir()
    shutil.copy(DOCS_SRC / SEED, docs / SEED)
    for f in (DATA / "generate").iterdir():
        shutil.copy(f, docs / f.name)
    assistant = make_assistant(root / "index", embedder, docs)
    assistant.index()
    return assistant


def check(assistant, draft: str, question: str) -> Answer:
    retriever = assistant.answerer.retriever()
    hits = retriever.search(question, k=5)
    answer = verify(question, draft, hits, retriever.store.documents, assistant.indexer.embedder,
                    assistant.analyzer)
    assert_exact(assistant, answer)
    for c in answer.citations:  # every span of every quote is the document's own text
        doc = retriever.store.documents[c.chunk.doc_id]
        assert c.parts[0].quote == c.quote and c.parts[0].start == c.start
        for p in c.parts:
            assert doc.text[p.start:p.end] == p.quote
    return answer


def test_a_swapped_in_organisation_is_unverified_and_named(checked):
    """The reported bug: most words match, the entity does not occur in the article."""
    draft = ("The review of Rotherham's progress in tackling child sex abuse was carried out by "
             "the Independent Review Commission. [1]")
    answer = check(checked, draft, REVIEW)
    assert answer.text.endswith(f"Commission. [1] {UNVERIFIED}")
    (c,) = answer.citations
    assert c.verified is False and c.unsupported == ("Independent Review Commission",)
    data = json.loads(json.dumps(answer.to_dict()))
    assert data["citations"][0]["unsupported"] == ["Independent Review Commission"]


def test_the_true_claim_is_verified(checked):
    answer = check(checked, "The review was carried out by Steve Ashley [1].", REVIEW)
    (c,) = answer.citations
    assert c.verified and not c.unsupported and "Steve Ashley" in c.quote
    assert UNVERIFIED not in answer.text


def test_two_sentence_support_quotes_both_with_their_own_offsets(checked):
    """Name in one sentence, "former chief superintendent" in another (another chunk, too)."""
    draft = "Steve Ashley, a former chief superintendent, carried out the review [1]."
    answer = check(checked, draft, REVIEW)
    (c,) = answer.citations
    assert c.verified is True and len(c.parts) == 2
    first, second = c.parts
    assert "Steve Ashley, the independent chairman" in first.quote
    assert second.quote.startswith("Mr Ashley, a former chief superintendent")
    assert first.end < second.start and (first.line_start, second.line_start) == (7, 16)
    # JSON: quote/start/end are the first span; spans hold both, each with its locator.
    data = c.to_dict()
    assert (data["quote"], data["start"], data["end"]) == (first.quote, first.start, first.end)
    assert [(s["start"], s["end"], s["locator"]) for s in data["spans"]] == [
        (first.start, first.end, "line 7"), (second.start, second.end, "line 16")]
    # What a person pastes: both quotes, both locators.
    assert "line 7; line 16" in plain(c) and plain(c).count("\u201d \u2026 \u201c") == 1
    assert markdown(c).count("> \u2026") == 1
    assert "Mr Ashley, a former chief superintendent" in answer_text(answer)
    assert "line 7; line 16" in answer_markdown(answer)


def test_two_sentences_of_one_passage(checked):
    draft = "The Kelling harbour bridge opened to traffic in 1894 and is 412 metres long [1]."
    answer = check(checked, draft, BRIDGE)
    (c,) = answer.citations
    assert c.verified and [p.line_start for p in c.parts] == [3, 5]
    assert c.parts[1].quote == "The bridge is 412 metres long and carries two railway tracks."


def test_a_number_from_another_sentence_is_not_accepted(checked):
    """412 is in the passage, but as the bridge's length, not the year it opened."""
    answer = check(checked, "The Kelling harbour bridge opened to traffic in 412 [1].", BRIDGE)
    (c,) = answer.citations
    assert c.verified is False and c.unsupported == ("412",)


@pytest.mark.parametrize("draft,verified,missing", [
    ("The bridge is four hundred and twelve metres long [1].", True, ()),
    ("The bridge is 413 metres long [1].", False, ("413",)),
    ("The Kelling harbour bridge opened to traffic in 1895 [1].", False, ("1895",)),
    ("The Kelling bridge was designed by the engineer Margaret Stone [1].", False,
     ("Margaret Stone",)),
    ("It was designed by the engineer Hale [1].", True, ()),  # a surname alone
])
def test_each_kind_of_fact_in_the_bridge_passage(checked, draft, verified, missing):
    answer = check(checked, draft, "How long is the Kelling bridge and who designed it?")
    (c,) = answer.citations
    assert (c.verified, c.unsupported) == (verified, missing)


@pytest.mark.parametrize("draft,verified,missing", [
    ("Steve Ashley carried out the review after starting his role in Sept. [1]", True, ()),
    ("Steve Ashley carried out the review after starting his role in October [1].", False,
     ("October",)),
    ("The orchard festival draws about three thousand visitors each October [1].", True, ()),
    ("The orchard festival draws about 30,000 visitors each October [1].", False, ("30,000",)),
])
def test_months_and_amounts(checked, draft, verified, missing):
    question = REVIEW if "Ashley" in draft else "How many visitors does the cider festival draw?"
    answer = check(checked, draft, question)
    (c,) = answer.citations
    assert (c.verified, c.unsupported) == (verified, missing)


def test_a_negation_on_one_side_only_is_unverified(checked):
    answer = check(checked, "The Kelling harbour bridge did not open to traffic in 1894 [1].",
                   BRIDGE)
    (c,) = answer.citations
    assert c.verified is False and c.unsupported == ("negation: not",)


def test_unmarked_sentences_follow_the_same_rule(checked):
    draft = ("Steve Ashley, a former chief superintendent, carried out the review. "
             "The review was carried out by the Independent Review Commission.")
    answer = check(checked, draft, REVIEW)
    first, second = answer.text.split(". [1] ")
    assert first.startswith("Steve Ashley") and second.endswith(f"Commission. {UNVERIFIED}")
    (c,) = answer.citations  # the unsupported sentence gets no source
    assert c.verified and len(c.parts) == 2
    assert any("cited no passage" in n for n in answer.notes)
    assert "not in the passages: Independent Review Commission" in answer.notes


def test_sources_panel_shows_both_spans_and_what_is_missing(checked):
    draft = ("Steve Ashley, a former chief superintendent, carried out the review [1]. "
             "The review was carried out by the Independent Review Commission [1].")
    answer = check(checked, draft, REVIEW)
    docs = checked.answerer.retriever().store.documents
    turn = turn_record(answer, docs)
    ok, bad = turn.citations
    assert [s.locator for s in ok.spans] == ["line 7", "line 16"]
    assert ok.locator == "line 7; line 16" and bad.unsupported == (
        "Independent Review Commission",)
    html = sources_html(turn)
    assert "not in the quoted source: Independent Review Commission" in html
    assert html.count("<mark>") == 3  # two spans, then one
    page = document_html(docs[answer.citations[0].chunk.doc_id], ok)
    assert page.count("<mark") == 2 and "<mark id='cited'>Steve Ashley" in page


def test_extractive_answers_are_unaffected(checked):
    answer = checked.ask(REVIEW)
    assert answer.citations and all(c.verified is None and not c.unsupported
                                     and len(c.parts) == 1 for c in answer.citations)
    for c in answer.to_dict()["citations"]:
        assert c["unsupported"] == [] and [s["quote"] for s in c["spans"]] == [c["quote"]]


def test_a_document_changed_since_is_reported_for_any_span(checked, tmp_path: Path):
    draft = "Steve Ashley, a former chief superintendent, carried out the review [1]."
    answer = check(checked, draft, REVIEW)
    docs = checked.answerer.retriever().store.documents
    cite = turn_record(answer, docs).citations[0]
    doc = docs[answer.citations[0].chunk.doc_id]
    second = cite.spans[1]
    changed = doc.text[:second.start] + "X" + doc.text[second.start + 1:]
    from dataclasses import replace

    assert "has changed" in document_html(replace(doc, text=changed), cite)
