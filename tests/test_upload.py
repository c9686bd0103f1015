"""Uploads: names cannot escape the documents folder; bad files are reported, the rest indexed."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import assert_exact, make_assistant

from assistant.errors import IngestError
from assistant.ingest.upload import UPLOAD_DIR, destination, safe_name


@pytest.mark.parametrize("sent, kept", [
    ("../../x.txt", "x.txt"),
    ("/etc/passwd.txt", "passwd.txt"),
    ("C:\\Users\\me\\Report.PDF", "Report.pdf"),
    ("..\\..\\evil.md", "evil.md"),
    (".hidden.md", "hidden.md"),
    ("a\x00b<c>.txt", "ab_c_.txt"),
    ("..", "upload"),
    ("notes .md", "notes.md"),
])
def test_safe_name(sent: str, kept: str) -> None:
    assert safe_name(sent) == kept


@pytest.mark.parametrize("name", ["../../x.txt", "/tmp/abs.md", "..\\..\\win.txt", "a/b/../c.md"])
def test_destination_stays_in_the_uploads_folder(tmp_path: Path, name: str) -> None:
    docs = tmp_path / "docs"
    dest = destination(docs, name)
    assert dest.parent == docs / UPLOAD_DIR
    assert dest.resolve().is_relative_to(docs.resolve())


def test_destination_refuses_other_types_and_renames_duplicates(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"\.exe is not accepted"):
        destination(tmp_path, "tool.exe")
    first = destination(tmp_path, "a.txt")
    assert destination(tmp_path, "a.txt", {first}).name == "a (2).txt"


def test_destination_refuses_a_symlink_out_of_the_folder(tmp_path: Path) -> None:
    docs, outside = tmp_path / "docs", tmp_path / "outside"
    docs.mkdir()
    outside.mkdir()
    (docs / UPLOAD_DIR).symlink_to(outside)
    with pytest.raises(IngestError, match="outside"):
        destination(docs, "x.txt")


def test_add_files_indexes_good_files_and_reports_the_rest(tmp_path: Path, embedder) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "base.txt").write_text("The old mill on the river ground wheat for the village.\n",
                                   encoding="utf-8")
    a = make_assistant(tmp_path / "index", embedder, docs, max_upload_mb=1)
    a.index()
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    good = incoming / "good.md"
    good.write_text("# Bells\n\nThe bell foundry in Whitechapel cast the great bell in 1858.\n",
                    encoding="utf-8")
    broken = incoming / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 not a pdf at all")
    big = incoming / "big.txt"
    big.write_bytes(b"word " * (300 * 1024))  # 1.5 MB, over the 1 MB limit
    empty = incoming / "empty.txt"
    empty.write_bytes(b"")

    report = a.indexer.add_files([(good, "../../good.md"), (broken, "broken.pdf"), (big, "big.txt"),
                          (empty, "empty.txt"), (good, "run.exe")])
    assert report.added == ("docs/uploads/good.md",)
    reasons = {s.source: s.reason for s in report.skipped}
    assert set(reasons) == {"broken.pdf", "big.txt", "empty.txt", "run.exe"}
    assert "PDF" in reasons["broken.pdf"] and "1 MB" in reasons["big.txt"]
    assert "empty" in reasons["empty.txt"] and ".exe" in reasons["run.exe"]
    assert sorted(p.name for p in (docs / UPLOAD_DIR).iterdir()) == ["good.md"]
    assert not (tmp_path / "good.md").exists()
    assert report.index is not None and report.index.added == 1 and report.index.unchanged == 1

    answer = a.ask("Where was the great bell cast?")
    assert answer.found and answer.citations[0].chunk.source == "docs/uploads/good.md"
    assert_exact(a, answer)


def test_add_files_with_nothing_acceptable_does_not_touch_the_index(tmp_path: Path,
                                                                   embedder) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "base.txt").write_text("The old mill ground wheat.\n", encoding="utf-8")
    a = make_assistant(tmp_path / "index", embedder, docs)
    a.index()
    bad = tmp_path / "x.exe"
    bad.write_bytes(b"MZ")
    report = a.indexer.add_files([(bad, "x.exe")])
    assert report.added == () and report.index is None and len(report.skipped) == 1
    assert not (docs / UPLOAD_DIR).exists()


def test_reuploading_a_name_keeps_both_files_and_says_so(tmp_path: Path, embedder) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    a = make_assistant(tmp_path / "index", embedder, docs)
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    first, second = incoming / "one.md", incoming / "two.md"
    first.write_text("The lighthouse at Cromer was first lit in 1833.\n", encoding="utf-8")
    second.write_text("The pier at Cromer was rebuilt after the storm of 1897.\n",
                      encoding="utf-8")
    assert a.indexer.add_files([(first, "notes.md")]).renamed == ()
    report = a.indexer.add_files([(second, "notes.md")])
    assert report.added == ("docs/uploads/notes (2).md",)
    assert report.renamed == ("notes.md is already in uploads/; both are kept, "
                              "the new one as notes (2).md",)
    assert "the new one as notes (2).md" in report.summary()
    kept = {p.name: p.read_text(encoding="utf-8") for p in (docs / UPLOAD_DIR).iterdir()}
    assert kept == {"notes.md": first.read_text(encoding="utf-8"),
                    "notes (2).md": second.read_text(encoding="utf-8")}
    assert a.ask("When was the Cromer lighthouse first lit?").citations[0].chunk.source \
        == "docs/uploads/notes.md"
    assert a.ask("When was the Cromer pier rebuilt?").citations[0].chunk.source \
        == "docs/uploads/notes (2).md"
