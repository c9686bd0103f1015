"""Follow-up questions become standalone retrieval queries (pure logic; the real model and
index check the same thing end to end in test_pipeline.py and the browser tests)."""

from __future__ import annotations

import pytest

from assistant.followup import retrieval_query, standalone, topic

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


def test_person_pronouns_and_unresolvable_ones_keep_the_previous_question() -> None:
    prev = "Who carried out the independent review?"
    q = "And when did he start his role?"
    assert standalone(q, [(prev, "...")]) is None
    assert retrieval_query(q, [(prev, "...")]) == f"{prev} {q}"
    # "them" cannot stand for a singular topic
    prev = "How many claims does the council face?"
    assert retrieval_query("Who pays them?", [(prev, "...")]) == f"{prev} Who pays them?"
