"""Answer units (issue 21): a description is quoted with the term above it, a sentence that
introduces a command with the command; exact offsets, real HTML through the real loader and
the bundled model."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import assert_exact, make_assistant

from assistant.answer.units import tail_end, term_start
from assistant.ingest import load_document

PAGE = """<html><head><title>git-gc(1)</title></head><body>
<h1>git-gc(1)</h1>
<h2>OPTIONS</h2>
<dl>
<dt>--aggressive</dt>
<dd><p>Usually git gc runs very quickly while providing good disk space utilization and
performance. This option will cause git gc to more aggressively optimize the repository at
the expense of taking much more time.</p></dd>
<dt>-u</dt>
<dt>--include-untracked</dt>
<dd><p>All untracked files are also stashed and then cleaned up with git clean.</p></dd>
</dl>
<h2>RESOLVING CONFLICTS</h2>
<p>After resolving the conflict manually and updating the index with the desired resolution,
you can continue the rebasing process with</p>
<pre>git rebase --continue</pre>
<h2>TABLE</h2>
<table>
<tr><th>apt</th><th>aptitude</th><th>description</th></tr>
<tr><td>apt purge foo</td><td>aptitude purge foo</td><td>purge "foo" package with its configuration files</td></tr>
</table>
<p>A paragraph that is long enough to be prose, and ends as a sentence does, with a full stop.
It goes on for a while, as prose does, with a second sentence that says little at all and a
third that takes it past the lead a description may have before its quoted sentence. Deep in
the paragraph this sentence is never widened.</p>
<p>The next paragraph is not widened by the one before it.</p>
</body></html>
"""


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    docs = tmp_path_factory.mktemp("units")
    (docs / "git-gc.html").write_text(PAGE, encoding="utf-8")
    return docs, load_document(docs / "git-gc.html", docs)


def _at(doc, sentence: str) -> int:
    return doc.text.index(sentence)


def test_a_description_is_widened_to_its_term_lines(page) -> None:
    _, doc = page
    s = _at(doc, "All untracked files")
    assert doc.text[term_start(doc, s):s] == "-u\n\n--include-untracked\n\n"
    s = _at(doc, "Usually git gc")
    assert doc.text[term_start(doc, s):s] == "--aggressive\n\n"
    # a later sentence close to the description's start takes the term and what is between
    later = _at(doc, "This option will cause")
    assert doc.text[term_start(doc, later):later].startswith("--aggressive\n\nUsually git gc")


def test_a_table_cell_is_widened_to_its_row_not_past_the_header_row(page) -> None:
    _, doc = page
    s = _at(doc, 'purge "foo" package')
    widened = doc.text[term_start(doc, s):s]
    assert widened.startswith("apt")
    assert "apt purge foo\n\naptitude purge foo\n\n" in widened


def test_prose_and_headings_are_not_terms(page) -> None:
    _, doc = page
    s = _at(doc, "The next paragraph")
    assert term_start(doc, s) == s  # the block above ends as a sentence does
    s = _at(doc, "After resolving")
    assert term_start(doc, s) == s  # the block above is a heading
    deep = _at(doc, "Deep in")  # far into a block: never widened
    assert term_start(doc, deep) == deep


def test_a_sentence_ending_open_takes_the_command_after_it(page) -> None:
    _, doc = page
    s = _at(doc, "After resolving")
    end = doc.text.index("rebasing process with") + len("rebasing process with")
    assert doc.text[s:tail_end(doc, end)].endswith("process with\n\ngit rebase --continue")
    closed = doc.text.index("with a full stop.") + len("with a full stop.")
    assert tail_end(doc, closed) == closed


@pytest.mark.parametrize("question, fact", [
    ("Which git gc option optimizes the repository harder at the cost of time?", "--aggressive"),
    ("How do I carry on rebasing after resolving a conflict?", "git rebase --continue"),
])
def test_the_answer_states_the_term_with_exact_quotes(page, tmp_path: Path, embedder, question,
                                                     fact) -> None:
    docs, _ = page
    a = make_assistant(tmp_path / "index", embedder, docs)
    a.index()
    answer = a.ask(question)
    assert answer.found and fact in answer.text, answer.text
    assert any(fact in c.quote for c in answer.citations)
    assert_exact(a, answer)
