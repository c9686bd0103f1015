"""Short answers: the few words of a cited quote that answer who/when/how many, with offsets.

Real model, real index of docs_src/ (copied); the rules' pure parts are also checked alone.
"""

from __future__ import annotations

import json

import pytest
from conftest import DOCS_SRC, SEED

from assistant import cli
from assistant.text.questions import answer_type, candidates
from assistant.text.roles import about, mentioned, question_names, role_phrases

REVIEW = "What did the independent review of Rotherham find?"


def _exact(assistant, answer):
    """The short answer is document text at its offsets, inside the quote it names."""
    sa = answer.short_answer
    cite = next(c for c in answer.citations if c.n == sa.citation_n)
    doc = assistant.answerer.retriever().store.documents[cite.chunk.doc_id]
    assert doc.text[sa.start:sa.end] == sa.text
    assert cite.start <= sa.start < sa.end <= cite.end
    return doc, cite


@pytest.mark.parametrize(("question", "expected", "source"), [
    ("Who carried out the review of Rotherham?", "Steve Ashley", SEED),
    ("When did Steve Ashley start his role?", "September", SEED),
    # the example: the quote opens with the sentence before, which names South Yorkshire
    ("Who carried out the independent review of how Rotherham tackles child sexual "
     "exploitation?", "Steve Ashley", SEED),
    ("What was Steve Ashley's rank?", "a former chief superintendent", SEED),
    ("What position did Steve Ashley hold?",
     "the independent chairman of Rotherham\u2019s local safeguarding children board", SEED),
    ("Which newspaper revealed the compensation bill?", "Yorkshire Post", SEED),
    # "Police" names the kind asked for, so it does not make the name what is asked about
    ("Which police force was Steve Ashley a leading officer with?", "Merseyside Police", SEED),
    ("How big is the bill the council is facing?", "hundreds of thousands of pounds", SEED),
    ("How many potential compensation claims are there?", "double figures", SEED),
    ("How many times was the disease present in Russia between 1350 and 1490?", "25",
     "black-death.pdf"),
    ("How much of the Amazon rainforest is contained within Brazil?", "60%",
     "amazon-rainforest.html"),
])
def test_short_answer_is_the_span_that_answers(docs_index, question, expected, source):
    answer = docs_index.ask(question)
    assert answer.short_answer is not None, answer.text
    assert answer.short_answer.text == expected
    doc, cite = _exact(docs_index, answer)
    assert cite.chunk.source.endswith(source)
    assert answer.short_answer.text in answer.text  # it is inside the quoted answer
    # The sentence that holds a fact of the asked type is quoted first ("60%", not the
    # article's opening sentence).
    assert answer.short_answer.citation_n == 1


def test_a_question_without_a_short_fact_gets_none(docs_index):
    answer = docs_index.ask(REVIEW)
    assert answer.found and answer.short_answer is None
    assert answer.to_dict()["short_answer"] is None


def test_a_dated_year_never_answers_how_many(docs_index):
    # the seed states no count of abused children; its "up to 2013" is a date, not one
    answer = docs_index.ask("How many children were abused in Rotherham?")
    assert answer.found, answer.text
    assert "up to 2013" in answer.text  # the quote that holds the year is still given
    assert answer.short_answer is None or answer.short_answer.text != "2013"


def test_the_title_line_is_never_quoted(docs_index):
    title = (DOCS_SRC / SEED).read_text(encoding="utf-8").split("\n")[0]
    for q in ("Who carried out the independent review of how Rotherham tackles child sexual "
              "exploitation?", "Praise for Rotherham fight against child sex abuse"):
        answer = docs_index.ask(q)
        assert all(title not in c.quote for c in answer.citations), answer.text


