"""Follow-up questions become standalone retrieval queries (pure logic; the real model and
index check the same thing end to end in test_pipeline.py and the browser tests)."""

from __future__ import annotations

import pytest

from assistant.answer.followup import is_followup, retrieval_query, standalone, topic

REVIEW = "What did the independent review of Rotherham find?"


@pytest.mark.parametrize("question, phrase", [
    (REVIEW, "the independent review"),  # "find" is the verb after "did"
    ("When was the Victoria and Albert Museum founded?", "the Victoria and Albert Museum"),
    ("How did the Black Death spread?", "the Black Death"),
    ("What is the Bank of England?", "the Bank of England"),
    ("What is the capital city?", "the capital city"),
    ("what is this?", None),
])
def test_topic(question: str, phrase: str | None) -> None:
    assert topic(question) == phrase


def test_pronoun_is_replaced_by_the_earlier_topic() -> None:
    history = [(REVIEW, "...")]
    assert standalone("And who led it?", history) == "who led the independent review? Rotherham"
    assert retrieval_query("What were its findings?", history).startswith(
        "What were the independent review's findings?")


def test_questions_that_stand_alone_are_kept() -> None:
    history = [(REVIEW, "...")]
    q = "Which police force did Steve Ashley serve in before becoming chairman of the board?"
    assert retrieval_query(q, history) == q
    assert retrieval_query("And who led it?", None) == "And who led it?"
    # "its" points at the question's own name: a new topic, not a follow-up
    q = "When was the Black Death at its peak in Europe?"
    assert retrieval_query(q, [("How much of the Amazon rainforest lies in Brazil?", "...")]) == q


def test_person_pronouns_take_the_name_the_conversation_gave() -> None:
    prev = "Who carried out the independent review?"
    answer = "Steve Ashley, the independent chairman, carried out the review. [1]"
    q = "And when did he start his role?"
    assert standalone(q, [(prev, answer)]) == "And when did Steve Ashley start his role?"
    # after a question that names its person, that person
    assert standalone("Where did he live?", [("When did Tesla die?", "It was 1943. [1]")]) \
        == "Where did Tesla live?"
    # after "which company ...?", "its" is the company the answer named
    assert standalone("How efficient is its engine?", [(
        "Which company in Sweden works on steam engines?",
        "The company Energiprojekt AB in Sweden has made progress. [1]")]) \
        == "How efficient is Energiprojekt AB's engine?"


def test_unresolvable_followups_are_retrieved_with_the_earlier_question() -> None:
    prev = "How many claims does the council face?"
    # "them" cannot stand for a singular topic: the earlier question rides along for
    # retrieval; the sentences are still scored against the follow-up itself
    assert standalone("Who pays them?", [(prev, "...")]) is None
    assert retrieval_query("Who pays them?", [(prev, "...")]) == f"{prev} Who pays them?"


@pytest.mark.parametrize(("question", "previous", "expected"), [
    ("What about Venice?", "How many times was the plague present in Russia?",
     "How many times was the plague present in Venice?"),
    ("What about in 2013?", "How many people visited in 2012?",
     "How many people visited in 2013?"),
    ("And in Europe?", "What are typical turbine speeds in the USA?",
     "What are typical turbine speeds in Europe?"),
    ("Why?", "When did Steve Ashley start his role?", "Why did Steve Ashley start his role?"),
    ("What about his later works?", "When did Luther publish?",
     "When did Luther publish his later works?"),
])
def test_elliptic_followups_reuse_the_earlier_question(question, previous, expected) -> None:
    assert standalone(question, [(previous, "...")]) == expected


@pytest.mark.parametrize(("question", "follows"), [
    ("Why?", True), ("And who led it?", True), ("What about 2013?", True),
    ("When did the Supreme Court decide on it?", True),  # "it" is not the Court
    ("When was the Black Death at its peak?", False),  # "its" is the Black Death's
    ("What is sourdough?", False), ("Who won the 2018 World Cup?", False),
])
def test_what_counts_as_a_followup(question, follows) -> None:
    assert is_followup(question) is follows


def test_a_followup_resolves_the_earlier_followup_first() -> None:
    history = [("Who carried out the review?", "Steve Ashley carried it out. [1]"),
               ("When did he start?", "He started in September. [1]")]
    assert standalone("Why?", history) == "Why did Steve Ashley start?"
