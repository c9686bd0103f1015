"""Answer units (issue 21): a description is quoted with the term above it, a sentence that
introduces a command with the command; exact offsets, real HTML through the real loader and
the bundled model."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import assert_exact, make_assistant

from assistant.answer.units import tail_end, term_start, unit_spans
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


@pytest.fixture(scope="module")
def indexed(page, tmp_path_factory, embedder):
    """The page indexed once, for the tests that ask it."""
    docs, _ = page
    a = make_assistant(tmp_path_factory.mktemp("units-index"), embedder, docs)
    a.index()
    return a


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


def test_a_table_cell_is_quoted_as_its_row_after_the_header_row(page) -> None:
    _, doc = page
    s = _at(doc, 'purge "foo" package')
    spans = unit_spans(doc, s, s + len('purge "foo" package with its configuration files'))
    assert [doc.text[a:b] for a, b in spans] == [
        "apt | aptitude | description",
        'apt purge foo | aptitude purge foo | purge "foo" package with its configuration files']
    # a row is never a term line above the paragraph after the table
    after = _at(doc, "A paragraph that is long enough")
    assert term_start(doc, after) == after


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
def test_the_answer_states_the_term_with_exact_quotes(indexed, question, fact) -> None:
    a = indexed
    answer = a.ask(question)
    assert answer.found and fact in answer.text, answer.text
    assert any(fact in c.quote for c in answer.citations)
    assert_exact(a, answer)


SHUTDOWN = """<html><head><title>pg_ctl</title></head><body><h1>pg_ctl</h1>
<h2>Options</h2>
<dl>
<dt>-m mode</dt>
<dt>--mode=mode</dt>
<dd><p>Specifies the shutdown mode. mode can be smart, fast, or immediate, or the first letter
of one of these three. If this option is omitted, fast is the default.</p></dd>
<dt>-w</dt>
<dd><p>Wait for the operation to complete.</p></dd>
</dl></body></html>
"""


def test_a_header_row_is_never_the_short_answer(indexed) -> None:
    # the row is quoted after its header row; the term line of a "which command" question is
    # not that header ("apt | aptitude | description")
    answer = indexed.ask("Which command purges a package together with its configuration files?")
    assert answer.citations[0].parts[0].quote == "apt | aptitude | description", answer.text
    assert answer.short_answer is None or "description" not in answer.short_answer.text


@pytest.mark.parametrize("question, asks", [
    ("Which shutdown mode does pg_ctl use if I don't give one?", True),
    ("What is the default port?", True),
    ("Which mode is used when none is given?", True),
    ("Which modes can pg_ctl shut down in?", False),
    ("When was the bridge opened?", False),
])
def test_questions_about_defaults(question: str, asks: bool) -> None:
    from assistant.text.questions import asks_default

    assert asks_default(question) is asks


def test_a_default_stated_further_in_the_description_is_quoted(tmp_path: Path, embedder) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "pg_ctl.html").write_text(SHUTDOWN, encoding="utf-8")
    a = make_assistant(tmp_path / "index", embedder, docs)
    a.index()
    answer = a.ask("Which shutdown mode does pg_ctl use if I don't give one?")
    assert answer.found and "fast is the default" in answer.citations[0].quote, answer.text
    assert answer.citations[0].quote.startswith("-m mode")  # with its term lines
    assert_exact(a, answer)


def test_default_end_runs_on_within_the_block_only(tmp_path: Path) -> None:
    from assistant.answer.units import default_end

    (tmp_path / "pg_ctl.html").write_text(SHUTDOWN, encoding="utf-8")
    doc = load_document(tmp_path / "pg_ctl.html", tmp_path)
    first = doc.text.index("Specifies the shutdown mode.") + len("Specifies the shutdown mode.")
    assert doc.text[first:default_end(doc, first)].endswith("fast is the default.")
    wait = doc.text.index("Wait for the operation to complete.")
    end = wait + len("Wait for the operation to complete.")
    assert default_end(doc, end) == end  # its block states no default


def test_the_term_line_is_the_short_answer_to_which_option(page, indexed) -> None:
    _, doc = page
    a = indexed
    answer = a.ask("Which git gc option optimizes the repository harder at the cost of time?")
    sa = answer.short_answer
    assert sa is not None and sa.text == "--aggressive"
    assert doc.text[sa.start:sa.end] == "--aggressive" and sa.citation_n == answer.citations[0].n
    # a question that names the option already is answered by its description, not its name
    named = a.ask("What does the --aggressive option of git gc do?")
    assert named.short_answer is None or named.short_answer.text != "--aggressive"


@pytest.mark.parametrize("question, asks", [
    ("Which git stash option also stashes untracked files?", True),
    ("How do I carry on rebasing?", True),
    ("What setting logs slow statements?", True),
    ("Who wrote the manual?", False),
    ("When was the option added?", False),
])
def test_questions_that_ask_for_a_term(question: str, asks: bool) -> None:
    from assistant.text.questions import asks_term

    assert asks_term(question) is asks


KEYED = """<html><head><title>gpg</title></head><body><h1>Trust</h1>
<p>Here is the meaning of the trust code.</p>
<table><tr><th>code</th><th>description of trust</th></tr>
<tr><td>-</td><td>no owner trust assigned / not yet calculated</td></tr>
<tr><td>q</td><td>not enough information for calculation</td></tr>
<tr><td>n</td><td>never trust this key</td></tr></table>
<p>To list the keys with their trust, run:</p>
<pre>$ gpg --list-keys --with-colons
$ gpg --check-trustdb</pre>
</body></html>
"""


def test_a_row_keyed_by_the_questions_term(tmp_path: Path) -> None:
    from assistant.answer.terms import keys_row

    (tmp_path / "gpg.html").write_text(KEYED, encoding="utf-8")
    doc = load_document(tmp_path / "gpg.html", tmp_path)
    row = _at(doc, "q | not enough")
    assert keys_row(doc, row, "What does the GnuPG trust code q mean?")
    assert not keys_row(doc, row, "What does the trust code mean?")  # no term names the row
    assert not keys_row(doc, _at(doc, "Here is"), "What does q mean?")  # not a row


def test_the_first_command_line_is_the_short_answer_to_how_do_i(tmp_path: Path,
                                                                 embedder) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "gpg.html").write_text(KEYED, encoding="utf-8")
    a = make_assistant(tmp_path / "index", embedder, docs)
    a.index()
    answer = a.ask("How do I list the keys with their trust?")
    sa = answer.short_answer
    assert sa is not None and sa.text == "$ gpg --list-keys --with-colons", answer.text
    assert answer.citations[0].quote.startswith("To list the keys with their trust, run:\n\n$ gpg")
    assert_exact(a, answer)
    row = a.ask("What does the GnuPG trust code q mean?")
    assert "q | not enough information for calculation" in row.text, row.text
    cited = next(c for c in row.citations if "q | not enough" in c.parts[-1].quote)
    assert [p.quote for p in cited.parts] == [  # after its header row
        "code | description of trust", "q | not enough information for calculation"]
    assert_exact(a, row)


POINTED = """<html><head><title>Database File Layout</title></head><body>
<h1>Database File Layout</h1>
<p>This section describes the storage format at the level of files and directories.</p>
<p>Traditionally, the configuration and data files used by a database cluster are stored
together within the cluster's data directory, commonly referred to as PGDATA.</p>
<p>The PGDATA directory contains several subdirectories and control files, as shown in
Table 73.1.</p>
<table><caption>Table 73.1. Contents of PGDATA</caption>
<tr><th>Item</th><th>Description</th></tr>
<tr><td>base</td><td>Subdirectory containing per-database subdirectories</td></tr>
<tr><td>global</td><td>Subdirectory containing cluster-wide tables, such as pg_database</td></tr>
<tr><td>pg_stat</td><td>Subdirectory containing permanent files for the statistics subsystem</td></tr>
<tr><td>pg_wal</td><td>Subdirectory containing WAL (Write Ahead Log) files</td></tr>
<tr><td>postmaster.pid</td><td>A lock file recording the current postmaster process ID (PID),
cluster data directory path, postmaster start timestamp and port number</td></tr>
</table>
<p>For each database in the cluster there is a subdirectory within PGDATA/base, named after
the database's OID.</p>
</body></html>
"""


def test_a_sentence_that_points_at_a_table_knows_its_rows(tmp_path: Path) -> None:
    from assistant.answer.units import pointed_layout

    (tmp_path / "storage.html").write_text(POINTED, encoding="utf-8")
    doc = load_document(tmp_path / "storage.html", tmp_path)
    at = _at(doc, "The PGDATA directory contains")
    span = pointed_layout(doc, at, doc.text.index("Table 73.1.", at) + len("Table 73.1."))
    assert span is not None
    table = doc.text[span[0]:span[1]]
    assert "pg_wal | Subdirectory containing WAL" in table and "postmaster.pid" in table
    assert "For each database" not in table  # the prose after the table is not pointed at
    at = _at(doc, "Traditionally")
    assert pointed_layout(doc, at, doc.text.index("PGDATA.", at) + 7) is None  # points at nothing


def test_the_row_a_pointing_sentence_introduces_is_quoted_with_it(tmp_path: Path,
                                                                   embedder) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "storage.html").write_text(POINTED, encoding="utf-8")
    a = make_assistant(tmp_path / "index", embedder, docs)
    a.index()
    answer = a.ask("Which subdirectory of the data directory holds the WAL files?")
    assert answer.found and "pg_wal | Subdirectory containing WAL (Write Ahead Log) files" \
        in answer.text, answer.text
    assert_exact(a, answer)


CAPTIONED = """<html><body>
<p>Packages keep a history of what was done to them. You can check package activity history in
the log files.</p>
<div class="table"><p class="title"><b>Table 2.12. The log files for package activities</b></p>
<table><tr><th>file</th><th>content</th></tr>
<tr><td>/var/log/dpkg.log</td><td>Log of dpkg level activity for all package activities</td></tr>
<tr><td>/var/log/apt/term.log</td><td>Log of generic APT activity</td></tr>
</table></div>
<p>Old logs are rotated by logrotate.</p>
<p>The rotation keeps four weeks of logs by default.</p>
<table><tr><th>option</th><th>meaning</th></tr><tr><td>weekly</td><td>rotate every week</td></tr>
</table>
</body></html>
"""


MOUNTS = """<html><body>
<p>Mount points are read at boot. The system mounts every filesystem listed in its table
when it starts.</p>
<p>The static filesystem configuration is kept in "/etc/fstab", one line per filesystem.</p>
</body></html>
"""


def test_a_sentence_that_names_the_asked_file_is_quoted_first(tmp_path: Path) -> None:
    """"Which file ...?" whose best sentence names no file: the next that does, within
    TYPED_MARGIN, is quoted first (as a sentence of the asked type is for "when" or "who")."""
    from assistant.answer.extractive import TYPED_MARGIN, _technical_instead
    from assistant.text.passages import Sentence
    from assistant.types import Chunk, Hit

    (tmp_path / "mounts.html").write_text(MOUNTS, encoding="utf-8")
    doc = load_document(tmp_path / "mounts.html", tmp_path)
    chunk = Chunk("c", doc.doc_id, doc.title, doc.source, doc.path, doc.text, 0, len(doc.text),
                  ((0, len(doc.text)),))
    hits, documents = [Hit(chunk=chunk, score=1.0)], {doc.doc_id: doc}

    def sentence(opening: str, score: float) -> Sentence:
        at = _at(doc, opening)
        end = doc.text.index(".", doc.text.index("filesystem", at)) + 1
        return Sentence(0, at, end, doc.text[at:end], score=score)

    best = sentence("The system mounts", 5.0)
    names = sentence("The static filesystem", 5.0 - TYPED_MARGIN + 0.5)
    question = "Which file lists the filesystems to mount?"
    assert _technical_instead(question, [best, names], set(), hits, documents) is names
    # too far below the best, already said in the conversation, or a question of no such kind
    far = Sentence(0, names.start, names.end, names.text, score=5.0 - TYPED_MARGIN - 0.5)
    assert _technical_instead(question, [best, far], set(), hits, documents) is None
    assert _technical_instead(question, [best, names], {id(names)}, hits, documents) is None
    assert _technical_instead("Why are filesystems mounted at boot?", [best, names], set(),
                              hits, documents) is None
    # the best names one already: it stays first
    assert _technical_instead(question, [names, best], set(), hits, documents) is None


def test_the_sentence_right_above_a_captioned_table_introduces_it(tmp_path: Path) -> None:
    """A DocBook paragraph right above a table's caption introduces the table, whatever its
    words: its rows may be quoted with it (the Japanese chapter's "パッケージアクティビティーの
    履歴はログファイルで確認できます。" above "表2.12" points at no table in so many words)."""
    from assistant.answer.units import pointed_layout

    (tmp_path / "logs.html").write_text(CAPTIONED, encoding="utf-8")
    doc = load_document(tmp_path / "logs.html", tmp_path)
    sentence = "You can check package activity history in the log files."
    at = _at(doc, sentence)
    span = pointed_layout(doc, at, at + len(sentence))
    assert span is not None and "/var/log/apt/term.log | Log of generic APT activity" in \
        doc.text[span[0]:span[1]]
    # the sentence before it, and a paragraph above a table with no caption, introduce none
    at = _at(doc, "Packages keep")
    assert pointed_layout(doc, at, doc.text.index("them.", at) + 5) is None
    at = _at(doc, "The rotation keeps")
    assert pointed_layout(doc, at, doc.text.index("default.", at) + 8) is None


TRANSLATED = """<html lang="de"><body>
<p>Die Paketverwaltung mit apt wird in der folgenden Tabelle zusammengefasst.</p>
<table><tr><th>apt-Syntax</th><th>Beschreibung</th></tr>
<tr><td>apt update</td><td>aktualisiert die Paketlisten aus dem Archiv</td></tr>
<tr><td>apt full-upgrade</td><td>aktualisiert alle Pakete, auch wenn Pakete entfernt werden</td></tr>
</table>
<p>Ein Schl\u00fcsselpaar ist schnell gemacht. Einen neuen Schl\u00fcssel erzeugen Sie zum Beispiel
wie folgt.</p>
<pre>$ ssh-keygen -t ed25519</pre>
<p>パッケージ管理操作を次に記します。</p>
<table><tr><th>apt</th><th>説明</th></tr>
<tr><td>apt purge foo</td><td>パッケージと設定ファイルを削除</td></tr></table>
</body></html>
"""


def test_pointers_and_introductions_in_other_languages(tmp_path: Path) -> None:
    """"in der folgenden Tabelle", "zum Beispiel wie folgt.", "を次に記します。" point at the
    table or introduce the command after them, as "the following table" does in English."""
    from assistant.answer.units import pointed_layout

    (tmp_path / "apt.html").write_text(TRANSLATED, encoding="utf-8")
    doc = load_document(tmp_path / "apt.html", tmp_path)
    for sentence, row in (("Die Paketverwaltung mit apt wird in der folgenden Tabelle "
                           "zusammengefasst.", "apt full-upgrade | aktualisiert alle Pakete"),
                          ("パッケージ管理操作を次に記します。", "apt purge foo | パッケージと")):
        at = _at(doc, sentence)
        span = pointed_layout(doc, at, at + len(sentence))
        assert span is not None and row in doc.text[span[0]:span[1]], sentence
    at = _at(doc, "Einen neuen Schl\u00fcssel")
    spans = unit_spans(doc, at, doc.text.index("wie folgt.", at) + len("wie folgt."))
    assert spans is not None and doc.text[spans[-1][0]:spans[-1][1]].endswith(
        "$ ssh-keygen -t ed25519")


ALONE = """<html><body>
<p>The kernel error message displayed to the console can be configured by setting its
threshold level.</p>
<pre># dmesg -n3</pre>
<p>Modules are listed by lsmod. Its output is long.</p>
<pre>$ lsmod | head</pre>
</body></html>
"""


def test_a_paragraph_of_one_sentence_introduces_the_command_after_it(tmp_path: Path) -> None:
    """A paragraph that is one closed sentence right above a command says what the command
    does: quoted with it. A sentence of a longer paragraph is not widened."""
    (tmp_path / "kernel.html").write_text(ALONE, encoding="utf-8")
    doc = load_document(tmp_path / "kernel.html", tmp_path)
    at = _at(doc, "The kernel error message")
    end = doc.text.index("threshold level.") + len("threshold level.")
    assert [doc.text[a:b] for a, b in unit_spans(doc, at, end)] == [
        doc.text[at:end] + "\n\n# dmesg -n3"]
    last = _at(doc, "Its output is long.")
    assert unit_spans(doc, last, last + len("Its output is long.")) is None


SETTINGS = """<html><head><title>Resource Consumption</title></head><body>
<h1>Memory</h1>
<dl>
<dt>shared_buffers (integer)</dt>
<dd><p>Sets the amount of memory the database server uses for shared memory buffers. The
default is typically 128 megabytes (128MB).</p></dd>
<dt>wal_buffers (integer)</dt>
<dd><p>The amount of shared memory used for WAL data that has not yet been written to disk.
The default setting of -1 selects a size equal to 1/32nd of shared_buffers.</p></dd>
<dt>-u, --include-untracked</dt>
<dd><p>All untracked files are also stashed.</p></dd>
<dt>class functools.partial(func, /, *args)</dt>
<dd><p>Return a new partial object.</p></dd>
<dt>RANDOM</dt>
<dd><p>Each time this parameter is referenced, it expands to a random integer between 0 and
32767.</p></dd>
<dt>set (boolean)</dt>
<dd><p>A setting named like a common word.</p></dd>
</dl>
</body></html>
"""


def test_a_description_keyed_by_the_questions_term(tmp_path: Path, embedder) -> None:
    """A question that names a described term (a setting, an option, a function) is answered
    from that term's description first, not from another that only mentions it."""
    from assistant.answer.terms import keys_definition

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "settings.html").write_text(SETTINGS, encoding="utf-8")
    doc = load_document(docs / "settings.html", docs)
    own = _at(doc, "Sets the amount of memory")
    other = _at(doc, "The default setting of -1")
    assert keys_definition(doc, own, "What is the default size of shared_buffers?")
    assert not keys_definition(doc, other, "What is the default size of shared_buffers?")
    assert keys_definition(doc, _at(doc, "All untracked"), "What does --include-untracked do?")
    assert keys_definition(doc, _at(doc, "All untracked"), "What does `--include-untracked` do?")
    assert keys_definition(doc, _at(doc, "Return a new partial"), "What does partial() return?")
    assert not keys_definition(doc, _at(doc, "Return a new partial"), "Which class is it?")
    assert not keys_definition(doc, _at(doc, "A setting named"), "How do I set it?")
    assert keys_definition(doc, _at(doc, "Each time this parameter"),
                           "What range of numbers does $RANDOM give?")  # a variable's $
    a = make_assistant(tmp_path / "index", embedder, docs)
    a.index()
    answer = a.ask("What is the default size of shared_buffers?")
    assert "128 megabytes" in answer.citations[0].quote, answer.text
    assert_exact(a, answer)