def test_json_and_cli_show_the_short_answer(docs_index, capsys):
    index = str(docs_index.settings.index_dir)
    assert cli.main(["ask", "Who carried out the review of Rotherham?", "--index", index,
                     "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    sa = out["short_answer"]
    assert set(sa) == {"text", "start", "end", "citation_n"}
    assert sa["text"] == "Steve Ashley"
    cite = next(c for c in out["citations"] if c["n"] == sa["citation_n"])
    assert cite["quote"][sa["start"] - cite["start"]:sa["end"] - cite["start"]] == "Steve Ashley"
    assert cli.main(["ask", "Who carried out the review of Rotherham?", "--index", index]) == 0
    assert capsys.readouterr().out.split("\n")[0] == f"Steve Ashley [{sa['citation_n']}]"
    assert cli.main(["ask", REVIEW, "--index", index, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["short_answer"] is None


@pytest.mark.parametrize(("question", "kind"), [
    ("Who led the review?", "name"), ("When did the plague reach England?", "date"),
    ("In what year was the fortress built?", "date"), ("How many claims are there?", "number"),
    ("How much of the forest is in Brazil?", "number"), ("How long is the river?", "measure"),
    ("Where is the kakapo found?", "place"), ("Which team won?", "name"),
    ("What theatre was the best example?", None), (REVIEW, None),
    ("Why are ctenophores rare as fossils?", None), ("What is happening to teachers?", None),
    ("What rank did Steve Ashley hold in the police?", "rank"), ("What was her job?", "role"),
    ("What is Steve Ashley's position?", "role"), ("What did she work as?", "role"),
    ("What role did the council play?", None), ("What is the title of the book?", None),
])
def test_answer_type_comes_from_the_question(question, kind):
    assert answer_type(question) == kind


def test_candidates_are_typed_spans():
    text = "Built in 1480 by Sultan Qaitbay and Mr Ashley for $2.5 million, about 41% of 5 May 2014."
    spans = {k: [text[c.start:c.end] for c in candidates(text, k)]
             for k in ("date", "number", "name")}
    assert "1480" in spans["date"] and "5 May 2014" in spans["date"]
    assert "$2.5 million" in spans["number"] and "41%" in spans["number"]
    assert "Sultan Qaitbay" in spans["name"] and "Ashley" in spans["name"]
    bc = "In 280 BC it stood."
    assert [bc[c.start:c.end] for c in candidates(bc, "date")] == ["280 BC"]


def test_a_place_is_not_who(docs_index):
    """ "... dealt with in Rotherham, where the council has previously apologised to victims":
    a name after "in" is where, not who; with no person named there is no short answer."""
    answer = docs_index.ask("Who has the council apologised to?")
    assert "victims" in answer.citations[0].quote
    assert answer.short_answer is None


def test_role_phrases_say_what_someone_is():
    text = ("Steve Ashley, the independent chairman of Rotherham's board and a former leading "
            "officer with Merseyside Police, carried out the review. Mr Ashley, a former chief "
            "superintendent, praised the way officials work.")
    found = [text[a:b] for a, b in role_phrases(text)]
    assert found == ["the independent chairman of Rotherham's board",
                     "a former leading officer with Merseyside Police",
                     "a former chief superintendent"]
    assert [text[a:b] for a, b in role_phrases(text, ranks_only=True)] == \
        ["a former chief superintendent"]
    assert role_phrases("The way officials deal with it is a problem.") == []
    marshal = "Montgomery, a British field marshal, commanded the army."
    assert [marshal[a:b] for a, b in role_phrases(marshal, ranks_only=True)] == \
        ["a British field marshal"]


def test_names_follow_the_document_and_he_points_back():
    doc = "Steve Ashley led it. Mr Ashley praised it. He called for more. Ms Ashley-Jones left."
    assert question_names("What did Mr Ashley call for?") == [("Mr Ashley", "Ashley")]
    assert question_names("What was Steve Ashley's job?") == [("Steve Ashley", "Steve Ashley")]
    assert mentioned("Steve Ashley", "Mr Ashley praised it.", doc)
    assert not mentioned("Steve Ashley", "Mr Ashley praised it.", "Mr Ashley praised it.")
    assert not mentioned("Steve Ashley", "Ms Ashley-Jones left.", doc)
    sentences = [(0, 20), (21, 42), (43, 62)]

    def before(at):
        return next((x for x in reversed(sentences) if x[1] <= at), None)

    assert about(doc, 43, before) == "Mr Ashley praised it."
    assert about(doc, 21, before) == ""
