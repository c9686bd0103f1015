"""Answering: the Answerer (search, then answer; reads the index, never writes it).

    answerer.py   Answerer: the last commit of the index, follow-ups, generators
    extractive.py question + hits -> the best sentences, verbatim, each with its [n]
    ranker.py     the candidate sentences' features and the fitted ranker's order
    short.py      the few words of a quote that answer (rules by answer type)
    typed.py      technical short answers: the port, file or option a manual's quote names
    units.py      the unit a sentence is quoted as: a description with its term, a row with
                  its header, a command with the sentence that introduces it
    terms.py      the row or description a question's term names; headings that are terms
    unitfeatures.py  a quote's spans, and the unit features the rankers may weigh
    spans.py      every span that could be a short answer, and its features
    fitted.py     the rankers' JSON coefficients in models/, applied with numpy
    followup.py   a follow-up question made to stand alone
"""

from __future__ import annotations

from .answerer import Answerer

__all__ = ["Answerer"]
