"""`assistant eval docs`: a user's own questions over a folder, through the real model and index."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant import cli
from assistant.config import Settings
from assistant.errors import IngestError
from assistant.eval.docs import DocQuestion, Result, figures, holds, load_questions, run_docs
from assistant.types import Answer, ShortAnswer, Statement

QUESTIONS = [
    # hits: the gold string is in the sentence that answers, in the named file
    {"question": "Which port does the server listen on by default?", "gold": ["8080"],
     "file": "server.md"},
    {"question": "Where are the nightly backups written?", "gold": ["/var/backups/shop"],
     "file": "ops/backups.txt"},
    {"question": "How long is a backup kept?", "gold": ["14 days", "fourteen days"],
     "file": "ops/backups.txt"},
    # answered from server.md, but the line says the answer is in colours.html: a file miss
    {"question": "How do I make the server print only warnings?", "gold": ["--QUIET"],
     "file": "colours.html", "tags": ["option"]},
    # no document says 03:00: the answer cannot hold it
    {"question": "What time does the nightly backup run?", "gold": ["03:00"],
     "file": "ops/backups.txt", "id": "backup-time"},
    # nothing in the folder answers: the assistant says so
    {"question": "Who won the football World Cup in 2018?", "gold": ["France"]},
]


def make_folder(root: Path) -> tuple[Path, Path]:
    docs = root / "docs"
    (docs / "ops").mkdir(parents=True)
    (docs / "server.md").write_text(
        "# Running the server\n\n"
        "The server listens on port 8080 unless the PORT environment variable says otherwise.\n\n"
        "Logs go to standard error. Pass --quiet to print only warnings and errors.\n\n"
        "## Stopping\n\nSend SIGTERM and the server finishes the requests in flight before it "
        "exits.\n", encoding="utf-8")
    (docs / "ops" / "backups.txt").write_text(
        "Backups\n\n"
        "A full backup is written to /var/backups/shop every night at 02:00.\n"
        "Each backup is kept for fourteen days and then deleted.\n\n"
        "To restore one, stop the server and run shopctl restore with the backup's date.\n",
        encoding="utf-8")
    (docs / "colours.html").write_text(
        "<html><head><title>Theme colours</title></head><body><h1>Theme colours</h1>"
        "<p>The default theme uses a dark blue header and a white page.</p>"
        "<p>The accent colour can be changed in the settings page under Appearance.</p>"
        "</body></html>", encoding="utf-8")
    questions = root / "questions.jsonl"
    questions.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    return docs, questions


def test_gold_strings_are_found_whatever_the_case_spacing_and_ligatures():
    assert holds("Pass  --quiet\nto print", ["--QUIET to"])
    assert holds("the ﬁle /etc/hosts", ["FILE /etc/hosts"])  # NFKC: the PDF ligature is fi
    assert holds("port 5432.", ["5432"]) and holds("(5432)", ["5432"])
    assert not holds("port 15432", ["5432"])  # a number inside another is not it
    assert not holds("support", ["port"])  # nor a word inside another
    assert holds("use --no-pager", ["-no-pager"])  # no letter at the edge: no edge test
    assert not holds("anything", [])


def _result(line: int, gold: list[str], text: str | None, short: str | None = None,
            files: tuple[str, ...] = (), file: str | None = None) -> Result:
    q = DocQuestion(line, f"question {line}?", tuple(gold), file)
    if text is None:
        return Result(q, Answer(q.question, "Nothing relevant found.", False), (), 1.0)
    sa = ShortAnswer(short, 0, len(short), 1) if short else None
    ans = Answer(q.question, f"{text} [1]", True, short_answer=sa,
                 sentences=(Statement(text, (1,), True),))
    return Result(q, ans, files, 1.0)


def test_figures_are_shares_of_all_questions_computed_by_hand():
    rs = [
        _result(1, ["5432"], "It listens on port 5432 by default.", "5432", ("a.html",), "a.html"),
        _result(2, ["-H"], "Headers are printed with .headers on.", "headers", ("b.html",),
                "c.html"),
        _result(3, ["TOAST"], "Large values are stored out of line (TOAST).", None, ("c.html",)),
        _result(4, ["France"], None),  # abstained
    ]
    f = figures(rs)
    assert f["questions"] == 4
    assert f["answer_hit"] == 0.5  # 1 and 3
    assert f["cite_file_hit"] == 0.5 and f["questions_with_file"] == 2  # 1 of 1 and 2
    assert f["short_given"] == 0.5 and f["short_hit"] == 0.25 and f["short_precision"] == 0.5
    assert f["abstentions"] == 0.25
    assert f["answer_words"] == round((7 + 6 + 8) / 3, 1)  # answers given only; no markers
    assert figures([])["answer_hit"] is None


def test_eval_docs_reports_hits_misses_and_caches_the_index(tmp_path: Path, embedder):
    docs, questions = make_folder(tmp_path / "a")
    settings = Settings.load(env={})
    report = run_docs(settings, questions, docs, tmp_path / "cache", embedder=embedder)
    assert report["questions"] == 6 and report["documents"] == 3
    assert report["answer_hit"] == round(4 / 6, 4)
    assert report["cite_file_hit"] == 0.8 and report["questions_with_file"] == 5
    assert report["abstentions"] == round(1 / 6, 4)
    # "fourteen days" is the short answer of "How long ...?"; 03:00 and France cannot be
    assert 1 / 6 - 1e-4 <= report["short_hit"] <= report["short_given"] <= 4 / 6 + 1e-4
    assert 0 < report["answer_words"] <= 40
    assert report["by_tag"]["option"]["answer_hit"] == 1.0
    assert report["by_tag"]["option"]["cite_file_hit"] == 0.0
    misses = {m["line"]: m for m in report["misses"]}
    assert sorted(misses) == [4, 5, 6]
    assert misses[4]["answer_hit"] and misses[4]["cite_file_hit"] is False
    assert misses[4]["cited_files"] == ["server.md"]
    assert not misses[5]["answer_hit"] and misses[5]["cite_file_hit"] is True
    assert misses[5]["id"] == "backup-time" and "02:00" in misses[5]["answer"]
    assert misses[5]["cited_files"] == ["ops/backups.txt"]
    assert misses[6]["found"] is False and misses[6]["cited_files"] == []
    assert report["index_cached"] is False

    # The same content in another folder: the cached index, files named from this folder.
    moved = tmp_path / "b"
    shutil.copytree(tmp_path / "a", moved)
    again = run_docs(settings, moved / "questions.jsonl", moved / "docs", tmp_path / "cache",
                     embedder=embedder)
    assert again["index_cached"] is True
    assert {k: again[k] for k in ("answer_hit", "cite_file_hit", "misses")} == \
        {k: report[k] for k in ("answer_hit", "cite_file_hit", "misses")}
    # A changed file is a new corpus: indexed again.
    with (moved / "docs" / "server.md").open("a", encoding="utf-8") as f:
        f.write("\nThe admin page is served on port 8081.\n")
    assert run_docs(settings, moved / "questions.jsonl", moved / "docs", tmp_path / "cache",
                    embedder=embedder)["index_cached"] is False


def test_eval_docs_command_prints_figures_and_misses(tmp_path: Path, capsys):
    docs, questions = make_folder(tmp_path)
    argv = ["eval", "docs", str(questions), "--docs", str(docs), "--cache", str(tmp_path / "c")]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "answer_hit                   0.6667" in out
    assert "misses (3 of 6 questions):" in out
    assert "line 5: What time does the nightly backup run?  [no gold in the answer]" in out
    assert "line 4: How do I make the server print only warnings?  [expected file not cited]" \
        in out
    assert "line 6: Who won the football World Cup in 2018?  [not found]" in out
    assert "    cited: ops/backups.txt" in out
    assert cli.main([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["index_cached"] is True


@pytest.mark.parametrize(("line", "message"), [
    ('{"question": "Which port?", "gold": ["8080"]', r"q\.jsonl:2: not JSON"),
    ('["Which port?", "8080"]', r"q\.jsonl:2: not a JSON object"),
    ('{"question": "Which port?", "gold": []}', r'q\.jsonl:2: "gold" is empty'),
    ('{"question": "Which port?", "gold": ["  "]}', r'q\.jsonl:2: "gold" is empty'),
    ('{"question": "Which port?", "gold": "8080"}', r'q\.jsonl:2: "gold" must be a list'),
    ('{"question": "Which port?"}', r'q\.jsonl:2: "gold" is missing'),
    ('{"question": "", "gold": ["8080"]}', r'q\.jsonl:2: "question" is missing or empty'),
    ('{"question": "Which port?", "gold": ["8080"], "file": "nope.md"}',
     r"q\.jsonl:2: file 'nope\.md' does not exist in .*docs"),
    ('{"question": "Which port?", "gold": ["8080"], "file": "../q.jsonl"}',
     r"q\.jsonl:2: file '\.\./q\.jsonl' does not exist in"),
    ('{"question": "Which port?", "gold": ["8080"], "files": "server.md"}',
     r"q\.jsonl:2: unknown field 'files' \(fields: question, gold, file, id, tags\)"),
])
def test_a_bad_line_is_named_with_what_is_wrong(tmp_path: Path, line: str, message: str):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "server.md").write_text("The server listens on port 8080.\n", encoding="utf-8")
    q = tmp_path / "q.jsonl"
    q.write_text('{"question": "Which port?", "gold": ["8080"], "file": "server.md"}\n'
                 + line + "\n\n", encoding="utf-8")
    with pytest.raises(IngestError, match=message):
        load_questions(q, docs)


def test_errors_reach_the_terminal_as_one_line(tmp_path: Path, capsys):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "style.css").write_text("body { color: red }\n", encoding="utf-8")
    (docs / "server.md").write_text("The server listens on port 8080.\n", encoding="utf-8")
    q = tmp_path / "q.jsonl"
    q.write_text('{"question": "Which colour?", "gold": ["red"], "file": "style.css"}\n',
                 encoding="utf-8")
    argv = ["eval", "docs", str(q), "--docs", str(docs), "--cache", str(tmp_path / "c")]
    assert cli.main(argv) == 1
    assert "q.jsonl:1: file 'style.css' is not indexed" in capsys.readouterr().err
    q.write_text("", encoding="utf-8")
    assert cli.main(argv) == 1
    assert "q.jsonl: no questions in the file" in capsys.readouterr().err
    assert cli.main(["eval", "docs", str(tmp_path / "none.jsonl"), "--docs", str(docs)]) == 1
    assert "none.jsonl: no such questions file" in capsys.readouterr().err


MANUALS = Path(__file__).resolve().parent / "data" / "manuals"
SHAPES = {"prose", "term", "neighbour", "table", "command", "list", "heading"}


def test_the_manuals_dev_set_is_complete_and_names_only_files_of_its_manifests(tmp_path: Path):
    """The questions parse with `eval docs`' own reader over each manifest's file list; the
    gold strings themselves are checked against the files by `bench/manuals.py check`."""
    counts = {}
    for manifest_path in sorted(MANUALS.glob("*.manifest.json")):
        m = json.loads(manifest_path.read_text(encoding="utf-8"))
        assert m["package"] not in ("debian-handbook", "python3-doc")  # held out
        assert m["version"] and m["licence"] and m["copyright_sha256"]
        folder = tmp_path / m["corpus"]
        for f in m["files"]:
            assert len(f["sha256"]) == 64 and f["source"].endswith(f["path"])
            (folder / f["path"]).parent.mkdir(parents=True, exist_ok=True)
            (folder / f["path"]).write_bytes(b"")
        questions = load_questions(MANUALS / f"{m['corpus']}.jsonl", folder)
        assert all(q.file and q.gold and len(q.tags) == 1 and q.tags[0] in SHAPES
                   for q in questions)
        assert len({q.id for q in questions}) == len(questions)
        counts[m["corpus"]] = len(questions)
    assert len(counts) >= 5 and min(counts.values()) >= 30 and sum(counts.values()) >= 200
