"""Fact extraction and matching (assistant/facts.py): pure rules, no model."""

from __future__ import annotations

import pytest

from assistant.text.analyzer import ENGLISH
from assistant.text.facts import evidence, extract, found, lowercase_words, negations


def facts_of(text: str, common: str = "") -> list[tuple[str, str, float]]:
    return [(f.kind, f.text, f.value) for f in extract(text, lowercase_words([common]))]


def supported(claim: str, source: str, passage: str = "") -> list[str]:
    """The claim's facts that the source holds (passage: for the surname rule)."""
    tokens = ENGLISH.tokens(passage or source)
    return [f.text for f in extract(claim, ()) if found(f, evidence(source), tokens)]


def test_names_are_runs_of_capitalised_words():
    got = facts_of("The review of Rotherham's progress was carried out by the Independent "
                   "Review Commission and the Bank of England.")
    assert ("name", "Rotherham", 0.0) in got
    assert ("name", "Independent Review Commission", 0.0) in got
    assert ("name", "Bank of England", 0.0) in got
    assert not any(t == "The" for _, t, _ in got)  # a sentence's common first word


def test_sentence_initial_words_are_names_only_when_not_common_nearby():
    assert facts_of("Praise came from the board.", common="they gave praise")[:1] == []
    assert facts_of("Smith led the review.", common="they gave praise")[0][1] == "Smith"
    assert facts_of("According to Mr Ashley, it worked.")[0][1] == "Ashley"  # title dropped


@pytest.mark.parametrize("text,value", [
    ("forty-one people", 41), ("1,200 files", 1200), ("3.5 million visitors", 3_500_000),
    ("41% of them", 41), ("41 per cent of them", 41), ("it cost £30", 30),
    ("two hundred and fifty men", 250), ("the twenty-first century", 21), ("the 19th", 19),
    ("a three-time winner", 3), ("in 2013", 2013), ("the 1990s", 1990),
])
def test_numbers_in_digits_and_words(text, value):
    assert [v for k, _, v in facts_of(text) if k == "number"] == [value]


def test_one_alone_is_not_a_number_but_1_is():
    assert facts_of("one of the reviews") == []
    assert facts_of("1 of the reviews") == [("number", "1", 1.0)]


def test_months_full_and_abbreviated_capitalised_only():
    assert facts_of("He started in Sept. last year") == [("month", "Sept.", 9.0)]
    assert facts_of("It ended in September.") == [("month", "September", 9.0)]
    assert facts_of("They may come.") == []


def test_equal_values_match_whatever_the_spelling():
    source = "It has forty-one rooms, 1,200 books, 3,500,000 visitors and opened in September."
    claim = "It has 41 rooms, twelve hundred books, 3.5 million visitors and opened in Sept."
    assert supported(claim, source) == ["41", "twelve hundred", "3.5 million", "Sept."]
    assert supported("It has 42 rooms and opened in October.", source) == []


def test_a_number_keeps_its_unit():
    source = "a pass on the 2-point conversion attempt with 17 seconds left"
    assert supported("with two seconds left", source) == []
    assert supported("with 17 seconds left", source) == ["17"]
    assert supported("a two-point conversion", source) == ["two"]


def test_a_surname_stands_for_the_full_name_given_in_the_passage():
    passage = "Steve Ashley carried out the review. Mr Ashley, a former chief superintendent, spoke."
    sentence = "Mr Ashley, a former chief superintendent, spoke."
    assert supported("Steve Ashley was a chief superintendent.", sentence, passage) == [
        "Steve Ashley"]
    assert supported("Ashley was a chief superintendent.", sentence, passage) == ["Ashley"]
    assert supported("Steve Ashley was a chief superintendent.", sentence, sentence) == []
    assert supported("John Ashley was a chief superintendent.", sentence, passage) == []


def test_a_name_is_not_found_in_a_different_name_sharing_a_word():
    passage = "The Summer Theatre ran until 1939. The Wojciech Boguslawski Theatre was built later."
    sentence = "The Summer Theatre ran until 1939."
    assert supported("The Wojciech Boguslawski Theatre ran until 1939.", sentence, passage) == [
        "1939"]
    assert supported("The Independent Review Commission carried it out.",
                     "An independent review was carried out.") == []


def test_names_match_any_case_and_accents():
    assert supported("Rotherham made progress.", "ROTHERHAM has made progress.") == ["Rotherham"]
    assert supported("He moved to Zurich.", "He moved to Zürich in 1901.") == ["Zurich"]


def test_negations_are_counted():
    assert negations("It did not open and was never used; it isn't there.") == (
        "not", "never", "n't")
    assert negations("It opened in 1894.") == ()
