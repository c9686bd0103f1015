"""Pure language rules: no I/O, no model, no index.

    analyzer.py   words for BM25, answers and verification (stemmed, stop words dropped)
    sentences.py  sentence and paragraph spans of a document's text
    locate.py     a span's lines or pages and the headings above it
    passages.py   the quotable sentences of retrieved passages; the citation of a quote
    facts.py      the names, numbers, months and negations a sentence states
    roles.py      role phrases ("a former chief superintendent") and mentions of people
    questions.py  the answer type a question asks for, and spans of that type
"""