HOOKS = """<html><head><title>githooks(5)</title></head><body>
<h2>DESCRIPTION</h2>
<p>Hooks are programs you can place in a hooks directory to trigger actions.</p>
<h3>pre-push</h3>
<p>This hook is called by git-push and can be used to prevent a push from taking place.
The hook is called with two parameters.</p>
</body></html>
"""


def test_a_section_named_by_a_term_is_quoted_with_its_heading(tmp_path: Path) -> None:
    """"Which hook can stop a push?": the section's heading is the hook's name, so the sentence
    that opens the section is quoted after it. A section's name ("DESCRIPTION") is not a term."""
    from assistant.answer.unitfeatures import quote_spans

    (tmp_path / "githooks.html").write_text(HOOKS, encoding="utf-8")
    doc = load_document(tmp_path / "githooks.html", tmp_path)
    at = _at(doc, "This hook is called")
    end = doc.text.index("taking place.") + len("taking place.")
    assert [doc.text[a:b] for a, b in quote_spans(doc, at, end)] == [
        "pre-push\n\n" + doc.text[at:end]]
    later = _at(doc, "The hook is called with")
    stop = later + len("The hook is called with two parameters.")
    assert quote_spans(doc, later, stop) == ((_at(doc, "pre-push"), stop),)
    first = _at(doc, "Hooks are programs")
    stop = doc.text.index("actions.") + len("actions.")
    assert quote_spans(doc, first, stop) == ((first, stop),)
